"""Applying validated rules: which indicators fire, with evidence, and what information is missing.

:func:`fired_indicators` tests each indicator's condition on a mapping of facts (those of
:mod:`streams.decisions.rules.facts`) and gives evidence built only from fact names and values,
never free text. :func:`missing_information` says which required items an event lacks, testing
each item's ``only_if`` on the facts the event itself carries. Pure.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from enum import Enum
from typing import Any

from schemas.models import ConsentEvent, Contact, PoliceNotification
from streams.decisions.rules.facts import FACTS, child_facts, event_facts
from streams.decisions.rules.model import (
    Condition,
    FiredIndicator,
    MissingItem,
    RequiredItem,
    Rules,
    _render,
)

# ---------------------------------------------------------------------------------------------
# Indicators.


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


# Values that are plain as they are: most facts, passed over without a call to _plain.
_SCALARS = frozenset({str, int, bool, type(None)})


def _plain_facts(facts: Mapping[str, object]) -> dict[str, object]:
    """``facts`` with enums as their values and collections as lists, as :func:`_evidence`
    expects them: converted once per evaluation rather than once per condition testing a fact.
    """
    return {
        name: value if type(value) in _SCALARS else _plain(value) for name, value in facts.items()
    }


def _evidence(condition: Condition, facts: Mapping[str, object]) -> str | None:
    """The evidence that the condition holds on ``facts`` (plain: see :func:`_plain_facts`), or
    ``None`` when it does not."""
    fact = condition.fact
    if fact is None:
        return _combined_evidence(condition, facts)
    # A fact test, the most common condition, tested without looking for all, any and not.
    operator = condition.operator
    if operator is None:  # a validated fact test always has one
        return None
    return _TESTS[operator](fact, facts.get(fact), getattr(condition, operator))


def _combined_evidence(condition: Condition, facts: Mapping[str, object]) -> str | None:
    """:func:`_evidence` of an ``all``, ``any`` or ``not``."""
    if condition.all_ is not None:
        held = []
        for item in condition.all_:
            part = _evidence(item, facts)
            if part is None:  # the whole fails: the other parts' evidence would go unused
                return None
            held.append(part)
        return " and ".join(held)
    if condition.any_ is not None:
        held = []
        for item in condition.any_:  # every part: the evidence names each one that held
            part = _evidence(item, facts)
            if part:
                held.append(part)
        return " and ".join(held) if held else None
    if condition.not_ is not None:
        if _evidence(condition.not_, facts) is not None:
            return None
        return f"not ({_describe(condition.not_)})"
    return None  # a validated condition is a fact test or one of these


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
    plain = _plain_facts(facts)
    for indicator in rules.indicators:
        evidence = _evidence(indicator.when, plain)
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
    # event_facts and child_facts give plain values already: no _plain_facts, which would cost
    # more than the odd only_if it serves.
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
