"""The dashboard's figures for team managers and leaders, computed from the events. Pure.

Every figure is computed from the events the pipeline and the staff application publish (work
items, threshold decisions, strategy discussions, duty-team alerts, school notifications and
their delivery statuses) for a :class:`Period` and a ``now``, with the project's own rules: the
decision and strategy-discussion due times are those the timeliness clocks keep (the clocks'
own steps, :mod:`streams.decisions.clocks`, replayed over the events), a work item's decision is
due when routing said (``decision_due_at``, one working day of the office calendar), the
agencies a strategy discussion needs are :func:`streams.decisions.strategy.required_agencies`, and
a school notification is due by the start of the school day routing gave it (``due_by``, from the
school calendar). Days and hours are the office calendar's local time (Europe/London).

The figures, each defined exactly:

* **Queue sizes and ages** (:class:`QueueAge`): per queue, the work items received at or before
  ``now`` with no decision recorded at or before ``now``, counted in age bands of the time since
  each was received (:data:`AGE_BANDS`), with how many are past their decision due time (a
  duty-team item is due at once, so every one waiting is) and the oldest one's age.
* **Decisions within one working day** (:class:`DecisionTimeliness`): of the MASH and early-help
  work items whose first decision (not a revision) was recorded in the period, the share decided
  at or before the item's ``decision_due_at``; a decision exactly at the due time is on time.
  Duty-team items are left out: they are due at once, and their timeliness is the alert's
  acknowledgement. The trend is that share per local day of the period (a day with no first
  decision has none).
* **Strategy discussions on time** (:class:`StrategyTimeliness`): a discussion is required by a
  decision at level 4 or with a strategy-discussion next step, once per work item, due
  ``decisions.strategy_discussion_due_hours`` after the first such decision. Of the required
  discussions held, or decided against by a team manager, in the period (the first such record
  on the item), the share recorded at or before the due time. A "not held" from anyone else
  stops nothing, as for the clocks. ``overdue`` counts the required discussions past their due
  time at ``now`` with nothing recorded, whenever they fell due.
* **Attendance** (:class:`AgencyAttendance`): of the discussions held in the period (the first
  "held" record of each discussion), for each of the police, health and the child's school, the
  share it attended among those where it was required (the school only for a child with a school
  or setting).
* **Completeness of police notifications per force** (:class:`ForceCompleteness`): per police
  sender code, of the police notifications received in the period that reached routing (counted
  by source event, not per child: the work items of one notification count once), the share with
  no missing information, and how many notifications lacked each item. A notification too broken
  to use is dead-lettered instead and counted there (``frontdoor dead-letters list``, metrics).
* **Re-referral rate** (:attr:`Dashboard.re_referrals`): of the referrals received in the period
  (work items on the MASH and duty-team queues, one per child per source event), the share whose
  history says ``re_referral`` (another referral in the 12 months before).
* **Early-help step-downs** (:class:`StepDowns`): of the MASH work items whose standing decision
  (the newest one no other revises, as the staff store says; revisions replace what they revise,
  so an item counts once) was recorded in the period, the number and share whose next step is
  early help, with the number per local day.
* **Duty-team alerts by hour** (:class:`HourlyAlerts`): the alerts about concerns received in the
  period, by the local hour the concern came in (``received_at``, 00 to 23). Live, an alert is
  raised seconds after that; a replay of past days (``frontdoor demo``) raises them all at the
  time of the replay, and the hour of the concern is still the one the duty team would have had.
* **Notifications before the school day** (:class:`SchoolNotificationTimeliness`): of the
  school notifications (Operation Encompass) due in the period and by ``now``, the share whose
  first delivered status (to any recipient, after however many retries) is at or before the
  notification's ``due_by``; the rest were delivered late or not at all.

An event delivered twice counts once (:meth:`DashboardEvents.of` keeps one of each id), and an
empty period gives shares of nothing (:attr:`Share.percent` is None), never a division by zero.
Nothing here reads the clock, the network or a database: the caller gives the events.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from schemas.models import (
    Agency,
    ClockKind,
    DeliveryState,
    DeliveryStatus,
    DiscussionStatus,
    DutyTeamAlert,
    Event,
    EventType,
    NextStep,
    Queue,
    SchoolNotification,
    StrategyDiscussion,
    ThresholdDecision,
    WorkItem,
)
from streams.decisions.calendar import OfficeCalendar, utc_instant
from streams.decisions.clocks import (
    ChildClocks,
    Clock,
    ClockStep,
    needs_strategy_discussion,
    on_decision,
    on_strategy_discussion,
    on_work_item,
)
from streams.decisions.rules.model import DecisionRules
from streams.decisions.strategy import child_has_school, required_agencies
from streams.decisions.threshold import standing_decision

__all__ = [
    "AGE_BANDS",
    "ATTENDANCE_AGENCIES",
    "AgeBand",
    "AgencyAttendance",
    "Dashboard",
    "DashboardEvents",
    "DayCount",
    "DayShare",
    "DecisionTimeliness",
    "ForceCompleteness",
    "HourlyAlerts",
    "MissingCount",
    "Period",
    "QueueAge",
    "SchoolNotificationTimeliness",
    "Share",
    "StepDowns",
    "StrategyTimeliness",
    "dashboard",
    "recent_days",
]

#: The queues whose items have a working-day decision clock (the clocks agent reads these).
DECISION_QUEUES = (Queue.MASH, Queue.EARLY_HELP)
#: The queues a referral is on: the MASH's and, out of hours, the duty team's.
REFERRAL_QUEUES = (Queue.MASH, Queue.DUTY_TEAM)
#: The agencies whose attendance at strategy discussions the inspection asked about.
ATTENDANCE_AGENCIES = (Agency.POLICE, Agency.HEALTH, Agency.EDUCATION)


@dataclass(frozen=True)
class AgeBand:
    """Work waiting for less than ``up_to`` (and at least the previous band's); None: no limit."""

    label: str
    up_to: timedelta | None


#: A decision is due one working day after its clock starts: 8.5 office hours, up to about three
#: and a half days across a bank holiday weekend. So: today's work, due or overdue soon, more than
#: a working day old, and old by any count.
AGE_BANDS: tuple[AgeBand, ...] = (
    AgeBand("under 8 hours", timedelta(hours=8)),
    AgeBand("8 to 24 hours", timedelta(hours=24)),
    AgeBand("1 to 3 days", timedelta(days=3)),
    AgeBand("3 days or more", None),
)


@dataclass(frozen=True)
class Period:
    """From ``start`` (included) to ``end`` (excluded), timezone-aware, kept as UTC instants."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        start, end = utc_instant(self.start), utc_instant(self.end)
        if end < start:
            raise ValueError(f"a period cannot end ({end}) before it starts ({start})")
        object.__setattr__(self, "start", start)
        object.__setattr__(self, "end", end)

    def __contains__(self, moment: datetime) -> bool:
        return self.start <= utc_instant(moment) < self.end

    def days(self, timezone: str) -> tuple[date, ...]:
        """The local dates the period touches, first to last; none for an empty period."""
        if self.start == self.end:
            return ()
        zone = ZoneInfo(timezone)
        first = self.start.astimezone(zone).date()
        last = (self.end - timedelta(microseconds=1)).astimezone(zone).date()
        return tuple(first + timedelta(days=n) for n in range((last - first).days + 1))


def recent_days(now: datetime, days: int, timezone: str) -> Period:
    """Today and the ``days - 1`` days before it in ``timezone``: from that first day's local
    midnight up to ``now``. Whole local days, so each day of a trend is a whole day (today's so
    far)."""
    if isinstance(days, bool) or not isinstance(days, int) or days < 1:
        raise ValueError(f"days must be a whole number of at least 1, got {days!r}")
    zone = ZoneInfo(timezone)
    first = utc_instant(now).astimezone(zone).date() - timedelta(days=days - 1)
    # Midnight is a real instant every day in England: the clocks change at 01:00 and 02:00.
    return Period(datetime.combine(first, time(0), tzinfo=zone), now)


@dataclass(frozen=True)
class Share:
    """``part`` of ``whole``: a share of nothing has no percentage (never a division by zero)."""

    part: int
    whole: int

    @property
    def percent(self) -> float | None:
        return None if self.whole == 0 else 100 * self.part / self.whole

    @property
    def rounded_percent(self) -> int | None:
        """The percentage to the nearest whole number, halves up (87.5 is 88), in whole-number
        arithmetic so no binary fraction rounds it down."""
        if self.whole == 0:
            return None
        return (200 * self.part + self.whole) // (2 * self.whole)


@dataclass(frozen=True)
class DayShare:
    """A share on one local day."""

    day: date
    share: Share


@dataclass(frozen=True)
class DayCount:
    """A number on one local day."""

    day: date
    count: int


@dataclass(frozen=True)
class QueueAge:
    """One queue's waiting work at ``now``: how many, in each of :data:`AGE_BANDS`, how many past
    their due time, and how long the oldest has waited (None: nothing waits)."""

    queue: Queue
    waiting: int
    by_band: tuple[int, ...]
    overdue: int
    oldest: timedelta | None


@dataclass(frozen=True)
class DecisionTimeliness:
    """First decisions in the period made by their due time, overall and per day."""

    on_time: Share
    by_day: tuple[DayShare, ...]


@dataclass(frozen=True)
class AgencyAttendance:
    """Of the held discussions that required ``agency``, those it attended."""

    agency: Agency
    attended: Share


@dataclass(frozen=True)
class StrategyTimeliness:
    """Required strategy discussions recorded on time in the period, those overdue at ``now``
    with nothing recorded, and who attended the discussions held in the period."""

    on_time: Share
    overdue: int
    attendance: tuple[AgencyAttendance, ...]


@dataclass(frozen=True)
class MissingCount:
    """How many notifications lacked one item (``code``, e.g. ``MI-DATE-OF-BIRTH``)."""

    code: str
    notifications: int


@dataclass(frozen=True)
class ForceCompleteness:
    """One police sender's notifications in the period: the share complete, and what was
    missing from the others, most often missing first."""

    sender: str
    complete: Share
    missing: tuple[MissingCount, ...]


@dataclass(frozen=True)
class StepDowns:
    """MASH items decided in the period whose next step is early help: the share, and per day."""

    early_help: Share
    by_day: tuple[DayCount, ...]


@dataclass(frozen=True)
class HourlyAlerts:
    """Duty-team alerts about concerns received in the period, by the local hour the concern came
    in (24 counts, 00 first)."""

    by_hour: tuple[int, ...]

    @property
    def total(self) -> int:
        return sum(self.by_hour)


@dataclass(frozen=True)
class SchoolNotificationTimeliness:
    """School notifications due in the period: delivered by their due time, after it, or not."""

    before_school_day: Share
    late: int
    not_delivered: int


@dataclass(frozen=True)
class Dashboard:
    """Every figure for one period, as at ``now``."""

    period: Period
    now: datetime
    timezone: str
    queues: tuple[QueueAge, ...]
    decisions: DecisionTimeliness
    strategy: StrategyTimeliness
    police: tuple[ForceCompleteness, ...]
    re_referrals: Share
    step_downs: StepDowns
    duty_alerts: HourlyAlerts
    school_notifications: SchoolNotificationTimeliness


@dataclass(frozen=True)
class DashboardEvents:
    """The events the figures read, one of each event id."""

    work_items: tuple[WorkItem, ...] = ()
    decisions: tuple[ThresholdDecision, ...] = ()
    discussions: tuple[StrategyDiscussion, ...] = ()
    duty_alerts: tuple[DutyTeamAlert, ...] = ()
    school_notifications: tuple[SchoolNotification, ...] = ()
    deliveries: tuple[DeliveryStatus, ...] = ()

    @classmethod
    def of(cls, events: Iterable[Event]) -> DashboardEvents:
        """The figures' events among ``events`` (others are left out, so whole topics can be
        given); an event delivered more than once is kept once, as last delivered."""
        kept: dict[tuple[type[Event], str], Event] = {}
        for event in events:
            kept[type(event), event.event_id] = event
        unique = list(kept.values())
        return cls(
            work_items=tuple(e for e in unique if isinstance(e, WorkItem)),
            decisions=tuple(e for e in unique if isinstance(e, ThresholdDecision)),
            discussions=tuple(e for e in unique if isinstance(e, StrategyDiscussion)),
            duty_alerts=tuple(e for e in unique if isinstance(e, DutyTeamAlert)),
            school_notifications=tuple(e for e in unique if isinstance(e, SchoolNotification)),
            deliveries=tuple(e for e in unique if isinstance(e, DeliveryStatus)),
        )


def dashboard(
    events: DashboardEvents,
    period: Period,
    now: datetime,
    rules: DecisionRules,
    calendar: OfficeCalendar,
) -> Dashboard:
    """Every figure (module docstring) of ``events`` for ``period``, as at ``now``, by ``rules``
    (the strategy discussion's due hours) and ``calendar`` (its timezone for days and hours)."""
    now = utc_instant(now)
    zone = calendar.timezone
    clocks = _replayed_clocks(events, rules, calendar)
    items = {item.event_id: item for item in events.work_items}
    return Dashboard(
        period=period,
        now=now,
        timezone=zone,
        queues=_queue_ages(events, now),
        decisions=_decisions_on_time(clocks, items, period, zone),
        strategy=_strategy(events, clocks, items, period, now),
        police=_police_completeness(events.work_items, period),
        re_referrals=_re_referrals(events.work_items, period),
        step_downs=_step_downs(events.decisions, period, zone),
        duty_alerts=_duty_alerts_by_hour(events.duty_alerts, period, zone),
        school_notifications=_school_notifications(events, period, now),
    )


def _replayed_clocks(
    events: DashboardEvents, rules: DecisionRules, calendar: OfficeCalendar
) -> list[Clock]:
    """Every decision and strategy-discussion clock of the events, as the clocks agent keeps
    them: its own steps, each event taken in time order at its own time (the agent judges each
    event at its publication time too), so due times and what stopped a clock agree with the
    timeliness alerts the team managers were sent."""
    timed: list[tuple[datetime, int, str, WorkItem | ThresholdDecision | StrategyDiscussion]] = [
        (item.received_at, 0, item.event_id, item)
        for item in events.work_items
        if item.queue in DECISION_QUEUES
    ]
    timed += [(d.decided_at, 1, d.event_id, d) for d in events.decisions]
    timed += [(d.at, 2, d.event_id, d) for d in events.discussions]
    # Of events at one instant, the work item first, then decisions, then discussions: the order
    # they can happen in.
    timed.sort(key=lambda entry: (utc_instant(entry[0]), entry[1], entry[2]))
    states: dict[str, ChildClocks] = {}
    for at, _, _, event in timed:
        state = states.get(event.child_key) or ChildClocks(child_key=event.child_key)
        step: ClockStep
        if isinstance(event, WorkItem):
            step = on_work_item(state, event, at)
        elif isinstance(event, ThresholdDecision):
            step = on_decision(state, event, rules, at)
        else:
            step = on_strategy_discussion(state, event, rules, calendar, at)
        states[event.child_key] = step.clocks
    return [clock for state in states.values() for clock in state.clocks.values()]


def _queue_ages(events: DashboardEvents, now: datetime) -> tuple[QueueAge, ...]:
    decided = {d.work_item_id for d in events.decisions if utc_instant(d.decided_at) <= now}
    waiting = [
        item
        for item in events.work_items
        if utc_instant(item.received_at) <= now and item.event_id not in decided
    ]
    ages = []
    for queue in Queue:
        queued = [item for item in waiting if item.queue is queue]
        waited = [now - utc_instant(item.received_at) for item in queued]
        by_band = [0] * len(AGE_BANDS)
        for age in waited:
            by_band[_band(age)] += 1
        ages.append(
            QueueAge(
                queue=queue,
                waiting=len(queued),
                by_band=tuple(by_band),
                overdue=sum(utc_instant(item.decision_due_at) <= now for item in queued),
                oldest=max(waited, default=None),
            )
        )
    return tuple(ages)


def _band(age: timedelta) -> int:
    return next(
        index for index, band in enumerate(AGE_BANDS) if band.up_to is None or age < band.up_to
    )


def _local_day(moment: datetime, timezone: str) -> date:
    return moment.astimezone(ZoneInfo(timezone)).date()


def _decisions_on_time(
    clocks: Sequence[Clock], items: dict[str, WorkItem], period: Period, timezone: str
) -> DecisionTimeliness:
    # Only the clocks of items known and on a decision queue: a decision read without its item
    # leaves a stopped clock with no due time of its own (see the clocks' module).
    decided = [
        (clock.satisfied_at, not clock.late)
        for clock in clocks
        if clock.kind is ClockKind.DECISION
        and clock.work_item_id in items
        and items[clock.work_item_id].queue in DECISION_QUEUES
        and clock.satisfied_at is not None
        and clock.satisfied_at in period
    ]
    per_day: dict[date, list[bool]] = {day: [] for day in period.days(timezone)}
    for decided_at, on_time in decided:
        per_day[_local_day(decided_at, timezone)].append(on_time)
    return DecisionTimeliness(
        on_time=_share(on_time for _, on_time in decided),
        by_day=tuple(DayShare(day, _share(marks)) for day, marks in per_day.items()),
    )


def _share(marks: Iterable[bool]) -> Share:
    counted = list(marks)
    return Share(part=sum(counted), whole=len(counted))


def _strategy(
    events: DashboardEvents,
    clocks: Sequence[Clock],
    items: dict[str, WorkItem],
    period: Period,
    now: datetime,
) -> StrategyTimeliness:
    # A discussion record on an item no decision asked one for stops a clock that was never
    # due (the clocks record it stopped, in case its decision is read later): not a requirement.
    required = {d.work_item_id for d in events.decisions if needs_strategy_discussion(d)}
    requirements = [
        clock
        for clock in clocks
        if clock.kind is ClockKind.STRATEGY_DISCUSSION and clock.work_item_id in required
    ]
    recorded = [
        clock
        for clock in requirements
        if clock.satisfied_at is not None and clock.satisfied_at in period
    ]
    overdue = sum(not clock.satisfied and clock.due_at <= now for clock in requirements)
    return StrategyTimeliness(
        on_time=_share(not clock.late for clock in recorded),
        overdue=overdue,
        attendance=_attendance(events.discussions, items, period),
    )


def _attendance(
    discussions: Iterable[StrategyDiscussion], items: dict[str, WorkItem], period: Period
) -> tuple[AgencyAttendance, ...]:
    """Who attended the discussions held in the period (the first "held" record of each, on a
    work item among the events: whether the school was required depends on its child)."""
    first_held: dict[str, StrategyDiscussion] = {}
    for discussion in sorted(discussions, key=lambda d: (utc_instant(d.at), d.event_id)):
        if discussion.status is DiscussionStatus.HELD and discussion.work_item_id in items:
            first_held.setdefault(discussion.discussion_id, discussion)
    held = [discussion for discussion in first_held.values() if discussion.at in period]
    attendance = []
    for agency in ATTENDANCE_AGENCIES:
        marks = [
            agency in discussion.attendees
            for discussion in held
            if agency in required_agencies(child_has_school(items[discussion.work_item_id].child))
        ]
        attendance.append(AgencyAttendance(agency, _share(marks)))
    return tuple(attendance)


def _police_completeness(
    work_items: Iterable[WorkItem], period: Period
) -> tuple[ForceCompleteness, ...]:
    # Every work item of one notification carries the notification's missing information (the
    # event's and each child's), so any one of them speaks for it.
    notifications: dict[tuple[str, str], frozenset[str]] = {}
    for item in work_items:
        if item.source_event_type is EventType.POLICE_NOTIFICATION and item.received_at in period:
            codes = frozenset(missing.code for missing in item.missing_information)
            notifications[item.sender, item.source_event_id] = codes
    forces = []
    for sender in sorted({sender for sender, _ in notifications}):
        missing = [codes for (by, _), codes in notifications.items() if by == sender]
        counts: dict[str, int] = {}
        for codes in missing:
            for code in codes:
                counts[code] = counts.get(code, 0) + 1
        forces.append(
            ForceCompleteness(
                sender=sender,
                complete=_share(not codes for codes in missing),
                missing=tuple(
                    MissingCount(code, count)
                    for code, count in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
                ),
            )
        )
    return tuple(forces)


def _re_referrals(work_items: Iterable[WorkItem], period: Period) -> Share:
    referrals: dict[tuple[str, str, str], bool] = {}
    for item in work_items:
        if item.queue in REFERRAL_QUEUES and item.received_at in period:
            key = (item.child_key, item.sender, item.source_event_id)
            referrals[key] = item.history.re_referral
    return _share(referrals.values())


def _step_downs(decisions: Iterable[ThresholdDecision], period: Period, timezone: str) -> StepDowns:
    by_item: dict[str, list[ThresholdDecision]] = {}
    for decision in decisions:
        if decision.queue is Queue.MASH and utc_instant(decision.decided_at) < period.end:
            by_item.setdefault(decision.work_item_id, []).append(decision)
    standing = [standing_decision(made) for made in by_item.values()]
    decided = [decision for decision in standing if decision.decided_at in period]
    per_day = dict.fromkeys(period.days(timezone), 0)
    for decision in decided:
        if decision.next_step is NextStep.EARLY_HELP:
            per_day[_local_day(decision.decided_at, timezone)] += 1
    return StepDowns(
        early_help=_share(decision.next_step is NextStep.EARLY_HELP for decision in decided),
        by_day=tuple(DayCount(day, count) for day, count in per_day.items()),
    )


def _duty_alerts_by_hour(
    alerts: Iterable[DutyTeamAlert], period: Period, timezone: str
) -> HourlyAlerts:
    by_hour = [0] * 24
    zone = ZoneInfo(timezone)
    for alert in alerts:
        if alert.received_at in period:
            by_hour[alert.received_at.astimezone(zone).hour] += 1
    return HourlyAlerts(tuple(by_hour))


def _school_notifications(
    events: DashboardEvents, period: Period, now: datetime
) -> SchoolNotificationTimeliness:
    first_delivered: dict[str, datetime] = {}
    for status in events.deliveries:
        if status.state is DeliveryState.DELIVERED:
            at = utc_instant(status.at)
            known = first_delivered.get(status.message_id)
            first_delivered[status.message_id] = at if known is None else min(known, at)
    due = [
        notification
        for notification in events.school_notifications
        if notification.due_by in period and utc_instant(notification.due_by) <= now
    ]
    delivered = [first_delivered.get(n.event_id) for n in due]
    on_time = sum(
        at is not None and at <= utc_instant(n.due_by) for n, at in zip(due, delivered, strict=True)
    )
    not_delivered = sum(at is None for at in delivered)
    return SchoolNotificationTimeliness(
        before_school_day=Share(on_time, len(due)),
        late=len(due) - on_time - not_delivered,
        not_delivered=not_delivered,
    )
