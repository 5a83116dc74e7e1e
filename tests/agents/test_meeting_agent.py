"""The daily domestic-abuse meeting with a real worker on the real broker: a notification reaches
the agenda with its children, an agenda is published once however often the worker restarts, a
household's records are refused whole when one child has no action, and an overdue action raises
one alert that its completion clears.

So that the story does not wait for 09:30, the worker runs on a copy of the shipped rules with
the meeting a minute or two from now and every day a working day. A notification received two
days ago, before the deployment began, is on its first agenda, marked late.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from schemas.models import (
    ActionDone,
    Agency,
    AlertStatus,
    ClockKind,
    DomesticAbuseAgenda,
    MeetingAction,
    MeetingRecord,
    StaffRole,
    TimelinessAlert,
)
from schemas.wire import SENDER_HEADER
from streams.decisions.rules import DEFAULT_RULES_FILE
from streams.platform.admin import ensure_topics
from streams.platform.app import codec
from streams.platform.publisher import Publisher
from streams.platform.reader import read_topic
from streams.platform.settings import KafkaSettings
from streams.platform.topics import (
    AGENDAS,
    MEETING_RECORDS,
    POLICE_NOTIFICATIONS,
    TIMELINESS_ALERTS,
    TOPICS,
)
from tests.helpers import frontdoor, police_notification, running_worker, wait_for_matching

pytestmark = [pytest.mark.integration, pytest.mark.slow]

FAST_TICKS = {"FRONTDOOR_CLOCK_TICK_SECONDS": "1"}
LONDON = ZoneInfo("Europe/London")
IMPACT = (
    "Both children were in the room; the older one tried to step in and now refuses to leave "
    "his mother's side at school drop-off."
)


@pytest.fixture
def prefix(kafka: KafkaSettings, topic_prefix: str) -> str:
    ensure_topics(kafka, TOPICS, prefix=topic_prefix)
    return topic_prefix


def rules_meeting_soon(tmp_path: Path) -> tuple[Path, datetime]:
    """The shipped rules with every day a working day and the meeting at the next whole minute at
    least 75 seconds away (time for a loaded machine to start the worker); and its time."""
    meeting = (datetime.now(LONDON) + timedelta(seconds=135)).replace(second=0, microsecond=0)
    text = DEFAULT_RULES_FILE.read_text(encoding="utf-8")
    for old, new in (
        (
            "working_weekdays: [mon, tue, wed, thu, fri]",
            "working_weekdays: [mon, tue, wed, thu, fri, sat, sun]",
        ),
        ("bank_holidays: true ", "bank_holidays: false "),
        ('meeting_time: "09:30"', f'meeting_time: "{meeting:%H:%M}"'),
    ):
        assert old in text
        text = text.replace(old, new)
    path = tmp_path / "rules.yaml"
    path.write_text(text, encoding="utf-8")
    return path, meeting


def agendas(kafka: KafkaSettings, prefix: str) -> list[DomesticAbuseAgenda]:
    messages = read_topic(kafka, AGENDAS.name_under(prefix), idle_seconds=1)
    return [codec.decode(m.value, DomesticAbuseAgenda) for m in messages]


def env_of(kafka: KafkaSettings, prefix: str) -> dict[str, str]:
    return {"KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers, "FRONTDOOR_TOPIC_PREFIX": prefix}


def records_file(tmp_path: Path, *records: MeetingRecord) -> Path:
    path = tmp_path / "records.json"
    path.write_text(json.dumps([json.loads(r.model_dump_json()) for r in records]))
    return path


def test_a_notification_reaches_the_agenda_once_and_records_must_give_each_child_an_action(
    kafka: KafkaSettings, prefix: str, tmp_path: Path
) -> None:
    two_days_ago = datetime.now(UTC) - timedelta(days=2)
    sent = police_notification(received_at=two_days_ago, occurred_at=two_days_ago)
    rules, meeting = rules_meeting_soon(tmp_path)
    meeting_rules = {**FAST_TICKS, "FRONTDOOR_RULES_FILE": str(rules)}

    with running_worker(kafka, prefix, tmp_path, extra_env=meeting_rules):
        with Publisher(kafka, codec) as publisher:
            publisher.publish(
                POLICE_NOTIFICATIONS.name_under(prefix), sent, headers={SENDER_HEADER: "police.x"}
            )
        [agenda] = wait_for_matching(
            kafka,
            AGENDAS.name_under(prefix),
            DomesticAbuseAgenda,
            lambda a: any(h.about_event_id == sent.event_id for h in a.households),
            timeout=240,
        )
    assert agenda.meeting_at == meeting
    [household] = agenda.households
    assert [child.given_name for child in household.children] == ["Oscar", "Isla"]
    assert household.late  # received before the window of the first agenda
    oscar, isla = household.children
    assert [t.school_urn for t in oscar.told] == ["990001"]
    assert [t.recipient.value for t in isla.told] == ["health_visiting"]

    # Restarted twice, with the timer ticking every second: still one agenda for that meeting.
    for run in (1, 2):
        with running_worker(
            kafka, prefix, tmp_path, extra_env=meeting_rules, log_name=f"restart-{run}.log"
        ):
            time.sleep(4)
    assert [a.event_id for a in agendas(kafka, prefix)] == [agenda.event_id]

    # The meeting's records: Isla has no action, so nothing is written for either child.
    def record(child_key: str, actions: list[MeetingAction]) -> MeetingRecord:
        return MeetingRecord(
            event_id=f"mr-{child_key}",
            agenda_id=agenda.event_id,
            meeting_at=agenda.meeting_at,
            household_id=household.household_id,
            child_key=child_key,
            work_item_id=next(
                c.work_item_id for c in household.children if c.child_key == child_key
            ),
            impact_on_child=IMPACT,
            actions=actions,
            recorded_by="tm.synthetic",
            recorded_by_role=StaffRole.TEAM_MANAGER,
            recorded_at=datetime.now(UTC),
        )

    mentor = MeetingAction(
        action_id=f"act-{oscar.child_key}",
        description="School to arrange a daily check-in with the learning mentor",
        owner=Agency.EDUCATION,
        due_on=date.today() + timedelta(days=7),
    )
    refused = frontdoor(
        "meeting-record",
        str(records_file(tmp_path, record(oscar.child_key, [mentor]), record(isla.child_key, []))),
        env=env_of(kafka, prefix),
        check=False,
    )
    assert refused.returncode != 0
    assert f"child {isla.child_key}: actions" in refused.stderr
    assert list(read_topic(kafka, MEETING_RECORDS.name_under(prefix), idle_seconds=1)) == []

    visit = MeetingAction(
        action_id=f"act-{isla.child_key}",
        description="Health visitor to visit within five working days",
        owner=Agency.HEALTH,
        due_on=date.today() + timedelta(days=5),
    )
    accepted = frontdoor(
        "meeting-record",
        str(
            records_file(
                tmp_path, record(oscar.child_key, [mentor]), record(isla.child_key, [visit])
            )
        ),
        env=env_of(kafka, prefix),
    )
    assert "recorded 2 child record(s) with 2 action(s)" in accepted.stdout

    # An action from last month's meeting, past its due date: one alert; done, it clears.
    a_month_ago = datetime.now(UTC) - timedelta(days=30)
    overdue_action = mentor.model_copy(
        update={"action_id": "act-last-month", "due_on": (a_month_ago + timedelta(days=7)).date()}
    )
    last_month = record(oscar.child_key, [overdue_action]).model_copy(
        update={"event_id": "mr-last-month", "meeting_at": a_month_ago, "recorded_at": a_month_ago}
    )
    with Publisher(kafka, codec) as publisher:
        publisher.publish(MEETING_RECORDS.name_under(prefix), last_month, key=last_month.child_key)

    def action_alerts(statuses: int) -> list[TimelinessAlert]:
        return wait_for_matching(
            kafka,
            TIMELINESS_ALERTS.name_under(prefix),
            TimelinessAlert,
            lambda a: a.clock is ClockKind.MEETING_ACTION,
            statuses,
            timeout=90,
        )

    with running_worker(kafka, prefix, tmp_path, extra_env=FAST_TICKS, log_name="actions.log"):
        [overdue] = action_alerts(1)
        assert overdue.status is AlertStatus.OVERDUE
        assert overdue.child_key == oscar.child_key
        done = tmp_path / "done.json"
        done.write_text(
            ActionDone(
                event_id=f"done-{overdue_action.action_id}",
                action_id=overdue_action.action_id,
                child_key=oscar.child_key,
                work_item_id=oscar.work_item_id,
                done_at=datetime.now(UTC),
                recorded_by="tm.synthetic",
            ).model_dump_json()
        )
        frontdoor("action-done", str(done), env=env_of(kafka, prefix))
        alerts = action_alerts(2)
        time.sleep(3)  # more ticks: nothing more
        assert len(action_alerts(2)) == 2
    assert sorted(a.status for a in alerts) == [AlertStatus.CLEARED, AlertStatus.OVERDUE]
