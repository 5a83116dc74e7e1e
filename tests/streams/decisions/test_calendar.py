"""The office calendar: when the front door is open and when a decision on a contact falls due.

Dates are real 2026-2027 dates: Tuesday 1 December 2026, Christmas 2026 on a Friday (so Boxing
Day's substitute is Monday 28 December), Easter 2026 (Good Friday 3 April, Easter Monday 6 April)
and the clocks going forward on Sunday 29 March 2026.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.decisions.calendar import OfficeCalendar

LONDON = ZoneInfo("Europe/London")
CALENDAR = OfficeCalendar()


def london(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=LONDON)


# -- decisions within one working day ---------------------------------------------------------


def test_a_contact_received_on_tuesday_morning_is_due_at_the_same_time_on_wednesday() -> None:
    received = london(2026, 12, 1, 10)

    assert CALENDAR.clock_start(received, urgent=False) == received
    assert CALENDAR.decision_due(received, urgent=False) == london(2026, 12, 2, 10)


def test_a_christmas_eve_contact_waits_out_christmas_weekend_and_substitute_boxing_day() -> None:
    received = london(2026, 12, 24, 16)  # Thursday; Friday is Christmas, Monday the substitute

    due = CALENDAR.decision_due(received, urgent=False)

    assert due == london(2026, 12, 29, 16)
    assert due.strftime("%A") == "Tuesday"


def test_urgent_work_on_saturday_night_starts_its_clock_on_monday_morning() -> None:
    received = london(2026, 12, 5, 22)

    assert CALENDAR.out_of_hours(received)
    assert CALENDAR.clock_start(received, urgent=True) == london(2026, 12, 7, 8, 30)
    assert CALENDAR.decision_due(received, urgent=True) == london(2026, 12, 8, 8, 30)


def test_routine_work_in_the_last_half_hour_waits_for_the_next_working_morning() -> None:
    wednesday = london(2026, 12, 2, 16, 45)
    friday = london(2026, 12, 4, 16, 45)

    assert CALENDAR.is_open(wednesday)
    assert not CALENDAR.accepts_routine_work(wednesday)
    assert CALENDAR.clock_start(wednesday, urgent=False) == london(2026, 12, 3, 8, 30)
    assert CALENDAR.decision_due(wednesday, urgent=False) == london(2026, 12, 4, 8, 30)
    assert CALENDAR.clock_start(friday, urgent=False) == london(2026, 12, 7, 8, 30)


def test_urgent_work_in_the_last_half_hour_starts_its_clock_at_once() -> None:
    received = london(2026, 12, 2, 16, 45)

    assert CALENDAR.clock_start(received, urgent=True) == received
    assert CALENDAR.decision_due(received, urgent=True) == london(2026, 12, 3, 16, 45)


def test_the_urgent_only_window_begins_at_half_past_four_exactly() -> None:
    assert CALENDAR.accepts_routine_work(london(2026, 12, 2, 16, 29).replace(second=59))
    assert not CALENDAR.accepts_routine_work(london(2026, 12, 2, 16, 30))


def test_routine_work_before_opening_starts_its_clock_at_that_mornings_opening() -> None:
    received = london(2026, 12, 2, 7, 15)

    assert CALENDAR.clock_start(received, urgent=False) == london(2026, 12, 2, 8, 30)
    assert CALENDAR.clock_start(received, urgent=True) == london(2026, 12, 2, 8, 30)


# -- office hours -----------------------------------------------------------------------------


def test_five_oclock_on_friday_is_closed_and_half_past_eight_is_open() -> None:
    assert not CALENDAR.is_open(london(2026, 12, 4, 17))
    assert CALENDAR.out_of_hours(london(2026, 12, 4, 17))
    assert CALENDAR.is_open(london(2026, 12, 4, 16, 59).replace(second=59))
    assert CALENDAR.is_open(london(2026, 12, 4, 8, 30))
    assert not CALENDAR.is_open(london(2026, 12, 4, 8, 29).replace(second=59))


def test_next_opening_is_the_first_opening_at_or_after_the_moment() -> None:
    # Before opening on a working day: that morning.
    assert CALENDAR.next_opening(london(2026, 12, 2, 6)) == london(2026, 12, 2, 8, 30)
    # The opening instant itself is its own next opening.
    assert CALENDAR.next_opening(london(2026, 12, 2, 8, 30)) == london(2026, 12, 2, 8, 30)
    # Once open, today's opening has passed: the next working day's.
    assert CALENDAR.next_opening(london(2026, 12, 2, 8, 31)) == london(2026, 12, 3, 8, 30)
    # Friday evening: Monday.
    assert CALENDAR.next_opening(london(2026, 12, 4, 19)) == london(2026, 12, 7, 8, 30)


# -- the out-of-hours period handed over at an opening ------------------------------------------


def test_the_handover_period_is_the_weekend_before_mondays_opening_until_tuesdays() -> None:
    weekend = (london(2026, 12, 4, 17), london(2026, 12, 7, 8, 30))

    assert CALENDAR.out_of_hours_before(london(2026, 12, 7, 8, 30)) == weekend
    assert CALENDAR.out_of_hours_before(london(2026, 12, 7, 14)) == weekend
    # Tuesday before opening: Monday's opening is still the latest.
    assert CALENDAR.out_of_hours_before(london(2026, 12, 8, 7)) == weekend
    # A minute before Monday's opening: the night before Friday's.
    assert CALENDAR.out_of_hours_before(london(2026, 12, 7, 8, 29)) == (
        london(2026, 12, 3, 17),
        london(2026, 12, 4, 8, 30),
    )


def test_the_handover_period_spans_christmas_and_the_substitute_boxing_day() -> None:
    assert CALENDAR.out_of_hours_before(london(2026, 12, 29, 9)) == (
        london(2026, 12, 24, 17),
        london(2026, 12, 29, 8, 30),
    )


def test_the_handover_period_across_the_autumn_clock_change_is_an_hour_longer() -> None:
    closed_at, opened_at = CALENDAR.out_of_hours_before(london(2026, 10, 26, 10))

    assert (closed_at, opened_at) == (london(2026, 10, 23, 17), london(2026, 10, 26, 8, 30))
    assert opened_at.astimezone(UTC) - closed_at.astimezone(UTC) == timedelta(hours=64, minutes=30)


def test_the_latest_opening_is_at_or_before_the_moment() -> None:
    assert CALENDAR.latest_opening(london(2026, 12, 2, 8, 30)) == london(2026, 12, 2, 8, 30)
    assert CALENDAR.latest_opening(london(2026, 12, 2, 8, 29)) == london(2026, 12, 1, 8, 30)
    assert CALENDAR.latest_opening(london(2026, 12, 6, 23)) == london(2026, 12, 4, 8, 30)


# -- working days -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "closed",
    [
        date(2026, 4, 3),  # Good Friday
        date(2026, 4, 6),  # Easter Monday
        date(2026, 12, 25),  # Christmas Day
        date(2026, 12, 28),  # substitute for Boxing Day, a Saturday
        date(2027, 1, 1),  # New Year's Day
        date(2026, 12, 5),  # a Saturday
        date(2026, 12, 6),  # a Sunday
    ],
)
def test_bank_holidays_and_weekends_are_not_working_days(closed: date) -> None:
    assert not CALENDAR.is_working_day(closed)


def test_an_ordinary_weekday_is_a_working_day() -> None:
    assert CALENDAR.is_working_day(date(2026, 4, 2))  # the Thursday before Good Friday
    assert CALENDAR.is_working_day(date(2026, 12, 29))


def test_a_local_closure_day_is_not_a_working_day_and_the_clock_skips_it() -> None:
    training_day = date(2026, 12, 2)
    calendar = OfficeCalendar(extra_closures=frozenset({training_day}))

    assert not calendar.is_working_day(training_day)
    assert calendar.decision_due(london(2026, 12, 1, 10), urgent=False) == london(2026, 12, 3, 10)


def test_a_calendar_without_bank_holidays_works_through_them() -> None:
    calendar = OfficeCalendar(bank_holidays=False)

    assert calendar.is_working_day(date(2026, 4, 3))
    assert calendar.is_working_day(date(2026, 12, 28))
    # Christmas Day itself is then an ordinary Friday.
    assert calendar.decision_due(london(2026, 12, 24, 16), urgent=False) == london(2026, 12, 25, 16)


def test_an_aware_datetime_is_judged_by_its_london_date() -> None:
    # 23:30 UTC on Thursday 2 April 2026 is 00:30 BST on Good Friday.
    assert not CALENDAR.is_working_day(datetime(2026, 4, 2, 23, 30, tzinfo=UTC))


# -- clocks changing and other timezones ------------------------------------------------------


def test_a_decision_due_across_the_spring_clock_change_keeps_its_london_wall_time() -> None:
    received = london(2026, 3, 27, 10)  # Friday, GMT; clocks go forward on Sunday 29 March

    due = CALENDAR.decision_due(received, urgent=False)

    assert due == london(2026, 3, 30, 10)
    assert due.astimezone(UTC) == datetime(2026, 3, 30, 9, tzinfo=UTC)
    assert due.tzname() == "BST"


def test_a_decision_due_across_the_autumn_clock_change_keeps_its_london_wall_time() -> None:
    received = london(2026, 10, 23, 10)  # Friday, BST; clocks go back on Sunday 25 October

    due = CALENDAR.decision_due(received, urgent=False)

    assert due.astimezone(UTC) == datetime(2026, 10, 26, 10, tzinfo=UTC)
    assert due.tzname() == "GMT"


@pytest.mark.parametrize(
    "received",
    [
        datetime(2026, 6, 2, 9, tzinfo=UTC),  # 10:00 BST
        datetime(2026, 6, 2, 14, 30, tzinfo=timezone(timedelta(hours=5, minutes=30))),
        datetime(2026, 6, 2, 5, tzinfo=ZoneInfo("America/New_York")),
    ],
)
def test_input_in_any_timezone_gives_the_london_answer_in_london_time(received: datetime) -> None:
    local = london(2026, 6, 2, 10)

    for urgent in (True, False):
        due = CALENDAR.decision_due(received, urgent=urgent)
        assert due == CALENDAR.decision_due(local, urgent=urgent) == london(2026, 6, 3, 10)
        assert due.tzinfo == LONDON
    assert CALENDAR.clock_start(received, urgent=False).tzinfo == LONDON


def test_an_evening_in_new_york_is_already_out_of_hours_in_london() -> None:
    received = datetime(2026, 12, 1, 13, tzinfo=ZoneInfo("America/New_York"))  # 18:00 GMT

    assert CALENDAR.out_of_hours(received)
    assert CALENDAR.clock_start(received, urgent=True) == london(2026, 12, 2, 8, 30)


# -- add_working_days -------------------------------------------------------------------------


def test_adding_working_days_skips_weekends_and_keeps_the_wall_clock_time() -> None:
    friday = london(2026, 12, 4, 11, 15)

    assert CALENDAR.add_working_days(friday, 1) == london(2026, 12, 7, 11, 15)
    assert CALENDAR.add_working_days(friday, 5) == london(2026, 12, 11, 11, 15)
    assert CALENDAR.add_working_days(friday, 0) == friday


def test_adding_a_negative_number_of_working_days_is_refused() -> None:
    with pytest.raises(ValueError, match="days"):
        CALENDAR.add_working_days(london(2026, 12, 4, 11), -1)


# -- everything is configurable ---------------------------------------------------------------


def test_a_differently_configured_office_keeps_its_own_hours_days_and_window() -> None:
    # A hub open 09:00-18:00 Monday to Saturday, urgent only for its last hour.
    calendar = OfficeCalendar(
        opens=time(9),
        closes=time(18),
        urgent_only_minutes=60,
        working_weekdays=frozenset({0, 1, 2, 3, 4, 5}),
    )
    saturday = london(2026, 12, 5, 10)

    assert calendar.is_open(saturday)
    assert not calendar.is_open(london(2026, 12, 2, 8, 45))
    assert calendar.accepts_routine_work(london(2026, 12, 2, 16, 45))
    assert not calendar.accepts_routine_work(london(2026, 12, 2, 17))
    assert calendar.decision_due(saturday, urgent=False) == london(2026, 12, 7, 10)


def test_an_office_in_another_timezone_answers_in_its_own_time() -> None:
    calendar = OfficeCalendar(timezone="America/New_York", bank_holidays=False)
    received = datetime(2026, 12, 1, 15, tzinfo=UTC)  # 10:00 in New York

    due = calendar.decision_due(received, urgent=False)

    assert due == datetime(2026, 12, 2, 10, tzinfo=ZoneInfo("America/New_York"))
    assert due.tzinfo == ZoneInfo("America/New_York")


def test_an_office_with_no_urgent_only_window_takes_routine_work_until_closing() -> None:
    calendar = OfficeCalendar(urgent_only_minutes=0)

    assert calendar.accepts_routine_work(london(2026, 12, 2, 16, 59))
    assert calendar.clock_start(london(2026, 12, 2, 16, 59), urgent=False) == london(
        2026, 12, 2, 16, 59
    )


# -- refusals ---------------------------------------------------------------------------------

NAIVE = datetime(2026, 12, 1, 10)


@pytest.mark.parametrize(
    "ask",
    [
        lambda: CALENDAR.is_open(NAIVE),
        lambda: CALENDAR.accepts_routine_work(NAIVE),
        lambda: CALENDAR.out_of_hours(NAIVE),
        lambda: CALENDAR.next_opening(NAIVE),
        lambda: CALENDAR.clock_start(NAIVE, urgent=True),
        lambda: CALENDAR.clock_start(NAIVE, urgent=False),
        lambda: CALENDAR.add_working_days(NAIVE, 1),
        lambda: CALENDAR.decision_due(NAIVE, urgent=False),
        lambda: CALENDAR.is_working_day(NAIVE),
        lambda: CALENDAR.latest_opening(NAIVE),
        lambda: CALENDAR.out_of_hours_before(NAIVE),
    ],
    ids=[
        "is_open",
        "accepts_routine_work",
        "out_of_hours",
        "next_opening",
        "clock_start-urgent",
        "clock_start-routine",
        "add_working_days",
        "decision_due",
        "is_working_day",
        "latest_opening",
        "out_of_hours_before",
    ],
)
def test_a_naive_datetime_is_refused_rather_than_guessed(ask: Any) -> None:
    with pytest.raises(ValueError, match="naive"):
        ask()


@pytest.mark.parametrize(
    ("config", "complaint"),
    [
        ({"opens": time(17), "closes": time(8, 30)}, "before closes"),
        ({"opens": time(9), "closes": time(9)}, "before closes"),
        ({"urgent_only_minutes": 510}, "urgent_only_minutes"),
        ({"urgent_only_minutes": 600}, "urgent_only_minutes"),
        ({"urgent_only_minutes": -1}, "urgent_only_minutes"),
        ({"working_weekdays": frozenset()}, "working_weekdays"),
        ({"working_weekdays": frozenset({0, 7})}, "working_weekdays"),
        ({"working_weekdays": frozenset({-1})}, "working_weekdays"),
        ({"timezone": "Europe/Londres"}, "timezone"),
        ({"timezone": "Europe"}, "timezone"),
        ({"timezone": ""}, "timezone"),
        ({"opens": time(8, 30, tzinfo=UTC)}, "naive"),
        ({"extra_closures": frozenset({datetime(2026, 12, 2, tzinfo=UTC)})}, "date"),
    ],
)
def test_a_bad_configuration_is_refused_with_a_reason(
    config: dict[str, Any], complaint: str
) -> None:
    with pytest.raises(ValueError, match=complaint):
        OfficeCalendar(**config)


# -- properties -------------------------------------------------------------------------------

ANY_ZONE = st.sampled_from(
    [
        LONDON,
        UTC,
        ZoneInfo("America/New_York"),
        ZoneInfo("Asia/Kolkata"),
        timezone(timedelta(hours=-9, minutes=-30)),
    ]
)
RECEIVED = st.datetimes(
    min_value=datetime(2024, 1, 1),
    max_value=datetime(2030, 12, 31, 23, 59, 59),
    timezones=ANY_ZONE,
)
PROPERTY = settings(max_examples=150, deadline=None)


def _instant(moment: datetime) -> datetime:
    # Aware datetimes sharing a tzinfo compare by wall clock, ignoring fold; UTC avoids that.
    return moment.astimezone(UTC)


@PROPERTY
@given(received=RECEIVED, urgent=st.booleans())
def test_a_decision_is_always_due_later_on_a_working_day_within_office_hours(
    received: datetime, urgent: bool
) -> None:
    due = CALENDAR.decision_due(received, urgent=urgent)

    assert _instant(due) > _instant(received)
    assert due.tzinfo == LONDON
    assert CALENDAR.is_working_day(due.date())
    assert CALENDAR.opens <= due.time() <= CALENDAR.closes


@PROPERTY
@given(received=RECEIVED, urgent=st.booleans())
def test_the_clock_never_starts_before_receipt_nor_while_closed(
    received: datetime, urgent: bool
) -> None:
    start = CALENDAR.clock_start(received, urgent=urgent)

    assert _instant(start) >= _instant(received)
    assert CALENDAR.is_open(start)
    if not urgent:
        assert CALENDAR.accepts_routine_work(start)


@PROPERTY
@given(start=RECEIVED)
def test_each_further_working_day_lands_later_on_a_working_day_at_the_same_time(
    start: datetime,
) -> None:
    wall = start.astimezone(LONDON).time()
    previous = _instant(start)
    for days in range(1, 11):
        later = CALENDAR.add_working_days(start, days)
        assert CALENDAR.is_working_day(later.date())
        assert later.time() == wall
        assert _instant(later) > previous
        previous = _instant(later)


@st.composite
def calendars(draw: st.DrawFn) -> OfficeCalendar:
    """Offices open some weekdays, from 06:00 at the earliest, with any legal urgent window."""
    opens_minute = draw(st.integers(6 * 60, 12 * 60))
    length = draw(st.integers(60, 10 * 60))
    closes_minute = opens_minute + length
    return OfficeCalendar(
        opens=time(opens_minute // 60, opens_minute % 60),
        closes=time(closes_minute // 60, closes_minute % 60),
        urgent_only_minutes=draw(st.integers(0, length - 1)),
        working_weekdays=draw(st.frozensets(st.integers(0, 6), min_size=1)),
        bank_holidays=draw(st.booleans()),
    )


@PROPERTY
@given(calendar=calendars(), received=RECEIVED, urgent=st.booleans())
def test_any_legal_configuration_keeps_the_decision_promises(
    calendar: OfficeCalendar, received: datetime, urgent: bool
) -> None:
    start = calendar.clock_start(received, urgent=urgent)
    due = calendar.decision_due(received, urgent=urgent)

    assert _instant(received) <= _instant(start) < _instant(due)
    assert calendar.accepts_routine_work(start) or (urgent and calendar.is_open(start))
    assert calendar.is_working_day(due.date())
    assert calendar.opens <= due.time() <= calendar.closes


@PROPERTY
@given(calendar=calendars(), moment=RECEIVED)
def test_the_handover_period_is_the_whole_closed_spell_ending_at_the_latest_opening(
    calendar: OfficeCalendar, moment: datetime
) -> None:
    closed_at, opened_at = calendar.out_of_hours_before(moment)

    assert _instant(closed_at) < _instant(opened_at) <= _instant(moment)
    assert calendar.is_open(opened_at)
    assert _instant(calendar.next_opening(opened_at + timedelta(minutes=1))) > _instant(moment)
    assert calendar.out_of_hours(closed_at)
    assert calendar.is_open(closed_at - timedelta(minutes=1))
    assert calendar.next_opening(closed_at) == opened_at
