"""School days for Operation Encompass: a school is told before the start of the next school day.

Dates are from the shipped synthetic term dates: autumn 2026 runs to Friday 23 October, half
term is the week of 26 October; May Day 2026 is Monday 4 May; Monday 4 January 2027 is an INSET
day; the file's last term ends on Friday 21 July 2028, after which the fail-safe applies.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.errors import ConfigurationError
from streams.decisions.school_calendar import (
    DEFAULT_TERM_DATES_FILE,
    SchoolCalendar,
    Term,
    TermDates,
    load_term_dates,
)

LONDON = ZoneInfo("Europe/London")
SCHOOLS = SchoolCalendar.from_term_dates(load_term_dates(), school_start=time(8, 30))


def london(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=LONDON)


# -- the next school day's start ---------------------------------------------------------------


def test_an_incident_before_school_on_a_school_day_is_due_that_morning() -> None:
    assert SCHOOLS.next_school_day_start(london(2026, 11, 25, 7)) == london(2026, 11, 25, 8, 30)


def test_an_incident_during_the_school_day_is_due_the_next_school_mornings_start() -> None:
    assert SCHOOLS.next_school_day_start(london(2026, 11, 25, 10)) == london(2026, 11, 26, 8, 30)


def test_an_incident_at_the_start_of_school_exactly_is_due_the_next_school_day() -> None:
    assert SCHOOLS.next_school_day_start(london(2026, 11, 25, 8, 30)) == london(2026, 11, 26, 8, 30)


def test_friday_night_is_due_on_monday_morning() -> None:
    due = SCHOOLS.next_school_day_start(london(2026, 11, 27, 23, 10))

    assert due == london(2026, 11, 30, 8, 30)
    assert due.strftime("%A") == "Monday"


def test_friday_night_before_a_bank_holiday_monday_is_due_on_tuesday() -> None:
    due = SCHOOLS.next_school_day_start(london(2026, 5, 1, 23, 10))  # Monday 4 May: May Day

    assert due == london(2026, 5, 5, 8, 30)
    assert due.strftime("%A") == "Tuesday"


def test_half_term_is_not_school_days() -> None:
    assert not SCHOOLS.is_school_day(date(2026, 10, 28))
    assert SCHOOLS.next_school_day_start(london(2026, 10, 23, 18)) == london(2026, 11, 2, 8, 30)


def test_the_christmas_holiday_and_an_inset_day_are_waited_out() -> None:
    assert not SCHOOLS.is_school_day(date(2027, 1, 4))  # first day of term, an INSET day
    assert SCHOOLS.next_school_day_start(london(2026, 12, 18, 16)) == london(2027, 1, 5, 8, 30)


def test_the_result_is_in_the_calendars_zone_whatever_the_zone_of_the_moment() -> None:
    moment = datetime(2026, 6, 10, 9, 0, tzinfo=UTC)  # 10:00 in London (summer time)

    due = SCHOOLS.next_school_day_start(moment)

    assert due == london(2026, 6, 11, 8, 30)
    assert due.tzinfo == LONDON
    assert due.utcoffset() == timedelta(hours=1)


def test_a_moment_given_in_utc_before_the_london_start_is_due_that_morning() -> None:
    # 07:45 UTC is 07:45 in London in winter: before school starts.
    assert SCHOOLS.next_school_day_start(datetime(2026, 12, 1, 7, 45, tzinfo=UTC)) == london(
        2026, 12, 1, 8, 30
    )


def test_a_naive_moment_is_refused() -> None:
    with pytest.raises(ValueError, match="naive datetime"):
        SCHOOLS.next_school_day_start(datetime(2026, 11, 25, 7))


def test_a_custom_school_start_is_honoured() -> None:
    schools = SchoolCalendar(school_start=time(8, 45), terms=SCHOOLS.terms)

    assert schools.next_school_day_start(london(2026, 11, 25, 8, 40)) == london(2026, 11, 25, 8, 45)


# -- beyond the term dates: fail safe ----------------------------------------------------------


def test_weekdays_after_the_last_term_are_school_days_so_notices_are_early_not_late() -> None:
    assert SCHOOLS.terms[-1] == Term(date(2028, 6, 5), date(2028, 7, 21))
    assert not SCHOOLS.covers(date(2028, 8, 1))
    assert SCHOOLS.is_school_day(date(2028, 8, 1))  # a Tuesday of the summer holiday
    assert SCHOOLS.next_school_day_start(london(2028, 8, 1, 10)) == london(2028, 8, 2, 8, 30)


def test_beyond_the_term_dates_bank_holidays_and_weekends_are_still_not_school_days() -> None:
    # Friday 25 August 2028; Monday 28 August is the late summer bank holiday.
    assert SCHOOLS.next_school_day_start(london(2028, 8, 25, 23)) == london(2028, 8, 29, 8, 30)


def test_before_the_first_term_the_fail_safe_applies_too() -> None:
    assert not SCHOOLS.covers(date(2025, 8, 20))
    assert SCHOOLS.is_school_day(date(2025, 8, 20))


def test_with_no_term_dates_every_working_weekday_is_a_school_day() -> None:
    schools = SchoolCalendar()

    assert schools.is_school_day(date(2026, 10, 28))
    assert not schools.is_school_day(date(2026, 12, 28))  # Boxing Day's substitute
    assert schools.next_school_day_start(london(2026, 12, 24, 12)) == london(2026, 12, 29, 8, 30)


def test_a_closure_beyond_the_term_dates_still_closes() -> None:
    schools = SchoolCalendar(
        terms=(Term(date(2026, 9, 1), date(2026, 10, 23)),),
        closures=frozenset({date(2026, 11, 2)}),
    )

    assert not schools.is_school_day(date(2026, 11, 2))
    assert schools.is_school_day(date(2026, 11, 3))


# -- the calendar refuses what cannot be a calendar --------------------------------------------


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"timezone": "Europe/Londn"}, "unknown timezone"),
        ({"school_start": time(8, 30, tzinfo=UTC)}, "naive wall-clock time"),
        ({"terms": (Term(date(2026, 9, 4), date(2026, 9, 1)),)}, "ends .* before it starts"),
        (
            {
                "terms": (
                    Term(date(2026, 9, 1), date(2026, 10, 23)),
                    Term(date(2026, 10, 23), date(2026, 12, 18)),
                )
            },
            "overlaps",
        ),
        ({"closures": frozenset({datetime(2026, 9, 1, tzinfo=UTC)})}, "datetime.date values"),
    ],
)
def test_a_calendar_that_cannot_be_is_refused(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SchoolCalendar(**changes)  # type: ignore[arg-type]


def test_terms_given_out_of_order_are_kept_in_order() -> None:
    later = Term(date(2026, 11, 2), date(2026, 12, 18))
    earlier = Term(date(2026, 9, 1), date(2026, 10, 23))

    assert SchoolCalendar(terms=(later, earlier)).terms == (earlier, later)


# -- a property: the answer is the first school-day start after the moment ---------------------


@settings(max_examples=200, deadline=None)
@given(
    st.datetimes(
        min_value=datetime(2025, 6, 1),
        max_value=datetime(2028, 12, 31),
        timezones=st.just(LONDON),
    )
)
def test_the_due_time_is_the_first_school_day_start_strictly_after_the_moment(
    moment: datetime,
) -> None:
    due = SCHOOLS.next_school_day_start(moment)

    assert due.astimezone(UTC) > moment.astimezone(UTC)
    assert due.time() == time(8, 30)
    assert SCHOOLS.is_school_day(due.date())
    day = moment.astimezone(LONDON).date()
    while day < due.date():
        if SCHOOLS.is_school_day(day):  # only today, whose start had passed, may be skipped
            assert day == moment.astimezone(LONDON).date()
            assert SCHOOLS.school_day_start(day).astimezone(UTC) <= moment.astimezone(UTC)
        day += timedelta(days=1)


# -- the term-dates file -----------------------------------------------------------------------


def test_the_shipped_term_dates_cover_three_academic_years_with_inset_days() -> None:
    term_dates = load_term_dates()

    assert DEFAULT_TERM_DATES_FILE.name == "term_dates.yaml"
    assert "SYNTHETIC" in DEFAULT_TERM_DATES_FILE.read_text(encoding="utf-8")
    assert len(term_dates.terms) == 18  # six half terms a year
    assert term_dates.terms[0].first_day == date(2025, 9, 1)
    assert term_dates.terms[-1].last_day == date(2028, 7, 21)
    assert all(
        term_dates.terms[0].first_day <= day <= term_dates.terms[-1].last_day
        for day in term_dates.closures
    )
    assert all(day.weekday() < 5 for day in term_dates.closures)
    assert all(term.first_day.weekday() < 5 for term in term_dates.terms)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "terms.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_term_dates_file_is_read_as_written(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "terms:\n"
        "  - {name: autumn 2, first_day: 2026-11-02, last_day: 2026-12-18}\n"
        "  - {first_day: '2026-09-01', last_day: 2026-10-23}\n"
        "closures: [2026-09-01]\n",
    )

    assert load_term_dates(path) == TermDates(
        terms=(
            Term(date(2026, 9, 1), date(2026, 10, 23)),
            Term(date(2026, 11, 2), date(2026, 12, 18)),
        ),
        closures=frozenset({date(2026, 9, 1)}),
    )


def test_closures_may_be_left_out_or_empty(tmp_path: Path) -> None:
    path = write(tmp_path, "terms:\n  - {first_day: 2026-09-01, last_day: 2026-10-23}\nclosures:\n")

    assert load_term_dates(path).closures == frozenset()


TERM = "  - {first_day: 2026-09-01, last_day: 2026-10-23}\n"

MALFORMED = {
    "unknown top-level key": (
        "terms:\n" + TERM + "holidays: []\n",
        3,
        "unknown key 'holidays' (the keys are: terms, closures)",
    ),
    "unknown term key": (
        "terms:\n  - {first_day: 2026-09-01, last_day: 2026-10-23, inset: 2026-09-01}\n",
        2,
        "terms[0]: unknown key 'inset'",
    ),
    "last day before first": (
        "terms:\n  - first_day: 2026-10-23\n    last_day: 2026-09-01\n",
        3,
        "terms[0]: last_day (2026-09-01) is before first_day (2026-10-23)",
    ),
    "overlapping terms": (
        "terms:\n" + TERM + "  - {first_day: 2026-10-01, last_day: 2026-12-18}\n",
        3,
        "the term 2026-10-01 to 2026-12-18 overlaps the term 2026-09-01 to 2026-10-23",
    ),
    "not a date": (
        "terms:\n  - {first_day: 2026-09-31, last_day: 2026-10-23}\n",
        2,
        "terms[0].first_day: '2026-09-31' is not a date",
    ),
    "a date and time": (
        "terms:\n" + TERM + "closures: [2026-09-01 08:30]\n",
        3,
        "closures[0]: '2026-09-01 08:30' is not a date",
    ),
    "missing last day": (
        "terms:\n  - {first_day: 2026-09-01}\n",
        2,
        "terms[0]: 'last_day' is required",
    ),
    "duplicate key": (
        "terms:\n  - {first_day: 2026-09-01, first_day: 2026-09-02, last_day: 2026-10-23}\n",
        2,
        "terms[0]: duplicate key 'first_day'",
    ),
    "no terms": ("closures: []\n", 1, "needs 'terms'"),
    "empty terms": ("terms: []\n", 1, "list at least one term"),
    "terms not a list": ("terms: 2026-09-01\n", 1, "terms must be a list"),
    "not a mapping": ("- 2026-09-01\n", 1, "must be a mapping of terms, closures"),
    "YAML syntax error": ("terms:\n  - {first_day: 2026-09-01\n", 3, "not valid YAML"),
    "empty file": ("# nothing yet\n", 1, "the term-dates file is empty"),
}


@pytest.mark.parametrize(("text", "line", "fragment"), MALFORMED.values(), ids=MALFORMED.keys())
def test_a_malformed_term_dates_file_names_file_and_line(
    tmp_path: Path, text: str, line: int, fragment: str
) -> None:
    path = write(tmp_path, text)

    with pytest.raises(ConfigurationError) as raised:
        load_term_dates(path)

    message = raised.value.message
    assert message.startswith(f"{path}:{line}: "), message
    assert fragment in message, message


def test_a_missing_term_dates_file_is_a_configuration_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match=r"absent\.yaml: the term-dates file does not"):
        load_term_dates(tmp_path / "absent.yaml")
