"""Loading a rules file: YAML nodes -> Python data with a line for every location -> ``Rules``.

The file is read with PyYAML's composer rather than ``safe_load`` so that every node keeps its
line; duplicate keys, merge keys and unsupported tags are refused while the nodes are turned into
plain data. The data is then validated by :class:`streams.decisions.rules.model.Rules`, and each
validation error's location is walked back to the line it came from, so that every problem is a
``ConfigurationError`` "file:line: message" a council officer can act on. The term-dates file
the rules name (``domestic_abuse.term_dates_file``, read from the rules file's folder when
relative) is read at load too, so that a mistake in it also stops start-up
(:func:`load_school_calendar` builds the school calendar from it). Pure apart from reading files.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from schemas.errors import ConfigurationError
from streams.decisions.rules.facts import _COMBINATORS, OPERATORS
from streams.decisions.rules.model import (
    _ERROR,
    CalendarRules,
    Condition,
    DecisionRules,
    DomesticAbuseRules,
    Indicator,
    RequiredInformation,
    RequiredItem,
    Requirements,
    Rules,
    _suggestion,
)
from streams.decisions.school_calendar import (
    DEFAULT_TERM_DATES_FILE,
    SchoolCalendar,
    load_term_dates,
)
from streams.decisions.yaml_files import compose_file

# The thresholds as shipped; this module sits beside the file in the package directory.
DEFAULT_RULES_FILE: Path = Path(__file__).with_name("default_rules.yaml")

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
            DecisionRules,
            DomesticAbuseRules,
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
    root = compose_file(path, "the rules file")
    reader = _Reader(file)
    data = reader.read(root, ())
    if not isinstance(data, dict):
        raise reader.fail(root, "the rules file must be a mapping of version, levels, indicators")
    try:
        rules = Rules.model_validate(data)
    except ValidationError as exc:
        problems: list[tuple[int, str]] = []
        for error in exc.errors():
            ctx = error.get("ctx") or {}
            loc: Location = (*error["loc"], *ctx.get("at", ()))
            problems.append((_line(reader.lines, loc), _message(error, loc, data)))
        lines = [f"{file}:{line}: {message}" for line, message in sorted(set(problems))]
        raise ConfigurationError("\n".join(lines)) from exc
    return _with_term_dates_checked(rules, Path(path), reader.lines)


def load_school_calendar(rules: Rules) -> SchoolCalendar:
    """The school calendar of ``rules``, reading its term-dates file (or the shipped default).

    A problem in the term-dates file is a ``ConfigurationError`` naming that file and its line.
    """
    file = rules.domestic_abuse.term_dates_file or DEFAULT_TERM_DATES_FILE
    return rules.school_calendar(load_term_dates(file))


def _with_term_dates_checked(rules: Rules, path: Path, lines: Mapping[Location, int]) -> Rules:
    """``rules`` with a relative term-dates file taken from the rules file's folder, once the
    term dates are read: a malformed term-dates file stops start-up, as the rules file does."""
    domestic_abuse = rules.domestic_abuse
    given = domestic_abuse.term_dates_file
    if given is not None and not given.is_absolute():
        # Relative to the rules file, as an officer keeping the two side by side expects,
        # rather than to whatever folder the worker happens to be started from.
        resolved = domestic_abuse.model_copy(update={"term_dates_file": path.parent / given})
        rules = rules.model_copy(update={"domestic_abuse": resolved})
    try:
        load_school_calendar(rules)
    except ConfigurationError as exc:
        if given is None:
            raise  # the shipped default: its own message says all there is to say
        line = _line(lines, ("domestic_abuse", "term_dates_file"))
        raise ConfigurationError(
            f"{path}:{line}: domestic_abuse.term_dates_file: {exc.message}"
        ) from exc
    return rules
