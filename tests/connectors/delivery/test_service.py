"""The delivery service against a real broker, a real SMTP server and a real webhook receiver.

The stories of the issue: the duty team's alert reaches their inbox with a link to acknowledge
it; a police force's system that fails twice still gets its information request exactly once; a
message that cannot be delivered becomes a MASH task; killing the service mid-batch neither loses
nor (beyond a redelivery with the same id) repeats a message. (A mail server down for a minute
is the night in ``test_escalation.py``.) Each test has its own topic namespace, consumer group,
mail catcher and receiver. Synthetic data only.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from connectors.delivery.channels import Channels, load_channels
from connectors.delivery.local import MailCatcher, WebhookReceiver
from connectors.delivery.service import OUTBOUND, DeliveryService, Deployment
from connectors.delivery.signing import new_secret
from connectors.staff.consumer import default_codec
from schemas.models import (
    DeliveryState,
    DeliveryStatus,
    MashTask,
    TaskKind,
)
from streams.decisions.schools import load_safeguarding_leads
from streams.platform import metrics
from streams.platform.admin import committed_offsets, ensure_topics
from streams.platform.broker import free_port
from streams.platform.settings import DeliverySettings, KafkaSettings, WorkerSettings
from streams.platform.topics import (
    DEAD_LETTERS,
    DELIVERY_STATUSES,
    MASH_TASKS,
)
from tests.connectors.delivery.running import eventually, publish, running
from tests.connectors.delivery.synthetic import (
    duty_team_alert,
    information_request,
    school_notification,
)
from tests.helpers import stop_process_group, wait_for_matching
from tests.streams.platform.test_metrics import Samples, documented_names

pytestmark = pytest.mark.integration

CODEC = default_codec()
SECRET = new_secret()
LEADS = load_safeguarding_leads()
ACKNOWLEDGE_SECRET = "a-test-secret-for-acknowledge-links"

CHANNEL_FILE = """\
version: 1
retry:
  first_seconds: 0.2
  longest_seconds: 2
  give_up_after_minutes: {give_up}
duty_team:
  - email: duty-team@synthetic-county.example.org
duty_manager:
  - email: duty-manager@synthetic-county.example.org
team_managers:
  - email: mash-managers@synthetic-county.example.org
education_team:
  - email: education@synthetic-county.example.org
health_visiting:
  - email: health-visiting@synthetic-health.example.org
partners:
  police.synthetic:
    - webhook:
        url: {webhook}
        secret_env: TEST_WEBHOOK_SECRET
"""


def _outbound_topics(kafka: KafkaSettings, prefix: str) -> None:
    ensure_topics(kafka, [*OUTBOUND, DELIVERY_STATUSES, MASH_TASKS, DEAD_LETTERS], prefix=prefix)


def _channels(tmp_path: Path, webhook: str, *, give_up_minutes: float = 10) -> Channels:
    path = tmp_path / "channels.yaml"
    path.write_text(CHANNEL_FILE.format(webhook=webhook, give_up=give_up_minutes))
    return load_channels(path, {"TEST_WEBHOOK_SECRET": SECRET})


def _deployment(kafka: KafkaSettings, prefix: str, smtp_port: int) -> Deployment:
    return Deployment(
        kafka=kafka,
        worker=WorkerSettings(topic_prefix=prefix, app_id="delivery-test"),
        delivery=DeliverySettings(smtp_port=smtp_port, staff_public_url="http://staff.test"),
        acknowledge_secret=ACKNOWLEDGE_SECRET,
    )


def _statuses(
    kafka: KafkaSettings, prefix: str, message_id: str, count: int
) -> list[DeliveryStatus]:
    return wait_for_matching(
        kafka,
        DELIVERY_STATUSES.name_under(prefix),
        DeliveryStatus,
        lambda status: status.message_id == message_id,
        count,
    )


def _webhook_attempts() -> dict[str, float]:
    """The delivery service's webhook attempts so far (this test process's), by state."""
    return {
        state: metrics.DELIVERY.get_sample_value(
            "frontdoor_delivery_attempts_total", {"channel": "webhook", "state": state}
        )
        or 0.0
        for state in ("retrying", "delivered", "failed")
    }


def _held_and_in_flight() -> tuple[float | None, float | None]:
    sample = metrics.DELIVERY.get_sample_value
    return (
        sample("frontdoor_delivery_messages_held"),
        sample("frontdoor_delivery_attempts_in_flight"),
    )


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver(SECRET) as started:
        yield started


@pytest.fixture
def catcher() -> Iterator[MailCatcher]:
    with MailCatcher() as started:
        yield started


async def test_the_duty_team_is_emailed_with_a_link_to_acknowledge_and_the_police_get_a_webhook(
    kafka: KafkaSettings,
    topic_prefix: str,
    tmp_path: Path,
    catcher: MailCatcher,
    receiver: WebhookReceiver,
) -> None:
    _outbound_topics(kafka, topic_prefix)
    alert = duty_team_alert(event_id="alert-story-0001")
    request = information_request(event_id="request-story-0001")
    service = DeliveryService(
        _deployment(kafka, topic_prefix, catcher.port),
        _channels(tmp_path, receiver.url),
        LEADS,
        CODEC,
    )
    async with running(service):
        await asyncio.to_thread(publish, kafka, topic_prefix, alert, request)
        await eventually(lambda: len(catcher.mails) >= 1 and len(receiver.received) >= 1, 60)

    (mail,) = catcher.mails
    assert mail.recipients == ("duty-team@synthetic-county.example.org",)
    assert mail.message_id == "<alert-story-0001.duty_team@frontdoor>"
    body = mail.message.get_content()
    assert "http://staff.test/duty-alerts/alert-story-0001/acknowledge?token=" in body
    (webhook,) = receiver.received
    assert webhook.message_id == "request-story-0001"
    assert webhook.type == "InformationRequest"
    assert webhook.data["addressed_to_sender"] == "police.synthetic"

    (emailed,) = _statuses(kafka, topic_prefix, alert.event_id, 1)
    assert (emailed.recipient, emailed.channel.value, emailed.state) == (
        "duty_team",
        "email",
        DeliveryState.DELIVERED,
    )
    assert emailed.child_key == alert.child_key
    (posted,) = _statuses(kafka, topic_prefix, request.event_id, 1)
    assert (posted.channel.value, posted.state) == ("webhook", DeliveryState.DELIVERED)
    committed = committed_offsets(kafka, service.group_id)
    assert sum(committed.values()) == 2  # both messages, and nothing else, committed


async def test_a_receiver_failing_twice_gets_the_request_exactly_once_after_two_retries(
    kafka: KafkaSettings,
    topic_prefix: str,
    tmp_path: Path,
    catcher: MailCatcher,
    receiver: WebhookReceiver,
) -> None:
    _outbound_topics(kafka, topic_prefix)
    receiver.fail_next(2)
    request = information_request(event_id="request-retry-0001")
    service = DeliveryService(
        _deployment(kafka, topic_prefix, catcher.port),
        _channels(tmp_path, receiver.url),
        LEADS,
        CODEC,
    )
    before = _webhook_attempts()
    idle = _held_and_in_flight()
    async with running(service):
        await asyncio.to_thread(publish, kafka, topic_prefix, request)
        await eventually(lambda: len(receiver.received) >= 1, 60)
        await asyncio.sleep(1)  # nothing more arrives
        finished = _held_and_in_flight()

    after = _webhook_attempts()
    assert {state: after[state] - before[state] for state in after} == {
        "retrying": 2,
        "delivered": 1,
        "failed": 0,
    }
    assert finished == idle  # the message finished: no longer held, no attempt under way

    assert [webhook.message_id for webhook in receiver.received] == ["request-retry-0001"]
    assert receiver.attempts == 3
    statuses = _statuses(kafka, topic_prefix, request.event_id, 3)
    assert [(s.attempt, s.state) for s in sorted(statuses, key=lambda s: s.attempt)] == [
        (1, DeliveryState.RETRYING),
        (2, DeliveryState.RETRYING),
        (3, DeliveryState.DELIVERED),
    ]
    assert statuses[0].error_code == "FD-DELIVERY-WEBHOOK"
    assert statuses[0].next_attempt_at is not None


async def test_a_message_still_undelivered_at_the_limit_becomes_a_mash_task(
    kafka: KafkaSettings,
    topic_prefix: str,
    tmp_path: Path,
    catcher: MailCatcher,
) -> None:
    _outbound_topics(kafka, topic_prefix)
    request = information_request(event_id="request-fails-0001")
    nowhere = f"http://127.0.0.1:{free_port()}/webhooks/frontdoor"  # nobody listens
    service = DeliveryService(
        _deployment(kafka, topic_prefix, catcher.port),
        _channels(tmp_path, nowhere, give_up_minutes=0.05),
        LEADS,
        CODEC,
    )
    async with running(service):
        await asyncio.to_thread(publish, kafka, topic_prefix, request)
        (task,) = await asyncio.to_thread(
            wait_for_matching,
            kafka,
            MASH_TASKS.name_under(topic_prefix),
            MashTask,
            lambda task: task.reference == request.event_id,
        )

    assert task.kind is TaskKind.DELIVERY_FAILED
    assert task.title == "InformationRequest not delivered to partner:police.synthetic"
    assert task.error_code == "FD-DELIVERY-WEBHOOK"
    statuses = _statuses(kafka, topic_prefix, request.event_id, 2)
    assert statuses[-1].state is DeliveryState.FAILED
    assert committed_offsets(kafka, service.group_id)  # recorded as failed: committed


@pytest.mark.slow
def test_killing_the_service_mid_batch_loses_nothing_and_repeats_only_with_the_same_id(
    kafka: KafkaSettings, topic_prefix: str, tmp_path: Path, receiver: WebhookReceiver
) -> None:
    _outbound_topics(kafka, topic_prefix)
    notices = [
        school_notification(event_id=f"encompass-kill-{n:04d}", child_key=f"child-kill-{n}")
        for n in range(60)
    ]
    expected = {f"<{notice.event_id}.school-990002@frontdoor>" for notice in notices}
    channel_file = tmp_path / "channels.yaml"
    channel_file.write_text(CHANNEL_FILE.format(webhook=receiver.url, give_up=10))
    with MailCatcher() as catcher:
        env = {
            **os.environ,
            "KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
            "FRONTDOOR_TOPIC_PREFIX": topic_prefix,
            "FRONTDOOR_APP_ID": "delivery-kill",
            "FRONTDOOR_DATA_DIR": str(tmp_path / "data"),
            "FRONTDOOR_DELIVERY_CHANNELS_FILE": str(channel_file),
            "FRONTDOOR_DELIVERY_SMTP_PORT": str(catcher.port),
            # Small batches in flight, so the kill finds deliveries finished and unfinished.
            "FRONTDOOR_DELIVERY_IN_FLIGHT_LIMIT": "5",
            "FRONTDOOR_DELIVERY_HELD_LIMIT": "5",
            "FRONTDOOR_METRICS_DELIVERY_PORT": str(free_port()),
            "TEST_WEBHOOK_SECRET": SECRET,
        }
        publish(kafka, topic_prefix, *notices)
        first = _start_service(env, tmp_path / "first.log")
        try:
            deadline = time.monotonic() + 60
            while len(catcher.mails) < 10:
                assert time.monotonic() < deadline, (tmp_path / "first.log").read_text()[-3000:]
                time.sleep(0.05)
            os.killpg(first.pid, signal.SIGKILL)
            first.wait()
        finally:
            stop_process_group(first)
        killed_at = len(catcher.mails)
        assert killed_at < len(notices), "the kill came too late to interrupt anything"
        second = _start_service(env, tmp_path / "second.log")
        try:
            deadline = time.monotonic() + 90
            while not expected <= set(catcher.message_ids()):
                assert time.monotonic() < deadline, (tmp_path / "second.log").read_text()[-3000:]
                time.sleep(0.2)
            # Every message the first did not deliver, the second did: its own count says so.
            scraped = _scrape_until_delivered(env, at_least=len(notices) - killed_at)
        finally:
            stop_process_group(second)

    received = catcher.message_ids()
    assert set(received) == expected  # nothing lost, nothing but these
    # A repeat is a message delivered before the kill whose commit had not happened yet: one
    # redelivery at most, with the same Message-ID for the school's mail system to recognise.
    assert max(received.count(message_id) for message_id in expected) <= 2
    assert len(received) - len(expected) <= killed_at
    # The service's own metrics, as an operator's curl sees them.
    assert scraped.headers["content-type"].startswith("text/plain")
    for metric in documented_names("delivery"):
        assert f"# TYPE {metric} " in scraped.text


def _scrape_until_delivered(env: dict[str, str], *, at_least: int) -> httpx.Response:
    """The service's metrics once they count ``at_least`` e-mails delivered (a delivery is
    counted when its status is recorded, just after the mail server took it)."""
    url = f"http://127.0.0.1:{env['FRONTDOOR_METRICS_DELIVERY_PORT']}/metrics"
    deadline = time.monotonic() + 30
    while True:
        scraped = httpx.get(url, timeout=10)
        delivered = Samples(scraped.text).value(
            "frontdoor_delivery_attempts_total", channel="email", state="delivered"
        )
        if delivered >= at_least:
            return scraped
        assert time.monotonic() < deadline, f"{delivered} delivered of {at_least}"
        time.sleep(0.2)


def _start_service(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as output:
        return subprocess.Popen(
            [sys.executable, "-m", "connectors.cli", "delivery"],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
