"""The daily domestic-abuse meeting: an agenda each working day at 09:30 with every notification
since the last one, none lost or listed twice; and records that must say, for each child, the
impact and an action with its owner and due date, each action then watched by a clock.

The items come from the routing step itself, for the notifications of issue 11's stories.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from schemas.models import (
    ActionDone,
    Agency,
    AgendaItem,
    AlertStatus,
    ClockKind,
    DomesticAbuseAgenda,
    MeetingAction,
    MeetingRecord,
    PoliceNotification,
    StaffRole,
)
from streams.decisions.clocks import on_action_done, on_meeting_record, stored_clocks
from streams.decisions.meeting import (
    CHILD_VOICE_CHARACTERS,
    CHILDREN_PER_PART,
    MeetingState,
    due_agenda,
    meeting_record_problems,
    meeting_records_problems,
    merged_agendas,
    on_agenda_item,
)
from streams.decisions.rules import load_rules
from tests.streams.decisions.test_domestic_abuse import (
    SEVEN_AT_PRIMARY,
    SIXTEEN_AT_COLLEGE,
    THREE_NO_SETTING,
    incident,
    routed,
)

LONDON = ZoneInfo("Europe/London")
RULES = load_rules()
CALENDAR = RULES.office_calendar()
AT_0930 = RULES.domestic_abuse.meeting_time
MINIMUM = RULES.decisions.minimum_rationale_words


def london(day: int, hour: int, minute: int = 0, *, month: int = 12, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=LONDON)


def items_of(notification: PoliceNotification) -> list[AgendaItem]:
    """What routing sends the meeting for each child of ``notification``."""
    return [
        output
        for index in range(len(notification.children))
        for output in routed(notification, index).outputs
        if isinstance(output, AgendaItem)
    ]


def after(state: MeetingState, items: list[AgendaItem], now: datetime) -> MeetingState:
    """``state`` once ``items`` were read at ``now`` (no agenda may fall due meanwhile)."""
    for item in items:
        step = on_agenda_item(state, item, CALENDAR, AT_0930, now)
        assert step.agendas == ()
        state = step.state
    return state


def agenda_at(state: MeetingState, now: datetime) -> tuple[MeetingState, DomesticAbuseAgenda]:
    step = due_agenda(state, CALENDAR, AT_0930, now)
    [agenda] = step.agendas
    return step.state, agenda


FRIDAY_MEETING = MeetingState(published_through=london(4, 9, 30))


def test_a_friday_night_incident_is_on_mondays_agenda_with_all_three_children_and_history() -> None:
    state = after(
        FRIDAY_MEETING,
        items_of(incident(SEVEN_AT_PRIMARY, THREE_NO_SETTING, SIXTEEN_AT_COLLEGE)),
        london(4, 23, 15),
    )
    assert due_agenda(state, CALENDAR, AT_0930, london(5, 10)).agendas == ()  # a Saturday

    state, agenda = agenda_at(state, london(7, 9, 30))

    assert agenda.meeting_at == london(7, 9, 30)
    assert agenda.window_start == london(4, 9, 30)  # the whole weekend
    [household] = agenda.households
    assert not household.late
    assert [(c.given_name, c.age_years) for c in household.children] == [
        ("Oscar", 7),
        ("Isla", 3),
        ("Ruby", 16),
    ]
    oscar, isla, _ = household.children
    assert oscar.history.previous_events == 0
    assert oscar.present is True
    assert [(t.recipient.value, t.school_urn) for t in oscar.told] == [("school", "990001")]
    assert [t.recipient.value for t in isla.told] == ["health_visiting"]
    assert oscar.work_item_id
    assert state.pending == []


def test_after_a_bank_holiday_monday_tuesdays_agenda_covers_everything_since_friday() -> None:
    friday = london(30, 9, 30, month=4, year=2027)  # Monday 3 May 2027 is a bank holiday
    state = after(
        MeetingState(published_through=friday),
        items_of(incident(SEVEN_AT_PRIMARY, at=london(30, 23, 10, month=4, year=2027))),
        london(30, 23, 15, month=4, year=2027),
    )
    assert due_agenda(state, CALENDAR, AT_0930, london(3, 12, month=5, year=2027)).agendas == ()

    _, agenda = agenda_at(state, london(4, 9, 30, month=5, year=2027))

    assert agenda.window_start == friday
    assert len(agenda.households) == 1


def test_a_notification_routed_after_its_agenda_was_published_joins_the_next_marked_late() -> None:
    monday = MeetingState(published_through=london(7, 9, 30))
    # Received at 09:00 on Monday, but routed at 09:45, after Monday's agenda went out.
    late = items_of(incident(SEVEN_AT_PRIMARY, at=london(7, 9)))
    on_time = items_of(incident(THREE_NO_SETTING, at=london(7, 14)))
    state = after(monday, late + on_time, london(7, 14, 5))

    _, agenda = agenda_at(state, london(8, 9, 30))

    assert [(h.late, h.children[0].given_name) for h in agenda.households] == [
        (True, "Oscar"),
        (False, "Isla"),
    ]


def test_a_worker_down_for_days_publishes_one_agenda_covering_them_once_back() -> None:
    monday = MeetingState(published_through=london(7, 9, 30))
    state = after(monday, items_of(incident(SEVEN_AT_PRIMARY, at=london(7, 22))), london(7, 22, 5))

    state, agenda = agenda_at(state, london(10, 11))  # back on Thursday at 11:00

    assert agenda.meeting_at == london(10, 9, 30)
    assert agenda.window_start == london(7, 9, 30)
    assert len(agenda.households) == 1
    assert due_agenda(state, CALENDAR, AT_0930, london(10, 11, 1)).agendas == ()


def test_an_item_delivered_again_after_its_agenda_is_not_listed_again() -> None:
    items = items_of(incident(SEVEN_AT_PRIMARY, at=london(7, 8)))
    state, first = agenda_at(after(FRIDAY_MEETING, items, london(7, 8, 5)), london(7, 9, 30))
    assert len(first.households) == 1

    state = after(state, items, london(7, 10))  # a redelivery after a restart
    _, next_day = agenda_at(state, london(8, 9, 30))

    assert next_day.households == []
    assert first.event_id != next_day.event_id


def test_a_new_deployment_starts_with_the_next_meeting_and_lists_older_items_late() -> None:
    older = items_of(incident(SEVEN_AT_PRIMARY, at=london(6, 20)))  # a Sunday, before it ran
    state = after(MeetingState(), older, london(9, 10))  # first run: Wednesday at 10:00

    assert state.published_through == london(9, 9, 30)  # marked past, no agenda for it
    _, agenda = agenda_at(state, london(10, 9, 30))
    assert agenda.window_start == london(9, 9, 30)
    assert [h.late for h in agenda.households] == [True]


def test_the_same_meeting_gives_the_same_agenda_id_in_a_replay() -> None:
    items = items_of(incident(SEVEN_AT_PRIMARY, at=london(7, 8)))
    _, once = agenda_at(after(FRIDAY_MEETING, items, london(7, 8, 5)), london(7, 9, 30))
    _, again = agenda_at(after(FRIDAY_MEETING, items, london(7, 8, 5)), london(7, 9, 45))

    assert once.event_id == again.event_id


# ---------------------------------------------------------------------------------------------
# Records and their actions

IMPACT = (
    "Oscar saw the assault and now will not sleep upstairs; his teacher reports he is withdrawn "
    "and hungry on Mondays."
)


def record(child_key: str = "ck-0", /, **changes: object) -> MeetingRecord:
    fields: dict[str, object] = {
        "event_id": f"mr-{child_key}-00000001",
        "agenda_id": "agenda-00000001",
        "meeting_at": london(7, 9, 30),
        "household_id": "household-1",
        "child_key": child_key,
        "work_item_id": f"wi-{child_key}-0000001",
        "impact_on_child": IMPACT,
        "actions": [
            MeetingAction(
                action_id=f"act-{child_key}-1",
                description="School to offer daily check-ins with the learning mentor",
                owner=Agency.EDUCATION,
                due_on=date(2026, 12, 11),
            )
        ],
        "recorded_by": "tm.synthetic",
        "recorded_by_role": StaffRole.TEAM_MANAGER,
        "recorded_at": london(7, 11),
    }
    return MeetingRecord.model_validate(fields | changes)


def test_a_record_with_the_impact_and_an_owned_dated_action_is_accepted() -> None:
    assert meeting_record_problems(record(), MINIMUM) == []


@pytest.mark.parametrize(
    ("changes", "field", "says"),
    [
        ({"actions": []}, "actions", "at least one action"),
        ({"impact_on_child": "as above"}, "impact_on_child", "impact on them"),
        ({"impact_on_child": ""}, "impact_on_child", "impact on them"),
    ],
)
def test_a_record_without_an_action_or_the_impact_on_the_child_is_refused_saying_what_is_needed(
    changes: dict[str, object], field: str, says: str
) -> None:
    [(where, message)] = meeting_record_problems(record(**changes), MINIMUM)

    assert where == field
    assert says in message


def test_an_action_due_before_the_meeting_is_refused() -> None:
    stale = record().actions[0].model_copy(update={"due_on": date(2026, 12, 1)})

    [(where, _)] = meeting_record_problems(record(actions=[stale]), MINIMUM)

    assert where == "actions.0.due_on"


def agenda_listing(*child_keys: str) -> DomesticAbuseAgenda:
    items = items_of(incident(SEVEN_AT_PRIMARY, THREE_NO_SETTING, at=london(7, 8)))
    _, agenda = agenda_at(after(FRIDAY_MEETING, items, london(7, 8, 5)), london(7, 9, 30))
    children = agenda.households[0].children
    household = agenda.households[0].model_copy(
        update={
            "children": [
                child.model_copy(update={"child_key": key})
                for child, key in zip(children, child_keys, strict=True)
            ]
        }
    )
    return agenda.model_copy(update={"event_id": "agenda-00000001", "households": [household]})


def test_a_household_whose_second_child_has_no_action_is_refused_whole_naming_that_child() -> None:
    agendas = {"agenda-00000001": agenda_listing("ck-0", "ck-1")}
    records = [record("ck-0"), record("ck-1", actions=[])]

    problems = meeting_records_problems(records, agendas, MINIMUM)

    assert [where for where, _ in problems] == ["child ck-1: actions"]


def test_a_record_for_a_child_not_on_the_agenda_or_an_unknown_agenda_is_refused() -> None:
    agendas = {"agenda-00000001": agenda_listing("ck-0", "ck-1")}

    stranger = meeting_records_problems([record("ck-9")], agendas, MINIMUM)
    unknown = meeting_records_problems([record(agenda_id="agenda-unknown")], agendas, MINIMUM)

    assert [where for where, _ in stranger] == ["child ck-9: child_key"]
    assert [where for where, _ in unknown] == ["child ck-0: agenda_id"]


def done(action_id: str = "act-ck-0-1", at: datetime | None = None) -> ActionDone:
    return ActionDone(
        event_id=f"done-{action_id}",
        action_id=action_id,
        child_key="ck-0",
        work_item_id="wi-ck-0-0000001",
        done_at=at or london(14, 10),
        recorded_by="tm.synthetic",
    )


def test_an_action_past_its_due_date_raises_one_alert_cleared_when_it_is_done() -> None:
    state = on_meeting_record(stored_clocks(None, "ck-0"), record(), CALENDAR, london(7, 11))
    assert state.alerts == ()
    [clock] = state.clocks.clocks.values()
    assert clock.kind is ClockKind.MEETING_ACTION
    assert clock.due_at == london(12, 0)  # the end of Friday 11 December

    before = on_meeting_record(state.clocks, record(), CALENDAR, london(11, 23, 59))
    overdue = on_meeting_record(before.clocks, record(), CALENDAR, london(12, 0))
    twice = on_meeting_record(overdue.clocks, record(), CALENDAR, london(13, 9))
    cleared = on_action_done(twice.clocks, done(), london(14, 10))

    assert before.alerts == ()
    assert [a.status for a in overdue.alerts] == [AlertStatus.OVERDUE]
    assert twice.alerts == ()
    assert [(a.status, a.satisfied_by) for a in cleared.alerts] == [
        (AlertStatus.CLEARED, "done-act-ck-0-1")
    ]


def test_an_action_done_before_its_record_is_read_never_falls_overdue() -> None:
    early = on_action_done(stored_clocks(None, "ck-0"), done(at=london(8, 10)), london(8, 10))

    later = on_meeting_record(early.clocks, record(), CALENDAR, london(20, 9))

    assert early.alerts == ()
    assert later.alerts == ()


def test_the_records_clock_is_due_at_midnight_after_the_due_date_across_the_clock_change() -> None:
    action = record().actions[0].model_copy(update={"due_on": date(2027, 3, 27)})
    state = on_meeting_record(
        stored_clocks(None, "ck-0"),
        record(actions=[action], meeting_at=london(22, 9, 30, month=3, year=2027)),
        CALENDAR,
        london(22, 11, month=3, year=2027),
    )

    [clock] = state.clocks.clocks.values()
    assert clock.due_at == datetime(2027, 3, 28, 0, 0, tzinfo=LONDON)
    assert clock.due_at - clock.started_at > timedelta(days=5)


def test_a_long_agenda_comes_in_parts_of_whole_households_merged_back_for_the_meeting() -> None:
    notifications = [
        incident(SEVEN_AT_PRIMARY, THREE_NO_SETTING, SIXTEEN_AT_COLLEGE, at=london(5, 1) + gap)
        for gap in (timedelta(minutes=n) for n in range(45))
    ]  # 45 households of 3 over a Saturday night: 135 children
    items = [item for notification in notifications for item in items_of(notification)]
    state = after(FRIDAY_MEETING, items, london(5, 12))

    step = due_agenda(state, CALENDAR, AT_0930, london(7, 9, 30))

    assert [(a.part, a.parts) for a in step.agendas] == [(1, 3), (2, 3), (3, 3)]
    assert all(
        sum(len(h.children) for h in a.households) <= CHILDREN_PER_PART for a in step.agendas
    )
    assert len({a.event_id for a in step.agendas}) == 3
    merged = merged_agendas(reversed(step.agendas))
    whole = merged[step.agendas[2].event_id]
    assert whole == merged[step.agendas[0].event_id]
    assert whole.event_id == step.agendas[0].event_id
    assert len(whole.households) == 45
    received = [h.received_at for h in whole.households]
    assert received == sorted(received)


def test_a_childs_long_account_is_cut_on_the_agenda() -> None:
    talkative = SEVEN_AT_PRIMARY.model_copy(update={"child_voice": "I was scared. " * 500})

    [item] = items_of(incident(talkative))

    assert item.child.child_voice is not None
    assert len(item.child.child_voice) <= CHILD_VOICE_CHARACTERS
    assert item.child.child_voice.startswith("I was scared.")


def test_a_school_the_police_named_by_urn_only_is_named_on_the_agenda() -> None:
    [item] = items_of(incident(SEVEN_AT_PRIMARY))

    assert SEVEN_AT_PRIMARY.school_name is None
    assert item.child.school_name == "Oakfield Primary School"
