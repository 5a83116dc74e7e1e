"""An unacknowledged duty-team alert escalates once; an acknowledged one never does.

A real worker keeps the acknowledgement clocks (its rules give the duty team one minute, its
timer ticks every second) and a real delivery service e-mails a real SMTP server. At 02:00 two
children are at immediate risk: the duty team acknowledges the first alert by the link in its
e-mail and nobody answers the second, which a minute later is re-sent to the duty team and
escalated to the duty manager, once. Synthetic data only.
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
from schemas.models import AcknowledgedVia, AlertAcknowledgement, AlertStatus, TimelinessAlert
from streams.decisions.rules import DEFAULT_RULES_FILE
from streams.decisions.schools import load_safeguarding_leads
from streams.platform.settings import DeliverySettings, KafkaSettings, WorkerSettings
from streams.platform.topics import TIMELINESS_ALERTS
from tests.connectors.delivery.running import publish, running
from tests.connectors.delivery.synthetic import duty_team_alert
from tests.helpers import running_worker, wait_for_matching

pytestmark = [pytest.mark.integration, pytest.mark.slow]

CODEC = default_codec()
DUTY_TEAM = "duty-team@synthetic-county.example.org"
DUTY_MANAGER = "duty-manager@synthetic-county.example.org"
CHANNELS = f"""\
version: 1
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


async def test_an_unacknowledged_alert_escalates_once_and_an_acknowledged_one_never(
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
    acknowledged = AlertAcknowledgement(
        event_id="ack-seen-0001",
        alert_id=seen.event_id,
        work_item_id=seen.work_item_id,
        child_key=seen.child_key,
        acknowledged_by="duty_team",
        via=AcknowledgedVia.EMAIL_LINK,
        acknowledged_at=now,
    )
    with (
        running_worker(kafka, topic_prefix, tmp_path, extra_env=worker_env),
        MailCatcher() as catcher,
    ):
        service = DeliveryService(
            Deployment(
                kafka=kafka,
                worker=WorkerSettings(topic_prefix=topic_prefix, app_id="escalation-test"),
                delivery=DeliverySettings(smtp_port=catcher.port),
                acknowledge_secret="a-test-secret-for-acknowledge-links",
            ),
            load_channels(channels_file, {}),
            load_safeguarding_leads(),
            CODEC,
        )
        async with running(service):
            await asyncio.to_thread(publish, kafka, topic_prefix, seen, unseen, acknowledged)
            (escalation,) = await asyncio.to_thread(
                wait_for_matching,
                kafka,
                TIMELINESS_ALERTS.name_under(topic_prefix),
                TimelinessAlert,
                lambda alert: alert.subject_id == unseen.event_id,
                timeout=120,
            )
            await asyncio.sleep(10)  # ticks go on: nothing more may be raised or sent

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
