"""School days, for Operation Encompass: a school is told before the start of the next school day.

Operation Encompass asks that a child's school hears of a domestic-abuse incident before the
child next walks in, so the deadline of a school notification is the *start* of the next school
day after the incident. A school day is a weekday that is

* within one of the authority's terms (half terms and holidays are the gaps between terms),
* not an England bank holiday (the cached tables of :mod:`streams.decisions.calendar`), and
* not a closure day the authority lists (INSET, or "training", days on which pupils stay home).

The term dates come from a small YAML file the authority edits (:func:`load_term_dates`); the
one shipped (``data/term_dates.yaml``) is a synthetic but realistic default for 2025-26 to
2027-28 that an authority replaces with its own. Schools in one area differ by a day or two
(academies set their own dates); the authority's file should give its maintained schools' dates,
and the scheme's duty is to the earliest plausible start, so that is the one to write down.

Fail-safe beyond the file: a date outside the file's terms altogether (before its first term or
after its last) is treated as a school day when it is a weekday that is not a bank holiday or a
listed closure. A school told on a day it turns out to be closed has lost nothing; a school told
after the child is back in class has missed the point of the scheme. So a forgotten update to the
file makes notifications early, never late.

Pure and synchronous apart from :func:`load_term_dates` reading its file. Datetimes going in must
be timezone-aware (naive raises ``ValueError``); those coming out are aware and in the calendar's
own timezone, like :class:`streams.decisions.calendar.OfficeCalendar`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from pathlib import Path
from typing import NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from yaml.constructor import ConstructorError, SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from schemas.errors import ConfigurationError
from streams.decisions.calendar import england_bank_holidays
from streams.decisions.yaml_files import compose_file

__all__ = [
    "DEFAULT_TERM_DATES_FILE",
    "SchoolCalendar",
    "Term",
    "TermDates",
    "load_term_dates",
]

#: The synthetic default the authority replaces (``domestic_abuse.term_dates_file`` in the rules).
DEFAULT_TERM_DATES_FILE: Path = Path(__file__).parent / "data" / "term_dates.yaml"


class Term(NamedTuple):
    """A stretch of school days, first and last day included (a half term is two terms)."""

    first_day: date
    last_day: date


def _overlap_problem(terms: Iterable[Term]) -> str | None:
    """Why these terms are not a calendar, if they are not; ``terms`` sorted by first day."""
    previous: Term | None = None
    for term in terms:
        if term.last_day < term.first_day:
            return f"a term ends ({term.last_day}) before it starts ({term.first_day})"
        if previous is not None and term.first_day <= previous.last_day:
            return (
                f"the term {term.first_day} to {term.last_day} overlaps the term "
                f"{previous.first_day} to {previous.last_day}"
            )
        previous = term
    return None


def _is_plain_date(value: object) -> bool:
    # A datetime is a date but never equals one, so as a closure it would silently close nothing.
    return isinstance(value, date) and not isinstance(value, datetime)


@dataclass(frozen=True)
class TermDates:
    """What a term-dates file says: the terms, in order, and the closure (INSET) days."""

    terms: tuple[Term, ...] = ()
    closures: frozenset[date] = frozenset()


@dataclass(frozen=True)
class SchoolCalendar:
    """When the schools of the authority are open, and so when a school notification falls due.

    ``school_start`` is a naive wall-clock time in ``timezone``. ``terms`` may be given in any
    order (they are kept sorted) but may not overlap; ``closures`` are days off within terms.
    With no terms at all every weekday that is not a bank holiday or closure is a school day
    (the fail-safe of the module docstring, everywhere).
    """

    timezone: str = "Europe/London"
    school_start: time = time(8, 30)
    terms: tuple[Term, ...] = ()
    closures: frozenset[date] = frozenset()

    def __post_init__(self) -> None:
        # As for OfficeCalendar, every configuration error is a ValueError (hence TRY004), so
        # a pydantic validator building a calendar reports it as a validation error.
        if not isinstance(self.timezone, str):
            raise ValueError(  # noqa: TRY004
                f"timezone must be an IANA name such as 'Europe/London', got {self.timezone!r}"
            )
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, OSError, ValueError) as exc:
            raise ValueError(f"unknown timezone {self.timezone!r}") from exc
        if not isinstance(self.school_start, time):
            raise ValueError(  # noqa: TRY004
                f"school_start must be a datetime.time, got {self.school_start!r}"
            )
        if self.school_start.tzinfo is not None:
            raise ValueError(f"school_start must be a naive wall-clock time in {self.timezone}")
        terms = tuple(sorted(Term(*term) for term in self.terms))
        if not all(_is_plain_date(day) for term in terms for day in term):
            raise ValueError("terms must be pairs of datetime.date values (first day, last day)")
        problem = _overlap_problem(terms)
        if problem:
            raise ValueError(problem)
        closures = frozenset(self.closures)
        if not all(_is_plain_date(day) for day in closures):
            raise ValueError("closures must contain datetime.date values only")
        # Normalise lists passed at run time, so the calendar stays hashable and immutable.
        object.__setattr__(self, "terms", terms)
        object.__setattr__(self, "closures", closures)

    @classmethod
    def from_term_dates(
        cls, term_dates: TermDates, *, timezone: str = "Europe/London", school_start: time
    ) -> SchoolCalendar:
        return cls(
            timezone=timezone,
            school_start=school_start,
            terms=term_dates.terms,
            closures=term_dates.closures,
        )

    # -- days -------------------------------------------------------------------------------

    def covers(self, day: date) -> bool:
        """Whether the term dates say anything about ``day``: from the first term's first day
        to the last term's last day. Outside that the fail-safe applies."""
        if not self.terms:
            return False
        return self.terms[0].first_day <= day <= self.terms[-1].last_day

    def in_term(self, day: date) -> bool:
        """Whether ``day`` falls within a term (closures and weekends included)."""
        # A handful of terms a year: a linear scan is simpler than bisecting and fast enough.
        return any(term.first_day <= day <= term.last_day for term in self.terms)

    def is_school_day(self, day: date) -> bool:
        """A weekday, not a bank holiday or closure, within a term (or beyond the term dates).

        An aware datetime is taken as its local date in the calendar's timezone.
        """
        if isinstance(day, datetime):
            day = self._local(day).date()
        if day.weekday() >= 5 or day in self.closures or day in england_bank_holidays(day.year):
            return False
        return self.in_term(day) or not self.covers(day)

    def next_school_day(self, day: date) -> date:
        """The first school day strictly after ``day``."""
        day += timedelta(days=1)
        # Terminates: beyond the last term every weekday but a bank holiday or one of the
        # finitely many closures is a school day.
        while not self.is_school_day(day):
            day += timedelta(days=1)
        return day

    # -- moments ----------------------------------------------------------------------------

    def school_day_start(self, day: date) -> datetime:
        """``school_start`` on ``day``, as an aware datetime in the calendar's timezone."""
        # The round trip through UTC turns a wall time a spring-forward gap skipped into the
        # real instant it denotes (not that schools start at 01:30, but a time is a time).
        naive = datetime.combine(day, self.school_start.replace(fold=0))
        return naive.replace(tzinfo=self._zone).astimezone(UTC).astimezone(self._zone)

    def next_school_day_start(self, moment: datetime) -> datetime:
        """The start of the first school day whose start is strictly after ``moment``.

        An incident at 07:00 on a school day is due at 08:30 that day; one at 08:30 exactly or
        later is due at the next school day's 08:30; one late on a Friday before a bank holiday
        Monday is due on Tuesday.
        """
        local = self._local(moment)
        day = local.date()
        if self.is_school_day(day):
            start = self.school_day_start(day)
            # Compared as instants: aware datetimes sharing a tzinfo compare by wall clock,
            # which ignores `fold` and so misorders the repeated hour when clocks go back.
            if start.astimezone(UTC) > local.astimezone(UTC):
                return start
        return self.school_day_start(self.next_school_day(day))

    # -- helpers ----------------------------------------------------------------------------

    @property
    def _zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def _local(self, moment: datetime) -> datetime:
        """``moment`` as the same instant in the calendar's timezone; rejects naive input."""
        if not isinstance(moment, datetime):
            raise TypeError(f"expected a timezone-aware datetime, got {type(moment).__name__}")
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ValueError(
                f"naive datetime {moment.isoformat()}: pass a timezone-aware datetime "
                f"(the school calendar works in {self.timezone})"
            )
        return moment.astimezone(self._zone)


# ---------------------------------------------------------------------------------------------
# The term-dates file.
#
#     terms:
#       - {name: autumn 1, first_day: 2026-09-01, last_day: 2026-10-23}
#       - ...
#     closures:
#       - 2026-09-01     # INSET day
#
# Read from PyYAML's composed nodes, as the rules file is, so that every problem names its line.

_TAG = "tag:yaml.org,2002:"
_TOP_KEYS = ("terms", "closures")
_TERM_KEYS = ("name", "first_day", "last_day")
_SCALARS = SafeConstructor()


class _TermDatesReader:
    def __init__(self, file: str) -> None:
        self.file = file

    def fail(self, node: Node, message: str) -> ConfigurationError:
        return ConfigurationError(f"{self.file}:{node.start_mark.line + 1}: {message}")

    def mapping(self, node: Node, keys: tuple[str, ...], what: str) -> dict[str, Node]:
        """A mapping's value nodes by key, refusing unknown and repeated keys."""
        if not isinstance(node, MappingNode):
            raise self.fail(node, f"{what} must be a mapping of {', '.join(keys)}")
        values: dict[str, Node] = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, ScalarNode) else None
            if key not in keys:
                raise self.fail(
                    key_node, f"{what}: unknown key '{key}' (the keys are: {', '.join(keys)})"
                )
            if key in values:
                raise self.fail(key_node, f"{what}: duplicate key '{key}'")
            values[key] = value_node
        return values

    def items(self, node: Node, what: str) -> list[Node]:
        if isinstance(node, ScalarNode) and node.tag == f"{_TAG}null":
            return []  # "closures:" with nothing after it: none
        if not isinstance(node, SequenceNode):
            raise self.fail(node, f"{what} must be a list")
        return list(node.value)

    def day(self, node: Node, what: str) -> date:
        """A date, written plain (2026-09-01, which YAML reads as a date) or quoted."""
        if not isinstance(node, ScalarNode):
            raise self.fail(node, f"{what}: a date such as 2026-09-01, not a list or mapping")
        try:
            if node.tag == f"{_TAG}timestamp":
                # YAML reads 2026-09-01 08:30 as a datetime too: a closure is a whole day.
                value = _SCALARS.construct_yaml_timestamp(node)
                if _is_plain_date(value):
                    return value
            elif node.tag == f"{_TAG}str":
                return date.fromisoformat(str(node.value).strip())
        except (ValueError, ConstructorError):
            pass  # 2026-09-31 matches YAML's date pattern but is no date: refused below
        raise self.fail(node, f"{what}: '{node.value}' is not a date such as 2026-09-01")

    def term(self, node: Node, index: int) -> tuple[Term, Node]:
        what = f"terms[{index}]"
        values = self.mapping(node, _TERM_KEYS, what)
        for required in ("first_day", "last_day"):
            if required not in values:
                raise self.fail(node, f"{what}: '{required}' is required")
        name = values.get("name")
        if name is not None and not isinstance(name, ScalarNode):
            raise self.fail(name, f"{what}: name must be text, such as 'autumn 1'")
        first = self.day(values["first_day"], f"{what}.first_day")
        last = self.day(values["last_day"], f"{what}.last_day")
        if last < first:
            raise self.fail(
                values["last_day"], f"{what}: last_day ({last}) is before first_day ({first})"
            )
        return Term(first, last), node

    def read(self, root: Node) -> TermDates:
        values = self.mapping(root, _TOP_KEYS, "the term-dates file")
        if "terms" not in values:
            raise self.fail(root, "the term-dates file needs 'terms', a list of terms")
        terms = [self.term(item, i) for i, item in enumerate(self.items(values["terms"], "terms"))]
        if not terms:
            raise self.fail(values["terms"], "terms: list at least one term")
        terms.sort(key=lambda term_and_node: term_and_node[0])
        for (earlier, _), (later, node) in pairwise(terms):
            if later.first_day <= earlier.last_day:
                raise self.fail(
                    node,
                    f"the term {later.first_day} to {later.last_day} overlaps the term "
                    f"{earlier.first_day} to {earlier.last_day}",
                )
        closures: set[date] = set()
        closure_nodes = self.items(values["closures"], "closures") if "closures" in values else []
        for index, item in enumerate(closure_nodes):
            closures.add(self.day(item, f"closures[{index}]"))
        return TermDates(tuple(term for term, _ in terms), frozenset(closures))


def load_term_dates(path: Path = DEFAULT_TERM_DATES_FILE) -> TermDates:
    """Read a term-dates file; any problem is a ``ConfigurationError`` "file:line: message".

    Refused: unknown or repeated keys, a term without a first or last day, a date that is not
    one, a term that ends before it starts, and overlapping terms.
    """
    root = compose_file(path, "the term-dates file")
    return _TermDatesReader(str(path)).read(root)
