"""The ledger of outcomes as stories: what closes what, in any order, and what is due when."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from schemas.models import (
    AcceptedEvent,
    ChildEvent,
    ChildMatch,
    EventType,
    MatchKind,
    Outcome,
    OutcomeKind,
    SourcePosition,
    TaskKind,
)
from schemas.wire import REDRIVE_HEADER, SENDER_HEADER, InboundMessage
from streams.decisions.ledger import Ledger, Stage, overdue_task
from tests.helpers import contact

T0 = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
REDRIVE_AFTER = timedelta(minutes=2)
BOUND = timedelta(minutes=5)


def message(
    topic: str, offset: int, *, at: datetime = T0, headers: dict[str, bytes] | None = None
) -> InboundMessage:
    return InboundMessage(
        topic=topic,
        partition=0,
        offset=offset,
        key=b"k",
        value=b"bytes",
        headers={SENDER_HEADER: b"school.1", **(headers or {})},
        timestamp_ms=int(at.timestamp() * 1000),
    )


def accepted_from(intake: InboundMessage, children: int = 1) -> AcceptedEvent:
    event = contact()
    event = event.model_copy(update={"children": event.children * children})
    return AcceptedEvent(
        event_id=event.event_id,
        event_type=EventType.CONTACT,
        sender="school.1",
        source=SourcePosition(topic=intake.topic, partition=0, offset=intake.offset),
        accepted_at=T0,
        contact=event,
    )


def child(accepted: AcceptedEvent, index: int) -> ChildEvent:
    return ChildEvent(
        event_id=f"ce-{accepted.event_id}-{index}",
        accepted=accepted,
        child_index=index,
        match=ChildMatch(child_key=f"ck-{index}", kind=MatchKind.NEW, score=1.0, reason="new"),
    )


def outcome_of(child_event: ChildEvent) -> Outcome:
    return Outcome(
        event_id=f"outcome-{child_event.event_id}",
        child_event_id=child_event.event_id,
        source_event_id=child_event.accepted.event_id,
        sender="school.1",
        child_key=child_event.match.child_key,
        kind=OutcomeKind.ROUTED,
        reason="routed to mash",
        work_item_ids=["wi-00000001"],
        decided_at=T0,
    )


def stages(ledger: Ledger) -> list[str]:
    return [waiting.stage.value for waiting in ledger.waiting()]


def test_an_event_followed_to_its_outcome_leaves_nothing_waiting() -> None:
    ledger = Ledger()
    intake = message("intake.contacts", 7)
    ledger.intake_message(intake, T0)
    assert stages(ledger) == ["intake"]

    accepted = accepted_from(intake, children=2)
    ledger.accepted_event(accepted, message("accepted-events", 1))
    assert stages(ledger) == ["identification"]

    first, second = child(accepted, 0), child(accepted, 1)
    ledger.child_event(first, message("child-events", 1))
    ledger.child_event(second, message("child-events", 2))
    assert stages(ledger) == ["routing", "routing"]

    ledger.outcome(outcome_of(first))
    ledger.outcome(outcome_of(second))
    assert ledger.waiting() == []


def test_records_read_out_of_order_still_close_what_they_close() -> None:
    ledger = Ledger()
    intake = message("intake.contacts", 8)
    accepted = accepted_from(intake)
    only = child(accepted, 0)

    ledger.outcome(outcome_of(only))
    ledger.child_event(only, message("child-events", 3))
    ledger.accepted_event(accepted, message("accepted-events", 2))
    ledger.intake_message(intake, T0)

    assert ledger.waiting() == []


def test_a_dead_letter_is_an_outcome_at_every_stage() -> None:
    ledger = Ledger()
    bad = message("intake.contacts", 9)
    ledger.intake_message(bad, T0)
    ledger.intake_dead_lettered(("intake.contacts", 0, 9))

    good = message("intake.contacts", 10)
    ledger.intake_message(good, T0)
    accepted = accepted_from(good)
    ledger.accepted_event(accepted, message("accepted-events", 3))
    ledger.accepted_dead_lettered("school.1", accepted.event_id)

    other = accepted_from(message("intake.contacts", 11))
    unroutable = child(other, 0)
    ledger.child_event(unroutable, message("child-events", 4))
    ledger.child_dead_lettered(unroutable.event_id)

    assert ledger.waiting() == []


def test_what_waits_is_re_driven_once_then_put_to_a_person_once() -> None:
    ledger = Ledger()
    stuck = message("intake.contacts", 12)
    ledger.intake_message(stuck, T0)
    passed = {("intake.contacts", 0): 13}  # the worker group has consumed past it: skipped

    def due(minutes: int) -> tuple[list[InboundMessage], list[Stage]]:
        actions = ledger.due(
            T0 + timedelta(minutes=minutes),
            redrive_after=REDRIVE_AFTER,
            bound=BOUND,
            consumed=passed,
        )
        return [w.message for w in actions.redrive], [w.stage for w in actions.overdue]

    assert due(1) == ([], [])
    assert due(3) == ([stuck], [])
    assert due(4) == ([], [])
    assert due(6) == ([], [Stage.INTAKE])
    assert due(9) == ([], [])


def test_a_message_still_queued_behind_others_is_not_re_driven_but_is_put_to_a_person() -> None:
    ledger = Ledger()
    queued = message("intake.contacts", 20)
    ledger.intake_message(queued, T0)
    behind = {("intake.contacts", 0): 20}  # the group's next message to read is this one

    later = ledger.due(
        T0 + timedelta(minutes=6), redrive_after=REDRIVE_AFTER, bound=BOUND, consumed=behind
    )

    assert later.redrive == []
    assert [w.message for w in later.overdue] == [queued]


def test_a_re_driven_copy_that_is_accepted_settles_the_message_it_repeats() -> None:
    ledger = Ledger()
    original = message("intake.contacts", 13)
    copy = message("intake.contacts", 14, headers={REDRIVE_HEADER: b"intake.contacts:0:13"})
    ledger.intake_message(original, T0)
    ledger.intake_message(copy, T0)

    accepted = accepted_from(copy)
    ledger.accepted_event(accepted, message("accepted-events", 5))
    ledger.child_event(child(accepted, 0), message("child-events", 6))
    ledger.outcome(outcome_of(child(accepted, 0)))

    assert ledger.waiting() == []


def test_the_overdue_task_names_the_stage_and_the_message_and_has_one_id() -> None:
    ledger = Ledger()
    ledger.intake_message(message("intake.contacts", 15), T0)
    (waiting,) = ledger.waiting()
    now = T0 + timedelta(minutes=7)

    task = overdue_task(waiting, now, BOUND)

    assert task.kind is TaskKind.OVERDUE_EVENT
    assert task.error_code == "FD-OUTCOME-OVERDUE"
    assert task.reference == "intake.contacts:0:15"
    assert "No outcome after 7 min at intake" in task.title
    assert overdue_task(waiting, now, BOUND).event_id == task.event_id
