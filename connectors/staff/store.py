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

from sqlalchemy import ColumnElement, Engine, and_, case, delete, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from connectors.staff.db import (
    AccessLogRow,
    AgendaRow,
    Base,
    DecisionRow,
    DutyAlertRow,
    MashTaskRow,
    MeetingRecordRow,
    StrategyDiscussionRow,
    TimelinessAlertRow,
    UserRow,
    WorkItemRow,
    sessions,
)
from schemas.errors import StoreError
from schemas.models import (
    Agency,
    AlertStatus,
    Child,
    ClockKind,
    DiscussionStatus,
    DomesticAbuseAgenda,
    DutyTeamAlert,
    Event,
    MashTask,
    MatchKind,
    MeetingRecord,
    Priority,
    Queue,
    StaffRole,
    StrategyDiscussion,
    TaskKind,
    ThresholdDecision,
    TimelinessAlert,
    WorkItem,
)
from schemas.wire import InboundMessage
from streams.decisions.meeting import merged_agendas

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
    DECISION = "decision"
    STRATEGY_DISCUSSION = "strategy discussion"
    TIMELINESS_ALERT = "timeliness alert"


@dataclass(frozen=True)
class ChronologyEntry:
    """One line of a child's chronology: something that reached the front door, a decision, a
    strategy discussion or a timeliness alert (identified by its clock's id)."""

    at: datetime
    kind: EntryKind
    event_id: str
    work_item_id: str
    #: The queue of the work item it belongs to: who may read it.
    queue: Queue
    summary: str


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


class QueueStore:
    """Work items, tasks, alerts, decisions, staff accounts and the access log in SQL."""

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
        tasks: dict[str, dict[str, Any]] = {}
        alerts: dict[str, dict[str, Any]] = {}
        decisions: dict[str, dict[str, Any]] = {}
        discussions: dict[str, dict[str, Any]] = {}
        agendas: dict[str, dict[str, Any]] = {}
        records: dict[str, dict[str, Any]] = {}
        # One row per clock: its alerts in the batch are merged as the database would merge them.
        clocks: dict[str, dict[str, Any]] = {}
        for message, event in messages:
            if isinstance(event, WorkItem):
                items[event.event_id] = _work_item_values(message, event, now)
            elif isinstance(event, MashTask):
                tasks[event.event_id] = _task_values(event)
            elif isinstance(event, DutyTeamAlert):
                alerts[event.event_id] = _alert_values(event)
            elif isinstance(event, ThresholdDecision):
                decisions[event.event_id] = _decision_values(event)
            elif isinstance(event, StrategyDiscussion):
                discussions[event.event_id] = _discussion_values(event)
            elif isinstance(event, DomesticAbuseAgenda):
                agendas[event.event_id] = _agenda_values(event)
            elif isinstance(event, MeetingRecord):
                records[event.event_id] = _meeting_record_values(event)
            elif isinstance(event, TimelinessAlert):
                values = _clock_values(event)
                earlier = clocks.get(event.clock_id)
                clocks[event.clock_id] = values if earlier is None else _merged(earlier, values)
            else:
                raise TypeError(f"the staff store does not keep {type(event).__name__} events")
        with self._transaction() as session:
            _upsert(session, WorkItemRow, items, insert_only={"first_stored_at"})
            _upsert(session, MashTaskRow, tasks)
            _upsert(session, DutyAlertRow, alerts)
            _upsert(session, DecisionRow, decisions)
            _upsert(session, StrategyDiscussionRow, discussions)
            _upsert(session, AgendaRow, agendas)
            _upsert(session, MeetingRecordRow, records)
            _upsert_clocks(session, clocks)
            # A work item delivered after its decision (another topic) is decided at once.
            affected = set(items) | {values["work_item_id"] for values in decisions.values()}
            _settle_decisions(session, affected, now)

    def mark_decided(self, work_item_id: str, decision: ThresholdDecision) -> None:
        """Record a decision the application has just published, so the item leaves the queue
        now rather than when the consumer reads the decision back (which then changes nothing)."""
        if decision.work_item_id != work_item_id:
            raise ValueError("the decision is about another work item")
        with self._transaction() as session:
            _upsert(session, DecisionRow, {decision.event_id: _decision_values(decision)})
            _settle_decisions(session, {work_item_id}, datetime.now(UTC))

    def record_meeting(self, record: MeetingRecord) -> None:
        """Keep a meeting record the application has just published, so the page shows it now
        rather than when the consumer reads it back (which then changes nothing)."""
        with self._transaction() as session:
            _upsert(session, MeetingRecordRow, {record.event_id: _meeting_record_values(record)})

    def clear_topic_rows(self) -> None:
        """Delete everything that came from the topics (before a rebuild from them).

        Staff accounts and the access log stay; claims, acknowledgements and done tasks go with
        their rows (they exist nowhere else), while decisions, strategy discussions and
        timeliness alerts come back from their topics.
        """
        with self._transaction() as session:
            for model in (
                WorkItemRow,
                MashTaskRow,
                DutyAlertRow,
                DecisionRow,
                StrategyDiscussionRow,
                TimelinessAlertRow,
                AgendaRow,
                MeetingRecordRow,
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
        alerts (when raised), decisions (when made), strategy discussions (when convened, held
        or decided against) and timeliness alerts (when overdue, when cleared).

        Strategy discussions and timeliness alerts carry no queue of their own: they take their
        work item's, and are left out until that work item is stored."""
        with self._transaction() as session:
            items = list(
                session.scalars(select(WorkItemRow).where(WorkItemRow.child_key == child_key))
            )
            alerts = session.scalars(
                select(DutyAlertRow).where(DutyAlertRow.child_key == child_key)
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
            queue_of = {row.event_id: Queue(row.queue) for row in items}
            entries = [_item_entry(row) for row in items]
            entries += [_alert_entry(row, queue_of) for row in alerts]
            entries += [_decision_entry(row) for row in decisions]
            entries += [
                _discussion_entry(row, queue_of[row.work_item_id])
                for row in discussions
                if row.work_item_id in queue_of
            ]
            for row in clocks:
                if row.work_item_id in queue_of:
                    entries += _clock_entries(row, queue_of[row.work_item_id])
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
        revised = {d.revises for d in decisions if d.revises}
        heads = [d for d in decisions if d.event_id not in revised] or decisions
        current = max(heads, key=lambda d: (d.decided_at, d.event_id))
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
