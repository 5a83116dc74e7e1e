"""Timeliness clocks with a real worker on the real broker: overdue raised once, cleared by what
it waited for, and neither lost nor doubled across a restart.

The stories compress a day into seconds by dating the decision in the past: a level-4 decision
"made" 24 hours ago less a few seconds has its strategy discussion due within seconds. The
worker's timer ticks every second here (``FRONTDOOR_CLOCK_TICK_SECONDS``), so an alert comes
although no other event arrives.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from schemas.models import (
    Agency,
    AlertStatus,
    ChildProtectionConference,
    ClockKind,
    DiscussionStatus,
    Event,
    NextStep,
    Queue,
    StaffRole,
    StrategyDiscussion,
    ThresholdDecision,
    TimelinessAlert,
    WorkItem,
)
from streams.decisions.ids import derived_id
from streams.platform.admin import ensure_topics
from streams.platform.codec import AvroCodec
from streams.platform.publisher import Publisher
from streams.platform.reader import read_topic
from streams.platform.registry import EmbeddedSchemaRegistry
from streams.platform.settings import KafkaSettings
from streams.platform.topics import TIMELINESS_ALERTS, TOPICS, destination
from tests.connectors.staff.synthetic import work_items
from tests.helpers import running_worker

pytestmark = pytest.mark.integration

codec = AvroCodec(EmbeddedSchemaRegistry())
FAST_CLOCKS = {"FRONTDOOR_CLOCK_TICK_SECONDS": "1"}
DISCUSSION_DUE = timedelta(hours=24)


def a_mash_item() -> WorkItem:
    return work_items(6, queue=Queue.MASH)[0]


def level_4_decision(item: WorkItem, decided_at: datetime) -> ThresholdDecision:
    return ThresholdDecision(
        event_id=f"dec-{item.event_id}",
        work_item_id=item.event_id,
        child_key=item.child_key,
        source_event_id=item.source_event_id,
        queue=item.queue,
        level=4,
        next_step=NextStep.STRATEGY_DISCUSSION,
        rationale="Serious injury to a baby with no explanation; police and health agree the "
        "threshold for a section 47 enquiry is likely met.",
        decided_by="mw.synthetic",
        decided_by_role=StaffRole.MASH_WORKER,
        decided_at=decided_at,
    )


def held(item: WorkItem, decision: ThresholdDecision) -> StrategyDiscussion:
    return StrategyDiscussion(
        event_id=f"sd-{item.event_id}",
        discussion_id=derived_id("discussion", item.event_id),
        decision_id=decision.event_id,
        work_item_id=item.event_id,
        child_key=item.child_key,
        status=DiscussionStatus.HELD,
        at=datetime.now(UTC),
        recorded_by="tm.synthetic",
        recorded_by_role=StaffRole.TEAM_MANAGER,
        attendees=[Agency.LOCAL_AUTHORITY, Agency.POLICE, Agency.HEALTH, Agency.EDUCATION],
        section_47=False,
        rationale="Police and health shared what they hold; the injury has a medical cause "
        "confirmed by the hospital, so no enquiry.",
    )


def publish(kafka: KafkaSettings, prefix: str, *events: Event) -> None:
    with Publisher(kafka, codec) as publisher:
        for event in events:
            spec = destination(event)
            publisher.publish(spec.name_under(prefix), event, key=spec.key_of(event))


def alerts_for(
    kafka: KafkaSettings, prefix: str, item: WorkItem, clock: ClockKind
) -> list[TimelinessAlert]:
    topic = TIMELINESS_ALERTS.name_under(prefix)
    alerts = [codec.decode(m.value, TimelinessAlert) for m in read_topic(kafka, topic)]
    return [a for a in alerts if a.work_item_id == item.event_id and a.clock is clock]


def wait_for_alerts(
    kafka: KafkaSettings,
    prefix: str,
    item: WorkItem,
    clock: ClockKind,
    statuses: list[AlertStatus],
    *,
    timeout: float = 90.0,
) -> list[TimelinessAlert]:
    deadline = time.monotonic() + timeout
    found: list[TimelinessAlert] = []
    while time.monotonic() < deadline:
        found = alerts_for(kafka, prefix, item, clock)
        if sorted(a.status for a in found) == sorted(statuses):
            return found
        time.sleep(0.5)
    raise AssertionError(f"wanted {statuses}, found {[a.status for a in found]}")


@pytest.fixture
def prefix(kafka: KafkaSettings, topic_prefix: str) -> str:
    ensure_topics(kafka, TOPICS, prefix=topic_prefix)
    return topic_prefix


def test_a_strategy_discussion_not_held_in_time_raises_one_alert_and_held_clears_it(
    kafka: KafkaSettings, prefix: str, tmp_path: Path
) -> None:
    item = a_mash_item()
    decision = level_4_decision(item, datetime.now(UTC) - DISCUSSION_DUE - timedelta(minutes=1))

    with running_worker(kafka, prefix, tmp_path, extra_env=FAST_CLOCKS):
        publish(kafka, prefix, item, decision)
        [overdue] = wait_for_alerts(
            kafka, prefix, item, ClockKind.STRATEGY_DISCUSSION, [AlertStatus.OVERDUE]
        )
        time.sleep(3)  # several more ticks: still one alert
        assert len(alerts_for(kafka, prefix, item, ClockKind.STRATEGY_DISCUSSION)) == 1

        publish(kafka, prefix, held(item, decision))
        alerts = wait_for_alerts(
            kafka,
            prefix,
            item,
            ClockKind.STRATEGY_DISCUSSION,
            [AlertStatus.OVERDUE, AlertStatus.CLEARED],
        )

    assert overdue.due_at == decision.decided_at + DISCUSSION_DUE
    cleared = next(a for a in alerts if a.status is AlertStatus.CLEARED)
    assert cleared.satisfied_by == f"sd-{item.event_id}"
    # The decision came before the item's own due time: its clock raised nothing.
    assert alerts_for(kafka, prefix, item, ClockKind.DECISION) == []


def test_a_restart_mid_clock_neither_loses_nor_doubles_the_alert(
    kafka: KafkaSettings, prefix: str, tmp_path: Path
) -> None:
    item = a_mash_item()
    due_soon = datetime.now(UTC) - DISCUSSION_DUE + timedelta(seconds=25)
    decision = level_4_decision(item, due_soon)

    with running_worker(kafka, prefix, tmp_path, extra_env=FAST_CLOCKS):
        publish(kafka, prefix, item, decision)
        time.sleep(5)  # the clock is started and written, not yet due
        assert alerts_for(kafka, prefix, item, ClockKind.STRATEGY_DISCUSSION) == []
    # Down while the clock falls due; up again after.
    time.sleep(max(0.0, (decision.decided_at + DISCUSSION_DUE - datetime.now(UTC)).total_seconds()))
    with running_worker(kafka, prefix, tmp_path, extra_env=FAST_CLOCKS, log_name="again.log"):
        wait_for_alerts(kafka, prefix, item, ClockKind.STRATEGY_DISCUSSION, [AlertStatus.OVERDUE])
    with running_worker(kafka, prefix, tmp_path, extra_env=FAST_CLOCKS, log_name="third.log"):
        time.sleep(5)  # more ticks after a second restart

    assert len(alerts_for(kafka, prefix, item, ClockKind.STRATEGY_DISCUSSION)) == 1


def test_a_conference_overdue_after_a_section_47_is_alerted_once_and_cleared_by_the_conference(
    kafka: KafkaSettings, prefix: str, tmp_path: Path
) -> None:
    item = a_mash_item()
    # The enquiry started 40 days ago: its conference (15 working days) is overdue on arrival.
    decided_at = datetime.now(UTC) - timedelta(days=40, hours=2)
    decision = level_4_decision(item, decided_at)
    enquiry = held(item, decision).model_copy(
        update={"at": decided_at + timedelta(hours=2), "section_47": True}
    )
    conference = ChildProtectionConference(
        event_id=f"icpc-{item.event_id}",
        discussion_id=enquiry.discussion_id,
        work_item_id=item.event_id,
        child_key=item.child_key,
        held_at=datetime.now(UTC),
        recorded_by="tm.synthetic",
        recorded_by_role=StaffRole.TEAM_MANAGER,
        attendees=[Agency.LOCAL_AUTHORITY, Agency.POLICE, Agency.HEALTH],
        child_protection_plan=True,
        rationale="The conference agreed a plan: the baby's injuries have no safe explanation "
        "and the parents' accounts conflict.",
    )

    with running_worker(kafka, prefix, tmp_path, extra_env=FAST_CLOCKS):
        # Recorded 40 days late: the discussion the decision called for is overdue when read.
        publish(kafka, prefix, item, decision)
        wait_for_alerts(kafka, prefix, item, ClockKind.STRATEGY_DISCUSSION, [AlertStatus.OVERDUE])
        publish(kafka, prefix, enquiry)
        wait_for_alerts(
            kafka,
            prefix,
            item,
            ClockKind.STRATEGY_DISCUSSION,
            [AlertStatus.OVERDUE, AlertStatus.CLEARED],
        )
        wait_for_alerts(
            kafka, prefix, item, ClockKind.CHILD_PROTECTION_CONFERENCE, [AlertStatus.OVERDUE]
        )
        publish(kafka, prefix, conference)
        alerts = wait_for_alerts(
            kafka,
            prefix,
            item,
            ClockKind.CHILD_PROTECTION_CONFERENCE,
            [AlertStatus.OVERDUE, AlertStatus.CLEARED],
        )

    cleared = next(a for a in alerts if a.status is AlertStatus.CLEARED)
    assert cleared.satisfied_by == conference.event_id
