"""The queue store as the consumer fills it and the staff application reads and writes it.

Every story runs on SQLite in the test's directory and on PostgreSQL (a schema of its own). The
work items are real routings of synthetic children (:mod:`tests.connectors.staff.synthetic`),
varied by id, priority and times; decisions, tasks and alerts are built the same way.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

import pytest
from sqlalchemy import Engine, text, update

from connectors.staff.db import MashTaskRow, TimelinessAlertRow, sessions
from connectors.staff.store import (
    Acknowledged,
    AlertRow,
    ClaimResult,
    DiscussionRow,
    EntryKind,
    PartnerMessageKind,
    QueueStore,
)
from schemas.errors import StoreError
from schemas.models import (
    AcknowledgedVia,
    Agency,
    AlertAcknowledgement,
    AlertStatus,
    ClockKind,
    DeliveryChannel,
    DeliveryState,
    DeliveryStatus,
    DiscussionStatus,
    DutyTeamAlert,
    Event,
    EventType,
    InformationRequest,
    MashTask,
    MeetingRecord,
    NextStep,
    Outcome,
    OutcomeKind,
    Priority,
    Queue,
    RequestedItem,
    RequestReason,
    StaffRole,
    StrategyDiscussion,
    TaskKind,
    ThresholdDecision,
    TimelinessAlert,
    WorkItem,
)
from schemas.wire import InboundMessage
from streams.decisions.clocks import alert_id
from streams.decisions.ids import derived_id
from tests.connectors.staff.synthetic import work_items
from tests.connectors.staff.test_web import IMPACT, an_agenda

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
MINUTE = timedelta(minutes=1)
DELIVERY_KINDS = {EntryKind.TOLD, EntryKind.NOT_TOLD, EntryKind.AVAILABLE}


@cache
def _routed() -> WorkItem:
    return work_items(5)[0]


def item(
    event_id: str = "wi-00001",
    *,
    priority: Priority = Priority.AMBER,
    due: datetime = NOW + 24 * HOUR,
    received: datetime = NOW,
    queue: Queue = Queue.MASH,
    child_key: str = "child-1",
    level: int = 3,
) -> WorkItem:
    routed = _routed()
    return WorkItem.model_validate(
        {
            **routed.model_dump(),
            "event_id": event_id,
            "priority": priority,
            "decision_due_at": due,
            "received_at": received,
            "queue": queue,
            "child_key": child_key,
            "match": {**routed.match.model_dump(), "child_key": child_key},
            "level": level,
        }
    )


def decision(
    work_item: WorkItem,
    event_id: str = "dec-00001",
    *,
    at: datetime = NOW + HOUR,
    revises: str | None = None,
    by: str = "mash.worker",
    level: int = 3,
) -> ThresholdDecision:
    return ThresholdDecision(
        event_id=event_id,
        work_item_id=work_item.event_id,
        child_key=work_item.child_key,
        source_event_id=work_item.source_event_id,
        queue=work_item.queue,
        level=level,
        next_step=NextStep.CHILD_IN_NEED_ASSESSMENT,
        rationale="Synthetic reasons for a child in need assessment, written in full.",
        decided_by=by,
        decided_by_role=StaffRole.MASH_WORKER,
        decided_at=at,
        revises=revises,
    )


def task(event_id: str = "task-00001", *, created: datetime = NOW) -> MashTask:
    return MashTask(
        event_id=event_id,
        kind=TaskKind.DEAD_LETTER_REVIEW,
        title="Unusable message from gp.synth",
        sender="gp.synth",
        reason="the Avro body does not match",
        error_code="FD-DECODE-MALFORMED",
        reference=f"dl-{event_id}",
        created_at=created,
    )


def alert(
    work_item: WorkItem, event_id: str = "alert-00001", *, raised: datetime = NOW
) -> DutyTeamAlert:
    return DutyTeamAlert(
        event_id=event_id,
        work_item_id=work_item.event_id,
        source_event_id=work_item.source_event_id,
        child_key=work_item.child_key,
        priority=Priority.RED,
        reason="immediate risk out of hours",
        rationale=work_item.rationale,
        received_at=work_item.received_at,
        raised_at=raised,
    )


def acknowledgement(
    acknowledged: DutyTeamAlert,
    *,
    by: str = "edt.worker",
    at: datetime = NOW + 10 * MINUTE,
    via: AcknowledgedVia = AcknowledgedVia.STAFF_APPLICATION,
) -> AlertAcknowledgement:
    return AlertAcknowledgement(
        event_id=f"ack-{acknowledged.event_id}-{by}",
        alert_id=acknowledged.event_id,
        work_item_id=acknowledged.work_item_id,
        child_key=acknowledged.child_key,
        acknowledged_by=by,
        via=via,
        acknowledged_at=at,
    )


def discussion(
    work_item: WorkItem,
    event_id: str = "sd-00001",
    *,
    status: DiscussionStatus = DiscussionStatus.HELD,
    at: datetime = NOW + 2 * HOUR,
    attendees: tuple[Agency, ...] = (Agency.POLICE, Agency.LOCAL_AUTHORITY),
    missing: tuple[Agency, ...] = (Agency.HEALTH, Agency.EDUCATION),
    section_47: bool | None = True,
) -> StrategyDiscussion:
    held = status is DiscussionStatus.HELD
    return StrategyDiscussion(
        event_id=event_id,
        discussion_id=f"discussion-{work_item.event_id}",
        decision_id="dec-00001",
        work_item_id=work_item.event_id,
        child_key=work_item.child_key,
        status=status,
        at=at,
        recorded_by="mash.worker",
        recorded_by_role=StaffRole.MASH_WORKER,
        invitees=[Agency.POLICE, Agency.HEALTH, Agency.LOCAL_AUTHORITY, Agency.EDUCATION],
        attendees=list(attendees) if held else [],
        section_47=section_47 if held else None,
        rationale="Synthetic reasons for the outcome, written in full." if held else None,
        missing_agencies=list(missing) if held else [],
    )


def overdue(
    work_item: WorkItem,
    clock_id: str = "clock-00001",
    *,
    status: AlertStatus = AlertStatus.OVERDUE,
    due: datetime = NOW + 24 * HOUR,
    raised: datetime | None = None,
    clock: ClockKind = ClockKind.DECISION,
) -> TimelinessAlert:
    """A timeliness alert; by default the overdue one, raised a minute after it was due."""
    cleared = status is AlertStatus.CLEARED
    return TimelinessAlert(
        event_id=f"ta-{clock_id}-{status.value}",
        clock_id=clock_id,
        clock=clock,
        child_key=work_item.child_key,
        work_item_id=work_item.event_id,
        status=status,
        started_at=work_item.received_at,
        due_at=due,
        raised_at=raised or due + timedelta(minutes=1),
        satisfied_by="dec-00001" if cleared else None,
    )


def cleared(work_item: WorkItem, clock_id: str = "clock-00001", **kwargs: Any) -> TimelinessAlert:
    """The clock's cleared alert; by default raised two hours after it was due."""
    kwargs.setdefault("raised", kwargs.get("due", NOW + 24 * HOUR) + 2 * HOUR)
    return overdue(work_item, clock_id, status=AlertStatus.CLEARED, **kwargs)


def delivery(
    message_id: str = "sn-00001",
    *,
    state: DeliveryState = DeliveryState.DELIVERED,
    attempt: int = 1,
    at: datetime = NOW,
    message_type: str = "SchoolNotification",
    recipient: str = "school:990002",
    channel: DeliveryChannel = DeliveryChannel.EMAIL,
    address: str = "dsl@oakfield.example.org",
    child_key: str | None = "child-1",
    error_code: str | None = None,
) -> DeliveryStatus:
    """One attempt to deliver a message, as the delivery service records it."""
    return DeliveryStatus(
        event_id=derived_id("delivery", message_id, recipient, channel.value, attempt),
        message_id=message_id,
        message_type=message_type,
        child_key=child_key,
        recipient=recipient,
        channel=channel,
        address=address,
        attempt=attempt,
        state=state,
        error_code=error_code,
        at=at,
        next_attempt_at=at + MINUTE if state is DeliveryState.RETRYING else None,
    )


def delivered(*events: Event, offset: int = 0) -> list[tuple[InboundMessage, Event]]:
    """Events as the consumer hands them over, at made-up positions."""
    return [
        (
            InboundMessage(
                topic="test.queue.mash",
                partition=1,
                offset=offset + n,
                key=None,
                value=None,
                headers={},
            ),
            event,
        )
        for n, event in enumerate(events)
    ]


def test_a_redelivered_work_item_is_stored_once_with_its_latest_document(
    store: QueueStore,
) -> None:
    store.apply(delivered(item(level=3)))
    store.apply(delivered(item(level=4), offset=7))

    rows = store.queue(Queue.MASH)
    assert [row.event_id for row in rows] == ["wi-00001"]
    assert rows[0].level == 4
    view = store.item("wi-00001")
    assert view is not None
    assert view.work_item == item(level=4)


def test_one_batch_with_the_same_item_twice_stores_it_once(store: QueueStore) -> None:
    store.apply(delivered(item(level=3), item(level=4), task(), task()))
    assert [(row.event_id, row.level) for row in store.queue(Queue.MASH)] == [("wi-00001", 4)]
    assert [t.event_id for t in store.tasks()] == ["task-00001"]


def test_redelivery_never_clears_what_people_did(store: QueueStore, engine: Engine) -> None:
    work_item = item()
    store.apply(delivered(work_item, task(), alert(work_item), decision(work_item)))
    assert store.claim("wi-00001", "mash.worker", NOW).claimed
    store.record_acknowledgement(acknowledgement(alert(work_item), by="edt"))
    with sessions(engine).begin() as session:
        session.execute(update(MashTaskRow).values(done_at=NOW, done_by="mash.worker"))

    store.apply(delivered(work_item, task(), alert(work_item), decision(work_item), offset=50))

    view = store.item("wi-00001")
    assert view is not None
    assert (view.claimed_by, view.claimed_at) == ("mash.worker", NOW)
    assert (view.decision_event_id, view.decided_by) == ("dec-00001", "mash.worker")
    assert len(view.decisions) == 1
    assert store.tasks(open_only=True) == []
    assert [t.done_by for t in store.tasks(open_only=False)] == ["mash.worker"]
    shown = store.duty_alert("alert-00001")
    assert shown is not None
    assert shown.acknowledged is not None
    assert shown.acknowledged.by == "edt"


def test_the_queue_is_most_urgent_first(store: QueueStore) -> None:
    store.apply(
        delivered(
            item("green-soon", priority=Priority.GREEN, due=NOW + HOUR),
            item("amber-late", priority=Priority.AMBER, due=NOW + 9 * HOUR),
            item("red-late", priority=Priority.RED, due=NOW + 8 * HOUR),
            item("amber-soon", priority=Priority.AMBER, due=NOW + 2 * HOUR),
            item("red-soon-second", priority=Priority.RED, due=NOW + HOUR, received=NOW),
            item("red-soon-first", priority=Priority.RED, due=NOW + HOUR, received=NOW - HOUR),
        )
    )

    assert [row.event_id for row in store.queue(Queue.MASH)] == [
        "red-soon-first",
        "red-soon-second",
        "red-late",
        "amber-soon",
        "amber-late",
        "green-soon",
    ]


def test_a_queue_shows_its_own_undecided_items(store: QueueStore) -> None:
    mash, early_help = item("wi-mash-1"), item("wi-early-help", queue=Queue.EARLY_HELP)
    decided = item("wi-decided-1")
    store.apply(delivered(mash, early_help, decided, decision(decided)))

    assert [row.event_id for row in store.queue(Queue.MASH)] == ["wi-mash-1"]
    assert [row.event_id for row in store.queue(Queue.EARLY_HELP)] == ["wi-early-help"]
    assert store.queue(Queue.DUTY_TEAM) == []
    everything = store.queue(Queue.MASH, include_decided=True)
    assert {row.event_id: row.decided_at for row in everything} == {
        "wi-mash-1": None,
        "wi-decided-1": NOW + HOUR,
    }
    row = everything[0]
    assert row.child == mash.child
    assert row.decision_due_at.tzinfo is UTC


def test_one_person_holds_a_claim(store: QueueStore) -> None:
    store.apply(delivered(item()))

    assert store.claim("wi-00001", "alice", NOW) == ClaimResult(claimed=True, holder="alice")
    assert store.claim("wi-00001", "bob", NOW + HOUR) == ClaimResult(claimed=False, holder="alice")
    assert store.claim("wi-00001", "alice", NOW + HOUR) == ClaimResult(claimed=True, holder="alice")
    assert store.queue(Queue.MASH)[0].claimed_at == NOW  # the first claim's time stays
    assert store.claim("wi-unknown", "alice", NOW) == ClaimResult(claimed=False, holder=None)


def test_only_the_holder_or_a_team_manager_releases_a_claim(store: QueueStore) -> None:
    store.apply(delivered(item("wi-00001"), item("wi-00002")))
    store.claim("wi-00001", "alice", NOW)
    store.claim("wi-00002", "alice", NOW)

    assert store.release("wi-00001", "bob", NOW) is False
    assert store.queue(Queue.MASH)[0].claimed_by == "alice"
    assert store.release("wi-00001", "alice", NOW) is True
    assert store.release("wi-00001", "alice", NOW) is True  # already released: nothing to refuse
    assert store.release("wi-00002", "manager", NOW, manager=True) is True
    assert [row.claimed_by for row in store.queue(Queue.MASH)] == [None, None]
    assert store.claim("wi-00001", "bob", NOW).claimed
    assert store.release("wi-unknown", "alice", NOW, manager=True) is False


def test_of_many_people_claiming_at_once_exactly_one_gets_the_item(store: QueueStore) -> None:
    store.apply(delivered(item()))
    results: list[ClaimResult] = []
    start = threading.Barrier(6)

    def claim(name: str) -> None:
        start.wait()
        results.append(store.claim("wi-00001", name, NOW))

    threads = [threading.Thread(target=claim, args=(f"worker-{n}",)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    winners = [r.holder for r in results if r.claimed]
    assert len(results) == 6
    assert len(winners) == 1
    assert {r.holder for r in results} == set(winners)


def test_a_decision_takes_the_item_off_its_queue_and_a_revision_replaces_it(
    store: QueueStore,
) -> None:
    work_item = item()
    store.apply(delivered(work_item, decision(work_item, "dec-00001", at=NOW + HOUR)))
    first = store.item("wi-00001")
    assert first is not None
    assert (first.decided_at, first.decision_event_id) == (NOW + HOUR, "dec-00001")
    assert store.queue(Queue.MASH) == []

    revision = decision(
        work_item, "dec-00002", at=NOW + 2 * HOUR, revises="dec-00001", by="manager"
    )
    store.apply(delivered(revision))

    view = store.item("wi-00001")
    assert view is not None
    assert (view.decided_at, view.decided_by, view.decision_event_id) == (
        NOW + 2 * HOUR,
        "manager",
        "dec-00002",
    )
    assert [d.event_id for d in view.decisions] == ["dec-00001", "dec-00002"]


@pytest.mark.parametrize("order", ["revision first", "decision before its item"])
def test_decisions_settle_the_same_whatever_order_they_arrive_in(
    store: QueueStore, order: str
) -> None:
    work_item = item()
    original = decision(work_item, "dec-00001", at=NOW + HOUR)
    # A revision recorded on a machine whose clock runs behind still replaces what it revises.
    revision = decision(
        work_item, "dec-00002", at=NOW + HOUR - timedelta(minutes=5), revises="dec-00001"
    )
    if order == "revision first":
        store.apply(delivered(work_item, revision))
        store.apply(delivered(original))
    else:
        store.apply(delivered(original, revision))
        store.apply(delivered(work_item))

    view = store.item("wi-00001")
    assert view is not None
    assert view.decision_event_id == "dec-00002"


def test_a_decision_marked_by_the_application_is_the_one_the_consumer_reads_back(
    store: QueueStore,
) -> None:
    work_item = item()
    store.apply(delivered(work_item))
    recorded = decision(work_item)

    store.mark_decided("wi-00001", recorded)
    assert store.queue(Queue.MASH) == []
    store.apply(delivered(recorded))

    view = store.item("wi-00001")
    assert view is not None
    assert view.decisions == (recorded,)
    assert view.decision_event_id == recorded.event_id
    with pytest.raises(ValueError, match="another work item"):
        store.mark_decided("wi-other", recorded)


def test_an_item_shows_its_document_decisions_and_alert(store: QueueStore) -> None:
    work_item = item()
    later = decision(work_item, "dec-00002", at=NOW + 3 * HOUR, revises="dec-00001")
    earlier = decision(work_item, "dec-00001", at=NOW + HOUR)
    raised = alert(work_item)
    store.apply(delivered(later, raised, work_item, earlier))

    view = store.item("wi-00001")
    assert view is not None
    assert view.work_item == work_item
    assert view.decisions == (earlier, later)
    assert view.alert == raised
    assert store.item("wi-unknown") is None


def test_a_childs_chronology_is_oldest_first_and_only_theirs(store: QueueStore) -> None:
    first = item("wi-00001", received=NOW)
    second = item("wi-00002", received=NOW + 2 * HOUR, queue=Queue.DUTY_TEAM)
    someone_else = item("wi-00003", child_key="child-2")
    store.apply(
        delivered(
            second,
            decision(first, "dec-00001", at=NOW + 3 * HOUR),
            alert(second, raised=NOW + 2 * HOUR),
            first,
            someone_else,
            decision(someone_else, "dec-00009"),
        )
    )

    entries = store.chronology("child-1")

    assert [(e.kind, e.event_id, e.queue) for e in entries] == [
        (EntryKind.WORK_ITEM, "wi-00001", Queue.MASH),
        (EntryKind.WORK_ITEM, "wi-00002", Queue.DUTY_TEAM),
        (EntryKind.DUTY_ALERT, "alert-00001", Queue.DUTY_TEAM),
        (EntryKind.DECISION, "dec-00001", Queue.MASH),
    ]
    assert [e.work_item_id for e in entries] == ["wi-00001", "wi-00002", "wi-00002", "wi-00001"]
    assert entries[0].at == NOW
    assert "level 3" in entries[3].summary
    assert store.chronology("child-unknown") == []


def test_the_first_acknowledgement_of_an_alert_is_kept_whatever_order_they_are_read_in(
    store: QueueStore,
) -> None:
    work_item = item(queue=Queue.DUTY_TEAM)
    raised = alert(work_item)
    first = acknowledgement(raised, by="edt.worker", at=NOW + 5 * MINUTE)
    second = acknowledgement(
        raised, by="edt:manager", at=NOW + 20 * MINUTE, via=AcknowledgedVia.EMAIL_LINK
    )
    kept = Acknowledged(
        event_id=first.event_id, by="edt.worker", at=NOW + 5 * MINUTE, via=first.via
    )

    store.apply(delivered(raised, second))
    store.apply(delivered(first))
    store.apply(delivered(second, offset=10))  # a redelivery of the later one
    shown = store.duty_alert(raised.event_id)
    assert shown is not None
    assert shown.acknowledged == kept

    store.clear_topic_rows()  # acknowledgements come from a topic: a rebuild reads them again
    store.apply(delivered(raised))
    assert [a.acknowledged for a in store.duty_alerts()] == [None]
    store.apply(delivered(second, first))  # both in one batch, the later one first
    assert [a.acknowledged for a in store.duty_alerts()] == [kept]


def test_an_acknowledgement_read_before_its_alert_is_shown_once_the_alert_arrives(
    store: QueueStore,
) -> None:
    raised = alert(item(queue=Queue.DUTY_TEAM))
    link = acknowledgement(raised, by="edt:on-call", via=AcknowledgedVia.EMAIL_LINK)

    store.apply(delivered(link))
    assert store.duty_alerts() == []
    assert store.duty_alert(raised.event_id) is None
    assert store.chronology(raised.child_key) == []

    store.apply(delivered(raised))
    shown = store.duty_alert(raised.event_id)
    assert shown is not None
    assert shown.acknowledged == Acknowledged(
        event_id=link.event_id, by="edt:on-call", at=link.acknowledged_at, via=link.via
    )
    [alert_entry, acknowledged_entry] = store.chronology(raised.child_key)
    assert (alert_entry.kind, acknowledged_entry.kind) == (
        EntryKind.DUTY_ALERT,
        EntryKind.ALERT_ACKNOWLEDGEMENT,
    )
    assert acknowledged_entry.queue is Queue.DUTY_TEAM
    assert acknowledged_entry.work_item_id == raised.work_item_id
    assert acknowledged_entry.summary == (
        "Duty team alert acknowledged by edt:on-call (email link)"
    )


def test_duty_alerts_are_newest_first_each_with_its_acknowledgement(store: QueueStore) -> None:
    work_item = item(queue=Queue.DUTY_TEAM)
    older = alert(work_item, "alert-00001", raised=NOW)
    newer = alert(work_item, "alert-00002", raised=NOW + HOUR)
    store.apply(delivered(older, newer, acknowledgement(older)))

    alerts = store.duty_alerts()

    assert [(a.event_id, a.acknowledged is not None) for a in alerts] == [
        ("alert-00002", False),
        ("alert-00001", True),
    ]
    assert alerts[0].priority is Priority.RED
    assert alerts[0].raised_at == NOW + HOUR
    assert [a.event_id for a in store.duty_alerts(limit=1)] == ["alert-00002"]


def test_the_handover_lists_the_periods_alerts_with_acknowledgement_and_current_decision(
    store: QueueStore,
) -> None:
    closed_at, opened_at = NOW - 15 * HOUR, NOW + 30 * MINUTE  # 17:00 to 08:30 the next day
    decided = item("wi-00001", queue=Queue.DUTY_TEAM)
    undecided = item("wi-00002", queue=Queue.DUTY_TEAM, child_key="child-2")
    before = alert(decided, "alert-00000", raised=closed_at - MINUTE)
    night = alert(decided, "alert-00001", raised=closed_at + 9 * HOUR)
    early = alert(undecided, "alert-00002", raised=closed_at)
    after = alert(undecided, "alert-00003", raised=opened_at)
    revised = decision(decided, "dec-00002", at=NOW - 4 * HOUR, revises="dec-00001", by="edt")
    store.apply(
        delivered(
            decided,
            undecided,
            before,
            night,
            early,
            after,
            acknowledgement(night, at=night.raised_at + 7 * MINUTE),
            decision(decided, "dec-00001", at=NOW - 5 * HOUR, by="edt"),
            revised,
        )
    )

    entries = store.handover(closed_at, opened_at)

    assert [e.alert.event_id for e in entries] == ["alert-00002", "alert-00001"]
    assert entries[0].alert.acknowledged is None
    assert entries[0].decision is None
    assert entries[1].alert.acknowledged is not None
    assert entries[1].alert.acknowledged.at == night.raised_at + 7 * MINUTE
    assert entries[1].decision == revised


def test_tasks_are_oldest_first_and_done_ones_drop_out(store: QueueStore, engine: Engine) -> None:
    store.apply(delivered(task("task-00002", created=NOW + HOUR), task("task-00001", created=NOW)))
    assert [t.event_id for t in store.tasks()] == ["task-00001", "task-00002"]
    with sessions(engine).begin() as session:
        session.execute(
            update(MashTaskRow).where(MashTaskRow.event_id == "task-00001").values(done_at=NOW)
        )

    assert [t.event_id for t in store.tasks()] == ["task-00002"]
    assert [t.event_id for t in store.tasks(open_only=False)] == ["task-00001", "task-00002"]
    assert store.tasks()[0].kind is TaskKind.DEAD_LETTER_REVIEW


def test_staff_accounts(store: QueueStore) -> None:
    assert store.create_user("Alice.Smith ", "Alice Smith", StaffRole.MASH_WORKER, "$argon2$x", NOW)
    assert not store.create_user("alice.smith", "Someone Else", StaffRole.LEADER, "$argon2$y", NOW)
    assert store.create_user("bob", "Bob", StaffRole.TEAM_MANAGER, "$argon2$z", NOW)

    alice = store.get_user("ALICE.SMITH")
    assert alice is not None
    assert (alice.username, alice.display_name, alice.role) == (
        "alice.smith",
        "Alice Smith",
        StaffRole.MASH_WORKER,
    )
    assert alice.password_hash == "$argon2$x"
    assert "argon2" not in repr(alice)
    assert store.get_user("nobody") is None

    assert store.disable_user("alice.smith", NOW + HOUR)
    assert not store.disable_user("alice.smith", NOW + 2 * HOUR)
    assert not store.disable_user("nobody", NOW)
    users = store.list_users()
    assert [(u.username, u.disabled_at) for u in users] == [
        ("alice.smith", NOW + HOUR),
        ("bob", None),
    ]


def test_the_access_log_is_newest_first_and_filters_by_child(store: QueueStore) -> None:
    store.log_access("alice", "child-1", "item", "wi-00001", NOW)
    store.log_access("bob", "child-2", "item", "wi-00002", NOW + HOUR)
    store.log_access("alice", "child-1", "chronology", None, NOW + 2 * HOUR)

    entries = store.access_log(10)
    assert [(e.username, e.page, e.at) for e in entries] == [
        ("alice", "chronology", NOW + 2 * HOUR),
        ("bob", "item", NOW + HOUR),
        ("alice", "item", NOW),
    ]
    assert [e.work_item_id for e in store.access_log(10, child_key="child-1")] == [None, "wi-00001"]
    assert len(store.access_log(1)) == 1


def test_a_batch_is_stored_whole_or_not_at_all(store: QueueStore, engine: Engine) -> None:
    work_item = item()
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE decisions"))

    with pytest.raises(StoreError) as raised:
        store.apply(delivered(work_item, decision(work_item)))

    assert raised.value.code == "FD-STORE"
    with engine.begin() as connection:
        assert connection.execute(text("SELECT count(*) FROM work_items")).scalar() == 0


def test_events_the_staff_store_does_not_keep_are_refused(store: QueueStore) -> None:
    outcome = Outcome(
        event_id="outcome-00001",
        child_event_id="ce-1",
        source_event_id="evt-00001",
        sender="la.synthetic",
        child_key="child-1",
        kind=OutcomeKind.NO_ACTION,
        reason="consent event recorded",
        decided_at=NOW,
    )
    with pytest.raises(TypeError, match="Outcome"):
        store.apply(delivered(item(), outcome))
    assert store.queue(Queue.MASH) == []


def test_a_redelivered_discussion_updates_its_row(store: QueueStore) -> None:
    work_item = item()
    first = discussion(work_item, missing=(Agency.HEALTH, Agency.EDUCATION))
    corrected = discussion(
        work_item,
        attendees=(Agency.POLICE, Agency.LOCAL_AUTHORITY, Agency.HEALTH),
        missing=(Agency.EDUCATION,),
        section_47=False,
    )
    store.apply(delivered(first, first))
    store.apply(delivered(corrected, offset=9))

    assert store.discussions("wi-00001") == [
        DiscussionRow(
            event_id="sd-00001",
            discussion_id="discussion-wi-00001",
            status=DiscussionStatus.HELD,
            at=NOW + 2 * HOUR,
            recorded_by="mash.worker",
            attendees=(Agency.POLICE, Agency.LOCAL_AUTHORITY, Agency.HEALTH),
            invitees=(Agency.POLICE, Agency.HEALTH, Agency.LOCAL_AUTHORITY, Agency.EDUCATION),
            section_47=False,
            rationale="Synthetic reasons for the outcome, written in full.",
            missing_agencies=(Agency.EDUCATION,),
        )
    ]


def test_an_items_discussions_are_oldest_first_and_only_its_own(store: QueueStore) -> None:
    work_item, other = item(), item("wi-00002")
    held = discussion(work_item, "sd-00002", at=NOW + 5 * HOUR)
    convened = discussion(work_item, "sd-00001", status=DiscussionStatus.CONVENED, at=NOW + HOUR)
    store.apply(delivered(held, discussion(other, "sd-00009"), convened))

    rows = store.discussions("wi-00001")
    assert [(row.event_id, row.status, row.at) for row in rows] == [
        ("sd-00001", DiscussionStatus.CONVENED, NOW + HOUR),
        ("sd-00002", DiscussionStatus.HELD, NOW + 5 * HOUR),
    ]
    assert rows[0].at.tzinfo is UTC
    assert (rows[0].attendees, rows[0].section_47, rows[0].rationale) == ((), None, None)
    assert store.discussions("wi-unknown") == []


def test_a_clock_is_one_row_opened_when_overdue_and_closed_when_cleared(
    store: QueueStore,
) -> None:
    work_item = item()
    went_overdue = NOW + 24 * HOUR + timedelta(minutes=1)
    store.apply(delivered(overdue(work_item)))
    # Delivered again with another raising time: it went overdue when it first said so.
    store.apply(delivered(overdue(work_item, raised=NOW + 30 * HOUR), offset=5))

    assert store.timeliness_alerts() == [
        AlertRow(
            clock_id="clock-00001",
            clock=ClockKind.DECISION,
            child_key="child-1",
            work_item_id="wi-00001",
            started_at=NOW,
            due_at=NOW + 24 * HOUR,
            overdue_at=went_overdue,
            cleared_at=None,
            satisfied_by=None,
            acknowledged_by=None,
            acknowledged_at=None,
        )
    ]

    store.apply(delivered(cleared(work_item), offset=9))

    assert store.timeliness_alerts() == []
    (row,) = store.timeliness_alerts(open_only=False)
    assert (row.overdue_at, row.cleared_at, row.satisfied_by) == (
        went_overdue,
        NOW + 26 * HOUR,
        "dec-00001",
    )


@pytest.mark.parametrize("batches", ["one batch", "two batches"])
def test_an_overdue_alert_after_its_cleared_one_does_not_reopen_the_clock(
    store: QueueStore, engine: Engine, batches: str
) -> None:
    work_item = item()
    late, early = overdue(work_item), cleared(work_item)
    if batches == "one batch":
        store.apply(delivered(early, late, early))
    else:
        store.apply(delivered(early))
        store.apply(delivered(late, offset=3))
        store.apply(delivered(early, offset=4))  # and the cleared one again

    assert store.timeliness_alerts() == []
    (row,) = store.timeliness_alerts(open_only=False)
    assert (row.overdue_at, row.cleared_at, row.satisfied_by) == (
        late.raised_at,
        early.raised_at,
        "dec-00001",
    )
    with sessions(engine)() as session:
        stored = session.get(TimelinessAlertRow, "clock-00001")
        assert stored is not None
        assert TimelinessAlert.model_validate(stored.document) == early  # the latest alert


def test_open_alerts_are_the_earliest_due_first(store: QueueStore) -> None:
    work_item = item()
    store.apply(
        delivered(
            overdue(work_item, "clock-late", due=NOW + 30 * HOUR),
            overdue(
                work_item, "clock-early", due=NOW + 2 * HOUR, clock=ClockKind.STRATEGY_DISCUSSION
            ),
            overdue(work_item, "clock-middle", due=NOW + 10 * HOUR),
            overdue(work_item, "clock-done", due=NOW + HOUR),
            cleared(work_item, "clock-done", due=NOW + HOUR),
            # Cleared, and its overdue alert not (yet) stored: not open either.
            cleared(work_item, "clock-only-cleared", due=NOW),
        )
    )

    alerts = store.timeliness_alerts()
    assert [a.clock_id for a in alerts] == ["clock-early", "clock-middle", "clock-late"]
    assert alerts[0].clock is ClockKind.STRATEGY_DISCUSSION
    assert [a.clock_id for a in store.timeliness_alerts(open_only=False)] == [
        "clock-only-cleared",
        "clock-done",
        "clock-early",
        "clock-middle",
        "clock-late",
    ]


def test_an_alert_is_acknowledged_once_and_redelivery_keeps_it(store: QueueStore) -> None:
    work_item = item()
    store.apply(delivered(overdue(work_item)))

    assert store.acknowledge_alert("clock-00001", "manager", NOW + 25 * HOUR) is True
    assert store.acknowledge_alert("clock-00001", "manager", NOW + 26 * HOUR) is True  # again
    assert store.acknowledge_alert("clock-00001", "other.manager", NOW + 26 * HOUR) is False
    assert store.acknowledge_alert("clock-unknown", "manager", NOW) is False
    store.apply(delivered(overdue(work_item), offset=4))

    (alert_row,) = store.timeliness_alerts()
    assert (alert_row.acknowledged_by, alert_row.acknowledged_at) == ("manager", NOW + 25 * HOUR)
    store.apply(delivered(cleared(work_item), offset=5))
    (alert_row,) = store.timeliness_alerts(open_only=False)
    assert (alert_row.acknowledged_by, alert_row.acknowledged_at) == ("manager", NOW + 25 * HOUR)


def test_the_chronology_shows_discussions_and_timeliness_alerts_in_codes_only(
    store: QueueStore,
) -> None:
    work_item = item(queue=Queue.DUTY_TEAM)
    unstored = item("wi-not-stored")
    store.apply(
        delivered(
            work_item,
            decision(work_item, "dec-00001", at=NOW + HOUR, level=4),
            discussion(work_item, "sd-00001", status=DiscussionStatus.CONVENED, at=NOW + 2 * HOUR),
            discussion(work_item, "sd-00002", at=NOW + 5 * HOUR),
            overdue(work_item, due=NOW + 3 * HOUR, raised=NOW + 4 * HOUR),
            cleared(work_item, due=NOW + 3 * HOUR, raised=NOW + 5 * HOUR),
            # Their work item is not stored, so there is no queue to say who may read them.
            discussion(unstored, "sd-00003"),
            overdue(unstored, "clock-00002"),
        )
    )

    entries = store.chronology("child-1")

    assert [(e.at, e.kind, e.event_id, e.work_item_id, e.queue) for e in entries] == [
        (NOW, EntryKind.WORK_ITEM, "wi-00001", "wi-00001", Queue.DUTY_TEAM),
        (NOW + HOUR, EntryKind.DECISION, "dec-00001", "wi-00001", Queue.DUTY_TEAM),
        (NOW + 2 * HOUR, EntryKind.STRATEGY_DISCUSSION, "sd-00001", "wi-00001", Queue.DUTY_TEAM),
        (NOW + 4 * HOUR, EntryKind.TIMELINESS_ALERT, "clock-00001", "wi-00001", Queue.DUTY_TEAM),
        (NOW + 5 * HOUR, EntryKind.STRATEGY_DISCUSSION, "sd-00002", "wi-00001", Queue.DUTY_TEAM),
        (NOW + 5 * HOUR, EntryKind.TIMELINESS_ALERT, "clock-00001", "wi-00001", Queue.DUTY_TEAM),
    ]
    assert [e.summary for e in entries[2:]] == [
        "convened: police, health, local authority, education invited",
        "decision overdue (due Tue 24 Nov 2026 12:00)",
        "held: police, local authority attended; section 47 enquiry; "
        "not present: health, education",
        "decision overdue cleared",
    ]
    assert not any("Synthetic" in e.summary for e in entries[2:])


def test_clearing_the_topic_rows_clears_discussions_and_alerts(store: QueueStore) -> None:
    work_item = item()
    store.apply(delivered(work_item, discussion(work_item), overdue(work_item)))
    store.create_user("manager", "A Manager", StaffRole.TEAM_MANAGER, "$argon2$hash", NOW)

    store.clear_topic_rows()

    assert store.discussions("wi-00001") == []
    assert store.timeliness_alerts(open_only=False) == []
    assert store.get_user("manager") is not None


def test_agendas_and_meeting_records_are_kept_once_and_the_latest_agenda_comes_first(
    store: QueueStore,
) -> None:
    monday = an_agenda()
    tuesday = monday.model_copy(
        update={"event_id": "agenda-tuesday", "meeting_at": monday.meeting_at + 24 * HOUR}
    )
    oscar = monday.households[0].children[0]
    record = MeetingRecord(
        event_id="mr-00000001",
        agenda_id=monday.event_id,
        meeting_at=monday.meeting_at,
        household_id=monday.households[0].household_id,
        child_key=oscar.child_key,
        work_item_id=oscar.work_item_id,
        impact_on_child=IMPACT,
        actions=[],
        recorded_by="tm.synthetic",
        recorded_by_role=StaffRole.TEAM_MANAGER,
        recorded_at=monday.meeting_at + HOUR,
    )

    store.apply(delivered(monday, record, tuesday))
    store.apply(delivered(monday, record, offset=9))  # redelivered

    assert store.agenda() == tuesday
    assert store.agenda(monday.event_id) == monday
    assert [agenda_id for agenda_id, _ in store.agendas()] == [tuesday.event_id, monday.event_id]
    assert store.meeting_records(monday.meeting_at) == {oscar.child_key: [record]}
    assert store.agenda("agenda-unknown") is None


def information_request(event_id: str, sender: str) -> InformationRequest:
    return InformationRequest(
        event_id=event_id,
        about_event_id=f"about-{event_id}",
        about_event_type=EventType.CONTACT,
        addressed_to_agency=Agency.EDUCATION,
        addressed_to_sender=sender,
        reason=RequestReason.DATA_QUALITY,
        items=[RequestedItem(field="children.0.nhs_number", code="DQ-NHS-NUMBER", message="bad")],
        created_at=NOW,
    )


def test_partner_messages_keep_their_first_number_through_redelivery_and_a_rebuild(
    store: QueueStore,
) -> None:
    first, other, second = (
        information_request("ir-00001", "school.990001"),
        information_request("ir-00002", "police.synthetic"),
        information_request("ir-00003", "school.990001"),
    )
    store.apply(delivered(first, other))
    kind = PartnerMessageKind.INFORMATION_REQUEST
    (stored,) = store.partner_messages("school.990001", kind, after=0, limit=10)

    store.apply(delivered(first, second, first, offset=5))
    store.clear_topic_rows()  # a rebuild keeps them: the numbers are partners' cursors
    store.apply(delivered(first, other, second, offset=9))

    school = store.partner_messages("school.990001", kind, after=0, limit=10)
    assert [m.event_id for m in school] == ["ir-00001", "ir-00003"]
    assert school[0].seq == stored.seq
    assert school[0].payload == first.model_dump(mode="json")
    later = store.partner_messages("school.990001", kind, after=stored.seq, limit=10)
    assert [m.event_id for m in later] == ["ir-00003"]
    outcomes = PartnerMessageKind.OUTCOME_NOTIFICATION
    assert store.partner_messages("school.990001", outcomes, after=0, limit=10) == []


def test_delivery_statuses_are_stored_once_whatever_they_are_about_and_rebuilt_from_the_topic(
    store: QueueStore, engine: Engine
) -> None:
    def stored() -> int:
        with engine.connect() as connection:
            return int(connection.execute(text("SELECT count(*) FROM deliveries")).scalar_one())

    told = delivery(at=datetime(2026, 7, 1, 6, 42, tzinfo=UTC))  # 07:42 in London (BST)
    no_child = delivery(
        "ir-00001",
        message_type="InformationRequest",
        recipient="partner:police.synthetic",
        channel=DeliveryChannel.WEBHOOK,
        address="police.example.org",
        child_key=None,
    )
    store.apply(delivered(told, told, no_child))
    store.apply(delivered(told, offset=5))  # redelivered
    assert stored() == 2
    [entry] = store.chronology("child-1")
    assert (entry.event_id, entry.kind) == (told.event_id, EntryKind.TOLD)
    assert entry.summary.endswith("delivered 07:42")

    store.clear_topic_rows()  # a rebuild reads them again
    assert stored() == 0
    assert store.chronology("child-1") == []


def test_the_chronology_says_who_was_told_who_was_not_and_what_waits_to_be_fetched(
    store: QueueStore,
) -> None:
    work_item = item(queue=Queue.DUTY_TEAM)
    raised = alert(work_item, raised=NOW)
    clock = overdue(work_item, due=NOW + 3 * HOUR, raised=NOW + 4 * HOUR)
    school_told = datetime(2026, 11, 25, 7, 42, tzinfo=UTC)
    statuses = [
        delivery(
            raised.event_id,
            message_type="DutyTeamAlert",
            recipient="duty_team",
            address="duty-team@synthetic-county.example.org",
            at=NOW + MINUTE,
        ),
        # The id the clocks give the overdue alert of this clock.
        delivery(
            alert_id(clock.clock_id, AlertStatus.OVERDUE),
            message_type="TimelinessAlert",
            recipient="team_managers",
            address="mash-managers@synthetic-county.example.org",
            at=NOW + 4 * HOUR + MINUTE,
        ),
        delivery(
            state=DeliveryState.RETRYING, at=school_told - 5 * MINUTE, error_code="FD-DELIVERY-SMTP"
        ),
        delivery(attempt=2, at=school_told),
        delivery(
            "hn-00001",
            message_type="HealthNotification",
            recipient="health_visiting",
            channel=DeliveryChannel.WEBHOOK,
            address="hooks.health.example.org",
            state=DeliveryState.FAILED,
            attempt=3,
            at=school_told + HOUR,
            error_code="FD-DELIVERY-WEBHOOK",
        ),
        delivery(
            "ir-00001",
            message_type="InformationRequest",
            recipient="partner:police.synthetic",
            channel=DeliveryChannel.FETCH,
            address="gateway",
            state=DeliveryState.AVAILABLE,
            at=school_told + 2 * HOUR,
        ),
        # Its alert is not stored: who may read it is not known yet.
        delivery("alert-unstored", message_type="DutyTeamAlert", recipient="duty_team"),
        # Another child's.
        delivery("sn-00002", child_key="child-2", at=school_told),
    ]
    store.apply(delivered(work_item, raised, clock, *statuses))

    entries = [e for e in store.chronology("child-1") if e.kind in DELIVERY_KINDS]

    assert [(e.at, e.kind, e.work_item_id, e.queue) for e in entries] == [
        (NOW + MINUTE, EntryKind.TOLD, "wi-00001", Queue.DUTY_TEAM),
        (NOW + 4 * HOUR + MINUTE, EntryKind.TOLD, "wi-00001", Queue.DUTY_TEAM),
        (school_told, EntryKind.TOLD, None, Queue.MASH),
        (school_told + HOUR, EntryKind.NOT_TOLD, None, Queue.MASH),
        (school_told + 2 * HOUR, EntryKind.AVAILABLE, None, Queue.MASH),
    ]
    assert [e.summary for e in entries] == [
        "DutyTeamAlert to duty_team by email (duty-team@synthetic-county.example.org), "
        "delivered 09:01",
        "TimelinessAlert to team_managers by email (mash-managers@synthetic-county.example.org), "
        "delivered 13:01",
        "SchoolNotification to school:990002 by email (dsl@oakfield.example.org), "
        "delivered 07:42 after 2 attempts",
        "HealthNotification to health_visiting by webhook (hooks.health.example.org), "
        "failed 08:42 after 3 attempts: FD-DELIVERY-WEBHOOK; a MASH task asks for them to be told "
        "another way",
        "InformationRequest to partner:police.synthetic by fetch (gateway), available 09:42",
    ]
