"""Timeliness clocks: a child waiting too long for a decision, a strategy discussion or a conference
is raised to the team managers once, and cleared once when what they waited for comes.

The stories of the issue in pure form: time is passed in, the state is a value, and a timer tick
is a call to ``due_alerts``. Every step is idempotent, so redelivery and replay raise nothing
twice (checked with hypothesis for any order of duplicate deliveries). Synthetic data only.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.errors import ConfigurationError
from schemas.models import (
    AcknowledgedVia,
    Agency,
    AlertAcknowledgement,
    AlertStatus,
    Child,
    ChildMatch,
    ChildProtectionConference,
    ClockKind,
    DiscussionStatus,
    DutyTeamAlert,
    EventType,
    HistorySummary,
    MatchKind,
    NextStep,
    Priority,
    Queue,
    RationaleEntry,
    StaffRole,
    StrategyDiscussion,
    ThresholdDecision,
    TimelinessAlert,
    WorkItem,
)
from streams.decisions.calendar import OfficeCalendar
from streams.decisions.clocks import (
    PRUNE_AFTER,
    ChildClocks,
    Clock,
    ClockStep,
    alert_id,
    clock_id_of,
    due_alerts,
    next_due,
    on_alert_acknowledged,
    on_conference,
    on_decision,
    on_duty_alert,
    on_strategy_discussion,
    on_work_item,
    overdue_clocks,
    prune,
    satisfy,
    stored_clocks,
)
from streams.decisions.ids import derived_id
from streams.decisions.rules import load_rules
from streams.decisions.rules.model import DecisionRules

LONDON = ZoneInfo("Europe/London")
CHILD = "ck-synthetic-1"
ITEM = "wi-00000001"
RULES = DecisionRules()
CALENDAR = OfficeCalendar()
SOUND_RATIONALE = (
    "Unexplained bruising to a non-mobile baby seen by the health visitor: reasonable cause to "
    "suspect significant harm, so a strategy discussion today."
)


def london(day: int, hour: int, minute: int = 0, *, month: int = 11, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=LONDON)


# Tuesday 24 November 2026, and the Wednesday after.
TUESDAY_0900 = london(24, 9)
TUESDAY_1100 = london(24, 11)
WEDNESDAY_0900 = london(25, 9)
WEDNESDAY_1100 = london(25, 11)


def work_item(
    *,
    event_id: str = ITEM,
    received_at: datetime = TUESDAY_0900,
    due_at: datetime = WEDNESDAY_0900,
) -> WorkItem:
    """A minimal routed MASH work item for the synthetic child."""
    return WorkItem(
        event_id=event_id,
        queue=Queue.MASH,
        source_event_id="evt-00000001",
        source_event_type=EventType.CONTACT,
        sender="synthetic-school",
        child_key=CHILD,
        match=ChildMatch(child_key=CHILD, kind=MatchKind.NEW, score=0.0, reason="no match"),
        child=Child(given_name="Synthetic", family_name="Child", school_urn="100000"),
        level=4,
        priority=Priority.RED,
        rationale=[
            RationaleEntry(
                rule="physical-injury-baby",
                description="Injury to a non-mobile baby",
                level=4,
                evidence="concern_categories contains physical_abuse",
            )
        ],
        received_at=received_at,
        decision_due_at=due_at,
        out_of_hours=False,
        history=HistorySummary(),
        routed_at=received_at,
    )


def decision(
    *,
    event_id: str = "dec-00000001",
    level: int = 4,
    next_step: NextStep = NextStep.STRATEGY_DISCUSSION,
    decided_at: datetime = TUESDAY_1100,
    revises: str | None = None,
    work_item_id: str = ITEM,
) -> ThresholdDecision:
    return ThresholdDecision(
        event_id=event_id,
        work_item_id=work_item_id,
        child_key=CHILD,
        source_event_id="evt-00000001",
        queue=Queue.MASH,
        level=level,
        next_step=next_step,
        rationale=SOUND_RATIONALE,
        decided_by="synthetic.worker",
        decided_by_role=StaffRole.MASH_WORKER,
        decided_at=decided_at,
        revises=revises,
    )


def strategy(
    status: DiscussionStatus,
    *,
    event_id: str | None = None,
    at: datetime = WEDNESDAY_0900,
    section_47: bool | None = None,
    role: StaffRole = StaffRole.MASH_WORKER,
    discussion_id: str = "sd-00000001",
) -> StrategyDiscussion:
    held = status is DiscussionStatus.HELD
    return StrategyDiscussion(
        event_id=event_id or f"sd-{status.value}-00000001",
        discussion_id=discussion_id,
        decision_id="dec-00000001",
        work_item_id=ITEM,
        child_key=CHILD,
        status=status,
        at=at,
        recorded_by="synthetic.worker",
        recorded_by_role=role,
        invitees=[Agency.LOCAL_AUTHORITY, Agency.POLICE, Agency.HEALTH],
        attendees=[Agency.LOCAL_AUTHORITY, Agency.POLICE, Agency.HEALTH] if held else [],
        section_47=section_47,
        rationale=SOUND_RATIONALE if status is not DiscussionStatus.CONVENED else None,
    )


def conference_held(
    *, held_at: datetime, event_id: str = "icpc-00000001", discussion_id: str = "sd-00000001"
) -> ChildProtectionConference:
    return ChildProtectionConference(
        event_id=event_id,
        discussion_id=discussion_id,
        work_item_id=ITEM,
        child_key=CHILD,
        held_at=held_at,
        recorded_by="synthetic.manager",
        recorded_by_role=StaffRole.TEAM_MANAGER,
        attendees=[Agency.LOCAL_AUTHORITY, Agency.POLICE, Agency.HEALTH],
        child_protection_plan=True,
        rationale=SOUND_RATIONALE,
    )


def conferences(state: ChildClocks) -> list[Clock]:
    return [c for c in state.clocks.values() if c.kind is ClockKind.CHILD_PROTECTION_CONFERENCE]


def empty() -> ChildClocks:
    return stored_clocks(None, CHILD)


# None: a timer tick
Event = WorkItem | ThresholdDecision | StrategyDiscussion | ChildProtectionConference | None


def step(state: ChildClocks, event: Event, now: datetime) -> ClockStep:
    """What the agent does with one event (or a tick)."""
    if event is None:
        return due_alerts(state, now)
    if isinstance(event, WorkItem):
        return on_work_item(state, event, now)
    if isinstance(event, ThresholdDecision):
        return on_decision(state, event, RULES, now)
    if isinstance(event, ChildProtectionConference):
        return on_conference(state, event, now)
    return on_strategy_discussion(state, event, RULES, CALENDAR, now)


def run(
    deliveries: Sequence[tuple[Event, datetime]], state: ChildClocks | None = None
) -> tuple[ChildClocks, list[TimelinessAlert]]:
    """Each event (or tick) at its time, in order: the final state and every alert raised."""
    state = state if state is not None else empty()
    alerts: list[TimelinessAlert] = []
    for event, now in deliveries:
        done = step(state, event, now)
        state = done.clocks
        alerts.extend(done.alerts)
    return state, alerts


def ticks(state: ChildClocks, *times: datetime) -> tuple[ChildClocks, list[TimelinessAlert]]:
    return run([(None, moment) for moment in times], state)


def strategy_clock() -> str:
    return clock_id_of(ClockKind.STRATEGY_DISCUSSION, ITEM)


def decision_clock(item: str = ITEM) -> str:
    return clock_id_of(ClockKind.DECISION, item)


# ---------------------------------------------------------------------------------------------
# A strategy discussion 24 hours after a level-4 decision


def test_a_level_4_decision_and_no_discussion_in_24_hours_raises_exactly_one_overdue_alert() -> (
    None
):
    state, alerts = run([(work_item(), TUESDAY_0900), (decision(), TUESDAY_1100)])
    assert alerts == []
    assert next_due(state) == WEDNESDAY_1100

    state, alerts = ticks(
        state,
        WEDNESDAY_1100 - timedelta(minutes=1),
        WEDNESDAY_1100,
        WEDNESDAY_1100 + timedelta(minutes=1),
        london(26, 9),
        london(30, 9),
    )

    assert len(alerts) == 1
    (alert,) = alerts
    clock = strategy_clock()
    assert alert == TimelinessAlert(
        event_id=derived_id("timeliness", clock, "overdue"),
        clock_id=clock,
        clock=ClockKind.STRATEGY_DISCUSSION,
        child_key=CHILD,
        work_item_id=ITEM,
        status=AlertStatus.OVERDUE,
        started_at=TUESDAY_1100,
        due_at=WEDNESDAY_1100,
        raised_at=WEDNESDAY_1100,
        subject_id=ITEM,
    )
    assert clock == derived_id("clock", "strategy_discussion", ITEM)
    assert next_due(state) is None  # raised: the timer need not tick this child again


def test_a_later_held_discussion_clears_it_with_one_cleared_alert() -> None:
    held = strategy(DiscussionStatus.HELD, at=london(25, 14), section_47=False)
    state, alerts = run(
        [
            (work_item(), TUESDAY_0900),
            (decision(), TUESDAY_1100),
            (None, WEDNESDAY_1100),
            (held, london(25, 14, 5)),
            (held, london(25, 14, 6)),  # delivered again
            (None, london(26, 9)),
        ]
    )
    assert [alert.status for alert in alerts] == [AlertStatus.OVERDUE, AlertStatus.CLEARED]
    cleared = alerts[1]
    assert cleared.event_id == alert_id(strategy_clock(), AlertStatus.CLEARED)
    assert cleared.satisfied_by == held.event_id
    assert cleared.raised_at == london(25, 14, 5)
    assert cleared.due_at == WEDNESDAY_1100
    clock = state.clocks[strategy_clock()]
    assert clock.satisfied_at == london(25, 14)
    assert clock.late
    assert next_due(state) is None


def test_a_discussion_held_in_time_raises_nothing() -> None:
    held = strategy(DiscussionStatus.HELD, at=london(25, 10), section_47=False)
    state, alerts = run(
        [(work_item(), TUESDAY_0900), (decision(), TUESDAY_1100), (held, london(25, 10))]
    )
    state, later = ticks(state, WEDNESDAY_1100, london(27, 9))
    assert alerts == later == []
    assert not state.clocks[strategy_clock()].late


def test_a_discussion_held_in_time_but_read_after_its_due_time_raises_nothing() -> None:
    # The agent was behind: the step stops the clock before it looks for what is due.
    held = strategy(DiscussionStatus.HELD, at=london(25, 10, 30), section_47=False)
    _, alerts = run(
        [(work_item(), TUESDAY_0900), (decision(), TUESDAY_1100), (held, london(25, 12))]
    )
    assert alerts == []


def test_replaying_the_same_events_on_a_fresh_state_gives_the_same_alert_ids() -> None:
    deliveries: list[tuple[Event, datetime]] = [
        (work_item(), TUESDAY_0900),
        (decision(), TUESDAY_1100),
        (None, WEDNESDAY_1100),
        (strategy(DiscussionStatus.HELD, at=london(25, 15), section_47=True), london(25, 15)),
    ]
    first_state, first = run(deliveries)
    replay_state, replayed = run(deliveries)
    assert [a.event_id for a in replayed] == [a.event_id for a in first]
    assert len({a.event_id for a in first}) == len(first) == 2
    assert replay_state == first_state


def test_a_replay_at_a_later_now_derives_the_same_ids_and_sees_what_is_due_by_then() -> None:
    # `now` is what the agent passes in. Replayed a month later at the wall clock, every clock
    # is judged at that moment: the work item is read before its decision, so its clock is
    # overdue until the decision comes (then cleared), and the conference is overdue by then.
    # The ids of what the first run raised are derived again, so its consumers see no new alert.
    deliveries: list[tuple[Event, datetime]] = [
        (work_item(), TUESDAY_0900),
        (decision(), TUESDAY_1100),
        (None, WEDNESDAY_1100),
        (strategy(DiscussionStatus.HELD, at=london(25, 15), section_47=True), london(25, 15)),
    ]
    _, first = run(deliveries)
    _, later = run([(event, moment + timedelta(days=30)) for event, moment in deliveries])
    first_ids = {a.event_id for a in first}
    assert first_ids <= {a.event_id for a in later}
    assert [(a.clock, a.status) for a in later if a.event_id not in first_ids] == [
        (ClockKind.DECISION, AlertStatus.OVERDUE),
        (ClockKind.DECISION, AlertStatus.CLEARED),
        (ClockKind.CHILD_PROTECTION_CONFERENCE, AlertStatus.OVERDUE),
    ]


def test_a_convened_discussion_does_not_stop_the_clock() -> None:
    state, alerts = run(
        [
            (work_item(), TUESDAY_0900),
            (decision(), TUESDAY_1100),
            (strategy(DiscussionStatus.CONVENED, at=london(24, 12)), london(24, 12)),
            (None, WEDNESDAY_1100),
        ]
    )
    assert [(a.clock, a.status) for a in alerts] == [
        (ClockKind.STRATEGY_DISCUSSION, AlertStatus.OVERDUE)
    ]
    assert not state.clocks[strategy_clock()].satisfied


def test_a_team_managers_decision_not_to_hold_one_stops_the_clock() -> None:
    not_held = strategy(DiscussionStatus.NOT_HELD, at=london(24, 15), role=StaffRole.TEAM_MANAGER)
    state, alerts = run(
        [(work_item(), TUESDAY_0900), (decision(), TUESDAY_1100), (not_held, london(24, 15))]
    )
    state, later = ticks(state, london(26, 9))
    assert alerts == later == []
    assert state.clocks[strategy_clock()].satisfied_by == not_held.event_id


def test_not_held_from_anyone_but_a_team_manager_stops_nothing() -> None:
    not_held = strategy(DiscussionStatus.NOT_HELD, at=london(24, 15), role=StaffRole.MASH_WORKER)
    state, alerts = run(
        [
            (work_item(), TUESDAY_0900),
            (decision(), TUESDAY_1100),
            (not_held, london(24, 15)),
            (None, WEDNESDAY_1100),
        ]
    )
    assert [a.status for a in alerts] == [AlertStatus.OVERDUE]
    assert not state.clocks[strategy_clock()].satisfied


def test_a_next_step_of_strategy_discussion_below_level_4_starts_the_clock_too() -> None:
    state, _ = run([(decision(level=3), TUESDAY_1100)])
    assert strategy_clock() in state.clocks


@pytest.mark.parametrize(
    ("level", "next_step"),
    [
        (1, NextStep.NO_FURTHER_ACTION),
        (2, NextStep.EARLY_HELP),
        (3, NextStep.CHILD_IN_NEED_ASSESSMENT),
    ],
)
def test_a_decision_below_the_threshold_starts_no_strategy_clock(
    level: int, next_step: NextStep
) -> None:
    state, alerts = run(
        [
            (work_item(), TUESDAY_0900),
            (decision(level=level, next_step=next_step), TUESDAY_1100),
            (None, london(30, 9)),
        ]
    )
    assert alerts == []
    assert list(state.clocks) == [decision_clock()]


def test_level_4_starts_the_clock_whatever_the_next_step_says() -> None:
    # The staff application refuses such a decision; the clock does not rely on it.
    state, _ = run([(decision(level=4, next_step=NextStep.EARLY_HELP), TUESDAY_1100)])
    assert strategy_clock() in state.clocks


def test_a_revision_downwards_does_not_close_the_strategy_requirement() -> None:
    revision = decision(
        event_id="dec-00000002",
        level=2,
        next_step=NextStep.EARLY_HELP,
        decided_at=london(24, 16),
        revises="dec-00000001",
    )
    state, alerts = run(
        [
            (work_item(), TUESDAY_0900),
            (decision(), TUESDAY_1100),
            (revision, london(24, 16)),
            (None, WEDNESDAY_1100),
        ]
    )
    assert [(a.clock, a.status) for a in alerts] == [
        (ClockKind.STRATEGY_DISCUSSION, AlertStatus.OVERDUE)
    ]
    # The first decision stopped the decision clock; the revision changed nothing there.
    assert state.clocks[decision_clock()].satisfied_by == "dec-00000001"


def test_a_revision_that_still_needs_a_discussion_does_not_start_a_second_clock() -> None:
    revision = decision(event_id="dec-00000002", decided_at=london(24, 16), revises="dec-00000001")
    state, alerts = run(
        [(decision(), TUESDAY_1100), (revision, london(24, 16)), (None, WEDNESDAY_1100)]
    )
    assert [c for c in state.clocks if c != decision_clock()] == [strategy_clock()]
    assert state.clocks[strategy_clock()].started_at == TUESDAY_1100
    assert len(alerts) == 1


def test_a_revision_upwards_starts_the_clock_from_the_revision() -> None:
    first = decision(level=2, next_step=NextStep.EARLY_HELP)
    revision = decision(event_id="dec-00000002", decided_at=london(24, 16), revises=first.event_id)
    state, _ = run([(first, TUESDAY_1100), (revision, london(24, 16))])
    assert state.clocks[strategy_clock()].due_at == london(25, 16)


def test_the_hours_come_from_the_rules() -> None:
    rules = DecisionRules(strategy_discussion_due_hours=4)
    state = on_decision(empty(), decision(), rules, TUESDAY_1100).clocks
    assert state.clocks[strategy_clock()].due_at == london(24, 15)


def test_24_hours_are_elapsed_hours_across_the_autumn_clock_change() -> None:
    # Saturday 24 October 2026 11:00 BST is 10:00 UTC; the clocks go back on the Sunday, so 24
    # hours later is Sunday 10:00 GMT, not 11:00.
    decided = london(24, 11, month=10)
    state = on_decision(empty(), decision(decided_at=decided), RULES, decided).clocks
    due = state.clocks[strategy_clock()].due_at
    assert due == datetime(2026, 10, 25, 10, 0, tzinfo=UTC)
    assert due - decided == timedelta(hours=24)


# ---------------------------------------------------------------------------------------------
# A decision within one working day of receipt


def test_a_decision_clock_due_wednesday_at_5pm_raises_at_5pm_not_before() -> None:
    due = london(25, 17)
    state, _ = run([(work_item(due_at=due), TUESDAY_0900)])
    assert next_due(state) == due
    state, before = ticks(state, london(25, 16, 59), due - timedelta(microseconds=1))
    assert before == []
    state, at_five = ticks(state, due, london(25, 17, 1), london(26, 9))
    assert [(a.clock, a.status, a.raised_at) for a in at_five] == [
        (ClockKind.DECISION, AlertStatus.OVERDUE, due)
    ]
    assert at_five[0].started_at == TUESDAY_0900
    assert at_five[0].event_id == alert_id(decision_clock(), AlertStatus.OVERDUE)


def test_a_decision_before_its_due_time_raises_nothing_ever() -> None:
    due = london(25, 17)
    item_decision = decision(level=2, next_step=NextStep.EARLY_HELP, decided_at=london(25, 10))
    state, alerts = run(
        [
            (work_item(due_at=due), TUESDAY_0900),
            (item_decision, london(25, 10)),
            (None, due),
            (None, london(30, 9)),
        ]
    )
    assert alerts == []
    clock = state.clocks[decision_clock()]
    assert clock.satisfied_at == london(25, 10)
    assert clock.satisfied_by == item_decision.event_id
    assert not clock.late
    assert next_due(state) is None


def test_a_late_decision_clears_the_overdue_decision_clock() -> None:
    due = london(25, 17)
    late = decision(level=2, next_step=NextStep.EARLY_HELP, decided_at=london(26, 9, 30))
    _, alerts = run([(work_item(due_at=due), TUESDAY_0900), (None, due), (late, london(26, 9, 31))])
    assert [(a.clock, a.status) for a in alerts] == [
        (ClockKind.DECISION, AlertStatus.OVERDUE),
        (ClockKind.DECISION, AlertStatus.CLEARED),
    ]
    assert alerts[1].satisfied_by == late.event_id


def test_a_late_decision_before_any_alert_raises_nothing_but_stays_late() -> None:
    # No tick came between the due time and the decision: nothing is left to chase.
    due = london(25, 17)
    late = decision(level=2, next_step=NextStep.EARLY_HELP, decided_at=london(25, 17, 30))
    state, alerts = run([(work_item(due_at=due), TUESDAY_0900), (late, london(25, 17, 31))])
    assert alerts == []
    assert state.clocks[decision_clock()].late


def test_a_work_item_that_arrives_past_its_due_time_is_overdue_at_once() -> None:
    now = london(26, 9)
    step_ = on_work_item(empty(), work_item(due_at=london(25, 17)), now)
    assert [(a.status, a.raised_at) for a in step_.alerts] == [(AlertStatus.OVERDUE, now)]


def test_a_decision_read_before_its_work_item_leaves_the_item_nothing_to_fall_overdue() -> None:
    # Two topics, no order between them: the decision may be read first.
    state, alerts = run(
        [
            (decision(level=2, next_step=NextStep.EARLY_HELP), TUESDAY_1100),
            (work_item(), TUESDAY_1100),
            (None, london(30, 9)),
        ]
    )

    assert alerts == []
    assert state.clocks[decision_clock()].satisfied_by == decision().event_id


def test_a_level_4_decision_on_an_unread_work_item_still_starts_its_strategy_clock() -> None:
    state = on_decision(empty(), decision(), RULES, TUESDAY_1100).clocks
    assert set(state.clocks) == {decision_clock(), strategy_clock()}


def test_a_second_work_item_has_its_own_clock() -> None:
    state, _ = run([(work_item(), TUESDAY_0900), (work_item(event_id="wi-00000002"), TUESDAY_0900)])
    assert set(state.clocks) == {decision_clock(), decision_clock("wi-00000002")}


# ---------------------------------------------------------------------------------------------
# The initial child protection conference, 15 working days after a section 47 start


def test_a_section_47_start_opens_a_conference_clock_15_working_days_on_across_christmas() -> None:
    # Held Friday 11 December 2026: the 15 working days skip Christmas Day, the substitute Boxing
    # Day (Monday 28 December), New Year's Day and two weekends.
    held_at = london(11, 10, month=12)
    held = strategy(DiscussionStatus.HELD, at=held_at, section_47=True)
    state = on_strategy_discussion(empty(), held, RULES, CALENDAR, held_at).clocks
    conference = state.clocks[clock_id_of(ClockKind.CHILD_PROTECTION_CONFERENCE, "sd-00000001")]
    assert conference.kind is ClockKind.CHILD_PROTECTION_CONFERENCE
    assert conference.subject_id == "sd-00000001"
    assert conference.work_item_id == ITEM
    assert conference.started_at == held_at
    assert conference.due_at == datetime(2027, 1, 6, 10, 0, tzinfo=LONDON)
    assert conference.due_at == CALENDAR.add_working_days(held_at, 15)

    state, alerts = ticks(state, datetime(2027, 1, 6, 9, 59, tzinfo=LONDON))
    assert alerts == []
    state, alerts = ticks(state, datetime(2027, 1, 6, 10, 0, tzinfo=LONDON))
    assert [(a.clock, a.status) for a in alerts] == [
        (ClockKind.CHILD_PROTECTION_CONFERENCE, AlertStatus.OVERDUE)
    ]


def test_the_working_days_come_from_the_rules() -> None:
    held_at = london(11, 10, month=12)
    held = strategy(DiscussionStatus.HELD, at=held_at, section_47=True)
    rules = DecisionRules(conference_due_working_days=10)
    state = on_strategy_discussion(empty(), held, rules, CALENDAR, held_at).clocks
    (conference,) = conferences(state)
    assert conference.due_at == london(29, 10, month=12)


def test_a_discussion_without_a_section_47_opens_no_conference_clock() -> None:
    for section_47 in (False, None):
        held = strategy(DiscussionStatus.HELD, section_47=section_47)
        state = on_strategy_discussion(empty(), held, RULES, CALENDAR, WEDNESDAY_0900).clocks
        assert conferences(state) == []


def test_a_late_conference_clears_the_conference_clock_once() -> None:
    held_at = london(11, 10, month=12)
    held = strategy(DiscussionStatus.HELD, at=held_at, section_47=True)
    state, alerts = run([(held, held_at), (None, datetime(2027, 1, 7, 9, tzinfo=LONDON))])
    assert [a.status for a in alerts] == [AlertStatus.OVERDUE]

    held_on = datetime(2027, 1, 8, 13, tzinfo=LONDON)
    recorded = held_on + timedelta(hours=1)
    state, alerts = run([(conference_held(held_at=held_on), recorded)], state)
    assert [(a.status, a.satisfied_by, a.raised_at) for a in alerts] == [
        (AlertStatus.CLEARED, "icpc-00000001", recorded)
    ]
    again, alerts = run(
        [(conference_held(held_at=held_on, event_id="icpc-00000002"), recorded)], state
    )
    assert alerts == []
    assert again == state  # the first record to stop a clock is the one kept


def test_a_conference_in_time_raises_nothing_and_one_for_another_discussion_stops_nothing() -> None:
    held_at = london(11, 10, month=12)
    held = strategy(DiscussionStatus.HELD, at=held_at, section_47=True)
    clock = clock_id_of(ClockKind.CHILD_PROTECTION_CONFERENCE, held.discussion_id)
    on_time = london(21, 10, month=12)
    state, alerts = run([(held, held_at), (conference_held(held_at=on_time), on_time)])
    assert alerts == []
    assert state.clocks[clock].satisfied_at == on_time

    other = conference_held(held_at=on_time, discussion_id="sd-00000009")
    state, alerts = run([(held, held_at), (other, on_time)])
    assert alerts == []
    assert not state.clocks[clock].satisfied


def test_satisfy_before_the_due_time_raises_nothing_and_without_now_clears_at_its_time() -> None:
    state, _ = run([(work_item(), TUESDAY_0900)])
    on_time = satisfy(state, decision_clock(), "dec-00000001", TUESDAY_1100)
    assert on_time.alerts == ()
    assert on_time.clocks.clocks[decision_clock()].satisfied_at == TUESDAY_1100

    overdue, _ = ticks(state, WEDNESDAY_0900)
    late = satisfy(overdue, decision_clock(), "dec-00000001", WEDNESDAY_1100)
    assert [a.raised_at for a in late.alerts] == [WEDNESDAY_1100]


def test_satisfying_a_clock_not_known_changes_nothing() -> None:
    state, _ = run([(work_item(), TUESDAY_0900)])
    done = satisfy(state, "clock-unknown", "dec-00000001", TUESDAY_1100)
    assert done == ClockStep(clocks=state)


def test_a_discussion_held_twice_opens_one_conference_clock() -> None:
    held = strategy(DiscussionStatus.HELD, section_47=True)
    corrected = strategy(
        DiscussionStatus.HELD, event_id="sd-held-00000002", section_47=True, at=london(25, 10)
    )
    state, _ = run([(held, WEDNESDAY_0900), (corrected, london(25, 10))])
    (conference,) = conferences(state)
    assert conference.started_at == WEDNESDAY_0900


def test_a_discussion_read_before_its_decision_leaves_nothing_to_fall_overdue() -> None:
    held = strategy(DiscussionStatus.HELD, at=WEDNESDAY_0900, section_47=False)

    state, alerts = run(
        [(work_item(), TUESDAY_0900), (held, london(28, 9)), (decision(), london(28, 9, 1))]
    )
    _, later = ticks(state, london(28, 12), london(29, 12))

    # The decision came late, so its own clock alerted; the discussion's never falls overdue.
    assert [a.clock for a in alerts + later] == [ClockKind.DECISION, ClockKind.DECISION]
    assert state.clocks[strategy_clock()].satisfied_by == held.event_id


def test_a_conference_read_before_its_discussion_leaves_nothing_to_fall_overdue() -> None:
    held_at = london(11, 10, month=12)
    held = strategy(DiscussionStatus.HELD, at=held_at, section_47=True)
    later = datetime(2027, 2, 1, 9, tzinfo=LONDON)

    state, alerts = run([(conference_held(held_at=london(18, 10, month=12)), later), (held, later)])

    assert alerts == []
    (conference,) = conferences(state)
    assert conference.satisfied


# ---------------------------------------------------------------------------------------------
# The state: stored, timed, pruned


def test_the_state_reads_back_equal_from_its_json_document() -> None:
    state, _ = run(
        [
            (work_item(), TUESDAY_0900),
            (decision(), TUESDAY_1100),
            (None, WEDNESDAY_1100),
            (strategy(DiscussionStatus.HELD, at=london(25, 14), section_47=True), london(25, 14)),
        ]
    )
    document = json.loads(json.dumps(state.model_dump(mode="json")))
    assert stored_clocks(document, CHILD) == state
    # Kept as UTC instants, so the document is the same however the times were zoned.
    assert stored_clocks(document, CHILD).model_dump(mode="json") == document
    assert all(
        clock.due_at.tzinfo is UTC and clock.started_at.tzinfo is UTC
        for clock in state.clocks.values()
    )


def test_a_child_not_seen_before_has_no_clocks() -> None:
    assert stored_clocks(None, CHILD) == ChildClocks(child_key=CHILD, clocks={})
    assert stored_clocks({}, CHILD) == ChildClocks(child_key=CHILD, clocks={})
    assert next_due(empty()) is None
    assert due_alerts(empty(), london(30, 9)) == ClockStep(clocks=empty())


def test_a_stored_document_with_an_unknown_field_is_refused() -> None:
    document = empty().model_dump(mode="json") | {"surprise": 1}
    with pytest.raises(ValueError, match="surprise"):
        stored_clocks(document, CHILD)


def test_next_due_is_the_earliest_open_clock_not_yet_raised() -> None:
    state, _ = run(
        [
            (work_item(due_at=london(25, 17)), TUESDAY_0900),
            (work_item(event_id="wi-00000002", due_at=london(26, 17)), TUESDAY_0900),
            (decision(), TUESDAY_1100),  # stops the first; a discussion due Wednesday 11:00
        ]
    )
    assert next_due(state) == WEDNESDAY_1100
    state, _ = ticks(state, WEDNESDAY_1100)
    assert next_due(state) == london(26, 17)


def test_alerts_due_together_come_in_order_of_due_time() -> None:
    state, _ = run(
        [
            (work_item(event_id="wi-00000002", due_at=london(26, 17)), TUESDAY_0900),
            (work_item(due_at=london(25, 17)), TUESDAY_0900),
        ]
    )
    _, alerts = ticks(state, london(27, 9))
    assert [a.due_at for a in alerts] == [london(25, 17), london(26, 17)]


def test_prune_drops_only_clocks_stopped_longer_ago_than_it_keeps() -> None:
    state, _ = run(
        [
            (work_item(), TUESDAY_0900),
            (work_item(event_id="wi-00000002"), TUESDAY_0900),
            (decision(level=2, next_step=NextStep.EARLY_HELP), TUESDAY_1100),
        ]
    )
    assert prune(state, TUESDAY_1100 + PRUNE_AFTER) is state  # exactly `keep` ago: kept
    pruned = prune(state, TUESDAY_1100 + PRUNE_AFTER + timedelta(seconds=1))
    # The open clock stays however old: a child still waiting is never forgotten.
    assert list(pruned.clocks) == [decision_clock("wi-00000002")]
    assert prune(state, london(30, 9), keep=timedelta(days=1)) == pruned


def test_an_event_for_another_child_is_refused() -> None:
    with pytest.raises(ValueError, match="child key"):
        on_work_item(stored_clocks(None, "ck-someone-else"), work_item(), TUESDAY_0900)


def test_a_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        due_alerts(empty(), datetime(2026, 11, 25, 11, 0))


# ---------------------------------------------------------------------------------------------
# The rules file


RULES_WITHOUT_DECISIONS = """\
version: 1
levels: {1: universal, 2: early help, 3: targeted early help, 4: specialist}
indicators: []
"""


def test_the_default_rules_allow_24_hours_and_15_working_days() -> None:
    decisions = load_rules().decisions
    assert decisions.strategy_discussion_due_hours == 24
    assert decisions.conference_due_working_days == 15


def test_an_authority_sets_its_own_times_and_a_file_without_them_keeps_the_defaults(
    tmp_path: Path,
) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(RULES_WITHOUT_DECISIONS, encoding="utf-8")
    assert load_rules(path).decisions == DecisionRules()
    path.write_text(
        RULES_WITHOUT_DECISIONS
        + "decisions:\n  strategy_discussion_due_hours: 8\n  conference_due_working_days: 12\n",
        encoding="utf-8",
    )
    decisions = load_rules(path).decisions
    assert (decisions.strategy_discussion_due_hours, decisions.conference_due_working_days) == (
        8,
        12,
    )
    assert decisions.minimum_rationale_words == 8


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("strategy_discussion_due_hours", "0"),
        ("strategy_discussion_due_hours", "2400"),
        ("strategy_discussion_due_hours", "'24'"),
        ("conference_due_working_days", "0"),
        ("conference_due_working_days", "1500"),
        ("conference_due_working_days", "15.5"),
    ],
)
def test_a_time_that_is_not_a_sensible_whole_number_is_refused_at_load(
    tmp_path: Path, key: str, value: str
) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(RULES_WITHOUT_DECISIONS + f"decisions:\n  {key}: {value}\n", encoding="utf-8")
    with pytest.raises(ConfigurationError) as raised:
        load_rules(path)
    assert raised.value.message.startswith(f"{path}:5: decisions.{key}: ")


# ---------------------------------------------------------------------------------------------
# Idempotence: a duplicate delivery is no more than a timer tick


def story() -> list[Event]:
    """A child's events in the order they happen: every kind of clock, opened and stopped."""
    return [
        work_item(),
        work_item(event_id="wi-00000002", due_at=london(25, 17)),
        decision(),
        strategy(DiscussionStatus.CONVENED, at=london(24, 12)),
        decision(
            event_id="dec-00000002",
            level=2,
            next_step=NextStep.EARLY_HELP,
            decided_at=london(24, 16),
            revises="dec-00000001",
        ),
        strategy(DiscussionStatus.HELD, at=london(25, 14), section_47=True),
        decision(
            event_id="dec-00000003",
            work_item_id="wi-00000002",
            level=3,
            next_step=NextStep.CHILD_IN_NEED_ASSESSMENT,
            decided_at=london(26, 10),
        ),
    ]


# Moments before, between and after the story's due times.
MOMENTS = [
    TUESDAY_0900,
    WEDNESDAY_0900,
    WEDNESDAY_1100,
    london(25, 17),
    london(26, 12),
    datetime(2027, 2, 1, 9, tzinfo=LONDON),
]


@st.composite
def with_duplicates(draw: st.DrawFn, events: list[Event]) -> list[tuple[int, bool]]:
    """The story's deliveries (event index, is a duplicate): each event first in its own order,
    and any number of duplicates of it anywhere after its first delivery."""
    keyed = [((index, 0, 0), index, False) for index in range(len(events))]
    duplicates = draw(
        st.lists(st.tuples(st.integers(0, len(events) - 1), st.integers(0, len(events) - 1)))
    )
    for number, (index, after) in enumerate(duplicates):
        keyed.append(((max(index, after), 1, number), index, True))
    return [(index, duplicate) for _, index, duplicate in sorted(keyed)]


@settings(max_examples=150, deadline=None)
@given(data=st.data(), now=st.sampled_from(MOMENTS))
def test_any_duplicate_deliveries_at_one_moment_give_the_same_state_and_alerts(
    data: st.DataObject, now: datetime
) -> None:
    events = story()
    deliveries = data.draw(with_duplicates(events))
    once_state, once_alerts = run([(event, now) for event in events])
    state, alerts = run([(events[index], now) for index, _ in deliveries])
    assert state == once_state
    assert alerts == once_alerts
    assert len({alert.event_id for alert in alerts}) == len(alerts)


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_a_duplicate_delivery_at_any_time_changes_nothing_a_tick_would_not(
    data: st.DataObject,
) -> None:
    events = story()
    deliveries = data.draw(with_duplicates(events))
    # Deliveries at non-decreasing moments from Tuesday morning to a week later.
    steps = data.draw(
        st.lists(
            st.integers(0, 6 * 60),  # minutes after the previous delivery
            min_size=len(deliveries),
            max_size=len(deliveries),
        )
    )
    moments: list[datetime] = []
    moment = TUESDAY_0900
    for minutes in steps:
        moment += timedelta(minutes=minutes * 4)
        moments.append(moment)
    with_copies = [(events[index], at) for (index, _), at in zip(deliveries, moments, strict=True)]
    with_ticks = [
        (None if duplicate else events[index], at)
        for (index, duplicate), at in zip(deliveries, moments, strict=True)
    ]
    assert run(with_copies) == run(with_ticks)
    _, alerts = run(with_copies)
    assert len({alert.event_id for alert in alerts}) == len(alerts)


@settings(max_examples=100, deadline=None)
@given(index=st.integers(0, len(story()) - 1), now=st.sampled_from(MOMENTS))
def test_each_step_twice_is_the_step_once(index: int, now: datetime) -> None:
    events = story()
    state, _ = run([(event, now) for event in events[:index]])
    once = step(state, events[index], now)
    twice = step(once.clocks, events[index], now)
    assert twice == ClockStep(clocks=once.clocks)


# ---------------------------------------------------------------------------------------------
# The duty team's acknowledgement of a duty-team alert (delivery issue).


def _duty_alert(raised_at: datetime) -> DutyTeamAlert:
    return DutyTeamAlert(
        event_id="da-00000001",
        work_item_id=ITEM,
        source_event_id="ev-00000001",
        child_key=CHILD,
        priority=Priority.RED,
        reason="police report a child at immediate risk",
        rationale=[
            RationaleEntry(
                rule="immediate_risk", description="immediate risk", evidence="police report"
            )
        ],
        received_at=raised_at,
        raised_at=raised_at,
    )


def _acknowledgement(at: datetime) -> AlertAcknowledgement:
    return AlertAcknowledgement(
        event_id="ack-00000001",
        alert_id="da-00000001",
        work_item_id=ITEM,
        child_key=CHILD,
        acknowledged_by="duty_team",
        via=AcknowledgedVia.EMAIL_LINK,
        acknowledged_at=at,
    )


def test_an_alert_unacknowledged_for_15_minutes_escalates_once_and_clears_when_seen() -> None:
    raised = london(28, 2, 0)
    step = on_duty_alert(ChildClocks(child_key=CHILD), _duty_alert(raised), RULES, raised)
    assert step.alerts == ()
    assert next_due(step.clocks) == raised + timedelta(minutes=15)

    quiet = due_alerts(step.clocks, raised + timedelta(minutes=14))
    assert quiet.alerts == ()
    escalated = due_alerts(step.clocks, raised + timedelta(minutes=15))
    (escalation,) = escalated.alerts
    assert escalation.clock is ClockKind.DUTY_ALERT_ACKNOWLEDGEMENT
    assert escalation.status is AlertStatus.OVERDUE
    assert escalation.clock_id == clock_id_of(ClockKind.DUTY_ALERT_ACKNOWLEDGEMENT, "da-00000001")
    assert due_alerts(escalated.clocks, raised + timedelta(minutes=30)).alerts == ()

    seen = on_alert_acknowledged(
        escalated.clocks, _acknowledgement(raised + timedelta(minutes=20)), raised
    )
    (cleared,) = seen.alerts
    assert cleared.status is AlertStatus.CLEARED
    assert cleared.satisfied_by == "ack-00000001"


def test_an_alert_acknowledged_in_time_raises_nothing() -> None:
    raised = london(28, 2, 0)
    opened = on_duty_alert(ChildClocks(child_key=CHILD), _duty_alert(raised), RULES, raised)
    seen = on_alert_acknowledged(
        opened.clocks, _acknowledgement(raised + timedelta(minutes=3)), raised
    )
    assert seen.alerts == ()
    assert due_alerts(seen.clocks, raised + timedelta(hours=2)).alerts == ()


def test_an_acknowledgement_read_before_its_alert_leaves_nothing_to_escalate() -> None:
    raised = london(28, 2, 0)
    early = on_alert_acknowledged(
        ChildClocks(child_key=CHILD), _acknowledgement(raised + timedelta(minutes=2)), raised
    )
    later = on_duty_alert(early.clocks, _duty_alert(raised), RULES, raised + timedelta(hours=1))
    assert later.alerts == ()
    assert next_due(later.clocks) is None


def test_the_authority_sets_the_minutes_to_acknowledge() -> None:
    raised = london(28, 2, 0)
    five = DecisionRules(duty_alert_acknowledge_minutes=5)
    step = on_duty_alert(ChildClocks(child_key=CHILD), _duty_alert(raised), five, raised)
    assert next_due(step.clocks) == raised + timedelta(minutes=5)
    assert DecisionRules().duty_alert_acknowledge_minutes == 15


def test_an_alert_of_a_night_long_over_is_never_escalated() -> None:
    raised = london(28, 2, 0)
    opened = on_duty_alert(ChildClocks(child_key=CHILD), _duty_alert(raised), RULES, raised)
    a_day_later = due_alerts(opened.clocks, raised + timedelta(days=1))
    assert a_day_later.alerts == ()
    assert next_due(a_day_later.clocks) is None  # marked raised: the timer leaves it alone
    in_the_shift = due_alerts(opened.clocks, raised + timedelta(hours=11))
    assert len(in_the_shift.alerts) == 1


AT_NOON = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def _bare_clock(kind: ClockKind, due_in: timedelta, *, stopped: bool = False) -> Clock:
    return Clock(
        clock_id=f"clock-{kind.value}-{due_in.total_seconds()}",
        kind=kind,
        child_key="child-1",
        work_item_id="item-1",
        subject_id="item-1",
        started_at=AT_NOON - timedelta(days=2),
        due_at=AT_NOON + due_in,
        satisfied_at=AT_NOON if stopped else None,
        satisfied_by="decision-1" if stopped else None,
    )


def test_clocks_past_due_and_not_stopped_are_counted_by_kind() -> None:
    clocks = [
        _bare_clock(ClockKind.DECISION, -timedelta(hours=1)),
        _bare_clock(ClockKind.DECISION, -timedelta(hours=2)),
        _bare_clock(ClockKind.DECISION, timedelta(hours=1)),  # not due yet
        _bare_clock(ClockKind.STRATEGY_DISCUSSION, -timedelta(hours=3), stopped=True),
        _bare_clock(ClockKind.MEETING_ACTION, timedelta(0)),  # due now
    ]
    state = ChildClocks(child_key="child-1", clocks={c.clock_id: c for c in clocks})

    overdue = overdue_clocks([state], AT_NOON)

    assert overdue == {ClockKind.DECISION: 2, ClockKind.MEETING_ACTION: 1}
