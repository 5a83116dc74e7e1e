"""Property-based fuzzing of the gateway from its own OpenAPI document: no input gives a 500, and
every event it accepts reaches an outcome.

Schemathesis generates bodies and headers for every operation the OpenAPI document declares; each
is sent to the real application, publishing to the real broker. With a worker behind it, the
reconciliation's ledger then proves that every 202 was followed to a work item, a dead letter
(with its MASH task) or a recorded "no action needed".
"""

from __future__ import annotations

import re
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from connectors.gateway import CASE_RECORD_PATHS, FETCH_PATHS, PATHS, create_app
from connectors.partner_keys import CaseRecordType, issue_key
from connectors.staff.db import engine_for, migrate
from connectors.staff.store import QueueStore
from connectors.store import open_store
from schemas.models import Agency, EventType
from schemas.types import EARLIEST_YEAR, LATEST_YEAR
from streams.platform.settings import GatewaySettings, KafkaSettings
from tests.helpers import running_worker, waiting_once_settled

pytestmark = pytest.mark.integration


def test_no_generated_request_makes_the_gateway_fail(
    kafka: KafkaSettings, topic_prefix: str, tmp_path: Path
) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'gateway.db'}")
    token = issue_key(
        store,
        partner="police.synthetic",
        agency=Agency.POLICE,
        event_types=list(EventType),
        now=datetime.now(UTC),
    ).token
    # The case-record operations are fuzzed with the key that may use them, against an empty
    # staff store: every record is then about a work item the store does not hold.
    case_management = issue_key(
        store,
        partner="la.case-management",
        agency=Agency.LOCAL_AUTHORITY,
        event_types=list(CaseRecordType),
        now=datetime.now(UTC),
    ).token
    staff_url = f"sqlite:///{tmp_path / 'staff.db'}"
    migrate(staff_url)
    config = GatewaySettings(publish_timeout_seconds=3, requests_per_minute=100_000)
    app = create_app(
        config,
        kafka,
        topic_prefix=topic_prefix,
        store=store,
        queue_store=QueueStore(engine_for(staff_url)),
    )
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]
    assert len(operations) == len(PATHS) + len(CASE_RECORD_PATHS) + len(FETCH_PATHS)

    for operation in operations:
        key = case_management if operation.path in CASE_RECORD_PATHS.values() else token

        @given(case=operation.as_strategy())
        @settings(
            max_examples=40,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        )
        def no_server_error(case: Any) -> None:
            case.call_and_validate(
                headers={"Authorization": f"Bearer {key}"},  # noqa: B023 - called at once
                checks=[not_a_server_error],
            )

        no_server_error()


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_every_event_the_gateway_accepts_reaches_an_outcome(
    kafka: KafkaSettings, topic_prefix: str, tmp_path: Path
) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'gateway.db'}")
    tokens = {
        agency: issue_key(
            store,
            partner=f"{agency.value.replace('_', '-')}.synthetic",
            agency=agency,
            event_types=list(EventType),
            now=datetime.now(UTC),
        ).token
        for agency in Agency
    }
    config = GatewaySettings(publish_timeout_seconds=3, requests_per_minute=100_000)
    app = create_app(config, kafka, topic_prefix=topic_prefix, store=store)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    statuses: Counter[int] = Counter()

    with running_worker(kafka, topic_prefix, tmp_path):
        for result in schema.get_all_operations():
            operation = result.ok()  # type: ignore[union-attr]
            if operation.method.upper() == "GET":
                continue  # a fetch publishes nothing, so it has no outcome to follow

            @given(case=operation.as_strategy())
            @settings(
                max_examples=FUZZED_PER_OPERATION,
                deadline=None,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            def send(case: Any) -> None:
                _as_a_partner_would_send_it(case)
                token = tokens[_sender_agency(case.body)]
                response = case.call(headers={"Authorization": f"Bearer {token}"})
                statuses[response.status_code] += 1
                assert response.status_code < 500, response.text

            send()
        waiting = waiting_once_settled(kafka, topic_prefix, within=300)

    assert sum(statuses.values()) >= 1000
    assert statuses[202] >= 500, statuses  # most generated events are usable
    assert waiting == [], [f"{w.stage.value} {w.reference}" for w in waiting]


FUZZED_PER_OPERATION = 340


def _as_a_partner_would_send_it(case: Any) -> None:
    """Keep the generated content, but as one partner system would send it: a fresh event id
    each time (hypothesis repeats strings, which would be reuses, refused 409), no repeated
    Idempotency-Key, and times within the contract's years (else refused 422; the years' own
    edges stay, such as December 2998, whose decision falls due in a year no record can carry).
    """
    if isinstance(case.body, dict):
        case.body["event_id"] = f"fuzz-{uuid.uuid4().hex}"
        case.body = _within_the_contracts_years(case.body)
    case.headers = {
        name: value
        for name, value in (case.headers or {}).items()
        if name.lower() != "idempotency-key"
    }


def _within_the_contracts_years(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _within_the_contracts_years(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_within_the_contracts_years(item) for item in value]
    if isinstance(value, str) and _DATE_TIME.match(value):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return value
        year = min(max(moment.year, EARLIEST_YEAR + 1), LATEST_YEAR - 1)
        try:
            return moment.replace(year=year).isoformat()
        except ValueError:  # 29 February in a year that has none
            return moment.replace(year=year, day=28).isoformat()
    return value


_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T")


def _sender_agency(body: Any) -> Agency:
    """The key to send with: a contact's referrer's agency, else the police's (any type allowed)."""
    referrer = body.get("referrer") if isinstance(body, dict) else None
    agency = referrer.get("agency") if isinstance(referrer, dict) else None
    return Agency(agency) if agency in set(Agency) else Agency.POLICE
