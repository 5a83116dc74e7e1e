"""The queue store as the consumer fills it and the staff application reads and writes it.

Every story runs on SQLite in the test's directory and on PostgreSQL (a schema of its own). The
work items are real routings of synthetic children (:mod:`tests.connectors.staff.synthetic`),
varied by id, priority and times; decisions, tasks and alerts are built the same way.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from functools import cache

import pytest
from sqlalchemy import Engine, text, update

from connectors.staff.db import DutyAlertRow, MashTaskRow, sessions
from connectors.staff.store import ClaimResult, EntryKind, QueueStore
from schemas.errors import StoreError
from schemas.models import (
    DutyTeamAlert,
    Event,
    MashTask,
    NextStep,
    Outcome,
    OutcomeKind,
    Priority,
    Queue,
    StaffRole,
    TaskKind,
    ThresholdDecision,
    WorkItem,
)
from schemas.wire import InboundMessage
from tests.connectors.staff.synthetic import work_items

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


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
    with sessions(engine).begin() as session:
        session.execute(update(MashTaskRow).values(done_at=NOW, done_by="mash.worker"))
        session.execute(update(DutyAlertRow).values(acknowledged_at=NOW, acknowledged_by="edt"))

    store.apply(delivered(work_item, task(), alert(work_item), decision(work_item), offset=50))

    view = store.item("wi-00001")
    assert view is not None
    assert (view.claimed_by, view.claimed_at) == ("mash.worker", NOW)
    assert (view.decision_event_id, view.decided_by) == ("dec-00001", "mash.worker")
    assert len(view.decisions) == 1
    assert store.tasks(open_only=True) == []
    assert [t.done_by for t in store.tasks(open_only=False)] == ["mash.worker"]
    with sessions(engine)() as session:
        assert session.get(DutyAlertRow, "alert-00001").acknowledged_by == "edt"  # type: ignore[union-attr]


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
