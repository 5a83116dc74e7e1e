"""The rules file's shape: frozen pydantic models and the checks that refuse a malformed file.

Every check on what the file says lives here (known facts and operators, values of each fact's
type, field paths that exist on the event models, levels 1-4, unique indicator ids, office hours
the calendar accepts, domestic-abuse ages in order), so that ``Rules.model_validate`` refuses a
malformed file whole, at load (the term-dates file it names is the loader's to read).
This module's own refusals are pydantic errors of type ``_ERROR`` carrying a council officer's
message; :mod:`streams.decisions.rules.loader` adds the file and line to them and to pydantic's own
errors. Also the results of evaluation, :class:`FiredIndicator` and :class:`MissingItem`. Pure.
"""

from __future__ import annotations

import difflib
import functools
import re
import types
import typing
from collections.abc import Callable, Iterator, Sequence
from datetime import date, datetime, time
from enum import Enum
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from schemas.models import Child, ConsentEvent, Contact, NotificationChild, PoliceNotification
from streams.decisions.calendar import OfficeCalendar
from streams.decisions.rules.facts import FACTS, OPERATORS, Fact
from streams.decisions.school_calendar import SchoolCalendar, TermDates

# The loader tells these errors from pydantic's own by this type, to use their message as written.
_ERROR = "rules"


# ---------------------------------------------------------------------------------------------
# Validation helpers.


def _error(message: str, at: tuple[str | int, ...] = ()) -> PydanticCustomError:
    """This module's own validation error; ``at`` extends its location below the validated value.

    The message goes into the context rather than the template, so braces in it stay as written.
    """
    return PydanticCustomError(_ERROR, "{message}", {"message": message, "at": at})


def _render(value: object) -> str:
    """A configured or fact value as the rules file would spell it."""
    if isinstance(value, Enum):
        value = value.value
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple | frozenset | set):
        return ", ".join(_render(item) for item in value)
    return str(value)


def _suggestion(name: str, known: Sequence[str]) -> str:
    close = difflib.get_close_matches(name, known, n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


_TIME = re.compile(r"^([01]?[0-9]|2[0-3]):([0-5][0-9])$")


def _parse_time(value: object) -> object:
    if isinstance(value, str):
        match = _TIME.match(value.strip())
        if not match:
            raise _error(f"'{value}' is not a 24-hour time such as 08:30 or 17:00")
        return time(int(match.group(1)), int(match.group(2)))
    return value


def _parse_date(value: object) -> object:
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            raise _error(f"'{value}' is not a date such as 2026-12-24") from None
    if isinstance(value, datetime):
        raise _error(f"'{value}' is a date and time; give the date only, such as 2026-12-24")
    return value


_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def _parse_weekdays(value: object) -> object:
    if not isinstance(value, list | tuple | set | frozenset):
        return value
    numbers: set[int] = set()
    for index, item in enumerate(value):
        if isinstance(item, int) and not isinstance(item, bool):
            numbers.add(item)
            continue
        name = str(item).strip().lower()
        matches = [n for n, day in enumerate(_WEEKDAYS) if name in {day, day[:3]}]
        if not matches:
            raise _error(
                f"'{item}' is not a weekday: use mon, tue, wed, thu, fri, sat or sun", (index,)
            )
        numbers.add(matches[0])
    return frozenset(numbers)


Time = Annotated[time, BeforeValidator(_parse_time)]
Day = Annotated[date, BeforeValidator(_parse_date)]
Weekdays = Annotated[frozenset[int], BeforeValidator(_parse_weekdays)]
Text = Annotated[StrictStr, Field(min_length=1, max_length=500)]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# ---------------------------------------------------------------------------------------------
# The file's models.


class CalendarRules(_Model):
    """Office hours: the fields of :class:`streams.decisions.calendar.OfficeCalendar`.

    Weekdays are given by name.
    """

    timezone: StrictStr = "Europe/London"
    opens: Time = time(8, 30)
    closes: Time = time(17, 0)
    urgent_only_minutes: StrictInt = Field(default=30, ge=0)
    working_weekdays: Weekdays = frozenset({0, 1, 2, 3, 4})
    bank_holidays: StrictBool = True
    extra_closures: frozenset[Day] = frozenset()

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, OSError, ValueError):
            raise _error(f"unknown timezone '{value}' (use a name such as Europe/London)") from None
        return value

    @field_validator("working_weekdays")
    @classmethod
    def _real_weekdays(cls, value: frozenset[int]) -> frozenset[int]:
        if not value or not all(0 <= day <= 6 for day in value):
            raise _error("working_weekdays must list at least one of mon, tue ... sun")
        return value

    @model_validator(mode="after")
    def _a_working_day_with_routine_hours(self) -> CalendarRules:
        if not self.opens < self.closes:
            raise _error(
                f"closes ({self.closes:%H:%M}) must be after opens ({self.opens:%H:%M})",
                ("closes",),
            )
        day_minutes = (self.closes.hour * 60 + self.closes.minute) - (
            self.opens.hour * 60 + self.opens.minute
        )
        if self.urgent_only_minutes >= day_minutes:
            raise _error(
                f"urgent_only_minutes ({self.urgent_only_minutes}) must be shorter than the "
                f"office day ({day_minutes} minutes)",
                ("urgent_only_minutes",),
            )
        try:  # whatever else the calendar itself refuses is refused here, at load
            self.office_calendar()
        except ValueError as exc:
            raise _error(str(exc)) from None
        return self

    def office_calendar(self) -> OfficeCalendar:
        """These office hours as the calendar that computes deadlines from them."""
        return OfficeCalendar(
            timezone=self.timezone,
            opens=self.opens,
            closes=self.closes,
            urgent_only_minutes=self.urgent_only_minutes,
            working_weekdays=self.working_weekdays,
            bank_holidays=self.bank_holidays,
            extra_closures=self.extra_closures,
        )


class Condition(_Model):
    """``{fact, <one operator>}``, or one of ``all``, ``any`` (non-empty lists) and ``not``."""

    fact: StrictStr | None = None
    equals: Any = None
    contains: Any = None
    any_of_values: Any = None
    at_least: Any = None
    at_most: Any = None
    all_: tuple[Condition, ...] | None = Field(default=None, alias="all")
    any_: tuple[Condition, ...] | None = Field(default=None, alias="any")
    not_: Condition | None = Field(default=None, alias="not")

    # Cached: the router asks for it for every fact test of every indicator on every event, and
    # the fields it is found from are frozen. (A cached_property, not a private attribute: those
    # are read through pydantic's __getattr__, slower than finding the operator again. A
    # model_copy(update=...) would keep the cached value: conditions are never copied so.)
    @functools.cached_property
    def operator(self) -> str | None:
        """The operator of a fact condition (``None`` for a combinator)."""
        given = [name for name in OPERATORS if name in self.model_fields_set]
        return given[0] if given else None

    @model_validator(mode="after")
    def _one_well_typed_form(self) -> Condition:
        given = self.model_fields_set
        combinators = [alias for alias, name in _COMBINATOR_FIELDS if name in given]
        operators = [name for name in OPERATORS if name in given]
        if combinators:
            _check_combinator(self, combinators, operators)
        else:
            _check_fact_test(self, operators)
        return self


_COMBINATOR_FIELDS = (("all", "all_"), ("any", "any_"), ("not", "not_"))


def _check_combinator(condition: Condition, combinators: list[str], operators: list[str]) -> None:
    first = combinators[0]
    if condition.fact is not None:
        raise _error(
            f"a condition is either a fact test or '{first}', not both: put the fact test "
            f"inside '{first}'",
            (first,),
        )
    if len(combinators) > 1:
        raise _error(
            f"use one of '{first}' and '{combinators[1]}' per condition, nesting one inside "
            "the other",
            (combinators[1],),
        )
    if operators:
        raise _error(f"'{operators[0]}' needs a 'fact' to test", (operators[0],))
    inner = {"all": condition.all_, "any": condition.any_, "not": condition.not_}[first]
    if not inner:
        needs = "a condition" if first == "not" else "at least one condition"
        raise _error(f"'{first}' needs {needs}", (first,))


def _check_fact_test(condition: Condition, operators: list[str]) -> None:
    fact = condition.fact
    if fact is None:
        if operators:
            raise _error(f"'{operators[0]}' needs a 'fact' to test", (operators[0],))
        raise _error(
            "a condition needs 'fact' and one operator (" + ", ".join(OPERATORS) + "), or "
            "'all', 'any' or 'not'"
        )
    spec = FACTS.get(fact)
    if spec is None:
        raise _error(f"unknown fact '{fact}'{_suggestion(fact, list(FACTS))}", ("fact",))
    if not operators:
        raise _error(f"fact '{fact}' needs one operator: " + ", ".join(OPERATORS), ("fact",))
    if len(operators) > 1:
        raise _error(
            f"use one operator per condition ('{operators[0]}' and '{operators[1]}' given); "
            "combine conditions with 'all'",
            (operators[1],),
        )
    operator = operators[0]
    problem = _OPERATOR_PROBLEMS[operator](fact, spec, operator, getattr(condition, operator))
    if problem:
        raise _error(problem, (operator,))


def _value_problem(fact: str, spec: Fact, value: object) -> str | None:
    """Why ``value`` can never be a value (or list element) of the fact, if it cannot."""
    if value is None:
        return None if spec.nullable else f"fact '{fact}' is never null"
    kind = spec.value_type
    if kind is bool and not isinstance(value, bool):
        return f"fact '{fact}' is true or false, not '{_render(value)}'"
    if kind is int and (isinstance(value, bool) or not isinstance(value, int)):
        return f"fact '{fact}' is a whole number, not '{_render(value)}'"
    if kind is str and not isinstance(value, str):
        return f"fact '{fact}' is text, not '{_render(value)}'"
    if spec.values and value not in spec.values:
        known = sorted(spec.values)
        return (
            f"'{value}' is not a value of fact '{fact}'{_suggestion(str(value), known)}; "
            f"its values are: {', '.join(known)}"
        )
    return None


def _equals_problem(fact: str, spec: Fact, operator: str, value: object) -> str | None:
    if spec.is_list:
        return f"'{operator}' cannot test list fact '{fact}': use 'contains' or 'any_of_values'"
    return _value_problem(fact, spec, value)


def _contains_problem(fact: str, spec: Fact, operator: str, value: object) -> str | None:
    if not spec.is_list:
        return f"'{operator}' needs a list fact; '{fact}' is not a list: use 'equals'"
    if value is None:
        return f"'{operator}' needs a value of fact '{fact}', not null"
    return _value_problem(fact, spec, value)


def _any_of_values_problem(fact: str, spec: Fact, operator: str, value: object) -> str | None:
    if not isinstance(value, list | tuple) or not value:
        return f"'{operator}' needs a non-empty list, such as [a, b], not '{_render(value)}'"
    problems = (_value_problem(fact, spec, item) for item in value)
    return next((problem for problem in problems if problem), None)


def _number_problem(fact: str, spec: Fact, operator: str, value: object) -> str | None:
    if spec.value_type is not int or spec.is_list:
        return f"'{operator}' needs a whole-number fact; '{fact}' is not a number"
    if isinstance(value, bool) or not isinstance(value, int):
        return f"'{operator}' needs a whole number, not '{_render(value)}'"
    return None


_OPERATOR_PROBLEMS: dict[str, Callable[[str, Fact, str, object], str | None]] = {
    "equals": _equals_problem,
    "contains": _contains_problem,
    "any_of_values": _any_of_values_problem,
    "at_least": _number_problem,
    "at_most": _number_problem,
}


def _facts_of(
    condition: Condition, at: tuple[str | int, ...] = ()
) -> Iterator[tuple[str, tuple[str | int, ...]]]:
    """Each fact a condition names, with its location below the condition."""
    if condition.fact is not None:
        yield condition.fact, (*at, "fact")
    for alias, items in (("all", condition.all_), ("any", condition.any_)):
        for index, item in enumerate(items or ()):
            yield from _facts_of(item, (*at, alias, index))
    if condition.not_ is not None:
        yield from _facts_of(condition.not_, (*at, "not"))


class Indicator(_Model):
    """One line of the threshold document: a condition that, when true, indicates a level."""

    id: Annotated[StrictStr, Field(pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=64)]
    description: Text
    level: StrictInt
    raises_priority: StrictBool = False
    when: Condition

    @field_validator("level")
    @classmethod
    def _a_level_of_need(cls, value: int) -> int:
        if not 1 <= value <= 4:
            raise _error("level must be 1-4")
        return value


class RequiredItem(_Model):
    """One item of required information: present when any (or all) of its fields are.

    ``item`` is at most 60 characters: it also names the item's code in information requests.
    """

    item: Annotated[StrictStr, Field(min_length=1, max_length=60)]
    any_of: tuple[StrictStr, ...] | None = Field(default=None, min_length=1)
    all_of: tuple[StrictStr, ...] | None = Field(default=None, min_length=1)
    only_if: Condition | None = None

    @model_validator(mode="after")
    def _one_list_of_fields(self) -> RequiredItem:
        if (self.any_of is None) == (self.all_of is None):
            raise _error(
                f"item '{self.item}' needs either 'any_of' or 'all_of' (a list of fields), "
                "not both or neither"
            )
        return self

    @property
    def fields(self) -> tuple[str, ...]:
        return self.any_of or self.all_of or ()


class Requirements(_Model):
    """The required items of one event type: about the event, and about each child."""

    event: tuple[RequiredItem, ...] = ()
    per_child: tuple[RequiredItem, ...] = ()


# The models whose attributes each section's dotted field paths name: (event, child).
_SECTION_MODELS: dict[str, tuple[type[BaseModel], type[BaseModel]]] = {
    "police_notification": (PoliceNotification, NotificationChild),
    "contact": (Contact, Child),
    "consent_event": (ConsentEvent, Child),
}


def _unwrap(annotation: object) -> tuple[object, bool]:
    """The type inside ``X | None`` and ``Annotated[X, ...]``, and whether it is a list."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
            if len(args) != 1:
                return annotation, False
            annotation = args[0]
        elif origin in (list, tuple, set, frozenset):
            return annotation, True
        else:
            return annotation, False


def _path_problem(path: str, model: type[BaseModel], what: str) -> str | None:
    """Why ``path`` is not a dotted attribute path on ``model``, if it is not."""
    current: type[BaseModel] | None = model
    parts = path.split(".")
    for index, part in enumerate(parts):
        if current is None:
            return f"unknown field '{path}': '{parts[index - 1]}' has no parts"
        fields = current.model_fields
        if part not in fields:
            return f"unknown field '{path}' on {what}{_suggestion(part, list(fields))}"
        inner, is_list = _unwrap(fields[part].annotation)
        if is_list and index < len(parts) - 1:
            return f"field '{path}': '{part}' is a list; list it whole" + (
                " (use per_child for each child's details)" if part == "children" else ""
            )
        current = inner if isinstance(inner, type) and issubclass(inner, BaseModel) else None
    return None


_EVENT_SCOPES = frozenset({"event"})
_CHILD_SCOPES = frozenset({"event", "child"})


class RequiredInformation(_Model):
    """What each event type should carry; field paths are checked against the event models."""

    police_notification: Requirements = Requirements()
    contact: Requirements = Requirements()
    consent_event: Requirements = Requirements()

    @model_validator(mode="after")
    def _fields_and_facts_exist(self) -> RequiredInformation:
        for section, (event_model, child_model) in _SECTION_MODELS.items():
            requirements: Requirements = getattr(self, section)
            for part, items, model, scopes in (
                ("event", requirements.event, event_model, _EVENT_SCOPES),
                ("per_child", requirements.per_child, child_model, _CHILD_SCOPES),
            ):
                what = f"a {section.replace('_', ' ')}" + (" child" if part == "per_child" else "")
                for index, item in enumerate(items):
                    kind = "any_of" if item.any_of is not None else "all_of"
                    for position, path in enumerate(item.fields):
                        problem = _path_problem(path, model, what)
                        if problem:
                            raise _error(problem, (section, part, index, kind, position))
                    if item.only_if is None:
                        continue
                    for fact, at in _facts_of(item.only_if):
                        if FACTS[fact].scope not in scopes:
                            known = "the event" + (" and the child" if part == "per_child" else "")
                            raise _error(
                                f"only_if may test only facts about {known}, which the message "
                                f"itself carries; '{fact}' is not one",
                                (section, part, index, "only_if", *at),
                            )
        return self


class DecisionRules(_Model):
    """What a person's decision must say (:mod:`streams.decisions.threshold`,
    :mod:`streams.decisions.strategy`) and when what follows it falls due
    (:mod:`streams.decisions.clocks`).

    The upper bounds only catch a slip of the keyboard (2400 hours for 24): a due time years
    away would never alert, and counting a million working days would stop the worker.
    """

    minimum_rationale_words: StrictInt = Field(default=8, ge=1)
    #: Hours from a decision that needs a strategy discussion to the discussion being held (or a
    #: team manager deciding not to hold one): elapsed hours, nights and weekends included.
    strategy_discussion_due_hours: StrictInt = Field(default=24, ge=1, le=720)
    #: Working days from the strategy discussion that starts a section 47 enquiry to the initial
    #: child protection conference (Working Together: 15).
    conference_due_working_days: StrictInt = Field(default=15, ge=1, le=100)
    #: Minutes for the duty team to acknowledge a duty-team alert before it is re-sent and
    #: escalated to the duty manager: elapsed minutes, day or night.
    duty_alert_acknowledge_minutes: StrictInt = Field(default=15, ge=1, le=1440)


# No child is older than this: at 18 a person is an adult (Children Act 1989, s. 105), and the
# children's services pipeline, Operation Encompass included, is about children.
ADULTHOOD_AGE = 18


class DomesticAbuseRules(_Model):
    """What follows a domestic-abuse police notification: Operation Encompass school and
    health notifications (:mod:`streams.decisions.encompass`, with school days from
    :mod:`streams.decisions.school_calendar`), the MARAC flag (:mod:`streams.decisions.marac`)
    and the daily domestic-abuse meeting.

    Times are wall-clock times in the calendar section's ``timezone``. Ages are whole years;
    a child's school year is decided by the age on the 31 August that starts the academic
    year, so ``encompass_from_age: 4`` is reception and ``encompass_until_age: 16`` (exclusive)
    ends with year 11. The upper bounds only catch a slip of the keyboard.
    """

    #: When the school day starts: a school is told before this on the next school day.
    school_start: Time = time(8, 30)
    #: Reception to year 11: from this age (inclusive) on the 31 August starting the year ...
    encompass_from_age: StrictInt = Field(default=4, ge=2, le=ADULTHOOD_AGE)
    #: ... up to this age (exclusive): compulsory school age ends with year 11.
    encompass_until_age: StrictInt = Field(default=16, ge=3, le=ADULTHOOD_AGE)
    #: Sixth form and college, up to this age (exclusive), only when a school or college is known.
    sixth_form_until_age: StrictInt = Field(default=18, ge=3, le=ADULTHOOD_AGE)
    #: Tell the school nursing service of children aged 5 and over (under 5: health visiting).
    notify_school_nursing: StrictBool = False
    #: The "brief circumstances" a school is told: at most this many characters.
    brief_circumstances_characters: StrictInt = Field(default=300, ge=40, le=2000)
    #: MARAC: a DASH score (yes answers of 24) of this or more flags the child's case.
    marac_dash_score: StrictInt = Field(default=14, ge=1, le=24)
    #: MARAC: this incident is the this-many-th or later for the household within the window.
    marac_repeat_incidents: StrictInt = Field(default=3, ge=2, le=100)
    marac_window_days: StrictInt = Field(default=365, ge=1, le=3660)
    #: The daily multi-agency domestic abuse meeting, on each working day.
    meeting_time: Time = time(9, 30)
    #: The authority's term dates; null for the synthetic default that ships with the front
    #: door. A relative path is read from the rules file's folder.
    term_dates_file: Path | None = None

    @field_validator("term_dates_file", mode="before")
    @classmethod
    def _a_file_name(cls, value: object) -> object:
        if value is not None and (not isinstance(value, str | Path) or not str(value).strip()):
            raise _error("term_dates_file must be a file name, or null for the default")
        return value

    @model_validator(mode="after")
    def _ages_in_order(self) -> DomesticAbuseRules:
        if not self.encompass_from_age < self.encompass_until_age:
            raise _error(
                f"encompass_until_age ({self.encompass_until_age}) must be more than "
                f"encompass_from_age ({self.encompass_from_age})",
                ("encompass_until_age",),
            )
        if self.sixth_form_until_age < self.encompass_until_age:
            raise _error(
                f"sixth_form_until_age ({self.sixth_form_until_age}) must be at least "
                f"encompass_until_age ({self.encompass_until_age})",
                ("sixth_form_until_age",),
            )
        return self


class Rules(_Model):
    """A validated rules file."""

    version: StrictInt
    calendar: CalendarRules = CalendarRules()
    levels: dict[StrictInt, Text]
    indicators: tuple[Indicator, ...]
    required_information: RequiredInformation = RequiredInformation()
    decisions: DecisionRules = DecisionRules()
    domestic_abuse: DomesticAbuseRules = DomesticAbuseRules()

    @field_validator("version")
    @classmethod
    def _a_version_we_read(cls, value: int) -> int:
        if value != 1:
            raise _error(f"version must be 1 (this release reads version 1), not {value}")
        return value

    @field_validator("levels")
    @classmethod
    def _the_four_levels(cls, value: dict[int, str]) -> dict[int, str]:
        if sorted(value) != [1, 2, 3, 4]:
            raise _error("levels must name each of the levels 1, 2, 3 and 4, once")
        return value

    @field_validator("indicators")
    @classmethod
    def _unique_ids(cls, value: tuple[Indicator, ...]) -> tuple[Indicator, ...]:
        seen: dict[str, int] = {}
        for index, indicator in enumerate(value):
            if indicator.id in seen:
                raise _error(
                    f"indicator '{indicator.id}' is defined twice (also indicator number "
                    f"{seen[indicator.id] + 1})",
                    (index, "id"),
                )
            seen[indicator.id] = index
        return value

    def office_calendar(self) -> OfficeCalendar:
        """The office calendar these rules describe."""
        return self.calendar.office_calendar()

    def school_calendar(self, term_dates: TermDates) -> SchoolCalendar:
        """The school calendar these rules describe, with the terms of ``term_dates`` (read
        from ``domestic_abuse.term_dates_file`` by the loader's ``load_school_calendar``)."""
        return SchoolCalendar.from_term_dates(
            term_dates,
            timezone=self.calendar.timezone,
            school_start=self.domestic_abuse.school_start,
        )


class FiredIndicator(_Model):
    """An indicator that fired, with the facts that made it fire (names and values only)."""

    id: str
    description: str
    level: int
    raises_priority: bool
    evidence: str


class MissingItem(_Model):
    """A required item an event lacks; ``field`` is the first field of the item, dotted."""

    field: str
    item: str
    message: str
