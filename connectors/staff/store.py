"""The staff application's queue store: what the pages read, and the little they write.

:class:`QueueStore` is filled by the consumer (:mod:`connectors.staff.consumer`) with
:meth:`QueueStore.apply`, which takes each polled batch in one transaction and is idempotent:
events are upserted on their event id, so a redelivered work item, task, alert or decision
updates its stored document and nothing else. What only this application knows (who claimed an
item, when a task was done or an alert acknowledged) is never touched by a redelivery.

Timeliness alerts are kept one row per clock: the overdue alert creates it and the cleared alert
updates it, in either order. A clock once cleared stays cleared (an overdue alert arriving after
its cleared one only fills in when it went overdue, if that is not known yet), and the time it
first went overdue is kept.

Decisions are events too (``decisions`` topic). An item's current decision is worked out from all
the decisions stored for it, whatever order they arrived in: the newest one that no other
decision revises. So the web application can mark an item decided the moment its decision is
published (:meth:`QueueStore.mark_decided`), and the consumer applying the same decision later,
or a decision arriving before its work item, changes nothing.

Information requests and outcome notifications are kept for the partners they are addressed to,
who fetch them from the gateway (:meth:`QueueStore.partner_messages`) by a sequence number given
when each is first stored: the partner's cursor. A redelivery keeps its number, and numbers are
handed out in the order their transactions commit, so a partner that has read up to one never
later finds a message below it.

A duty-team alert's acknowledgements are events too (``alerts.acknowledgements``, from the link
in the alert's message or the staff application): the earliest one per alert is kept, whatever
order they are read in, and one read before its alert (another partition) is kept and shown once
the alert is stored.

Every delivery status of an outbound message is kept (``deliveries.status``, upserted on its event
id); a child's chronology shows what the attempts came to for each recipient (told, not told,
waiting at the gateway to be fetched), never the retries on the way.

School notifications (Operation Encompass, ``notifications.schools``) are kept too, upserted on
their event id, for the dashboard: :meth:`QueueStore.dashboard_events` gives a period's events as
the models :mod:`streams.decisions.figures` computes the figures from.

Queries return frozen dataclasses, never ORM objects, so nothing outside this module can write
to the database by accident. Every database failure is a :class:`StoreError`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Engine, and_, case, delete, func, or_, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select

from connectors.staff.db import (
    AccessLogRow,
    AgendaRow,
    AlertAcknowledgementRow,
    Base,
    DecisionRow,
    DeliveryRow,
    DutyAlertRow,
    MashTaskRow,
    MeetingRecordRow,
    PartnerMessageRow,
    SchoolNotificationRow,
    StrategyDiscussionRow,
    TimelinessAlertRow,
    UserRow,
    WorkItemRow,
    sessions,
)
from schemas.errors import StoreError
from schemas.models import (
    AcknowledgedVia,
    Agency,
    AlertAcknowledgement,
    AlertStatus,
    Child,
    ClockKind,
    DeliveryState,
    DeliveryStatus,
    DiscussionStatus,
    DomesticAbuseAgenda,
    DutyTeamAlert,
    Event,
    InformationRequest,
    MashTask,
    MatchKind,
    MeetingRecord,
    OutcomeNotification,
    Priority,
    Queue,
    SchoolNotification,
    StaffRole,
    StrategyDiscussion,
    TaskKind,
    ThresholdDecision,
    TimelinessAlert,
    WorkItem,
)
from schemas.wire import InboundMessage
from streams.decisions.clocks import alert_id
from streams.decisions.figures import DashboardEvents
from streams.decisions.meeting import merged_agendas
from streams.decisions.threshold import standing_decision

#: How the queues sort by priority: red first.
PRIORITY_RANK = {Priority.RED: 0, Priority.AMBER: 1, Priority.GREEN: 2}

#: The time zone times are written in where they are part of a text (chronology summaries).
LOCAL_TIME = ZoneInfo("Europe/London")


@dataclass(frozen=True)
class QueueRow:
    """One line of a queue page."""

    event_id: str
    queue: Queue
    child_key: str
    child: Child
    priority: Priority
    level: int
    decision_due_at: datetime
    received_at: datetime
    sender: str
    match_kind: MatchKind
    out_of_hours: bool
    claimed_by: str | None
    claimed_at: datetime | None
    decided_at: datetime | None


@dataclass(frozen=True)
class ItemView:
    """A work item as published, with its local state, its decisions (oldest first) and alert."""

    work_item: WorkItem
    claimed_by: str | None
    claimed_at: datetime | None
    decided_at: datetime | None
    decided_by: str | None
    #: The item's current decision: what a new decision on it revises.
    decision_event_id: str | None
    decisions: tuple[ThresholdDecision, ...]
    alert: DutyTeamAlert | None


class EntryKind(StrEnum):
    WORK_ITEM = "work item"
    DUTY_ALERT = "duty alert"
    ALERT_ACKNOWLEDGEMENT = "alert acknowledged"
    DECISION = "decision"
    STRATEGY_DISCUSSION = "strategy discussion"
    TIMELINESS_ALERT = "timeliness alert"
    #: A message about the child delivered to its recipient.
    TOLD = "told"
    #: Given up on after the retry limit: a MASH task asks a person to tell them another way.
    NOT_TOLD = "not told"
    #: Left at the gateway for the partner to fetch.
    AVAILABLE = "available to fetch"


@dataclass(frozen=True)
class ChronologyEntry:
    """One line of a child's chronology: something that reached the front door, a decision, a
    strategy discussion, a timeliness alert (identified by its clock's id) or what a delivery
    of a message about the child came to."""

    at: datetime
    kind: EntryKind
    event_id: str
    #: None for a delivery of a message the store keeps no work item for (a school notification).
    work_item_id: str | None
    #: The queue of the work item it belongs to: who may read it.
    queue: Queue
    summary: str


@dataclass(frozen=True)
class Acknowledged:
    """Who acknowledged a duty-team alert first, when, and how."""

    event_id: str
    #: A staff username, or the recipient's code for a link in the alert's message.
    by: str
    at: datetime
    via: AcknowledgedVia


@dataclass(frozen=True)
class DutyAlertView:
    """A duty-team alert and its acknowledgement, if any yet."""

    event_id: str
    work_item_id: str
    child_key: str
    priority: Priority
    reason: str
    received_at: datetime
    raised_at: datetime
    acknowledged: Acknowledged | None


@dataclass(frozen=True)
class HandoverEntry:
    """An out-of-hours alert as handed over: the alert, its acknowledgement and the current
    decision on its work item (None: no decision recorded yet)."""

    alert: DutyAlertView
    decision: ThresholdDecision | None


@dataclass(frozen=True)
class DiscussionRow:
    """One strategy discussion event on a work item (convened, held or not held)."""

    event_id: str
    discussion_id: str
    status: DiscussionStatus
    at: datetime
    recorded_by: str
    attendees: tuple[Agency, ...]
    invitees: tuple[Agency, ...]
    section_47: bool | None
    rationale: str | None
    #: Required agencies that did not attend a held discussion: a flag on the child's record.
    missing_agencies: tuple[Agency, ...]


@dataclass(frozen=True)
class AlertRow:
    """One timeliness clock's alert: overdue since ``overdue_at``, cleared at ``cleared_at``."""

    clock_id: str
    clock: ClockKind
    child_key: str
    work_item_id: str
    started_at: datetime
    due_at: datetime
    overdue_at: datetime | None
    cleared_at: datetime | None
    #: The event the clock waited for, once cleared.
    satisfied_by: str | None
    acknowledged_by: str | None
    acknowledged_at: datetime | None


@dataclass(frozen=True)
class TaskRow:
    """A MASH task and its local state."""

    event_id: str
    kind: TaskKind
    title: str
    sender: str
    reason: str
    error_code: str | None
    reference: str
    created_at: datetime
    claimed_by: str | None
    done_at: datetime | None
    done_by: str | None


@dataclass(frozen=True)
class ClaimResult:
    """Whether a claim succeeded; otherwise who holds the item (None: no such item)."""

    claimed: bool
    holder: str | None


@dataclass(frozen=True)
class UserRecord:
    """A staff account. The hash is kept out of ``repr`` so it never reaches a log."""

    username: str
    display_name: str
    role: StaffRole
    password_hash: str = field(repr=False)
    created_at: datetime
    disabled_at: datetime | None


@dataclass(frozen=True)
class AccessEntry:
    """One view of a child's record."""

    at: datetime
    username: str
    child_key: str
    page: str
    work_item_id: str | None


class PartnerMessageKind(StrEnum):
    """What a partner fetches from the gateway: the records addressed to its sender code."""

    INFORMATION_REQUEST = "information_request"
    OUTCOME_NOTIFICATION = "outcome_notification"


@dataclass(frozen=True)
class PartnerMessage:
    """A record addressed to a partner, its sequence number (the fetch cursor) and its JSON."""

    seq: int
    event_id: str
    payload: dict[str, Any]


class QueueStore:
    """Work items, tasks, alerts, decisions, partner messages, staff accounts and the access log
    in SQL."""

    def __init__(self, engine: Engine) -> None:
        self._sessions = sessions(engine)

    @contextmanager
    def _transaction(self) -> Iterator[Session]:
        try:
            with self._sessions.begin() as session:
                yield session
        except SQLAlchemyError as exc:
            raise StoreError(f"the staff store failed: {type(exc).__name__}") from exc

    # -- from the topics ----------------------------------------------------------------------

    def apply(self, messages: Sequence[tuple[InboundMessage, Event]]) -> None:
        """Store a polled batch of events in one transaction; delivering it again is harmless."""
        if not messages:
            return
        now = datetime.now(UTC)
        # The last delivery of an id in the batch wins, and one statement sees each id once.
        items: dict[str, dict[str, Any]] = {}
        kept: dict[type[Base], dict[str, dict[str, Any]]] = {
            model: {} for model, _ in _KEPT_AS_THEY_COME.values()
        }
        partner_messages: dict[str, dict[str, Any]] = {}
        # One row per clock: its alerts in the batch are merged as the database would merge them.
        clocks: dict[str, dict[str, Any]] = {}
        # One row per alert: the first of its acknowledgements in the batch.
        acknowledgements = _first_acknowledgements(
            event for _, event in messages if isinstance(event, AlertAcknowledgement)
        )
        for message, event in messages:
            if isinstance(event, WorkItem):
                items[event.event_id] = _work_item_values(message, event, now)
            elif isinstance(event, InformationRequest | OutcomeNotification):
                partner_messages[event.event_id] = _partner_message_values(event, now)
            elif isinstance(event, TimelinessAlert):
                values = _clock_values(event)
                earlier = clocks.get(event.clock_id)
                clocks[event.clock_id] = values if earlier is None else _merged(earlier, values)
            elif type(event) in _KEPT_AS_THEY_COME:
                model, row_of = _KEPT_AS_THEY_COME[type(event)]
                kept[model][event.event_id] = row_of(event)
            elif not isinstance(event, AlertAcknowledgement):  # kept above
                raise TypeError(f"the staff store does not keep {type(event).__name__} events")
        with self._transaction() as session:
            # First: it may wait for another writer, and must do so before holding any row.
            _upsert_partner_messages(session, partner_messages)
            _upsert(session, WorkItemRow, items, insert_only={"first_stored_at"})
            for model, rows in kept.items():
                _upsert(session, model, rows)
            _upsert_clocks(session, clocks)
            _upsert_acknowledgements(session, acknowledgements)
            # A work item delivered after its decision (another topic) is decided at once.
            decided = kept[DecisionRow].values()
            affected = set(items) | {values["work_item_id"] for values in decided}
            _settle_decisions(session, affected, now)

    def mark_decided(self, work_item_id: str, decision: ThresholdDecision) -> None:
        """Record a decision the application has just published, so the item leaves the queue
        now rather than when the consumer reads the decision back (which then changes nothing)."""
        if decision.work_item_id != work_item_id:
            raise ValueError("the decision is about another work item")
        with self._transaction() as session:
            _upsert(session, DecisionRow, {decision.event_id: _decision_values(decision)})
            _settle_decisions(session, {work_item_id}, datetime.now(UTC))

    def record_acknowledgement(self, acknowledgement: AlertAcknowledgement) -> None:
        """Keep an acknowledgement the application has just published, so its pages show it now
        rather than when the consumer reads it back (which then changes nothing)."""
        values = _acknowledgement_values(acknowledgement)
        with self._transaction() as session:
            _upsert_acknowledgements(session, {acknowledgement.alert_id: values})

    def record_meeting(self, record: MeetingRecord) -> None:
        """Keep a meeting record the application has just published, so the page shows it now
        rather than when the consumer reads it back (which then changes nothing)."""
        with self._transaction() as session:
            _upsert(session, MeetingRecordRow, {record.event_id: _meeting_record_values(record)})

    def clear_topic_rows(self) -> None:
        """Delete everything that came from the topics (before a rebuild from them).

        Staff accounts and the access log stay; claims, acknowledgements and done tasks go with
        their rows (they exist nowhere else), while decisions, strategy discussions, timeliness
        alerts, delivery statuses and school notifications come back from their topics. Partner
        messages stay too: their sequence numbers are partners' cursors, which renumbering would
        break, and reading their topics again changes nothing.
        """
        with self._transaction() as session:
            for model in (
                WorkItemRow,
                MashTaskRow,
                DutyAlertRow,
                AlertAcknowledgementRow,
                DecisionRow,
                StrategyDiscussionRow,
                TimelinessAlertRow,
                AgendaRow,
                MeetingRecordRow,
                DeliveryRow,
                SchoolNotificationRow,
            ):
                session.execute(delete(model))

    # -- what the pages read ------------------------------------------------------------------

    def queue(self, queue: Queue, *, include_decided: bool = False) -> list[QueueRow]:
        """The queue's items, most urgent first: red before amber before green, then the
        earliest decision deadline, then the earliest received."""
        statement = select(WorkItemRow).where(WorkItemRow.queue == queue.value)
        if not include_decided:
            statement = statement.where(WorkItemRow.decided_at.is_(None))
        statement = statement.order_by(
            WorkItemRow.priority_rank,
            WorkItemRow.decision_due_at,
            WorkItemRow.received_at,
            WorkItemRow.event_id,
        )
        with self._transaction() as session:
            return [_queue_row(row) for row in session.scalars(statement)]

    def item(self, event_id: str) -> ItemView | None:
        """A work item with its decisions and alert, or None if there is no such item."""
        with self._transaction() as session:
            row = session.get(WorkItemRow, event_id)
            if row is None:
                return None
            decisions = session.scalars(
                select(DecisionRow)
                .where(DecisionRow.work_item_id == event_id)
                .order_by(DecisionRow.decided_at, DecisionRow.event_id)
            )
            alert = session.scalars(
                select(DutyAlertRow)
                .where(DutyAlertRow.work_item_id == event_id)
                .order_by(DutyAlertRow.raised_at)
                .limit(1)
            ).first()
            return ItemView(
                work_item=WorkItem.model_validate(row.document),
                claimed_by=row.claimed_by,
                claimed_at=row.claimed_at,
                decided_at=row.decided_at,
                decided_by=row.decided_by,
                decision_event_id=row.decision_event_id,
                decisions=tuple(ThresholdDecision.model_validate(d.document) for d in decisions),
                alert=DutyTeamAlert.model_validate(alert.document) if alert else None,
            )

    def duty_alerts(self, limit: int = 200) -> list[DutyAlertView]:
        """The newest ``limit`` duty-team alerts, newest first, each with its acknowledgement."""
        statement = (
            _duty_alerts_acknowledged()
            .order_by(DutyAlertRow.raised_at.desc(), DutyAlertRow.event_id)
            .limit(limit)
        )
        with self._transaction() as session:
            return [_duty_alert_view(alert, ack) for alert, ack in session.execute(statement)]

    def duty_alert(self, alert_id: str) -> DutyAlertView | None:
        """One duty-team alert with its acknowledgement, or None if it is not stored (yet)."""
        statement = _duty_alerts_acknowledged().where(DutyAlertRow.event_id == alert_id)
        with self._transaction() as session:
            found = session.execute(statement).first()
        if found is None:
            return None
        alert, acknowledgement = found
        return _duty_alert_view(alert, acknowledgement)

    def handover(self, start: datetime, end: datetime) -> list[HandoverEntry]:
        """The duty-team alerts raised in ``[start, end)``, oldest first, each with its
        acknowledgement and its work item's current decision."""
        statement = (
            _duty_alerts_acknowledged()
            .add_columns(DecisionRow)
            .outerjoin(WorkItemRow, WorkItemRow.event_id == DutyAlertRow.work_item_id)
            .outerjoin(DecisionRow, DecisionRow.event_id == WorkItemRow.decision_event_id)
            .where(DutyAlertRow.raised_at >= start, DutyAlertRow.raised_at < end)
            .order_by(DutyAlertRow.raised_at, DutyAlertRow.event_id)
        )
        with self._transaction() as session:
            return [
                HandoverEntry(
                    alert=_duty_alert_view(alert, ack),
                    decision=ThresholdDecision.model_validate(decision.document)
                    if decision
                    else None,
                )
                for alert, ack, decision in session.execute(statement)
            ]

    def discussions(self, work_item_id: str) -> list[DiscussionRow]:
        """The strategy discussion events on a work item, oldest first."""
        statement = (
            select(StrategyDiscussionRow)
            .where(StrategyDiscussionRow.work_item_id == work_item_id)
            .order_by(StrategyDiscussionRow.at, StrategyDiscussionRow.event_id)
        )
        with self._transaction() as session:
            return [_discussion_row(row) for row in session.scalars(statement)]

    def timeliness_alerts(self, *, open_only: bool = True) -> list[AlertRow]:
        """Timeliness alerts, one per clock, the earliest due first; by default only the open
        ones (overdue and not cleared), acknowledged or not."""
        statement = select(TimelinessAlertRow).order_by(
            TimelinessAlertRow.due_at, TimelinessAlertRow.clock_id
        )
        if open_only:
            statement = statement.where(
                TimelinessAlertRow.overdue_at.is_not(None), TimelinessAlertRow.cleared_at.is_(None)
            )
        with self._transaction() as session:
            return [_alert_row(row) for row in session.scalars(statement)]

    def acknowledge_alert(self, clock_id: str, username: str, now: datetime) -> bool:
        """Record that ``username`` has seen a clock's alert; the first acknowledgement stays.

        True when this call acknowledged it, or ``username`` already had (a repeated click);
        False when there is no such alert or someone else acknowledged it first.
        """
        with self._transaction() as session:
            acknowledged = _changed(
                session,
                update(TimelinessAlertRow)
                .where(
                    TimelinessAlertRow.clock_id == clock_id,
                    TimelinessAlertRow.acknowledged_by.is_(None),
                )
                .values(acknowledged_by=username, acknowledged_at=now),
            )
            if acknowledged:
                return True
            holder = session.scalar(
                select(TimelinessAlertRow.acknowledged_by).where(
                    TimelinessAlertRow.clock_id == clock_id
                )
            )
        return holder is not None and holder == username

    def chronology(self, child_key: str) -> list[ChronologyEntry]:
        """Everything stored about a child, oldest first: work items (when received), duty-team
        alerts (when raised) and their acknowledgements, decisions (when made), strategy
        discussions (when convened, held or decided against), timeliness alerts (when overdue,
        when cleared) and the deliveries of messages about the child (when delivered, given up
        on or left at the gateway; not the retries on the way).

        Strategy discussions and timeliness alerts carry no queue of their own: they take their
        work item's, and are left out until that work item is stored. An acknowledgement takes
        its alert's, and is left out until that alert is stored. So does the delivery of a
        duty-team or timeliness alert; other messages (school and health notifications) have no
        work item here, so their deliveries take the MASH queue, the front door's own."""
        with self._transaction() as session:
            items = list(
                session.scalars(select(WorkItemRow).where(WorkItemRow.child_key == child_key))
            )
            alerts = list(
                session.scalars(select(DutyAlertRow).where(DutyAlertRow.child_key == child_key))
            )
            acknowledgements = session.scalars(
                select(AlertAcknowledgementRow).where(
                    AlertAcknowledgementRow.child_key == child_key
                )
            )
            decisions = session.scalars(
                select(DecisionRow).where(DecisionRow.child_key == child_key)
            )
            discussions = session.scalars(
                select(StrategyDiscussionRow).where(StrategyDiscussionRow.child_key == child_key)
            )
            clocks = session.scalars(
                select(TimelinessAlertRow).where(TimelinessAlertRow.child_key == child_key)
            )
            deliveries = session.scalars(
                select(DeliveryRow).where(
                    DeliveryRow.child_key == child_key,
                    DeliveryRow.state != DeliveryState.RETRYING.value,
                )
            )
            queue_of = {row.event_id: Queue(row.queue) for row in items}
            entries = [_item_entry(row) for row in items]
            alert_entries = {row.event_id: _alert_entry(row, queue_of) for row in alerts}
            entries += alert_entries.values()
            # The work item and queue of each message kept here, by id: its deliveries' too.
            owners = {
                row.event_id: (row.work_item_id, alert_entries[row.event_id].queue)
                for row in alerts
            }
            entries += [
                _acknowledgement_entry(row, alert_entries[row.alert_id].queue)
                for row in acknowledgements
                if row.alert_id in alert_entries
            ]
            entries += [_decision_entry(row) for row in decisions]
            entries += [
                _discussion_entry(row, queue_of[row.work_item_id])
                for row in discussions
                if row.work_item_id in queue_of
            ]
            for row in clocks:
                if row.work_item_id in queue_of:
                    queue = queue_of[row.work_item_id]
                    entries += _clock_entries(row, queue)
                    for status in AlertStatus:
                        owners[alert_id(row.clock_id, status)] = (row.work_item_id, queue)
            entries += _delivery_entries(deliveries, owners)
        order = list(EntryKind)
        return sorted(entries, key=lambda e: (e.at, order.index(e.kind), e.event_id))

    def agenda(self, event_id: str | None = None) -> DomesticAbuseAgenda | None:
        """The whole agenda (its parts merged) of the meeting whose agenda or part is
        ``event_id``, or of the latest meeting when None; None if there is none."""
        statement = select(AgendaRow.meeting_at)
        if event_id is None:
            statement = statement.order_by(AgendaRow.meeting_at.desc()).limit(1)
        else:
            statement = statement.where(AgendaRow.event_id == event_id)
        with self._transaction() as session:
            meeting_at = session.scalars(statement).first()
            if meeting_at is None:
                return None
            parts = session.scalars(select(AgendaRow).where(AgendaRow.meeting_at == meeting_at))
            merged = merged_agendas(DomesticAbuseAgenda.model_validate(r.document) for r in parts)
        return merged[event_id] if event_id is not None else next(iter(merged.values()))

    def agendas(self, limit: int = 20) -> list[tuple[str, datetime]]:
        """The latest meetings with an agenda: the id to open each by, and the meeting time,
        newest first."""
        statement = (
            select(func.min(AgendaRow.event_id), AgendaRow.meeting_at)
            .group_by(AgendaRow.meeting_at)
            .order_by(AgendaRow.meeting_at.desc())
            .limit(limit)
        )
        with self._transaction() as session:
            return [(event_id, at) for event_id, at in session.execute(statement)]

    def meeting_records(self, meeting_at: datetime) -> dict[str, list[MeetingRecord]]:
        """The records made at a meeting, by child key, oldest first."""
        statement = (
            select(MeetingRecordRow)
            .where(MeetingRecordRow.meeting_at == meeting_at)
            .order_by(MeetingRecordRow.recorded_at, MeetingRecordRow.event_id)
        )
        found: dict[str, list[MeetingRecord]] = {}
        with self._transaction() as session:
            for row in session.scalars(statement):
                found.setdefault(row.child_key, []).append(
                    MeetingRecord.model_validate(row.document)
                )
        return found

    def dashboard_events(self, start: datetime, end: datetime) -> DashboardEvents:
        """What the dashboard's figures for ``[start, end)`` are computed from
        (:func:`streams.decisions.figures.dashboard`), as the models published:

        * the work items received before ``end`` that were received in the period, are not
          decided (the queues), were decided in or after it (a revision included), have a
          decision or strategy discussion recorded in it, or a strategy discussion overdue (an
          open timeliness alert, however long ago it fell due); with every decision and strategy
          discussion recorded on them, whenever, so the figures see each item's first decision
          and what required its discussion;
        * the duty-team alerts raised in the period;
        * the school notifications due in the period, with every delivery status of each.

        The figures leave out what is outside their definitions; this only has to miss nothing.
        """
        decided_in_period = select(DecisionRow.work_item_id).where(
            DecisionRow.decided_at >= start, DecisionRow.decided_at < end
        )
        discussed_in_period = select(StrategyDiscussionRow.work_item_id).where(
            StrategyDiscussionRow.at >= start, StrategyDiscussionRow.at < end
        )
        discussion_overdue = select(TimelinessAlertRow.work_item_id).where(
            TimelinessAlertRow.clock == ClockKind.STRATEGY_DISCUSSION.value,
            TimelinessAlertRow.overdue_at.is_not(None),
            TimelinessAlertRow.cleared_at.is_(None),
        )
        in_play = and_(
            WorkItemRow.received_at < end,
            or_(
                WorkItemRow.received_at >= start,
                WorkItemRow.decided_at.is_(None),
                WorkItemRow.decided_at >= start,
                WorkItemRow.event_id.in_(decided_in_period),
                WorkItemRow.event_id.in_(discussed_in_period),
                WorkItemRow.event_id.in_(discussion_overdue),
            ),
        )
        item_ids = select(WorkItemRow.event_id).where(in_play)
        due = select(SchoolNotificationRow.event_id).where(
            SchoolNotificationRow.due_by >= start, SchoolNotificationRow.due_by < end
        )
        with self._transaction() as session:
            items = session.scalars(select(WorkItemRow.document).where(in_play))
            decisions = session.scalars(
                select(DecisionRow.document).where(DecisionRow.work_item_id.in_(item_ids))
            )
            discussions = session.scalars(
                select(StrategyDiscussionRow.document).where(
                    StrategyDiscussionRow.work_item_id.in_(item_ids)
                )
            )
            alerts = session.scalars(
                select(DutyAlertRow.document).where(
                    DutyAlertRow.raised_at >= start, DutyAlertRow.raised_at < end
                )
            )
            notices = session.scalars(
                select(SchoolNotificationRow.document).where(
                    SchoolNotificationRow.event_id.in_(due)
                )
            )
            deliveries = session.scalars(
                select(DeliveryRow.document).where(DeliveryRow.message_id.in_(due))
            )
            return DashboardEvents(
                work_items=tuple(WorkItem.model_validate(d) for d in items),
                decisions=tuple(ThresholdDecision.model_validate(d) for d in decisions),
                discussions=tuple(StrategyDiscussion.model_validate(d) for d in discussions),
                duty_alerts=tuple(DutyTeamAlert.model_validate(d) for d in alerts),
                school_notifications=tuple(SchoolNotification.model_validate(d) for d in notices),
                deliveries=tuple(DeliveryStatus.model_validate(d) for d in deliveries),
            )

    def partner_messages(
        self, sender: str, kind: PartnerMessageKind, after: int, limit: int
    ) -> list[PartnerMessage]:
        """Up to ``limit`` of the ``kind`` records addressed to ``sender`` numbered above
        ``after``, in number order: a partner's next page."""
        statement = (
            select(PartnerMessageRow)
            .where(
                PartnerMessageRow.addressed_to_sender == sender,
                PartnerMessageRow.kind == kind.value,
                PartnerMessageRow.seq > after,
            )
            .order_by(PartnerMessageRow.seq)
            .limit(limit)
        )
        with self._transaction() as session:
            return [
                PartnerMessage(seq=row.seq, event_id=row.event_id, payload=row.payload)
                for row in session.scalars(statement)
            ]

    def tasks(self, *, open_only: bool = True) -> list[TaskRow]:
        """MASH tasks, oldest first; by default only those not done."""
        statement = select(MashTaskRow).order_by(MashTaskRow.created_at, MashTaskRow.event_id)
        if open_only:
            statement = statement.where(MashTaskRow.done_at.is_(None))
        with self._transaction() as session:
            return [_task_row(row) for row in session.scalars(statement)]

    # -- claims -------------------------------------------------------------------------------

    def claim(self, event_id: str, username: str, now: datetime) -> ClaimResult:
        """Claim a work item for ``username``; refused while someone else holds it.

        One conditional update, so of two people claiming at once exactly one gets the item.
        Claiming an item one already holds succeeds and keeps the first claim's time.
        """
        with self._transaction() as session:
            taken = _changed(
                session,
                update(WorkItemRow)
                .where(WorkItemRow.event_id == event_id, WorkItemRow.claimed_by.is_(None))
                .values(claimed_by=username, claimed_at=now, updated_at=now),
            )
            if taken:
                return ClaimResult(claimed=True, holder=username)
            holder = session.scalar(
                select(WorkItemRow.claimed_by).where(WorkItemRow.event_id == event_id)
            )
        return ClaimResult(claimed=holder == username, holder=holder)

    def release(
        self, event_id: str, username: str, now: datetime, *, manager: bool = False
    ) -> bool:
        """Release a claim: only its holder, or a team manager (``manager``), may.

        True when the item is now unclaimed by this call or was already (a repeated release);
        False for another person's claim without ``manager``, or no such item.
        """
        may_release: ColumnElement[bool] = (
            WorkItemRow.claimed_by.is_not(None) if manager else WorkItemRow.claimed_by == username
        )
        with self._transaction() as session:
            released = _changed(
                session,
                update(WorkItemRow)
                .where(WorkItemRow.event_id == event_id, may_release)
                .values(claimed_by=None, claimed_at=None, updated_at=now),
            )
            if released:
                return True
            row = session.get(WorkItemRow, event_id)
            return row is not None and row.claimed_by is None

    # -- staff accounts -----------------------------------------------------------------------

    def create_user(
        self,
        username: str,
        display_name: str,
        role: StaffRole,
        password_hash: str,
        now: datetime,
    ) -> bool:
        """Add an account (the password already hashed); False if the username is taken.

        Usernames are kept lower-case, as people type them at sign-in in any case.
        """
        values = {
            "username": _username(username),
            "display_name": display_name,
            "role": role.value,
            "password_hash": password_hash,
            "created_at": now,
            "disabled_at": None,
        }
        with self._transaction() as session:
            insert = (
                _insert_for(session)(UserRow)
                .values(values)
                .on_conflict_do_nothing()
                .returning(UserRow.username)
            )
            # RETURNING, not the row count, which psycopg reports as -1 for an INSERT here.
            return session.execute(insert).first() is not None

    def get_user(self, username: str) -> UserRecord | None:
        with self._transaction() as session:
            row = session.get(UserRow, _username(username))
            return _user(row) if row else None

    def list_users(self) -> list[UserRecord]:
        """Every account, active or disabled, by username."""
        with self._transaction() as session:
            return [
                _user(row) for row in session.scalars(select(UserRow).order_by(UserRow.username))
            ]

    def disable_user(self, username: str, now: datetime) -> bool:
        """Disable an account (kept, for the access log's sake); False if no such active one."""
        with self._transaction() as session:
            return _changed(
                session,
                update(UserRow)
                .where(UserRow.username == _username(username), UserRow.disabled_at.is_(None))
                .values(disabled_at=now),
            )

    def set_password_hash(self, username: str, password_hash: str) -> bool:
        """Replace an account's password hash (a reset); False if there is no such account."""
        with self._transaction() as session:
            return _changed(
                session,
                update(UserRow)
                .where(UserRow.username == _username(username))
                .values(password_hash=password_hash),
            )

    # -- the access log -----------------------------------------------------------------------

    def log_access(
        self,
        username: str,
        child_key: str,
        page: str,
        work_item_id: str | None,
        at: datetime,
    ) -> None:
        """Record that ``username`` viewed a child's record (which page, which item)."""
        with self._transaction() as session:
            session.add(
                AccessLogRow(
                    at=at,
                    username=username,
                    child_key=child_key,
                    page=page,
                    work_item_id=work_item_id,
                )
            )

    def access_log(self, limit: int, child_key: str | None = None) -> list[AccessEntry]:
        """The newest ``limit`` views, newest first; only of one child's record if given."""
        statement = select(AccessLogRow).order_by(AccessLogRow.at.desc(), AccessLogRow.id.desc())
        if child_key is not None:
            statement = statement.where(AccessLogRow.child_key == child_key)
        with self._transaction() as session:
            return [
                AccessEntry(
                    at=row.at,
                    username=row.username,
                    child_key=row.child_key,
                    page=row.page,
                    work_item_id=row.work_item_id,
                )
                for row in session.scalars(statement.limit(limit))
            ]


def _username(username: str) -> str:
    """A username as stored and looked up: trimmed, lower-case (as the sign-in form sends it)."""
    return username.strip().lower()


# -- writing ----------------------------------------------------------------------------------


def _insert_for(session: Session) -> Callable[[type[Base]], Any]:
    """The dialect's INSERT, which has ON CONFLICT on both SQLite and PostgreSQL."""
    if session.get_bind().dialect.name == "sqlite":
        return sqlite.insert
    return postgresql.insert


def _agenda_values(agenda: DomesticAbuseAgenda) -> dict[str, Any]:
    return {
        "event_id": agenda.event_id,
        "meeting_at": agenda.meeting_at,
        "published_at": agenda.published_at,
        "document": agenda.model_dump(mode="json"),
    }


def _meeting_record_values(record: MeetingRecord) -> dict[str, Any]:
    return {
        "event_id": record.event_id,
        "agenda_id": record.agenda_id,
        "meeting_at": record.meeting_at,
        "child_key": record.child_key,
        "recorded_by": record.recorded_by,
        "recorded_at": record.recorded_at,
        "document": record.model_dump(mode="json"),
    }


def _upsert(
    session: Session,
    model: type[Base],
    rows: dict[str, dict[str, Any]],
    *,
    insert_only: Iterable[str] = (),
) -> None:
    """Insert ``rows``, or update the columns they carry where the event id is stored already.

    The values carry only event-derived columns, so local state is never overwritten.
    """
    if not rows:
        return
    first = next(iter(rows.values()))
    insert = _insert_for(session)(model)
    kept = {"event_id", *insert_only}
    statement = insert.on_conflict_do_update(
        index_elements=["event_id"],
        set_={name: insert.excluded[name] for name in first if name not in kept},
    )
    session.connection().execute(statement, list(rows.values()))


def _upsert_partner_messages(session: Session, rows: dict[str, dict[str, Any]]) -> None:
    """Insert partner messages; one already stored keeps its sequence number and first time.

    PostgreSQL hands out sequence numbers at insert, not at commit, so two writers (feeders
    sharing the group's partitions, a rebuild) could commit 8 before 7, and a partner fetching
    in between would pass 7 by for good. The table lock makes writers take turns until commit;
    it does not block readers. SQLite has one writer at a time already.
    """
    if not rows:
        return
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text(f"LOCK TABLE {PartnerMessageRow.__tablename__} IN EXCLUSIVE MODE"))
    _upsert(session, PartnerMessageRow, rows, insert_only={"created_at"})


def _upsert_acknowledgements(session: Session, rows: dict[str, dict[str, Any]]) -> None:
    """Insert alert acknowledgements (one row per alert id); a stored one is replaced only by
    an earlier one (or one as early with a smaller event id), so the first stays, whatever order
    they are read in."""
    if not rows:
        return
    insert = _insert_for(session)(AlertAcknowledgementRow)
    new, stored = insert.excluded, AlertAcknowledgementRow
    sooner = or_(
        new.acknowledged_at < stored.acknowledged_at,
        and_(new.acknowledged_at == stored.acknowledged_at, new.event_id < stored.event_id),
    )
    statement = insert.on_conflict_do_update(
        index_elements=["alert_id"],
        set_={name: new[name] for name in next(iter(rows.values())) if name != "alert_id"},
        where=sooner,
    )
    session.connection().execute(statement, list(rows.values()))


def _first_acknowledgements(
    acknowledgements: Iterable[AlertAcknowledgement],
) -> dict[str, dict[str, Any]]:
    """Each alert's first acknowledgement of ``acknowledgements``, as its row, by alert id: the
    earliest, or of those as early the smallest event id (as :func:`_upsert_acknowledgements`
    decides, so a batch stores what storing its events one by one would)."""
    first: dict[str, AlertAcknowledgement] = {}
    for acknowledgement in acknowledgements:
        kept = first.get(acknowledgement.alert_id)
        if kept is None or _order(acknowledgement) < _order(kept):
            first[acknowledgement.alert_id] = acknowledgement
    return {alert_id: _acknowledgement_values(kept) for alert_id, kept in first.items()}


def _order(acknowledgement: AlertAcknowledgement) -> tuple[datetime, str]:
    return acknowledgement.acknowledged_at, acknowledgement.event_id


def _upsert_clocks(session: Session, rows: dict[str, dict[str, Any]]) -> None:
    """Insert or update timeliness clocks (one row per clock id) as :func:`_merged` says.

    Only alert-derived columns are written, so an acknowledgement is never overwritten.
    """
    if not rows:
        return
    insert = _insert_for(session)(TimelinessAlertRow)
    new = insert.excluded
    stored = TimelinessAlertRow
    # An overdue alert arriving after its clock's cleared one: the stored alert stays the latest.
    stale = and_(stored.cleared_at.is_not(None), new.cleared_at.is_(None))
    latest = {
        name: case((stale, getattr(stored, name)), else_=new[name])
        for name in next(iter(rows.values()))
        if name not in {"clock_id", "overdue_at", "cleared_at"}
    }
    statement = insert.on_conflict_do_update(
        index_elements=["clock_id"],
        set_={
            **latest,
            "overdue_at": func.coalesce(stored.overdue_at, new.overdue_at),
            "cleared_at": func.coalesce(stored.cleared_at, new.cleared_at),
        },
    )
    session.connection().execute(statement, list(rows.values()))


def _merged(earlier: dict[str, Any], later: dict[str, Any]) -> dict[str, Any]:
    """Two alerts of one clock as one row: the later one's values, unless it is an overdue
    alert after a cleared one; the first overdue and cleared times are kept."""
    stale = earlier["cleared_at"] is not None and later["cleared_at"] is None
    kept = earlier if stale else later
    return {
        **kept,
        "overdue_at": _first(earlier["overdue_at"], later["overdue_at"]),
        "cleared_at": _first(earlier["cleared_at"], later["cleared_at"]),
    }


def _first(stored: datetime | None, new: datetime | None) -> datetime | None:
    return stored if stored is not None else new


def _changed(session: Session, statement: Any) -> bool:
    """Run an UPDATE; whether it changed a row."""
    return bool(session.connection().execute(statement).rowcount)


def _settle_decisions(session: Session, work_item_ids: set[str], now: datetime) -> None:
    """Set each item's current decision from every decision stored for it.

    The current one is the newest of those no other decision revises, so the answer does not
    depend on the order decisions arrived in (the web application's own, the topic's, a rebuild).
    """
    if not work_item_ids:
        return
    stored = session.scalars(
        select(DecisionRow).where(DecisionRow.work_item_id.in_(sorted(work_item_ids)))
    )
    by_item: dict[str, list[DecisionRow]] = {}
    for decision in stored:
        by_item.setdefault(decision.work_item_id, []).append(decision)
    for work_item_id, decisions in by_item.items():
        current = standing_decision(decisions)
        session.execute(
            update(WorkItemRow)
            .where(
                WorkItemRow.event_id == work_item_id,
                or_(
                    WorkItemRow.decision_event_id.is_(None),
                    WorkItemRow.decision_event_id != current.event_id,
                ),
            )
            .values(
                decided_at=current.decided_at,
                decided_by=current.decided_by,
                decision_event_id=current.event_id,
                updated_at=now,
            )
        )


def _work_item_values(message: InboundMessage, item: WorkItem, now: datetime) -> dict[str, Any]:
    return {
        "event_id": item.event_id,
        "queue": item.queue.value,
        "child_key": item.child_key,
        "source_event_id": item.source_event_id,
        "source_event_type": item.source_event_type.value,
        "sender": item.sender,
        "level": item.level,
        "priority": item.priority.value,
        "priority_rank": PRIORITY_RANK[item.priority],
        "received_at": item.received_at,
        "decision_due_at": item.decision_due_at,
        "routed_at": item.routed_at,
        "out_of_hours": item.out_of_hours,
        "match_kind": item.match.kind.value,
        "document": item.model_dump(mode="json"),
        "topic": message.topic,
        "partition": message.partition,
        "offset": message.offset,
        "first_stored_at": now,
        "updated_at": now,
    }


def _partner_message_values(
    record: InformationRequest | OutcomeNotification, now: datetime
) -> dict[str, Any]:
    kind = (
        PartnerMessageKind.INFORMATION_REQUEST
        if isinstance(record, InformationRequest)
        else PartnerMessageKind.OUTCOME_NOTIFICATION
    )
    return {
        "event_id": record.event_id,
        "kind": kind.value,
        "addressed_to_sender": record.addressed_to_sender,
        "created_at": now,
        "payload": record.model_dump(mode="json"),
    }


def _task_values(task: MashTask) -> dict[str, Any]:
    return {
        "event_id": task.event_id,
        "kind": task.kind.value,
        "title": task.title,
        "sender": task.sender,
        "reason": task.reason,
        "error_code": task.error_code,
        "reference": task.reference,
        "created_at": task.created_at,
        "document": task.model_dump(mode="json"),
    }


def _alert_values(alert: DutyTeamAlert) -> dict[str, Any]:
    return {
        "event_id": alert.event_id,
        "work_item_id": alert.work_item_id,
        "child_key": alert.child_key,
        "priority": alert.priority.value,
        "reason": alert.reason,
        "received_at": alert.received_at,
        "raised_at": alert.raised_at,
        "document": alert.model_dump(mode="json"),
    }


def _acknowledgement_values(acknowledgement: AlertAcknowledgement) -> dict[str, Any]:
    return {
        "alert_id": acknowledgement.alert_id,
        "event_id": acknowledgement.event_id,
        "work_item_id": acknowledgement.work_item_id,
        "child_key": acknowledgement.child_key,
        "acknowledged_by": acknowledgement.acknowledged_by,
        "via": acknowledgement.via.value,
        "acknowledged_at": acknowledgement.acknowledged_at,
        "document": acknowledgement.model_dump(mode="json"),
    }


def _decision_values(decision: ThresholdDecision) -> dict[str, Any]:
    return {
        "event_id": decision.event_id,
        "work_item_id": decision.work_item_id,
        "child_key": decision.child_key,
        "decided_by": decision.decided_by,
        "decided_at": decision.decided_at,
        "document": decision.model_dump(mode="json"),
        "revises": decision.revises,
    }


def _discussion_values(discussion: StrategyDiscussion) -> dict[str, Any]:
    return {
        "event_id": discussion.event_id,
        "discussion_id": discussion.discussion_id,
        "work_item_id": discussion.work_item_id,
        "child_key": discussion.child_key,
        "status": discussion.status.value,
        "at": discussion.at,
        "recorded_by": discussion.recorded_by,
        "section_47": discussion.section_47,
        "missing_agencies": [agency.value for agency in discussion.missing_agencies],
        "document": discussion.model_dump(mode="json"),
    }


def _clock_values(alert: TimelinessAlert) -> dict[str, Any]:
    """A timeliness alert as its clock's row: every key present, so one statement takes both."""
    overdue = alert.status is AlertStatus.OVERDUE
    return {
        "clock_id": alert.clock_id,
        "clock": alert.clock.value,
        "child_key": alert.child_key,
        "work_item_id": alert.work_item_id,
        "started_at": alert.started_at,
        "due_at": alert.due_at,
        "overdue_at": alert.raised_at if overdue else None,
        "cleared_at": None if overdue else alert.raised_at,
        "satisfied_by": None if overdue else alert.satisfied_by,
        "document": alert.model_dump(mode="json"),
    }


def _school_notification_values(notification: SchoolNotification) -> dict[str, Any]:
    return {
        "event_id": notification.event_id,
        "about_event_id": notification.about_event_id,
        "child_key": notification.child_key,
        "recipient": notification.recipient.value,
        "school_urn": notification.school_urn,
        "due_by": notification.due_by,
        "created_at": notification.created_at,
        "document": notification.model_dump(mode="json"),
    }


def _delivery_values(status: DeliveryStatus) -> dict[str, Any]:
    return {
        "event_id": status.event_id,
        "message_id": status.message_id,
        "message_type": status.message_type,
        "child_key": status.child_key,
        "recipient": status.recipient,
        "channel": status.channel.value,
        "address": status.address,
        "attempt": status.attempt,
        "state": status.state.value,
        "error_code": status.error_code,
        "at": status.at,
        "document": status.model_dump(mode="json"),
    }


#: The events kept as they come, one row per event id (a redelivery replaces the event-derived
#: columns): each record's table and its row, in the order a batch writes them.
_KEPT_AS_THEY_COME: dict[type[Event], tuple[type[Base], Callable[[Any], dict[str, Any]]]] = {
    MashTask: (MashTaskRow, _task_values),
    DutyTeamAlert: (DutyAlertRow, _alert_values),
    ThresholdDecision: (DecisionRow, _decision_values),
    StrategyDiscussion: (StrategyDiscussionRow, _discussion_values),
    DomesticAbuseAgenda: (AgendaRow, _agenda_values),
    MeetingRecord: (MeetingRecordRow, _meeting_record_values),
    DeliveryStatus: (DeliveryRow, _delivery_values),
    SchoolNotification: (SchoolNotificationRow, _school_notification_values),
}


# -- reading ----------------------------------------------------------------------------------


def _queue_row(row: WorkItemRow) -> QueueRow:
    return QueueRow(
        event_id=row.event_id,
        queue=Queue(row.queue),
        child_key=row.child_key,
        child=Child.model_validate(row.document["child"]),
        priority=Priority(row.priority),
        level=row.level,
        decision_due_at=row.decision_due_at,
        received_at=row.received_at,
        sender=row.sender,
        match_kind=MatchKind(row.match_kind),
        out_of_hours=row.out_of_hours,
        claimed_by=row.claimed_by,
        claimed_at=row.claimed_at,
        decided_at=row.decided_at,
    )


def _task_row(row: MashTaskRow) -> TaskRow:
    return TaskRow(
        event_id=row.event_id,
        kind=TaskKind(row.kind),
        title=row.title,
        sender=row.sender,
        reason=row.reason,
        error_code=row.error_code,
        reference=row.reference,
        created_at=row.created_at,
        claimed_by=row.claimed_by,
        done_at=row.done_at,
        done_by=row.done_by,
    )


def _discussion_row(row: StrategyDiscussionRow) -> DiscussionRow:
    discussion = StrategyDiscussion.model_validate(row.document)
    return DiscussionRow(
        event_id=row.event_id,
        discussion_id=row.discussion_id,
        status=DiscussionStatus(row.status),
        at=row.at,
        recorded_by=row.recorded_by,
        attendees=tuple(discussion.attendees),
        invitees=tuple(discussion.invitees),
        section_47=row.section_47,
        rationale=discussion.rationale,
        missing_agencies=tuple(Agency(code) for code in row.missing_agencies),
    )


def _alert_row(row: TimelinessAlertRow) -> AlertRow:
    return AlertRow(
        clock_id=row.clock_id,
        clock=ClockKind(row.clock),
        child_key=row.child_key,
        work_item_id=row.work_item_id,
        started_at=row.started_at,
        due_at=row.due_at,
        overdue_at=row.overdue_at,
        cleared_at=row.cleared_at,
        satisfied_by=row.satisfied_by,
        acknowledged_by=row.acknowledged_by,
        acknowledged_at=row.acknowledged_at,
    )


def _duty_alerts_acknowledged() -> Select[DutyAlertRow, AlertAcknowledgementRow]:
    """Duty alerts, each with its acknowledgement row (None when not acknowledged)."""
    return select(DutyAlertRow, AlertAcknowledgementRow).outerjoin(
        AlertAcknowledgementRow, AlertAcknowledgementRow.alert_id == DutyAlertRow.event_id
    )


def _duty_alert_view(
    row: DutyAlertRow, acknowledgement: AlertAcknowledgementRow | None
) -> DutyAlertView:
    return DutyAlertView(
        event_id=row.event_id,
        work_item_id=row.work_item_id,
        child_key=row.child_key,
        priority=Priority(row.priority),
        reason=row.reason,
        received_at=row.received_at,
        raised_at=row.raised_at,
        acknowledged=Acknowledged(
            event_id=acknowledgement.event_id,
            by=acknowledgement.acknowledged_by,
            at=acknowledgement.acknowledged_at,
            via=AcknowledgedVia(acknowledgement.via),
        )
        if acknowledgement
        else None,
    )


def _user(row: UserRow) -> UserRecord:
    return UserRecord(
        username=row.username,
        display_name=row.display_name,
        role=StaffRole(row.role),
        password_hash=row.password_hash,
        created_at=row.created_at,
        disabled_at=row.disabled_at,
    )


def _words(code: str) -> str:
    return code.replace("_", " ")


def _item_entry(row: WorkItemRow) -> ChronologyEntry:
    summary = (
        f"{_words(row.source_event_type).capitalize()} from {row.sender}: level {row.level}, "
        f"{row.priority}, {_words(row.queue)} queue"
    )
    return ChronologyEntry(
        at=row.received_at,
        kind=EntryKind.WORK_ITEM,
        event_id=row.event_id,
        work_item_id=row.event_id,
        queue=Queue(row.queue),
        summary=summary,
    )


def _alert_entry(row: DutyAlertRow, queue_of: dict[str, Queue]) -> ChronologyEntry:
    return ChronologyEntry(
        at=row.raised_at,
        kind=EntryKind.DUTY_ALERT,
        event_id=row.event_id,
        work_item_id=row.work_item_id,
        # Alerts go to the duty team; its work item's queue, once stored, says so exactly.
        queue=queue_of.get(row.work_item_id, Queue.DUTY_TEAM),
        summary=f"Duty team alert ({row.priority}): {row.reason}",
    )


def _acknowledgement_entry(row: AlertAcknowledgementRow, queue: Queue) -> ChronologyEntry:
    return ChronologyEntry(
        at=row.acknowledged_at,
        kind=EntryKind.ALERT_ACKNOWLEDGEMENT,
        event_id=row.event_id,
        work_item_id=row.work_item_id,
        queue=queue,
        summary=f"Duty team alert acknowledged by {row.acknowledged_by} ({_words(row.via)})",
    )


def _decision_entry(row: DecisionRow) -> ChronologyEntry:
    decision = ThresholdDecision.model_validate(row.document)
    summary = f"Decision: level {decision.level}, {_words(decision.next_step)}, by {row.decided_by}"
    return ChronologyEntry(
        at=row.decided_at,
        kind=EntryKind.DECISION,
        event_id=row.event_id,
        work_item_id=row.work_item_id,
        queue=decision.queue,
        summary=f"{summary} (revision)" if row.revises else summary,
    )


def _agencies(agencies: Iterable[Agency | str]) -> str:
    return ", ".join(_words(Agency(agency).value) for agency in agencies)


def _discussion_entry(row: StrategyDiscussionRow, queue: Queue) -> ChronologyEntry:
    """A strategy discussion in codes only (statuses, agencies, yes/no): its reasons are free
    text and stay on the item page."""
    discussion = StrategyDiscussion.model_validate(row.document)
    status = _words(discussion.status.value)
    if discussion.status is DiscussionStatus.CONVENED and discussion.invitees:
        status = f"{status}: {_agencies(discussion.invitees)} invited"
    elif discussion.status is DiscussionStatus.HELD and discussion.attendees:
        status = f"{status}: {_agencies(discussion.attendees)} attended"
    parts = [status]
    if discussion.section_47 is not None:
        parts.append("section 47 enquiry" if discussion.section_47 else "no section 47 enquiry")
    if row.missing_agencies:
        parts.append(f"not present: {_agencies(row.missing_agencies)}")
    return ChronologyEntry(
        at=row.at,
        kind=EntryKind.STRATEGY_DISCUSSION,
        event_id=row.event_id,
        work_item_id=row.work_item_id,
        queue=queue,
        summary="; ".join(parts),
    )


def _clock_entries(row: TimelinessAlertRow, queue: Queue) -> list[ChronologyEntry]:
    """A clock's alerts: when it went overdue and when it was cleared, as far as known.

    The row keeps only the clock's latest alert, so these entries are identified by the clock.
    """
    what = f"{_words(row.clock)} overdue"
    due = row.due_at.astimezone(LOCAL_TIME).strftime("%a %d %b %Y %H:%M")
    moments = [(row.overdue_at, f"{what} (due {due})"), (row.cleared_at, f"{what} cleared")]
    return [
        ChronologyEntry(
            at=at,
            kind=EntryKind.TIMELINESS_ALERT,
            event_id=row.clock_id,
            work_item_id=row.work_item_id,
            queue=queue,
            summary=summary,
        )
        for at, summary in moments
        if at is not None
    ]


#: The messages this store keeps, by record name: a delivery of one waits for it to be stored.
_KEPT_MESSAGES = frozenset({DutyTeamAlert.__name__, TimelinessAlert.__name__})

#: The chronology's entry for each final state of a delivery (a retry is not one).
_DELIVERY_KINDS = {
    DeliveryState.DELIVERED: EntryKind.TOLD,
    DeliveryState.FAILED: EntryKind.NOT_TOLD,
    DeliveryState.AVAILABLE: EntryKind.AVAILABLE,
}


def _delivery_entries(
    rows: Iterable[DeliveryRow], owners: dict[str, tuple[str, Queue]]
) -> list[ChronologyEntry]:
    """The final delivery statuses of ``rows`` as entries, each with the work item and queue of
    the message delivered (``owners``, by message id); those of a message this store keeps but
    has not stored yet are left out, and the rest go with the MASH queue and no work item.

    The MASH queue because the store cannot tell which of the child's work items a school or
    health notification came of, and the MASH queue is the front door's own: MASH workers, the
    duty team, team managers and leaders read it; early-help workers, who read only their own
    queue, do not see these deliveries.
    """
    entries = []
    for row in rows:
        owner = owners.get(row.message_id)
        if owner is None and row.message_type in _KEPT_MESSAGES:
            continue
        work_item_id, queue = owner or (None, Queue.MASH)
        entries.append(_delivery_entry(row, work_item_id, queue))
    return entries


def _delivery_entry(row: DeliveryRow, work_item_id: str | None, queue: Queue) -> ChronologyEntry:
    """What delivering a message to one recipient came to, from the status's columns only (who,
    how, where to, when, after how many attempts, which error): the status carries no content.
    "SchoolNotification to school:990002 by email (dsl@...), delivered 07:42"."""
    time = row.at.astimezone(LOCAL_TIME).strftime("%H:%M")
    summary = (
        f"{row.message_type} to {row.recipient} by {row.channel} ({row.address}), "
        f"{row.state} {time}"
    )
    if row.attempt > 1:
        summary += f" after {row.attempt} attempts"
    if row.error_code:
        summary += f": {row.error_code}"
    state = DeliveryState(row.state)
    if state is DeliveryState.FAILED:
        summary += "; a MASH task asks for them to be told another way"
    return ChronologyEntry(
        at=row.at,
        kind=_DELIVERY_KINDS[state],
        event_id=row.event_id,
        work_item_id=work_item_id,
        queue=queue,
        summary=summary,
    )
