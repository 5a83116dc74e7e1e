"""A child's history as the router sees it: counts look back 12 months from the event itself."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from schemas.models import (
    AcceptedEvent,
    ChildMatch,
    EventType,
    HistoryRecord,
    HistoryRecordType,
    ImportedHistory,
    MatchKind,
    OpenPlan,
    Queue,
    SourcePosition,
)
from streams.decisions.history import (
    ChildHistory,
    Plan,
    summarise,
    with_event,
    with_imported,
    with_imported_records,
)
from tests.helpers import contact, police_notification

AT = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


def accepted(event: object) -> AcceptedEvent:
    kind = EventType.CONTACT if hasattr(event, "referrer") else EventType.POLICE_NOTIFICATION
    return AcceptedEvent.model_validate(
        {
            "event_id": event.event_id,  # type: ignore[attr-defined]
            "event_type": kind,
            "sender": "test",
            "source": SourcePosition(topic="t", partition=0, offset=0),
            "accepted_at": AT,
            kind.value: event,
        }
    )


def test_a_new_child_has_an_empty_history() -> None:
    summary = summarise(ChildHistory(child_key="ck-1"), AT)
    assert summary.previous_events == 0
    assert not summary.re_referral
    assert summary.last_queue is None


def test_incidents_within_12_months_count_and_older_ones_do_not() -> None:
    history = ChildHistory(child_key="ck-1")
    for days_ago in (400, 200, 30):
        event = police_notification(received_at=AT - timedelta(days=days_ago))
        history = with_event(history, accepted(event), queue=Queue.MASH, level=3)

    summary = summarise(history, AT)

    assert summary.previous_events == 3
    assert summary.domestic_abuse_incidents_12m == 2
    assert summary.referrals_12m == 2
    assert summary.re_referral
    assert summary.last_queue is Queue.MASH


def test_the_summary_never_counts_the_event_being_routed_or_later_ones() -> None:
    history = with_event(
        ChildHistory(child_key="ck-1"),
        accepted(police_notification(received_at=AT)),
        queue=Queue.MASH,
        level=3,
    )
    assert summarise(history, AT).domestic_abuse_incidents_12m == 0


def test_recording_the_same_event_twice_changes_nothing() -> None:
    event = accepted(contact(received_at=AT - timedelta(days=3)))
    once = with_event(ChildHistory(child_key="ck-1"), event, queue=Queue.EARLY_HELP, level=2)
    twice = with_event(once, event, queue=Queue.EARLY_HELP, level=2)
    assert twice == once
    assert once.has_seen(event.event_id, event.sender)


def test_plans_open_on_the_day_are_listed() -> None:
    history = ChildHistory(
        child_key="ck-1",
        plans=[
            Plan(plan=OpenPlan.CHILD_PROTECTION, started_on=date(2026, 1, 5)),
            Plan(plan=OpenPlan.EARLY_HELP, started_on=date(2025, 1, 5), ended_on=date(2025, 6, 1)),
        ],
    )
    assert summarise(history, AT).open_plans == [OpenPlan.CHILD_PROTECTION]


def test_a_history_survives_its_json_round_trip_through_the_table() -> None:
    history = with_event(
        ChildHistory(child_key="ck-1"), accepted(contact()), queue=Queue.MASH, level=3
    )
    assert ChildHistory.model_validate(history.model_dump(mode="json")) == history


def imported(
    record_type: HistoryRecordType,
    started: date,
    ended: date | None = None,
    *,
    child_key: str = "ck-1",
) -> Any:
    return ImportedHistory(
        event_id=f"hist-{child_key}-{record_type.value}-{started.isoformat()}",
        match=ChildMatch(child_key=child_key, kind=MatchKind.NEW, score=0.0, reason="new"),
        record=HistoryRecord(record_type=record_type, started_on=started, ended_on=ended),
        imported_at=AT,
    )


def test_imported_records_fill_the_history_the_router_sees() -> None:
    history = ChildHistory(child_key="ck-1")
    for record in (
        imported(HistoryRecordType.DOMESTIC_ABUSE_INCIDENT, date(2026, 6, 1)),
        imported(HistoryRecordType.REFERRAL, date(2026, 7, 1)),
        imported(HistoryRecordType.CHILD_IN_NEED_PLAN, date(2026, 7, 15)),
        imported(HistoryRecordType.STRATEGY_DISCUSSION, date(2026, 7, 2)),
    ):
        history = with_imported(history, record)

    summary = summarise(history, AT)

    assert summary.domestic_abuse_incidents_12m == 1
    assert summary.re_referral
    assert summary.open_plans == [OpenPlan.CHILD_IN_NEED]
    assert summary.strategy_discussions_12m == 1


def test_importing_the_same_record_twice_changes_nothing() -> None:
    record = imported(HistoryRecordType.CHILD_PROTECTION_PLAN, date(2026, 1, 5))
    once = with_imported(ChildHistory(child_key="ck-1"), record)
    assert with_imported(once, record) == once


def test_a_batch_of_imported_records_reads_and_writes_each_child_once_in_order() -> None:
    stored = {
        "ck-2": with_imported(
            ChildHistory(child_key="ck-2"),
            imported(HistoryRecordType.CONTACT, date(2026, 2, 1), child_key="ck-2"),
        )
    }
    reads: list[str] = []

    def history_of(child_key: str) -> ChildHistory:
        reads.append(child_key)
        return stored.get(child_key) or ChildHistory(child_key=child_key)

    changed = with_imported_records(
        [
            imported(HistoryRecordType.DOMESTIC_ABUSE_INCIDENT, date(2026, 6, 1)),
            imported(HistoryRecordType.CONTACT, date(2026, 2, 1), child_key="ck-2"),  # had it
            imported(HistoryRecordType.REFERRAL, date(2026, 7, 1)),
            imported(HistoryRecordType.DOMESTIC_ABUSE_INCIDENT, date(2026, 8, 1)),
        ],
        history_of,
    )

    assert reads == ["ck-1", "ck-2"]
    assert list(changed) == ["ck-1"]  # ck-2 already held its only record: nothing to write
    assert [event.event_id for event in changed["ck-1"].events] == [
        "hist-ck-1-domestic_abuse_incident-2026-06-01",
        "hist-ck-1-referral-2026-07-01",
        "hist-ck-1-domestic_abuse_incident-2026-08-01",
    ]
