"""Timeliness clocks: what a child is waiting for, by when, and the alerts when it is late.

The inspection found decisions, strategy discussions and conferences that happened late or not at
all, with no one told. A *clock* is one thing a child is owed, with its due time:

* ``decision``: a threshold decision on a work item, due at the item's ``decision_due_at`` (one
  working day from receipt, computed by routing). Started by the work item; stopped by the first
  decision on it.
* ``strategy_discussion``: a strategy discussion, due ``decisions.strategy_discussion_due_hours``
  elapsed hours after a level-4 decision or one whose next step is a strategy discussion. Stopped
  by the discussion being held, or by a team manager recording that it will not be. There is one
  per work item (its subject is the work item), however many times the decision is revised.
* ``child_protection_conference``: the initial conference, due
  ``decisions.conference_due_working_days`` working days after the held strategy discussion that
  started a section 47 enquiry (its subject is that discussion). Stopped by the conference record
  naming that discussion (:func:`on_conference`).
* ``meeting_action``: each action the daily domestic-abuse meeting gave an agency, due at the end
  of its due date (midnight, the calendar's timezone; its subject is the action). Stopped by the
  action being recorded done (:func:`on_action_done`); one recorded done before its meeting record
  is read leaves the clock stopped, as a decision read before its work item does.
* ``duty_alert_acknowledgement``: a duty-team alert acknowledged by the duty team, due
  ``decisions.duty_alert_acknowledge_minutes`` elapsed minutes after the alert was raised (its
  subject is the alert). Stopped by the first :class:`AlertAcknowledgement` of the alert. Its
  overdue alert is the escalation: the delivery service re-sends the duty alert and tells the duty
  manager; its cleared alert tells the duty manager the alert was seen after all. One found
  overdue more than :data:`STALE_ESCALATION_AFTER` after its due time (an upgrade reading the
  alerts of past nights, a worker down for a day) escalates nothing: the handover lists it.

When a clock passes its due time unstopped, one ``overdue`` :class:`TimelinessAlert` goes to the
team managers; when what it waited for arrives after that, one ``cleared`` alert follows. What came
on time raises nothing; a clock that is late but stopped before any alert was raised raises
nothing either (there is nothing left to chase), and its lateness stays on the clock
(:attr:`Clock.late`).

**Exactly once, across restarts and replays.** Alert ids are derived from the clock and the status
(``derived_id("timeliness", clock_id, status)``), and the clock id from its kind and subject, so a
step run twice on the same input, after a crash or in a replay, derives the same ids, and the
state's ``overdue_raised``/``cleared_raised`` flags stop a second alert in the first place. Every
step is idempotent: the same event delivered again changes nothing and raises nothing (a duplicate
is no more than a timer tick), which the tests check for every order of duplicate deliveries.

**A revision does not close a strategy requirement.** A decision revised from level 4 down to early
help leaves the strategy-discussion clock open: a threshold met once is reasonable cause to suspect
significant harm, and Working Together asks that the reason for not holding the discussion be
recorded. Only that record, ``not_held`` by a team manager, stops the clock, so a downgrade cannot
silently drop a child's discussion. (A ``not_held`` record from anyone else, which the staff
application refuses, stops nothing: the managers are alerted rather than the child forgotten.)

**Who does what.** Everything here is pure and synchronous, and time is always passed in (``now``),
never read from the wall clock. The agent (:mod:`agents.clocks`) owns the state: one
:class:`ChildClocks` per child key in a table, read with :func:`stored_clocks`; for each event it
calls one step, publishes the step's alerts and writes the step's state. The timer cannot write a
table: it reads :func:`next_due` of each child and publishes a tick for each child with something
due, and the agent answers a tick with :func:`due_alerts`. Every ``on_*`` step ends with
:func:`due_alerts` at ``now`` too, so a work item that arrives already past its due time raises its
alert at once, without waiting for the timer.

**Order of events.** The sources are separate topics keyed by child, so the agent may read a
child's decision before its work item (or a discussion before its decision, a conference before
its discussion, an action done before its meeting record) when it catches up on one topic faster
than another. A step that stops a clock therefore records the clock stopped even when it has not
seen it open: the event that opens it, read later, finds it stopped and leaves it so, instead of
starting a clock that would fall overdue although what it waits for already happened.

Times are kept as UTC instants, so every comparison is of instants (two wall-clock times in
Europe/London compare wrongly in the hour the clocks go back) and a stored document reads back
equal to the state that was written.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from schemas.models import (
    ActionDone,
    AlertAcknowledgement,
    AlertStatus,
    ChildProtectionConference,
    ClockKind,
    DiscussionStatus,
    DutyTeamAlert,
    MeetingRecord,
    NextStep,
    StaffRole,
    StrategyDiscussion,
    ThresholdDecision,
    TimelinessAlert,
    WorkItem,
)
from schemas.types import AwareDatetime
from streams.decisions.calendar import OfficeCalendar, utc_instant
from streams.decisions.ids import derived_id
from streams.decisions.rules.model import DecisionRules

__all__ = [
    "PRUNE_AFTER",
    "ChildClocks",
    "Clock",
    "ClockStep",
    "alert_id",
    "clock_id_of",
    "due_alerts",
    "needs_strategy_discussion",
    "next_due",
    "on_action_done",
    "on_conference",
    "on_decision",
    "on_meeting_record",
    "on_strategy_discussion",
    "on_work_item",
    "prune",
    "satisfy",
    "stored_clocks",
]

#: How long a stopped clock is kept before :func:`prune` drops it.
PRUNE_AFTER = timedelta(days=400)


#: A timezone-aware datetime, kept as its UTC instant.
Instant = Annotated[AwareDatetime, AfterValidator(utc_instant)]


class Clock(BaseModel):
    """One thing a child is waiting for (``kind``, about ``subject_id``), and by when."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    clock_id: str
    kind: ClockKind
    child_key: str
    work_item_id: str
    #: What the clock is about: the work item (decision and strategy-discussion clocks) or the
    #: strategy discussion (conference clocks).
    subject_id: str
    started_at: Instant
    due_at: Instant
    satisfied_at: Instant | None = None
    #: The event id of what stopped the clock.
    satisfied_by: str | None = None
    overdue_raised: bool = False
    cleared_raised: bool = False

    @property
    def satisfied(self) -> bool:
        return self.satisfied_at is not None

    @property
    def late(self) -> bool:
        """Stopped after its due time (an open clock is not late yet, only perhaps overdue)."""
        return self.satisfied_at is not None and self.satisfied_at > self.due_at


class ChildClocks(BaseModel):
    """A child's clocks by clock id: the document the agent keeps per child key."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    child_key: str
    clocks: dict[str, Clock] = Field(default_factory=dict)


@dataclass(frozen=True)
class ClockStep:
    """The state after one step, and the alerts to publish (each at most once, ever)."""

    clocks: ChildClocks
    alerts: tuple[TimelinessAlert, ...] = ()


#: How late an unacknowledged duty-team alert may still be escalated: a duty shift's length.
STALE_ESCALATION_AFTER = timedelta(hours=12)


def stored_clocks(document: Mapping[str, Any] | None, child_key: str) -> ChildClocks:
    """A child's clocks from the stored JSON document, or none for a child not seen before."""
    return ChildClocks.model_validate(document) if document else ChildClocks(child_key=child_key)


def clock_id_of(kind: ClockKind, subject_id: str) -> str:
    """The id of the ``kind`` clock about ``subject_id``: the same whenever it is derived."""
    return derived_id("clock", kind.value, subject_id)


def alert_id(clock_id: str, status: AlertStatus) -> str:
    """The id of the ``status`` alert of a clock: so each is raised at most once, ever."""
    return derived_id("timeliness", clock_id, status.value)


# ---------------------------------------------------------------------------------------------
# Steps.


def _alert(clock: Clock, status: AlertStatus, now: datetime) -> TimelinessAlert:
    return TimelinessAlert(
        event_id=alert_id(clock.clock_id, status),
        clock_id=clock.clock_id,
        clock=clock.kind,
        child_key=clock.child_key,
        work_item_id=clock.work_item_id,
        status=status,
        started_at=clock.started_at,
        due_at=clock.due_at,
        raised_at=now,
        satisfied_by=clock.satisfied_by if status is AlertStatus.CLEARED else None,
        subject_id=clock.subject_id,
    )


def _with(state: ChildClocks, clock: Clock) -> ChildClocks:
    return state.model_copy(update={"clocks": {**state.clocks, clock.clock_id: clock}})


def _open(
    state: ChildClocks,
    kind: ClockKind,
    *,
    work_item_id: str,
    subject_id: str,
    started_at: datetime,
    due_at: datetime,
) -> ChildClocks:
    """``state`` with the ``kind`` clock about ``subject_id`` open, unless it exists already."""
    clock_id = clock_id_of(kind, subject_id)
    if clock_id in state.clocks:
        return state
    clock = Clock(
        clock_id=clock_id,
        kind=kind,
        child_key=state.child_key,
        work_item_id=work_item_id,
        subject_id=subject_id,
        started_at=started_at,
        due_at=due_at,
    )
    return _with(state, clock)


def _stop(
    state: ChildClocks,
    kind: ClockKind,
    *,
    subject_id: str,
    work_item_id: str,
    by: str,
    at: datetime,
    now: datetime,
) -> ClockStep:
    """Stop the ``kind`` clock about ``subject_id``: what it waited for, event ``by``, happened
    at ``at``. A clock not seen open yet (what opens it is on another topic, read later) is
    recorded stopped, so the event that opens it finds it stopped and leaves it so, instead of
    starting a clock that would fall overdue although what it waits for already happened."""
    moment = utc_instant(at)
    state = _open(
        state,
        kind,
        work_item_id=work_item_id,
        subject_id=subject_id,
        started_at=moment,
        due_at=moment,
    )
    return satisfy(state, clock_id_of(kind, subject_id), by, at, now=now)


def _then_due(step: ClockStep, now: datetime) -> ClockStep:
    due = due_alerts(step.clocks, now)
    return ClockStep(clocks=due.clocks, alerts=step.alerts + due.alerts)


def _same_child(state: ChildClocks, child_key: str) -> None:
    if child_key != state.child_key:
        raise ValueError(
            f"an event for child key {child_key!r} was given the clocks of {state.child_key!r}"
        )


def satisfy(
    state: ChildClocks,
    clock_id: str,
    by: str,
    at: datetime,
    *,
    now: datetime | None = None,
) -> ClockStep:
    """Stop clock ``clock_id``: what it waited for, event ``by``, happened at ``at``.

    The first event to stop a clock is the one recorded; a clock that is stopped already, or not
    known, is left as it is. A clock that raised its overdue alert raises its cleared alert now
    (``raised_at`` is ``now``, or ``at`` when no ``now`` is given). Checks nothing else is due.
    """
    clock = state.clocks.get(clock_id)
    if clock is None or clock.satisfied:
        return ClockStep(clocks=state)
    clock = clock.model_copy(update={"satisfied_at": utc_instant(at), "satisfied_by": by})
    alerts: tuple[TimelinessAlert, ...] = ()
    if clock.overdue_raised and not clock.cleared_raised:
        clock = clock.model_copy(update={"cleared_raised": True})
        alerts = (_alert(clock, AlertStatus.CLEARED, utc_instant(now if now is not None else at)),)
    return ClockStep(clocks=_with(state, clock), alerts=alerts)


def due_alerts(state: ChildClocks, now: datetime) -> ClockStep:
    """An overdue alert for each open clock due at or before ``now`` that has not raised one.

    What a timer tick does; harmless to repeat. Alerts come in order of due time.
    """
    now = utc_instant(now)
    due = sorted(
        (
            clock
            for clock in state.clocks.values()
            if not clock.satisfied and not clock.overdue_raised and clock.due_at <= now
        ),
        key=lambda clock: (clock.due_at, clock.clock_id),
    )
    if not due:
        return ClockStep(clocks=state)
    raised = [clock.model_copy(update={"overdue_raised": True}) for clock in due]
    clocks = {**state.clocks, **{clock.clock_id: clock for clock in raised}}
    return ClockStep(
        clocks=state.model_copy(update={"clocks": clocks}),
        alerts=tuple(
            _alert(clock, AlertStatus.OVERDUE, now)
            for clock in raised
            if not _stale_escalation(clock, now)
        ),
    )


def _stale_escalation(clock: Clock, now: datetime) -> bool:
    """An acknowledgement clock found overdue long after its due time: escalating now would wake
    a duty manager about a night long over (an upgrade reading old alerts, a worker down for a
    day). It is marked raised without an alert; the MASH's handover lists the alert instead."""
    return (
        clock.kind is ClockKind.DUTY_ALERT_ACKNOWLEDGEMENT
        and now - clock.due_at > STALE_ESCALATION_AFTER
    )


def next_due(state: ChildClocks) -> datetime | None:
    """The earliest due time of the open clocks that have not raised their alert, if any.

    The timer ticks a child once this has passed; None when nothing more can fall due.
    """
    return min(
        (
            clock.due_at
            for clock in state.clocks.values()
            if not clock.satisfied and not clock.overdue_raised
        ),
        default=None,
    )


def on_work_item(state: ChildClocks, item: WorkItem, now: datetime) -> ClockStep:
    """A work item starts its decision clock (due at ``item.decision_due_at``), then anything due
    at ``now`` is raised: an item that arrives already past its due time is overdue at once."""
    _same_child(state, item.child_key)
    opened = _open(
        state,
        ClockKind.DECISION,
        work_item_id=item.event_id,
        subject_id=item.event_id,
        started_at=item.received_at,
        due_at=item.decision_due_at,
    )
    return _then_due(ClockStep(clocks=opened), now)


def needs_strategy_discussion(decision: ThresholdDecision) -> bool:
    """Level 4, or a next step of a strategy discussion."""
    return decision.level == 4 or decision.next_step is NextStep.STRATEGY_DISCUSSION


def on_decision(
    state: ChildClocks, decision: ThresholdDecision, rules: DecisionRules, now: datetime
) -> ClockStep:
    """A decision stops its work item's decision clock and may start a strategy-discussion clock.

    The first decision on the item stops the clock (a revision finds it stopped); for a work item
    not yet read, the clock is recorded stopped, due when decided, and the item keeps it. A
    decision that needs a strategy discussion (:func:`needs_strategy_discussion`) starts that
    clock, due
    ``rules.strategy_discussion_due_hours`` elapsed hours after the decision, unless the work item
    has one already; a revision that no longer needs a discussion leaves it open (see the module
    docstring). Then anything due at ``now`` is raised.
    """
    _same_child(state, decision.child_key)
    decided = utc_instant(decision.decided_at)
    step = _stop(
        state,
        ClockKind.DECISION,
        subject_id=decision.work_item_id,
        work_item_id=decision.work_item_id,
        by=decision.event_id,
        at=decision.decided_at,
        now=now,
    )
    if needs_strategy_discussion(decision):
        started = decided
        opened = _open(
            step.clocks,
            ClockKind.STRATEGY_DISCUSSION,
            work_item_id=decision.work_item_id,
            subject_id=decision.work_item_id,
            started_at=started,
            # Elapsed hours, counted in UTC: 24 hours is 24 hours across a clock change.
            due_at=started + timedelta(hours=rules.strategy_discussion_due_hours),
        )
        step = ClockStep(clocks=opened, alerts=step.alerts)
    return _then_due(step, now)


def on_strategy_discussion(
    state: ChildClocks,
    discussion: StrategyDiscussion,
    rules: DecisionRules,
    calendar: OfficeCalendar,
    now: datetime,
) -> ClockStep:
    """A discussion held, or not held by a team manager's decision, stops the work item's
    strategy-discussion clock; one convened stops nothing. A held discussion that starts a
    section 47 enquiry starts the conference clock, due ``rules.conference_due_working_days``
    working days of ``calendar`` after it was held. Then anything due at ``now`` is raised.
    """
    _same_child(state, discussion.child_key)
    step = ClockStep(clocks=state)
    stops = discussion.status is DiscussionStatus.HELD or (
        discussion.status is DiscussionStatus.NOT_HELD
        and discussion.recorded_by_role is StaffRole.TEAM_MANAGER
    )
    if stops:
        step = _stop(
            state,
            ClockKind.STRATEGY_DISCUSSION,
            subject_id=discussion.work_item_id,
            work_item_id=discussion.work_item_id,
            by=discussion.event_id,
            at=discussion.at,
            now=now,
        )
    if discussion.status is DiscussionStatus.HELD and discussion.section_47 is True:
        opened = _open(
            step.clocks,
            ClockKind.CHILD_PROTECTION_CONFERENCE,
            work_item_id=discussion.work_item_id,
            subject_id=discussion.discussion_id,
            started_at=discussion.at,
            due_at=calendar.add_working_days(discussion.at, rules.conference_due_working_days),
        )
        step = ClockStep(clocks=opened, alerts=step.alerts)
    return _then_due(step, now)


def on_conference(
    state: ChildClocks, conference: ChildProtectionConference, now: datetime
) -> ClockStep:
    """A conference stops the conference clock of the strategy discussion it follows. Then
    anything due at ``now`` is raised. A conference read before its discussion leaves that
    discussion's conference clock stopped, so the discussion opens none that would fall overdue.
    """
    _same_child(state, conference.child_key)
    step = _stop(
        state,
        ClockKind.CHILD_PROTECTION_CONFERENCE,
        subject_id=conference.discussion_id,
        work_item_id=conference.work_item_id,
        by=conference.event_id,
        at=conference.held_at,
        now=now,
    )
    return _then_due(step, now)


def on_meeting_record(
    state: ChildClocks, record: MeetingRecord, calendar: OfficeCalendar, now: datetime
) -> ClockStep:
    """Each action of a meeting record starts its clock, due when its due date ends (midnight
    in ``calendar``'s timezone). Then anything due at ``now`` is raised."""
    _same_child(state, record.child_key)
    zone = ZoneInfo(calendar.timezone)
    for action in record.actions:
        day_after = datetime.combine(action.due_on + timedelta(days=1), time(0), tzinfo=zone)
        state = _open(
            state,
            ClockKind.MEETING_ACTION,
            work_item_id=record.work_item_id,
            subject_id=action.action_id,
            started_at=utc_instant(record.recorded_at),
            due_at=utc_instant(day_after),
        )
    return _then_due(ClockStep(clocks=state), now)


def on_action_done(state: ChildClocks, done: ActionDone, now: datetime) -> ClockStep:
    """An action done stops its clock (and clears an overdue alert); read before the record that
    set the action, it leaves the clock stopped. Then anything due at ``now`` is raised."""
    _same_child(state, done.child_key)
    step = _stop(
        state,
        ClockKind.MEETING_ACTION,
        subject_id=done.action_id,
        work_item_id=done.work_item_id,
        by=done.event_id,
        at=done.done_at,
        now=now,
    )
    return _then_due(step, now)


def on_duty_alert(
    state: ChildClocks, alert: DutyTeamAlert, rules: DecisionRules, now: datetime
) -> ClockStep:
    """A duty-team alert starts its acknowledgement clock, due
    ``rules.duty_alert_acknowledge_minutes`` after it was raised. Then anything due at ``now`` is
    raised (an alert read long after it was raised, unacknowledged, escalates at once)."""
    _same_child(state, alert.child_key)
    raised = utc_instant(alert.raised_at)
    opened = _open(
        state,
        ClockKind.DUTY_ALERT_ACKNOWLEDGEMENT,
        work_item_id=alert.work_item_id,
        subject_id=alert.event_id,
        started_at=raised,
        due_at=raised + timedelta(minutes=rules.duty_alert_acknowledge_minutes),
    )
    return _then_due(ClockStep(clocks=opened), now)


def on_alert_acknowledged(
    state: ChildClocks, acknowledgement: AlertAcknowledgement, now: datetime
) -> ClockStep:
    """An acknowledgement stops its alert's clock (clearing an escalation); read before the alert,
    it leaves the clock stopped. Then anything due at ``now`` is raised."""
    _same_child(state, acknowledgement.child_key)
    step = _stop(
        state,
        ClockKind.DUTY_ALERT_ACKNOWLEDGEMENT,
        subject_id=acknowledgement.alert_id,
        work_item_id=acknowledgement.work_item_id,
        by=acknowledgement.event_id,
        at=acknowledgement.acknowledged_at,
        now=now,
    )
    return _then_due(step, now)


def prune(state: ChildClocks, now: datetime, keep: timedelta = PRUNE_AFTER) -> ChildClocks:
    """``state`` without the clocks stopped more than ``keep`` before ``now``; open ones stay.

    A pruned clock cannot fire again in normal running: it is reopened only if the event that
    opened it (a work item, a decision, a discussion) is delivered again, and a redelivery after a
    crash is of events minutes old, never of one from before ``keep``; its stopping event is in
    the past too, so nothing is waiting. It is not safe against re-reading the source topics from
    the start onto the pruned state (a rebuild starts from an empty state instead): the reopened
    clock would be overdue at once until its stopping event is read again, and its alert, with
    the id of an alert raised long ago or never, would be raised anew. Keep ``keep`` well beyond
    the longest redelivery and beyond the last revision a decision may receive.
    """
    horizon = utc_instant(now) - keep
    kept = {
        clock_id: clock
        for clock_id, clock in state.clocks.items()
        if clock.satisfied_at is None or clock.satisfied_at >= horizon
    }
    if len(kept) == len(state.clocks):
        return state
    return state.model_copy(update={"clocks": kept})


def overdue_clocks(states: Iterable[ChildClocks], now: datetime) -> Counter[ClockKind]:
    """How many clocks are past their due time and not stopped, by kind (alerted or not)."""
    return Counter(
        clock.kind
        for state in states
        for clock in state.clocks.values()
        if not clock.satisfied and clock.due_at <= now
    )
