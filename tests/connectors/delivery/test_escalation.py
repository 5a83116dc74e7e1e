"""A night: the mail server is down for a minute, nothing is lost, and the alert nobody
acknowledged escalates once.

A real worker keeps the acknowledgement clocks (its rules give the duty team one minute, its
timer ticks every second) and a real delivery service e-mails a real SMTP server, which is down
for the first minute. Two children are at immediate risk and five schools are to be told of a
domestic-abuse incident: the duty team acknowledges the first alert in the staff application and
nobody answers the second. When the mail server is back every message is delivered once, the
unanswered alert is re-sent to the duty team and escalated to the duty manager, once, and the
acknowledged one never is. Synthetic data only.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest

from connectors.delivery.channels import load_channels
from connectors.delivery.local import MailCatcher
from connectors.delivery.service import DeliveryService, Deployment
from connectors.staff.consumer import default_codec
from schemas.models import (
    AcknowledgedVia,
    AlertAcknowledgement,
    AlertStatus,
    DeliveryState,
    DeliveryStatus,
    TimelinessAlert,
)
from streams.decisions.rules import DEFAULT_RULES_FILE
from streams.decisions.schools import load_safeguarding_leads
from streams.platform.broker import free_port
from streams.platform.settings import DeliverySettings, KafkaSettings, WorkerSettings
from streams.platform.topics import DELIVERY_STATUSES, TIMELINESS_ALERTS
from tests.connectors.delivery.running import eventually, publish, running
from tests.connectors.delivery.synthetic import duty_team_alert, school_notification
from tests.helpers import running_worker, wait_for_matching

pytestmark = [pytest.mark.integration, pytest.mark.slow]

CODEC = default_codec()
DUTY_TEAM = "duty-team@synthetic-county.example.org"
DUTY_MANAGER = "duty-manager@synthetic-county.example.org"
LEAD = "dsl@brook-lane-academy.sch.example"  # school 990002's, in the shipped leads file
CHANNELS = f"""\
version: 1
retry:
  first_seconds: 0.2
  longest_seconds: 2
  give_up_after_minutes: 10
duty_team:
  - email: {DUTY_TEAM}
duty_manager:
  - email: {DUTY_MANAGER}
team_managers:
  - email: mash-managers@synthetic-county.example.org
education_team:
  - email: education@synthetic-county.example.org
health_visiting:
  - email: health-visiting@synthetic-health.example.org
"""


def _one_minute_to_acknowledge(tmp_path: Path) -> Path:
    text = DEFAULT_RULES_FILE.read_text(encoding="utf-8")
    assert "duty_alert_acknowledge_minutes: 15" in text
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        text.replace("duty_alert_acknowledge_minutes: 15", "duty_alert_acknowledge_minutes: 1")
    )
    return rules


async def test_a_night_with_the_mail_server_down_loses_nothing_and_escalates_once(
    kafka: KafkaSettings, topic_prefix: str, tmp_path: Path
) -> None:
    channels_file = tmp_path / "channels.yaml"
    channels_file.write_text(CHANNELS)
    worker_env = {
        "FRONTDOOR_CLOCK_TICK_SECONDS": "1",
        "FRONTDOOR_RULES_FILE": str(_one_minute_to_acknowledge(tmp_path)),
    }
    now = datetime.now(UTC)
    seen = duty_team_alert(
        event_id="alert-seen-0001",
        child_key="child-seen",
        work_item_id="item-seen:duty_team",
        raised_at=now,
        received_at=now,
    )
    unseen = duty_team_alert(
        event_id="alert-unseen-0001",
        child_key="child-unseen",
        work_item_id="item-unseen:duty_team",
        raised_at=now,
        received_at=now,
    )
    # Acknowledged on the staff application while the mail server is down.
    acknowledged = AlertAcknowledgement(
        event_id="ack-seen-0001",
        alert_id=seen.event_id,
        work_item_id=seen.work_item_id,
        child_key=seen.child_key,
        acknowledged_by="duty.worker",
        via=AcknowledgedVia.STAFF_APPLICATION,
        acknowledged_at=now,
    )
    schools = [
        school_notification(event_id=f"encompass-night-{n:04d}", child_key=f"child-night-{n}")
        for n in range(5)
    ]
    smtp_port = free_port()
    with running_worker(kafka, topic_prefix, tmp_path, extra_env=worker_env):
        service = DeliveryService(
            Deployment(
                kafka=kafka,
                worker=WorkerSettings(topic_prefix=topic_prefix, app_id="night-test"),
                delivery=DeliverySettings(smtp_port=smtp_port),
                acknowledge_secret="a-test-secret-for-acknowledge-links",
            ),
            load_channels(channels_file, {}),
            load_safeguarding_leads(),
            CODEC,
        )
        async with running(service):
            await asyncio.to_thread(
                publish, kafka, topic_prefix, seen, unseen, acknowledged, *schools
            )
            await asyncio.sleep(60)  # the mail server is down for a minute
            with MailCatcher(port=smtp_port) as catcher:
                (escalation,) = await asyncio.to_thread(
                    wait_for_matching,
                    kafka,
                    TIMELINESS_ALERTS.name_under(topic_prefix),
                    TimelinessAlert,
                    lambda alert: alert.subject_id == unseen.event_id,
                    timeout=120,
                )
                await eventually(lambda: len(set(catcher.message_ids())) >= 9, 60)
                await asyncio.sleep(5)  # ticks go on: nothing more may be raised or sent

    assert escalation.status is AlertStatus.OVERDUE
    every_alert = await asyncio.to_thread(
        wait_for_matching,
        kafka,
        TIMELINESS_ALERTS.name_under(topic_prefix),
        TimelinessAlert,
        lambda _alert: True,
    )
    assert [alert.subject_id for alert in every_alert] == [unseen.event_id]
    to_manager = [mail for mail in catcher.mails if mail.recipients == (DUTY_MANAGER,)]
    assert [mail.message_id for mail in to_manager] == [
        f"<{escalation.event_id}.duty_manager@frontdoor>"
    ]
    resent_id = f"<{escalation.event_id}.duty_team@frontdoor>"
    to_team = [mail.message_id for mail in catcher.mails if mail.recipients == (DUTY_TEAM,)]
    assert sorted(id_ or "" for id_ in to_team) == sorted(
        [
            f"<{seen.event_id}.duty_team@frontdoor>",
            f"<{unseen.event_id}.duty_team@frontdoor>",
            resent_id,
        ]
    )
    resent = next(mail for mail in catcher.mails if mail.message_id == resent_id)
    assert f"/duty-alerts/{unseen.event_id}/acknowledge?token=" in resent.message.get_content()
    # Every school told once, after the outage, and nothing recorded as failed.
    to_schools = [mail for mail in catcher.mails if mail.recipients == (LEAD,)]
    assert sorted(mail.message_id or "" for mail in to_schools) == sorted(
        f"<{notice.event_id}.school-990002@frontdoor>" for notice in schools
    )
    statuses = await asyncio.to_thread(
        wait_for_matching,
        kafka,
        DELIVERY_STATUSES.name_under(topic_prefix),
        DeliveryStatus,
        lambda status: status.state is DeliveryState.DELIVERED,
        9,
    )
    assert {status.message_id for status in statuses} >= {n.event_id for n in schools}
    failed = await asyncio.to_thread(
        wait_for_matching,
        kafka,
        DELIVERY_STATUSES.name_under(topic_prefix),
        DeliveryStatus,
        lambda status: status.state is not DeliveryState.DELIVERED,
    )
    assert {status.state for status in failed} == {DeliveryState.RETRYING}
