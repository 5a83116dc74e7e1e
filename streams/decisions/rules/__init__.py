"""The local authority's threshold rules: levels of need, indicators and required information.

The rules live in a YAML file that an authority can read and change without touching code
(``streams/decisions/rules/default_rules.yaml`` documents the format for a council officer). A
malformed file fails at start-up, in :func:`load_rules`, with a :class:`ConfigurationError` naming
the file and line (``rules.yaml:42: indicator 'x': level must be 1-4``), never on the first matching
event:

* the file is read with PyYAML's composer, so every node keeps its line; duplicate keys and
  unsupported YAML tags are refused while the nodes are turned into plain Python data;
* the data is validated by frozen pydantic models that forbid unknown keys; each validation
  error's location is walked back through the nodes to the line it came from;
* conditions may only name the :data:`FACTS` and only use the operators below, with values of
  the fact's type (and, for facts with a closed set of values, one of those values);
* required-information fields are dotted attribute paths checked against the event models.

A condition is either ``{fact: NAME, OPERATOR: VALUE}`` with exactly one operator, or a
combinator: ``{all: [...]}``, ``{any: [...]}``, ``{not: {...}}``. Operators: ``equals``,
``contains`` (a list fact contains the value), ``any_of_values`` (the fact's value is in the
list, or a list fact shares one with it), ``at_least`` and ``at_most`` (whole numbers). A fact
that is unknown (missing from the mapping, or null) satisfies no operator, except ``equals:
null``; so ``not`` of a test on an unknown fact holds.

:func:`fired_indicators` says which indicators fire on a mapping of facts, each with evidence
built only from fact names and values, never free text (``all`` gives every part's evidence,
``any`` that of each part that held). :func:`missing_information` says which
required items an event lacks, event-level items first, then each child's in child order.
"""

from __future__ import annotations

import difflib
import re
import types
import typing
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from schemas.errors import ConfigurationError
from schemas.models import (
    Child,
    ConcernCategory,
    ConsentEvent,
    ConsentPosition,
    Contact,
    DashRiskLevel,
    EventType,
    IncidentType,
    NotificationChild,
    PoliceNotification,
    ServiceRequested,
)
from streams.decisions.calendar import OfficeCalendar
from streams.decisions.rules.facts import child_facts, event_facts

__all__ = [
    "DEFAULT_RULES_FILE",
    "FACTS",
    "OPERATORS",
    "CalendarRules",
    "Condition",
    "Fact",
    "FiredIndicator",
    "Indicator",
    "MissingItem",
    "RequiredInformation",
    "RequiredItem",
    "Requirements",
    "Rules",
    "fired_indicators",
    "load_rules",
    "missing_information",
]

DEFAULT_RULES_FILE: Path = Path(__file__).with_name("default_rules.yaml")

_ERROR = "rules"  # pydantic error type of this module's own validation errors


# ---------------------------------------------------------------------------------------------
# The facts a condition may test.


@dataclass(frozen=True)
class Fact:
    """What the loader knows about one fact: its value type, where it comes from, its values.

    ``scope`` is ``event`` (from the event itself), ``child`` (from one child of the event) or
    ``history`` (from what the front door already knows about the child). ``values`` is the
    closed set of text values, when there is one.
    """

    value_type: type[object]
    description: str
    scope: Literal["event", "child", "history"]
    is_list: bool = False
    nullable: bool = False
    values: frozenset[str] = frozenset()


def _values(enum: type[Enum]) -> frozenset[str]:
    return frozenset(str(member.value) for member in enum)


#: The only fact names a condition may use; the router computes them for each child of an event.
FACTS: Mapping[str, Fact] = types.MappingProxyType(
    {
        "event_type": Fact(
            str, "contact, police_notification or consent_event", "event", values=_values(EventType)
        ),
        "concern_categories": Fact(
            str,
            "a contact's concern categories",
            "event",
            is_list=True,
            values=_values(ConcernCategory),
        ),
        "immediate_risk": Fact(bool, "the referrer says a child is at immediate risk", "event"),
        "service_requested": Fact(
            str,
            "the service the referrer asks for (contacts only)",
            "event",
            nullable=True,
            values=_values(ServiceRequested),
        ),
        "consent": Fact(
            str,
            "the family's consent position (contacts only)",
            "event",
            nullable=True,
            values=_values(ConsentPosition),
        ),
        "incident_type": Fact(
            str,
            "a police notification's incident type",
            "event",
            nullable=True,
            values=_values(IncidentType),
        ),
        "event_is_domestic_abuse": Fact(
            bool, "a domestic-abuse incident or a contact about domestic abuse", "event"
        ),
        "dash_risk_level": Fact(
            str,
            "the police DASH risk level",
            "event",
            nullable=True,
            values=_values(DashRiskLevel),
        ),
        "dash_score": Fact(int, "yes answers of 24 on the DASH form", "event", nullable=True),
        "marac_referral_made": Fact(bool, "police made a MARAC referral", "event", nullable=True),
        "child_present": Fact(
            bool, "the child was present at the incident", "child", nullable=True
        ),
        "child_age_years": Fact(
            int, "the child's age in completed years when received", "child", nullable=True
        ),
        "child_unborn": Fact(bool, "an unborn child (expected date of delivery only)", "child"),
        "child_under_five": Fact(bool, "an unborn child or a child under five", "child"),
        "history.contacts_12m": Fact(int, "contacts about the child in 12 months", "history"),
        "history.referrals_12m": Fact(int, "referrals about the child in 12 months", "history"),
        "history.domestic_abuse_incidents_12m": Fact(
            int, "domestic-abuse incidents in 12 months, before this event", "history"
        ),
        "history.open_child_protection_plan": Fact(
            bool, "the child has an open child protection plan", "history"
        ),
        "history.open_child_in_need_plan": Fact(
            bool, "the child has an open child-in-need plan", "history"
        ),
        "history.looked_after": Fact(bool, "the child is looked after", "history"),
        "history.early_help_open": Fact(bool, "the family has open early help", "history"),
        "history.strategy_discussions_12m": Fact(
            int, "strategy discussions about the child in 12 months", "history"
        ),
    }
)

#: The operators of a fact condition.
OPERATORS: tuple[str, ...] = ("equals", "contains", "any_of_values", "at_least", "at_most")
_COMBINATORS: tuple[str, ...] = ("all", "any", "not")


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

    @property
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


class Rules(_Model):
    """A validated rules file."""

    version: StrictInt
    calendar: CalendarRules = CalendarRules()
    levels: dict[StrictInt, Text]
    indicators: tuple[Indicator, ...]
    required_information: RequiredInformation = RequiredInformation()

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


# ---------------------------------------------------------------------------------------------
# Loading: YAML nodes -> Python data with a line for every location -> validated Rules.

Location = tuple[str | int, ...]

_SCALARS = SafeConstructor()
_TAG = "tag:yaml.org,2002:"


class _Reader:
    """Turns composed YAML nodes into plain data, remembering the line of every location."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.lines: dict[Location, int] = {}
        self._open: set[int] = set()

    def fail(self, node: Node, message: str) -> ConfigurationError:
        return ConfigurationError(f"{self.file}:{node.start_mark.line + 1}: {message}")

    def read(self, node: Node, at: Location) -> object:
        self.lines.setdefault(at, node.start_mark.line + 1)
        if isinstance(node, ScalarNode):
            return self.scalar(node)
        if node.tag not in (f"{_TAG}seq", f"{_TAG}map"):
            raise self.fail(node, f"unsupported YAML tag {node.tag}")
        if id(node) in self._open:
            raise self.fail(node, "an alias refers to itself")
        self._open.add(id(node))
        try:
            if isinstance(node, SequenceNode):
                items: list[object] = []
                for index, item in enumerate(node.value):
                    items.append(self.read(item, (*at, index)))
                return items
            if isinstance(node, MappingNode):
                return self.mapping(node, at)
            raise self.fail(node, f"unsupported YAML node {node.tag}")
        finally:
            self._open.discard(id(node))

    def mapping(self, node: MappingNode, at: Location) -> dict[object, object]:
        result: dict[object, object] = {}
        first: dict[object, int] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                raise self.fail(key_node, "a key must be a plain word, not a list or mapping")
            if key_node.tag == f"{_TAG}merge":
                raise self.fail(key_node, "YAML merge keys (<<) are not supported: write it out")
            key = self.scalar(key_node)
            line = key_node.start_mark.line + 1
            if key in first:
                where = f"{_dotted(at)}: " if at else ""
                raise self.fail(
                    key_node, f"{where}duplicate key '{key}' (first given on line {first[key]})"
                )
            first[key] = line
            if isinstance(key, str | int):
                self.lines[(*at, key)] = line
                result[key] = self.read(value_node, (*at, key))
            else:
                result[key] = self.read(value_node, at)
        return result

    def scalar(self, node: ScalarNode) -> object:
        if node.tag in (f"{_TAG}int", f"{_TAG}float") and ":" in node.value:
            # YAML 1.1 reads 17:00 as the sexagesimal number 1020; in this file it is a time.
            return node.value
        construct = _SCALAR_TAGS.get(node.tag)
        if construct is None:
            raise self.fail(node, f"unsupported YAML tag {node.tag}")
        return construct(node)


_SCALAR_TAGS: dict[str, Callable[[ScalarNode], object]] = {
    f"{_TAG}str": lambda node: str(node.value),
    f"{_TAG}null": lambda _node: None,
    f"{_TAG}bool": _SCALARS.construct_yaml_bool,
    f"{_TAG}int": _SCALARS.construct_yaml_int,
    f"{_TAG}float": _SCALARS.construct_yaml_float,
    f"{_TAG}timestamp": _SCALARS.construct_yaml_timestamp,
}


def _dotted(loc: Sequence[object]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else f".{part}" if text else str(part)
    return text


def _line(lines: Mapping[Location, int], loc: Sequence[object]) -> int:
    """The line of the deepest location in ``loc`` the file has; unknown steps are skipped."""
    at: Location = ()
    for part in loc:
        if isinstance(part, str | int) and (*at, part) in lines:
            at = (*at, part)
    return lines.get(at, 1)


# Every key the file may use, for "did you mean" suggestions.
_KEYS = sorted(
    {
        field.alias or name
        for model in (
            Rules,
            CalendarRules,
            Indicator,
            Condition,
            RequiredInformation,
            Requirements,
            RequiredItem,
        )
        for name, field in model.model_fields.items()
    }
)


def _message(error: Mapping[str, Any], loc: Location, data: object) -> str:
    """A council officer's message for one pydantic error at ``loc``."""
    label = ""
    rest: Sequence[object] = loc
    if len(loc) >= 2 and loc[0] == "indicators" and isinstance(loc[1], int):
        rest = loc[2:]
        label = f"indicators[{loc[1]}]"
        indicators = data.get("indicators") if isinstance(data, dict) else None
        if isinstance(indicators, list) and loc[1] < len(indicators):
            entry = indicators[loc[1]]
            if isinstance(entry, dict) and isinstance(entry.get("id"), str):
                label = f"indicator '{entry['id']}'"
    kind = error["type"]
    if kind == _ERROR:
        text = str(error["ctx"]["message"])
        if not label and rest:
            text = f"{_dotted(rest)}: {text}"
    elif kind == "extra_forbidden":
        key = str(rest[-1]) if rest else "?"
        where = _dotted(rest[:-1])
        if "when" in rest or "only_if" in rest:
            known = ", ".join((*OPERATORS, *_COMBINATORS))
            text = f"unknown operator '{key}' (use one of: {known})"
            where = "" if label else where
        else:
            text = f"unknown key '{key}'{_suggestion(key, _KEYS)}"
        if where:
            text = f"{where}: {text}"
    elif kind == "missing":
        text = f"'{_dotted(rest)}' is required"
    else:
        detail = str(error["msg"])
        detail = detail.removeprefix("Value error, ")
        detail = detail[:1].lower() + detail[1:]
        text = f"{_dotted(rest)}: {detail}" if rest else detail
    return f"{label}: {text}" if label else text


def load_rules(path: Path = DEFAULT_RULES_FILE) -> Rules:
    """Read and validate a rules file; any problem is a ``ConfigurationError`` "file:line: ..."."""
    file = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigurationError(f"{file}: the rules file does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"{file}: the rules file cannot be read: {exc}") from exc
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        problem = " ".join(filter(None, (exc.context, exc.problem)))
        raise ConfigurationError(f"{file}:{line}: not valid YAML: {problem}") from exc
    except yaml.YAMLError as exc:
        raise ConfigurationError(f"{file}:1: not valid YAML: {exc}") from exc
    if root is None:
        raise ConfigurationError(f"{file}:1: the rules file is empty")
    reader = _Reader(file)
    data = reader.read(root, ())
    if not isinstance(data, dict):
        raise reader.fail(root, "the rules file must be a mapping of version, levels, indicators")
    try:
        return Rules.model_validate(data)
    except ValidationError as exc:
        problems: list[tuple[int, str]] = []
        for error in exc.errors():
            ctx = error.get("ctx") or {}
            loc: Location = (*error["loc"], *ctx.get("at", ()))
            problems.append((_line(reader.lines, loc), _message(error, loc, data)))
        lines = [f"{file}:{line}: {message}" for line, message in sorted(set(problems))]
        raise ConfigurationError("\n".join(lines)) from exc


# ---------------------------------------------------------------------------------------------
# Evaluation.


def _plain(value: object) -> object:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(item) for item in value]
    return value


def _same(actual: object, wanted: object) -> bool:
    """Equality that does not take true for 1 or 1 for true."""
    if wanted is None or actual is None:
        return actual is wanted
    if isinstance(wanted, bool) or isinstance(actual, bool):
        return actual is wanted
    return type(actual) is type(wanted) and actual == wanted


_STATEMENTS = {
    "equals": "{fact} is {value}",
    "contains": "{fact} contains {value}",
    "any_of_values": "{fact} is one of {value}",
    "at_least": "{fact} is at least {value}",
    "at_most": "{fact} is at most {value}",
}


def _describe(condition: Condition) -> str:
    """The condition as a statement, for evidence under ``not``."""
    if condition.all_ is not None:
        return " and ".join(_grouped(item) for item in condition.all_)
    if condition.any_ is not None:
        return " or ".join(_grouped(item) for item in condition.any_)
    if condition.not_ is not None:
        return f"not ({_describe(condition.not_)})"
    operator = condition.operator or "equals"
    statement = _STATEMENTS[operator]
    if operator == "any_of_values" and condition.fact and FACTS[condition.fact].is_list:
        statement = "{fact} contains one of {value}"
    return statement.format(fact=condition.fact, value=_render(getattr(condition, operator)))


def _grouped(condition: Condition) -> str:
    text = _describe(condition)
    return f"({text})" if condition.all_ is not None or condition.any_ is not None else text


def _evidence(condition: Condition, facts: Mapping[str, object]) -> str | None:
    """The evidence that the condition holds on ``facts``, or ``None`` when it does not."""
    if condition.all_ is not None:
        parts = [_evidence(item, facts) for item in condition.all_]
        held = [part for part in parts if part is not None]
        return " and ".join(held) if len(held) == len(parts) else None
    if condition.any_ is not None:
        held = [part for part in (_evidence(item, facts) for item in condition.any_) if part]
        return " and ".join(held) if held else None
    if condition.not_ is not None:
        if _evidence(condition.not_, facts) is not None:
            return None
        return f"not ({_describe(condition.not_)})"
    fact, operator = condition.fact, condition.operator
    if fact is None or operator is None:  # a validated condition always has both
        return None
    test = _TESTS[operator]
    return test(fact, _plain(facts.get(fact)), getattr(condition, operator))


def _equals_evidence(fact: str, actual: object, wanted: Any) -> str | None:
    return f"{fact} is {_render(wanted)}" if _same(actual, wanted) else None


def _contains_evidence(fact: str, actual: object, wanted: Any) -> str | None:
    if isinstance(actual, list) and any(_same(item, wanted) for item in actual):
        return f"{fact} contains {_render(wanted)}"
    return None


def _any_of_values_evidence(fact: str, actual: object, wanted: Any) -> str | None:
    if isinstance(actual, list):
        found = [item for item in actual if any(_same(item, value) for value in wanted)]
        return f"{fact} contains {_render(found)} (one of {_render(wanted)})" if found else None
    if any(_same(actual, value) for value in wanted):
        return f"{fact} is {_render(actual)} (one of {_render(wanted)})"
    return None


def _at_least_evidence(fact: str, actual: object, wanted: Any) -> str | None:
    if isinstance(actual, int) and not isinstance(actual, bool) and actual >= wanted:
        return f"{fact} is {actual} (at least {wanted})"
    return None


def _at_most_evidence(fact: str, actual: object, wanted: Any) -> str | None:
    if isinstance(actual, int) and not isinstance(actual, bool) and actual <= wanted:
        return f"{fact} is {actual} (at most {wanted})"
    return None


_TESTS: dict[str, Callable[[str, object, Any], str | None]] = {
    "equals": _equals_evidence,
    "contains": _contains_evidence,
    "any_of_values": _any_of_values_evidence,
    "at_least": _at_least_evidence,
    "at_most": _at_most_evidence,
}


def fired_indicators(rules: Rules, facts: Mapping[str, object]) -> list[FiredIndicator]:
    """The indicators whose conditions hold on ``facts``, in file order.

    A fact missing from ``facts`` counts as unknown (null).
    """
    fired: list[FiredIndicator] = []
    for indicator in rules.indicators:
        evidence = _evidence(indicator.when, facts)
        if evidence is not None:
            fired.append(
                FiredIndicator(
                    id=indicator.id,
                    description=indicator.description,
                    level=indicator.level,
                    raises_priority=indicator.raises_priority,
                    evidence=evidence,
                )
            )
    return fired


# ---------------------------------------------------------------------------------------------
# Required information.


def _present(record: object, path: str) -> bool:
    value = record
    for part in path.split("."):
        value = getattr(value, part, None)
        if value is None:
            return False
    if isinstance(value, str):
        return bool(value.strip())
    if isinstance(value, list | tuple | set | frozenset | dict):
        return bool(value)
    return True


def _lacks(item: RequiredItem, record: object) -> bool:
    if item.any_of is not None:
        return not any(_present(record, path) for path in item.any_of)
    return not all(_present(record, path) for path in item.all_of or ())


def missing_information(
    rules: Rules, event: Contact | PoliceNotification | ConsentEvent
) -> list[MissingItem]:
    """The required items ``event`` lacks: event-level items first, then each child's in order."""
    if isinstance(event, PoliceNotification):
        requirements = rules.required_information.police_notification
    elif isinstance(event, Contact):
        requirements = rules.required_information.contact
    else:
        requirements = rules.required_information.consent_event
    facts = event_facts(event)
    missing: list[MissingItem] = []
    for item in requirements.event:
        if item.only_if is not None and _evidence(item.only_if, facts) is None:
            continue
        if _lacks(item, event):
            missing.append(
                MissingItem(field=item.fields[0], item=item.item, message=f"{item.item} is missing")
            )
    for index, child in enumerate(event.children):
        facts_of_child = {**facts, **child_facts(child, event.received_at)}
        for item in requirements.per_child:
            if item.only_if is not None and _evidence(item.only_if, facts_of_child) is None:
                continue
            if _lacks(item, child):
                missing.append(
                    MissingItem(
                        field=f"children.{index}.{item.fields[0]}",
                        item=item.item,
                        message=f"child {index + 1}: {item.item} is missing",
                    )
                )
    return missing
