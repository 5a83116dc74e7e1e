"""The delivery service's own small decisions, without a broker: what a status and a MASH task
say, where a message says it went, which alert a message asks to acknowledge, and that our own
faults (broker, schema registry) are waited out rather than given up on."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest
from aiokafka.errors import KafkaConnectionError

from connectors.delivery.channels import EmailRoute, FetchRoute, Recipient, WebhookRoute
from connectors.delivery.service import (
    DeliveryService,
    Deployment,
    address_of,
    alert_to_acknowledge,
    delivery_failed_task,
    delivery_status,
    message_id_header,
)
from connectors.delivery.signing import new_secret
from connectors.staff.consumer import default_codec
from schemas.errors import WebhookDeliveryError
from schemas.models import ClockKind, DeliveryState, TaskKind
from streams.platform.settings import DeliverySettings, KafkaSettings, WorkerSettings
from tests.connectors.delivery.synthetic import (
    duty_team_alert,
    information_request,
    school_notification,
    timeliness_alert,
)

NOW = datetime(2026, 11, 28, 2, 0, tzinfo=UTC)
SCHOOL = Recipient("school:990002", EmailRoute(("dsl@brook-lane-academy.sch.example",)))
POLICE = Recipient(
    "partner:police.synthetic",
    WebhookRoute("https://police.example.org/hooks?token=not-for-logs", new_secret()),
)


def test_each_attempt_and_state_has_its_own_status_id_and_a_repeat_has_the_same() -> None:
    notice = school_notification()

    def status(attempt: int, state: DeliveryState) -> str:
        return delivery_status(notice, SCHOOL, attempt=attempt, state=state, at=NOW).event_id

    assert status(1, DeliveryState.RETRYING) == status(1, DeliveryState.RETRYING)
    assert status(1, DeliveryState.RETRYING) != status(1, DeliveryState.DELIVERED)
    assert status(1, DeliveryState.DELIVERED) != status(2, DeliveryState.DELIVERED)


def test_a_status_names_where_the_message_went_but_never_a_webhooks_path_or_query() -> None:
    request = information_request()
    status = delivery_status(request, POLICE, attempt=1, state=DeliveryState.DELIVERED, at=NOW)
    assert status.address == "police.example.org"
    assert status.child_key is None
    assert address_of(SCHOOL) == "dsl@brook-lane-academy.sch.example"
    assert address_of(Recipient("partner:school.990001", FetchRoute())) == "gateway"


def test_a_message_id_is_the_event_and_the_recipient_the_same_on_every_retry() -> None:
    notice = school_notification(event_id="encompass-0042")
    assert message_id_header(notice, SCHOOL) == "<encompass-0042.school-990002@frontdoor>"


def test_the_duty_team_acknowledges_an_alert_and_its_escalation_names_the_same_alert() -> None:
    alert = duty_team_alert(event_id="alert-0042-work-item")
    escalation = timeliness_alert(subject_id="alert-0042-work-item")
    assert alert_to_acknowledge(alert) == "alert-0042-work-item"
    assert alert_to_acknowledge(escalation) == "alert-0042-work-item"
    assert alert_to_acknowledge(timeliness_alert(clock=ClockKind.DECISION)) is None
    assert alert_to_acknowledge(school_notification()) is None


def test_an_undelivered_message_is_a_mash_task_saying_who_was_not_told_and_why() -> None:
    request = information_request(event_id="request-0042")
    task = delivery_failed_task(
        request,
        POLICE.code,
        "webhook",
        WebhookDeliveryError("HTTP 503"),
        attempts=7,
        at=NOW,
    )
    assert task.kind is TaskKind.DELIVERY_FAILED
    assert task.title == "InformationRequest not delivered to partner:police.synthetic"
    assert "7 attempt(s) by webhook failed (HTTP 503)" in task.reason
    assert (task.reference, task.error_code) == ("request-0042", "FD-DELIVERY-WEBHOOK")


async def test_the_broker_is_waited_out_however_long_and_an_operator_told_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    def clock() -> datetime:
        return NOW + timedelta(seconds=sum(slept))

    service = DeliveryService(
        Deployment(
            kafka=KafkaSettings(),
            worker=WorkerSettings(stall_alert_seconds=30),
            delivery=DeliverySettings(),
            acknowledge_secret="a-test-secret",
        ),
        channels=None,  # type: ignore[arg-type]  # not reached: only the retry is exercised
        leads={},
        codec=default_codec(),
        clock=clock,
        sleep=sleep,
    )
    failures = iter(range(8))

    def attempt() -> str:
        if next(failures, None) is not None:
            raise KafkaConnectionError
        return "published"

    with caplog.at_level(logging.ERROR):
        assert await service._transient(attempt) == "published"
    assert slept == [0.5, 1.0, 2.0, 5.0, 10.0, 10.0, 10.0, 10.0]
    alerts = [record for record in caplog.records if record.levelno == logging.CRITICAL]
    assert len(alerts) == 1
    assert "OPERATOR ALERT" in alerts[0].getMessage()
