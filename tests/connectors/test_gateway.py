"""The partner gateway as partners meet it: a real HTTP client, a real server, the real broker.

Each story posts what a partner's system would post and checks both the answer and what reached
the intake topic, because a 202 must mean "on the topic" and anything else must mean "not".
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from connectors.gateway import create_app
from connectors.partner_keys import issue_key, revoke
from connectors.store import open_store
from schemas.models import (
    Agency,
    Contact,
    EventType,
    InformationRequest,
    PoliceNotification,
    RequestReason,
)
from streams.platform.app import codec
from streams.platform.broker import EmbeddedBroker, free_port
from streams.platform.reader import read_topic
from streams.platform.settings import GatewaySettings, KafkaSettings
from streams.platform.topics import CONTACTS, INFORMATION_REQUESTS, POLICE_NOTIFICATIONS
from tests.helpers import (
    INVALID_NHS_NUMBER,
    contact,
    frontdoor,
    police_notification,
    running_worker,
    serving,
    waiting_once_settled,
)
from tests.streams.platform.test_metrics import Samples, documented_names
from tests.tcp_proxy import TcpProxy

pytestmark = pytest.mark.integration

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)


class Partners:
    """API keys of a police force, a school and a GP practice, issued into the test's store."""

    def __init__(self, store_url: str) -> None:
        store = open_store(store_url)
        try:
            self.police = issue_key(
                store,
                partner="police.synthetic",
                agency=Agency.POLICE,
                event_types=[EventType.POLICE_NOTIFICATION],
                now=NOW,
            ).token
            school = issue_key(
                store,
                partner="school.990001",
                agency=Agency.EDUCATION,
                event_types=[EventType.CONTACT, EventType.CONSENT_EVENT],
                now=NOW,
            )
            self.school = school.token
            self.revoked = issue_key(
                store,
                partner="gp.synthetic",
                agency=Agency.HEALTH,
                event_types=[EventType.CONTACT],
                now=NOW,
            )
            revoke(store, self.revoked.key_id, NOW)
        finally:
            store.close()


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'gateway.db'}"


@pytest.fixture
def partners(store_url: str) -> Partners:
    return Partners(store_url)


def gateway_app(kafka: KafkaSettings, prefix: str, store_url: str, **settings: object) -> FastAPI:
    config = GatewaySettings(store_url=store_url, publish_timeout_seconds=3, **settings)  # type: ignore[arg-type]
    return create_app(config, kafka, topic_prefix=prefix)


@pytest.fixture
def gateway(kafka: KafkaSettings, topic_prefix: str, store_url: str) -> Iterator[str]:
    with serving(gateway_app(kafka, topic_prefix, store_url)) as url:
        yield url


def on_topic(
    kafka: KafkaSettings, topic: str, model: type[Contact | PoliceNotification]
) -> list[str]:
    """Event ids on a topic (waits briefly for stragglers)."""
    return [codec.decode(m.value, model).event_id for m in read_topic(kafka, topic, idle_seconds=1)]


def post(url: str, path: str, token: str | None, body: object, **headers: str) -> httpx.Response:
    all_headers = {"Authorization": f"Bearer {token}"} if token else {}
    all_headers.update(headers)
    return httpx.post(f"{url}{path}", json=body, headers=all_headers, timeout=30)


def as_json(event: Contact | PoliceNotification) -> object:
    return json.loads(event.model_dump_json())


def test_a_valid_contact_is_answered_202_only_once_it_is_on_the_intake_topic(
    gateway: str, partners: Partners, kafka: KafkaSettings, topic_prefix: str
) -> None:
    sent = contact()

    answer = post(gateway, "/v1/contacts", partners.school, as_json(sent))

    assert answer.status_code == 202, answer.text
    assert answer.json() == {"event_id": sent.event_id, "status": "accepted", "warnings": []}
    topic = CONTACTS.name_under(topic_prefix)
    assert on_topic(kafka, topic, Contact) == [sent.event_id]


def test_an_unusable_post_is_422_with_the_field_named_and_nothing_published(
    gateway: str, partners: Partners, kafka: KafkaSettings, topic_prefix: str
) -> None:
    body = as_json(contact())
    body["children"] = []  # type: ignore[index]
    secret = "Synthetic words that must not be echoed"
    body["description"] = secret * 1000  # type: ignore[index]

    answer = post(gateway, "/v1/contacts", partners.school, body)

    assert answer.status_code == 422
    problem = answer.json()
    assert problem["code"] == "FD-VALIDATION"
    assert {error["field"] for error in problem["errors"]} == {"children", "description"}
    assert "Synthetic words" not in answer.text
    assert on_topic(kafka, CONTACTS.name_under(topic_prefix), Contact) == []


def test_a_wrong_nhs_check_digit_is_accepted_with_a_warning_and_an_information_request_follows(
    gateway: str, partners: Partners, kafka: KafkaSettings, topic_prefix: str, tmp_path: Path
) -> None:
    notification = police_notification()
    child = notification.children[0].model_copy(update={"nhs_number": INVALID_NHS_NUMBER})
    notification = notification.model_copy(update={"children": [child, notification.children[1]]})

    with running_worker(kafka, topic_prefix, tmp_path):
        answer = post(gateway, "/v1/police-notifications", partners.police, as_json(notification))
        assert answer.status_code == 202, answer.text
        assert [w["code"] for w in answer.json()["warnings"]] == ["DQ-NHS-NUMBER"]
        requests_topic = INFORMATION_REQUESTS.name_under(topic_prefix)
        for _ in range(60):
            requests = [
                codec.decode(m.value, InformationRequest)
                for m in read_topic(kafka, requests_topic, idle_seconds=0.5)
            ]
            if requests:
                break
    (request,) = [r for r in requests if r.reason is RequestReason.DATA_QUALITY]
    assert request.about_event_id == notification.event_id
    assert request.addressed_to_sender == "police.synthetic"


@pytest.mark.parametrize(
    ("token", "status"),
    [(None, 401), ("fdk_nonsense", 401), ("Bearer-less", 401)],
)
def test_no_valid_key_is_401(
    gateway: str, partners: Partners, token: str | None, status: int
) -> None:
    assert post(gateway, "/v1/contacts", token, as_json(contact())).status_code == status


def test_a_revoked_key_is_401(gateway: str, partners: Partners) -> None:
    answer = post(gateway, "/v1/contacts", partners.revoked.token, as_json(contact()))
    assert answer.status_code == 401
    assert partners.revoked.secret not in answer.text


def test_a_schools_key_cannot_publish_a_police_notification_or_claim_to_be_health(
    gateway: str, partners: Partners, kafka: KafkaSettings, topic_prefix: str
) -> None:
    as_police = post(
        gateway, "/v1/police-notifications", partners.school, as_json(police_notification())
    )
    as_health = post(
        gateway,
        "/v1/contacts",
        partners.school,
        as_json(contact(referrer={"agency": "health", "email": "gp@practice.example"})),
    )

    assert as_police.status_code == 403
    assert as_health.status_code == 403
    assert on_topic(kafka, CONTACTS.name_under(topic_prefix), Contact) == []


def test_the_same_idempotency_key_twice_publishes_once_even_across_a_restart(
    kafka: KafkaSettings, topic_prefix: str, store_url: str, partners: Partners
) -> None:
    key = str(uuid.uuid4())
    first_event, other_event = contact(), contact()
    with serving(gateway_app(kafka, topic_prefix, store_url)) as url:
        first = post(
            url, "/v1/contacts", partners.school, as_json(first_event), **{"Idempotency-Key": key}
        )
        again = post(
            url, "/v1/contacts", partners.school, as_json(first_event), **{"Idempotency-Key": key}
        )
    with serving(gateway_app(kafka, topic_prefix, store_url)) as restarted:
        after_restart = post(
            restarted,
            "/v1/contacts",
            partners.school,
            as_json(first_event),
            **{"Idempotency-Key": key},
        )
        another_under_the_same_key = post(
            restarted,
            "/v1/contacts",
            partners.school,
            as_json(other_event),
            **{"Idempotency-Key": key},
        )

    assert first.status_code == again.status_code == after_restart.status_code == 202
    assert again.headers["Idempotent-Replayed"] == "true"
    assert after_restart.json()["event_id"] == first_event.event_id
    assert another_under_the_same_key.status_code == 409
    assert another_under_the_same_key.json()["code"] == "FD-EVENT-ID-REUSED"
    topic = CONTACTS.name_under(topic_prefix)
    assert on_topic(kafka, topic, Contact) == [first_event.event_id]


def test_a_partner_reusing_its_event_id_for_another_child_is_409_naming_the_id(
    gateway: str, partners: Partners, kafka: KafkaSettings, topic_prefix: str
) -> None:
    first = contact()
    reused = contact(
        event_id=first.event_id,
        children=[first.children[0].model_copy(update={"given_name": "Zara"})],
    )

    accepted = post(gateway, "/v1/contacts", partners.school, as_json(first))
    refused = post(gateway, "/v1/contacts", partners.school, as_json(reused))
    replayed = post(gateway, "/v1/contacts", partners.school, as_json(first))

    assert accepted.status_code == 202
    assert refused.status_code == 409
    assert refused.json()["code"] == "FD-EVENT-ID-REUSED"
    assert first.event_id in refused.json()["message"]
    assert "Zara" not in refused.text
    assert replayed.status_code == 202
    assert replayed.headers["Idempotent-Replayed"] == "true"
    assert on_topic(kafka, CONTACTS.name_under(topic_prefix), Contact) == [first.event_id]


def test_without_a_key_a_bad_body_is_401_and_says_nothing_of_the_contract(
    gateway: str, partners: Partners
) -> None:
    answer = post(gateway, "/v1/contacts", None, {"children": [], "unknown": 1})

    assert answer.status_code == 401
    assert "children" not in answer.text


def test_a_dash_score_beyond_what_the_wire_carries_is_422_naming_the_field(
    gateway: str, partners: Partners, kafka: KafkaSettings, topic_prefix: str
) -> None:
    for score in (2**64, -(2**63) - 1):
        body = as_json(police_notification())
        body["dash_score"] = score  # type: ignore[index]

        answer = post(gateway, "/v1/police-notifications", partners.police, body)

        assert answer.status_code == 422, answer.text
        assert [e["field"] for e in answer.json()["errors"]] == ["dash_score"]
    topic = POLICE_NOTIFICATIONS.name_under(topic_prefix)
    assert on_topic(kafka, topic, PoliceNotification) == []


def test_a_flood_of_wrong_keys_is_refused_cheaply_and_other_partners_are_unaffected(
    kafka: KafkaSettings, topic_prefix: str, store_url: str, partners: Partners
) -> None:
    app = gateway_app(kafka, topic_prefix, store_url, failed_authentications_per_minute=3)
    wrong = partners.school[:-6] + "AAAAAA"  # the school's own key id, a wrong secret
    with serving(app) as url:
        before = post_from("127.0.0.2", url, partners.school, as_json(contact()))
        flood = [post_from("127.0.0.1", url, wrong, as_json(contact())) for _ in range(6)]
        during = post_from("127.0.0.2", url, partners.school, as_json(contact()))

    assert before.status_code == 202
    assert [a.status_code for a in flood] == [401, 401, 401, 429, 429, 429]
    assert flood[-1].json()["code"] == "FD-AUTH-THROTTLED"
    assert int(flood[-1].headers["Retry-After"]) >= 1
    # The school, elsewhere, keeps working with its key while its key id is under attack.
    assert during.status_code == 202


def post_from(address: str, url: str, token: str, body: object) -> httpx.Response:
    """A POST from another loopback address, as a second client machine would send it."""
    with httpx.Client(transport=httpx.HTTPTransport(local_address=address)) as client:
        return client.post(
            f"{url}/v1/contacts", json=body, headers={"Authorization": f"Bearer {token}"}
        )


def test_too_large_a_body_is_413_and_too_many_requests_429(
    kafka: KafkaSettings, topic_prefix: str, store_url: str, partners: Partners
) -> None:
    app = gateway_app(kafka, topic_prefix, store_url, max_body_bytes=4096, requests_per_minute=2)
    with serving(app) as url:
        before = Samples(httpx.get(f"{url}/metrics", timeout=10).text)
        huge = as_json(contact(description="x" * 10_000))
        too_large = post(url, "/v1/contacts", partners.school, huge)
        answers = [
            post(url, "/v1/contacts", partners.school, as_json(contact())).status_code
            for _ in range(3)
        ]
        limited = post(url, "/v1/contacts", partners.school, as_json(contact()))
        after = Samples(httpx.get(f"{url}/metrics", timeout=10).text)

    assert too_large.status_code == 413
    # Refused before routing, and still counted under its route.
    refused = {"method": "POST", "route": "/v1/contacts", "status": "413"}
    metric = "frontdoor_gateway_requests_total"
    assert after.value(metric, **refused) - before.value(metric, **refused) == 1
    assert answers[:2] == [202, 202]
    assert answers[2] == 429
    assert int(limited.headers["Retry-After"]) >= 1


def test_the_openapi_documentation_is_served(gateway: str) -> None:
    assert httpx.get(f"{gateway}/docs", timeout=10).status_code == 200
    paths = httpx.get(f"{gateway}/openapi.json", timeout=10).json()["paths"]
    assert set(paths) >= {"/v1/contacts", "/v1/police-notifications", "/v1/consent-events"}


def test_the_gateway_serves_prometheus_text_counting_requests_by_route_and_events_by_type(
    gateway: str, partners: Partners
) -> None:
    before = Samples(httpx.get(f"{gateway}/metrics", timeout=10).text)

    assert post(gateway, "/v1/contacts", partners.school, as_json(contact())).status_code == 202
    assert post(gateway, "/v1/contacts", "fdk_nonsense", as_json(contact())).status_code == 401
    answer = httpx.get(f"{gateway}/metrics", timeout=10)

    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    for metric in documented_names("gateway"):
        assert f"# TYPE {metric} " in answer.text
    after = Samples(answer.text)

    def grew(metric: str, **labels: str) -> float:
        return after.value(metric, **labels) - before.value(metric, **labels)

    requests = "frontdoor_gateway_requests_total"
    assert grew(requests, method="POST", route="/v1/contacts", status="202") == 1
    assert grew(requests, method="POST", route="/v1/contacts", status="401") == 1
    assert grew("frontdoor_gateway_events_accepted_total", type="contact") == 1
    timed = "frontdoor_gateway_request_duration_seconds_count"
    assert grew(timed, route="/v1/contacts") == 2
    paths = httpx.get(f"{gateway}/openapi.json", timeout=10).json()["paths"]
    assert "/metrics" not in paths  # for operators, not part of the partners' contract


def test_a_broker_outage_is_503_with_retry_after_and_the_retried_event_lands_once(
    tmp_path: Path, topic_prefix: str, store_url: str, partners: Partners
) -> None:
    broker_port, proxy_port = free_port(), free_port()
    proxied = f"127.0.0.1:{proxy_port}"
    with (
        TcpProxy(proxy_port, ("127.0.0.1", broker_port)) as proxy,
        EmbeddedBroker(f"127.0.0.1:{broker_port}", tmp_path / "tansu.log", advertised=proxied),
    ):
        kafka = KafkaSettings(bootstrap_servers=proxied, embedded=False)
        with serving(gateway_app(kafka, topic_prefix, store_url)) as url:
            before = contact()
            assert post(url, "/v1/contacts", partners.school, as_json(before)).status_code == 202

            proxy.cut()
            during = contact()
            refused = post(url, "/v1/contacts", partners.school, as_json(during))
            assert refused.status_code == 503
            assert int(refused.headers["Retry-After"]) > 0

            proxy.restore()
            for _ in range(30):  # the partner retries until accepted
                retried = post(url, "/v1/contacts", partners.school, as_json(during))
                if retried.status_code == 202:
                    break
                time.sleep(1)
            assert retried.status_code == 202

        time.sleep(2)  # anything the producer still held would have arrived by now
        landed = on_topic(kafka, CONTACTS.name_under(topic_prefix), Contact)
    assert sorted(landed) == sorted([before.event_id, during.event_id])


@pytest.mark.slow
@pytest.mark.timeout(420)
def test_a_30_second_cut_under_load_loses_nothing_accepted_and_the_worker_says_so_at_once(
    tmp_path: Path, topic_prefix: str, store_url: str, partners: Partners
) -> None:
    broker_port, proxy_port = free_port(), free_port()
    proxied = f"127.0.0.1:{proxy_port}"
    data_dir = tmp_path / "worker"
    data_dir.mkdir()
    with (
        TcpProxy(proxy_port, ("127.0.0.1", broker_port)) as proxy,
        EmbeddedBroker(f"127.0.0.1:{broker_port}", tmp_path / "tansu.log", advertised=proxied),
    ):
        kafka = KafkaSettings(bootstrap_servers=proxied, embedded=False)
        health = {"FRONTDOOR_HEALTH_INTERVAL_SECONDS": "2"}
        worker_env = {"KAFKA_BOOTSTRAP_SERVERS": proxied, "FRONTDOOR_DATA_DIR": str(data_dir)}
        with (
            running_worker(kafka, topic_prefix, data_dir, extra_env=health),
            serving(gateway_app(kafka, topic_prefix, store_url)) as url,
        ):
            partner = RetryingPartner(url, partners.school)
            partner.send_for(seconds=5)
            before = frontdoor("health", env=worker_env, check=False)

            proxy.cut()
            cut_at = time.monotonic()
            partner.send_for(seconds=8)
            said = _wait_for_text(data_dir / "worker.log", "cannot reach the broker", within=20)
            during = frontdoor("health", env=worker_env, check=False)
            partner.send_for(seconds=30 - (time.monotonic() - cut_at))
            proxy.restore()

            partner.send_for(seconds=5)
            partner.retry_until_accepted(within=60)
            waiting = waiting_once_settled(kafka, topic_prefix, within=120)
            recovered = _wait_for_text(data_dir / "worker.log", "broker reachable again", within=20)
            after = frontdoor("health", env=worker_env, check=False)
        on_intake = set(on_topic(kafka, CONTACTS.name_under(topic_prefix), Contact))

    assert before.returncode == 0, before.stdout
    assert said, "the worker said nothing about the cut"
    assert during.returncode == 1
    assert '"broker": "unreachable"' in during.stdout
    assert partner.refused_with_503 > 0, "the gateway accepted what it could not write"
    # The publish timeout is 3 s: no partner is held much longer, outage or not.
    assert partner.slowest_answer < 10, f"a partner waited {partner.slowest_answer:.0f}s"
    assert partner.accepted <= on_intake
    assert len(partner.accepted) == partner.sent
    assert waiting == [], [f"{w.stage.value} {w.reference}" for w in waiting]
    assert recovered
    assert after.returncode == 0, after.stdout


class RetryingPartner:
    """A partner system posting contacts at about five a second, retrying every 503 later."""

    def __init__(self, url: str, token: str) -> None:
        self.url, self.token = url, token
        self.sent = 0
        self.accepted: set[str] = set()
        self.refused_with_503 = 0
        self.slowest_answer = 0.0
        self._to_retry: list[Contact] = []

    def send_for(self, *, seconds: float) -> None:
        until = time.monotonic() + seconds
        while time.monotonic() < until:
            self.sent += 1
            self._post(contact())
            time.sleep(0.2)

    def retry_until_accepted(self, *, within: float) -> None:
        deadline = time.monotonic() + within
        while self._to_retry and time.monotonic() < deadline:
            pending, self._to_retry = self._to_retry, []
            for event in pending:
                self._post(event)
            time.sleep(0.5)

    def _post(self, event: Contact) -> None:
        started = time.monotonic()
        answer = httpx.post(
            f"{self.url}/v1/contacts",
            json=as_json(event),
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=60,
        )
        self.slowest_answer = max(self.slowest_answer, time.monotonic() - started)
        if answer.status_code == 202:
            self.accepted.add(event.event_id)
        else:
            assert answer.status_code == 503, answer.text
            self.refused_with_503 += 1
            self._to_retry.append(event)


def _wait_for_text(path: Path, text: str, *, within: float) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if text in path.read_text(encoding="utf-8", errors="replace"):
            return True
        time.sleep(0.5)
    return False
