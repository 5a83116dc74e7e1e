"""The front door's office calendar: working days, office hours and decision deadlines.

A MASH (multi-agency safeguarding hub) is expected to decide on a contact "within one working day
of receipt". What counts as a working day and when the clock starts are matters of local policy,
so everything here is configurable; the defaults are an English local authority's:

* working days are Monday to Friday, less England bank holidays (including substitute days,
  e.g. Monday 28 December 2026 for Boxing Day falling on a Saturday) and any local closures;
* the office is open 08:30-17:00, Europe/London wall-clock time;
* the last 30 minutes of the day (16:30-17:00) accept urgent work only, so routine work received
  then starts its clock at the next opening;
* from a working day's closing to the next opening the Emergency Duty Team covers, and hands
  that out-of-hours period over at the opening (:meth:`OfficeCalendar.out_of_hours_before`).

The calendar is pure and synchronous: no I/O beyond the bank holiday tables that the ``holidays``
package ships, computed once per year and cached. Every datetime going in must be
timezone-aware (a naive one raises ``ValueError``: guessing its zone is how deadlines go wrong
twice a year), may be in any zone, and is converted; every datetime coming out is aware and in
the calendar's own timezone.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays

__all__ = ["OfficeCalendar", "england_bank_holidays", "utc_instant"]


@functools.cache
def england_bank_holidays(year: int) -> frozenset[date]:
    """England's bank holidays in ``year``, substitute ("observed") days and one-offs included.

    Shared with :mod:`streams.decisions.school_calendar`: schools close on the same days.
    """
    # country_holidays("GB") builds the same object as holidays.UK but is typed: holidays.UK is
    # a lazily loaded name that mypy --strict cannot see, and its constructor is unannotated.
    # A frozenset of plain dates rather than the HolidayBase itself: a HolidayBase silently
    # extends itself to any year it is asked about, which would defeat caching per year.
    return frozenset(holidays.country_holidays("GB", subdiv="ENG", years=year))


def utc_instant(moment: datetime) -> datetime:
    """``moment`` as a UTC instant; a naive datetime is refused (its zone would be a guess)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"naive datetime {moment.isoformat()}: pass a timezone-aware datetime")
    return moment.astimezone(UTC)


def _seconds_into_day(moment: time) -> float:
    return moment.hour * 3600 + moment.minute * 60 + moment.second + moment.microsecond / 1e6


@dataclass(frozen=True)
class OfficeCalendar:
    """When the front door is open, and when a decision on a contact falls due.

    ``opens`` and ``closes`` are naive wall-clock times in ``timezone``; the office is open
    for ``opens <= local time < closes`` on a working day. The final ``urgent_only_minutes``
    before ``closes`` accept urgent work only.
    """

    timezone: str = "Europe/London"
    opens: time = time(8, 30)
    closes: time = time(17, 0)
    urgent_only_minutes: int = 30
    working_weekdays: frozenset[int] = frozenset({0, 1, 2, 3, 4})  # Monday=0
    bank_holidays: bool = True  # England bank holidays (with substitute days) are closed
    extra_closures: frozenset[date] = frozenset()  # local closure days

    def __post_init__(self) -> None:
        # Every configuration error is a ValueError, wrong types included (hence the TRY004
        # waivers): one `except ValueError` catches them all, and a pydantic validator that
        # builds a calendar turns them into validation errors, which it would not for TypeError.
        if not isinstance(self.timezone, str):
            raise ValueError(  # noqa: TRY004
                f"timezone must be an IANA name such as 'Europe/London', got {self.timezone!r}"
            )
        try:
            ZoneInfo(self.timezone)
        # ZoneInfoNotFoundError is a KeyError; a directory such as "Europe" is an OSError and a
        # malformed key such as "" or an absolute path is a ValueError.
        except (ZoneInfoNotFoundError, OSError, ValueError) as exc:
            raise ValueError(f"unknown timezone {self.timezone!r}") from exc
        for name in ("opens", "closes"):
            value = getattr(self, name)
            if not isinstance(value, time):
                raise ValueError(f"{name} must be a datetime.time, got {value!r}")  # noqa: TRY004
            if value.tzinfo is not None:
                # A time carries no date, so its offset cannot follow DST: the zone is `timezone`.
                raise ValueError(f"{name} must be a naive wall-clock time in {self.timezone}")
        if not self.opens < self.closes:
            raise ValueError(f"opens ({self.opens}) must be before closes ({self.closes})")
        minutes = self.urgent_only_minutes
        if isinstance(minutes, bool) or not isinstance(minutes, int):
            raise ValueError(f"urgent_only_minutes must be an int, got {minutes!r}")  # noqa: TRY004
        day_seconds = _seconds_into_day(self.closes) - _seconds_into_day(self.opens)
        # Strictly shorter than the day: otherwise routine work could never start its clock.
        if not 0 <= self.urgent_only_minutes * 60 < day_seconds:
            raise ValueError(
                f"urgent_only_minutes ({self.urgent_only_minutes}) must be at least 0 and less "
                f"than the office day ({self.opens}-{self.closes})"
            )
        weekdays = frozenset(self.working_weekdays)
        if not weekdays or not all(
            isinstance(d, int) and not isinstance(d, bool) and 0 <= d <= 6 for d in weekdays
        ):
            raise ValueError(
                "working_weekdays must be a non-empty set of weekday numbers 0 (Monday) to 6 "
                f"(Sunday), got {sorted(self.working_weekdays)!r}"
            )
        closures = frozenset(self.extra_closures)
        if any(isinstance(d, datetime) or not isinstance(d, date) for d in closures):
            # A datetime never equals a date, so it would silently close nothing.
            raise ValueError("extra_closures must contain datetime.date values only")
        # Normalise a set or list passed at run time, so the calendar stays hashable and immutable.
        object.__setattr__(self, "working_weekdays", weekdays)
        object.__setattr__(self, "extra_closures", closures)

    # -- days -------------------------------------------------------------------------------

    def is_working_day(self, day: date) -> bool:
        """Whether ``day`` is a working weekday that is neither a bank holiday nor a closure.

        An aware datetime is taken as its local date in the calendar's timezone.
        """
        if isinstance(day, datetime):
            # datetime subclasses date but never compares equal to one, so holiday lookups
            # would silently miss: use the local date instead.
            day = self._local(day).date()
        if day.weekday() not in self.working_weekdays or day in self.extra_closures:
            return False
        return not (self.bank_holidays and day in england_bank_holidays(day.year))

    def _next_working_day(self, day: date) -> date:
        return self._working_day_from(day, timedelta(days=1))

    def _previous_working_day(self, day: date) -> date:
        return self._working_day_from(day, timedelta(days=-1))

    def _working_day_from(self, day: date, step: timedelta) -> date:
        """The first working day after ``day`` going by ``step`` (a day forward or back)."""
        day += step
        # Terminates: working_weekdays is non-empty and closures are finite and sparse.
        while not self.is_working_day(day):
            day += step
        return day

    # -- moments ----------------------------------------------------------------------------

    def is_open(self, moment: datetime) -> bool:
        """A working day and ``opens <= local time < closes``."""
        local = self._local(moment)
        return self.is_working_day(local.date()) and self.opens <= local.time() < self.closes

    def accepts_routine_work(self, moment: datetime) -> bool:
        """Open, and before the urgent-only window at the end of the day."""
        local = self._local(moment)
        return self.is_open(local) and local.time() < self._routine_until

    def out_of_hours(self, moment: datetime) -> bool:
        """Not open: a weekend, bank holiday, closure, or outside office hours."""
        return not self.is_open(moment)

    def next_opening(self, moment: datetime) -> datetime:
        """The first opening time (``opens`` on a working day) at or after ``moment``.

        While the office is closed that is the next opening strictly after ``moment``. While it
        is open, today's opening has passed, so the answer is the next working day's opening -
        unless ``moment`` is the opening instant itself, which is returned unchanged.
        """
        local = self._local(moment)
        day = local.date()
        if self.is_working_day(day):
            today = self._at(day, self.opens)
            # Compared as instants: aware datetimes sharing a tzinfo compare by wall clock,
            # which ignores `fold` and so misorders the repeated hour when clocks go back.
            if today.astimezone(UTC) >= local.astimezone(UTC):
                return today
        return self._at(self._next_working_day(day), self.opens)

    def latest_opening(self, moment: datetime) -> datetime:
        """The last opening time (``opens`` on a working day) at or before ``moment``."""
        local = self._local(moment)
        day = local.date()
        if self.is_working_day(day):
            today = self._at(day, self.opens)
            if today.astimezone(UTC) <= local.astimezone(UTC):  # as instants: see next_opening
                return today
        return self._at(self._previous_working_day(day), self.opens)

    def out_of_hours_before(self, moment: datetime) -> tuple[datetime, datetime]:
        """The out-of-hours period that ended at the latest opening at or before ``moment``:
        from the closing of the working day before that opening up to the opening, as
        ``(closed_at, opened_at)``, the end excluded.

        It is what the duty team covered and hands over at the opening: Friday 17:00 to Monday
        08:30 for any moment from Monday's opening until Tuesday's; over a bank holiday weekend,
        from the last working day's closing to the first working day's opening.
        """
        opened_at = self.latest_opening(moment)
        closed_on = self._previous_working_day(opened_at.date())
        return self._at(closed_on, self.closes), opened_at

    def clock_start(self, received: datetime, *, urgent: bool) -> datetime:
        """When the decision clock starts for work received at ``received``.

        At once if the work is urgent and the office is open, or if the office accepts routine
        work at that moment; otherwise at the next opening.
        """
        local = self._local(received)
        # (urgent and open) or accepts routine work, asking whether it is open only once.
        if self.is_open(local) and (urgent or local.time() < self._routine_until):
            return local
        return self.next_opening(local)

    def add_working_days(self, start: datetime, days: int) -> datetime:
        """The same local wall-clock time as ``start`` on the ``days``-th following working day.

        Whole days are counted on the calendar's wall clock, not as 24-hour spans, so 10:00
        stays 10:00 across a clock change. ``days=0`` returns ``start`` (in the calendar's
        timezone) even if it is not a working day. A wall-clock time that does not exist on
        the target day (a spring-forward gap) moves forward by the gap.
        """
        if isinstance(days, bool) or not isinstance(days, int) or days < 0:
            raise ValueError(f"days must be a whole number >= 0, got {days!r}")
        local = self._local(start)
        day = local.date()
        for _ in range(days):
            day = self._next_working_day(day)
        if days == 0:
            return local
        return self._at(day, local.time())

    def decision_due(self, received: datetime, *, urgent: bool) -> datetime:
        """A decision within one working day of receipt: one working day after the clock starts."""
        return self.add_working_days(self.clock_start(received, urgent=urgent), 1)

    # -- helpers ----------------------------------------------------------------------------

    @property
    def _zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)  # ZoneInfo caches instances by key, so this is cheap

    # Cached, from fields that are frozen: asked on every event routed.
    @functools.cached_property
    def _routine_until(self) -> time:
        cutoff = datetime.combine(date.min, self.closes) - timedelta(
            minutes=self.urgent_only_minutes
        )
        return cutoff.time()

    def _local(self, moment: datetime) -> datetime:
        """``moment`` as the same instant in the calendar's timezone; rejects naive input."""
        if not isinstance(moment, datetime):
            raise TypeError(f"expected a timezone-aware datetime, got {type(moment).__name__}")
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ValueError(
                f"naive datetime {moment.isoformat()}: pass a timezone-aware datetime "
                f"(the calendar works in {self.timezone})"
            )
        return moment.astimezone(self._zone)

    def _at(self, day: date, wall: time) -> datetime:
        """``wall`` on ``day`` in the calendar's timezone, as a real instant."""
        # fold=0 picks the first of two repeated wall times; the round trip through UTC turns a
        # wall time that a spring-forward gap skipped into the real instant it denotes.
        naive = datetime.combine(day, wall.replace(tzinfo=None, fold=0))
        return naive.replace(tzinfo=self._zone).astimezone(UTC).astimezone(self._zone)
