"""Partners without a webhook fetch their information requests and outcome notifications from
the gateway with their API key: their own and never another partner's, a page at a time.

The records reach the staff application's queue store as its feeder stores them
(:meth:`QueueStore.apply`); the gateway reads that store, on SQLite and on PostgreSQL. No broker:
fetching publishes nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from connectors.gateway import create_app
from connectors.partner_keys import issue_key, revoke
from connectors.staff.db import engine_for, migrate
from connectors.staff.store import QueueStore
from connectors.store import Store, open_store
from schemas.models import (
    Agency,
    Event,
    EventType,
    InformationRequest,
    NextStep,
    NotifiedChild,
    OutcomeNotification,
    RequestedItem,
    RequestReason,
)
from schemas.wire import SENDER_HEADER, InboundMessage
from streams.decisions.ids import derived_id
from streams.decisions.requests import information_request
from streams.platform.settings import GatewaySettings, KafkaSettings
from tests.helpers import contact, police_notification, postgres_schema_url

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
SCHOOL = "school.990001"
POLICE = "police.synthetic"
NHS_NUMBER = RequestedItem(field="children.0.nhs_number", code="DQ-NHS-NUMBER", message="bad")


def school_request() -> InformationRequest:
    request = information_request(
        contact(),
        EventType.CONTACT,
        sender=SCHOOL,
        reason=RequestReason.DATA_QUALITY,
        items=[NHS_NUMBER],
        now=NOW,
    )
    assert request is not None
    return request


def police_request() -> InformationRequest:
    request = information_request(
        police_notification(),
        EventType.POLICE_NOTIFICATION,
        sender=POLICE,
        reason=RequestReason.DATA_QUALITY,
        items=[NHS_NUMBER],
        now=NOW,
    )
    assert request is not None
    return request


def outcome_for(sender: str, about_event_id: str) -> OutcomeNotification:
    return OutcomeNotification(
        event_id=derived_id("outcome-notice", sender, about_event_id),
        about_event_id=about_event_id,
        about_event_type=EventType.CONTACT,
        addressed_to_sender=sender,
        child=NotifiedChild(given_name="Synthetic", family_name="Child"),
        next_step=NextStep.CHILD_IN_NEED_ASSESSMENT,
        decided_at=NOW,
    )


@dataclass(frozen=True)
class Tokens:
    school: str
    police: str
    revoked: str


@dataclass(frozen=True)
class Running:
    client: TestClient
    tokens: Tokens
    #: The staff store the gateway reads, as the staff application's feeder fills it.
    staff_store: QueueStore
    staff_engine: Engine

    def stored(self, *records: Event, offset: int = 0) -> None:
        """Store ``records`` as the feeder would on reading them from their topics."""
        self.staff_store.apply(
            [
                (
                    InboundMessage(
                        topic="information-requests",
                        partition=0,
                        offset=offset + n,
                        key=None,
                        value=None,
                        headers={SENDER_HEADER: b"frontdoor"},
                    ),
                    record,
                )
                for n, record in enumerate(records)
            ]
        )

    def fetch(self, path: str, token: str | None, **query: int | str) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        answer: httpx.Response = self.client.get(path, params=query, headers=headers)
        return answer


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
def staff_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'staff.db'}"
    else:
        yield from postgres_schema_url("fetch")


@pytest.fixture
def gateway(staff_url: str, tmp_path: Path) -> Iterator[Running]:
    store = open_store(f"sqlite:///{tmp_path / 'gateway.db'}")
    tokens = Tokens(
        school=issue_key(
            store, partner=SCHOOL, agency=Agency.EDUCATION, event_types=[EventType.CONTACT], now=NOW
        ).token,
        police=issue_key(
            store,
            partner=POLICE,
            agency=Agency.POLICE,
            event_types=[EventType.POLICE_NOTIFICATION],
            now=NOW,
        ).token,
        revoked=_revoked_school_key(store),
    )
    migrate(staff_url)
    engine = engine_for(staff_url)
    queue_store = QueueStore(engine)
    # Nothing here publishes: the broker is never reached.
    kafka = KafkaSettings(bootstrap_servers="127.0.0.1:9", embedded=False)
    app = create_app(GatewaySettings(), kafka, store=store, queue_store=queue_store)
    try:
        with TestClient(app) as client:  # closes the gateway's store on leaving
            yield Running(client, tokens, queue_store, engine)
    finally:
        engine.dispose()


def _revoked_school_key(store: Store) -> str:
    issued = issue_key(
        store, partner=SCHOOL, agency=Agency.EDUCATION, event_types=[EventType.CONTACT], now=NOW
    )
    revoke(store, issued.key_id, NOW)
    return issued.token


def ids(answer: httpx.Response) -> list[str]:
    assert answer.status_code == 200, answer.text
    return [item["event_id"] for item in answer.json()["items"]]


def test_each_partner_fetches_its_own_requests_and_never_the_others(gateway: Running) -> None:
    school = [school_request() for _ in range(3)]
    police = police_request()
    gateway.stored(school[0], police, school[1], school[2])

    for after in (0, 1, 2, 3, 4, 10**6):
        answer = gateway.fetch("/v1/information-requests", gateway.tokens.school, after=after)
        assert police.event_id not in ids(answer)
    as_school = gateway.fetch("/v1/information-requests", gateway.tokens.school)
    as_police = gateway.fetch("/v1/information-requests", gateway.tokens.police)

    assert ids(as_school) == [r.event_id for r in school]
    assert as_school.json()["items"][0] == school[0].model_dump(mode="json")
    assert ids(as_police) == [police.event_id]
    assert InformationRequest.model_validate(as_police.json()["items"][0]) == police


def test_outcome_notifications_are_fetched_apart_from_requests(gateway: Running) -> None:
    request = school_request()
    outcome = outcome_for(SCHOOL, request.about_event_id)
    gateway.stored(request, outcome, outcome_for(POLICE, "police-event-1"))

    outcomes = gateway.fetch("/v1/outcome-notifications", gateway.tokens.school)

    assert ids(outcomes) == [outcome.event_id]
    assert OutcomeNotification.model_validate(outcomes.json()["items"][0]) == outcome
    assert ids(gateway.fetch("/v1/information-requests", gateway.tokens.school)) == [
        request.event_id
    ]


def test_the_cursor_pages_through_the_rest_then_gives_nothing(gateway: Running) -> None:
    requests = [school_request() for _ in range(5)]
    gateway.stored(*requests)
    path = "/v1/information-requests"

    first = gateway.fetch(path, gateway.tokens.school, limit=2)
    rest = gateway.fetch(path, gateway.tokens.school, after=first.json()["next_after"])
    after_rest = rest.json()["next_after"]
    nothing = gateway.fetch(path, gateway.tokens.school, after=after_rest)

    assert ids(first) == [r.event_id for r in requests[:2]]
    assert ids(rest) == [r.event_id for r in requests[2:]]
    assert ids(nothing) == []
    assert nothing.json()["next_after"] == after_rest
    newer = school_request()
    gateway.stored(newer)
    assert ids(gateway.fetch(path, gateway.tokens.school, after=after_rest)) == [newer.event_id]


def test_a_redelivered_request_appears_once_where_it_first_did(gateway: Running) -> None:
    first, second = school_request(), school_request()
    gateway.stored(first)
    seen = gateway.fetch("/v1/information-requests", gateway.tokens.school).json()["next_after"]

    gateway.stored(first, second, offset=7)  # the feeder reads the batch again, and one more
    gateway.stored(first, first, offset=9)

    path = "/v1/information-requests"
    assert ids(gateway.fetch(path, gateway.tokens.school)) == [first.event_id, second.event_id]
    assert ids(gateway.fetch(path, gateway.tokens.school, after=seen)) == [second.event_id]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"after": -1}, "query.after"),
        ({"after": "yesterday"}, "query.after"),
        ({"after": 2**63}, "query.after"),
        ({"limit": 0}, "query.limit"),
        ({"limit": 501}, "query.limit"),
    ],
)
def test_bad_parameters_are_422_naming_them(
    gateway: Running, query: dict[str, int | str], field: str
) -> None:
    answer = gateway.fetch("/v1/information-requests", gateway.tokens.school, **query)

    assert answer.status_code == 422
    problem = answer.json()
    assert problem["code"] == "FD-VALIDATION"
    assert problem["message"] == "the query is not usable"
    assert [error["field"] for error in problem["errors"]] == [field]


@pytest.mark.parametrize("path", ["/v1/information-requests", "/v1/outcome-notifications"])
def test_without_a_valid_key_it_is_401_whatever_the_query(gateway: Running, path: str) -> None:
    gateway.stored(school_request(), outcome_for(SCHOOL, "school-event-1"))

    for token in (None, "fdk_nonsense", gateway.tokens.revoked):
        queries: list[dict[str, int | str]] = [{}, {"limit": 0}]
        for query in queries:
            answer = gateway.fetch(path, token, **query)
            assert answer.status_code == 401, answer.text
            assert answer.json()["code"] == "FD-AUTH-KEY"
            assert "items" not in answer.json()


def test_a_store_that_cannot_be_read_is_503_with_retry_after(gateway: Running) -> None:
    with gateway.staff_engine.begin() as connection:
        connection.execute(text("DROP TABLE partner_messages"))

    answer = gateway.fetch("/v1/information-requests", gateway.tokens.school)

    assert answer.status_code == 503
    assert answer.json()["code"] == "FD-STORE"
    assert int(answer.headers["Retry-After"]) >= 1


def test_the_fetches_are_in_the_openapi_document(gateway: Running) -> None:
    paths = gateway.client.get("/openapi.json").json()["paths"]

    for path in ("/v1/information-requests", "/v1/outcome-notifications"):
        operation = paths[path]["get"]
        assert {p["name"] for p in operation["parameters"]} == {"after", "limit", "authorization"}
        assert {"200", "401", "422", "429", "503"} <= set(operation["responses"])
