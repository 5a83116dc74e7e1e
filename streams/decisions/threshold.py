"""Whether a person's threshold decision is fit to record: reasons that say something, and a next
step that fits the level of need and the family's consent.

"No decision without its reason" (the domain brief): the inspection found decisions whose recorded
reason was missing or a placeholder. The contract (:class:`schemas.models.ThresholdDecision`)
refuses only an empty rationale; these are the rules on top, which the staff application checks
before it publishes a decision, showing each message beside its field:

* :func:`rationale_problem`: the rationale is not a placeholder ("see notes", "n/a", "as above"),
  not one word, phrase or character repeated, and has at least the rules file's
  ``decisions.minimum_rationale_words``;
* :func:`decision_problems`: that, plus early help needs the family's consent (or the reason it
  was not sought), level 4 needs a strategy discussion and level 3 is not closed with no further
  action.

Messages say what is needed in words a social worker uses, and never repeat what was typed: they
may reach logs and error pages, which carry no free text about a child. Pure: no Kafka, no Faust.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from enum import Enum, auto
from typing import Protocol, TypeVar

from schemas.models import ConsentStatus, NextStep, ThresholdDecision
from streams.decisions.calendar import utc_instant

#: Words a reason for not seeking consent needs ("asking would risk the child" is four).
CONSENT_REASON_MINIMUM_WORDS = 3

# Everything that is neither a letter nor a digit: set aside inside a word, so that "N/A", "n.a."
# and "NA" are one placeholder and "don't" is one word.
_NOT_ALPHANUMERIC = re.compile(r"[\W_]+")


def _words(text: str) -> list[str]:
    """The words of ``text``, case-folded, without punctuation; punctuation alone is no word."""
    cleaned = (_NOT_ALPHANUMERIC.sub("", token) for token in text.casefold().split())
    return [word for word in cleaned if word]


# What people type to get past a required box, as the words :func:`_words` makes of it. Text that
# is only punctuation (".", "-", "...") has no words at all and is refused the same way.
_PLACEHOLDERS = frozenset(
    " ".join(_words(text))
    for text in (
        "n/a",
        "none",
        "nil",
        "no",
        "yes",
        "ok",
        "okay",
        "fine",
        "x",
        "test",
        "testing",
        "asdf",
        "blah",
        "etc",
        "ditto",
        "nothing",
        "nothing to add",
        "nothing further",
        "no comment",
        "see notes",
        "see case notes",
        "see above",
        "see below",
        "see attached",
        "see file",
        "see record",
        "see referral",
        "as above",
        "as below",
        "as per notes",
        "as per above",
        "as per referral",
        "as discussed",
        "same as above",
        "tbc",
        "tba",
        "tbd",
        "todo",
        "to follow",
        "nfa",
    )
)


class _Lack(Enum):
    """Why a piece of text is not a reason."""

    EMPTY = auto()
    PLACEHOLDER = auto()
    REPEATED = auto()
    TOO_SHORT = auto()


def _repeats_one_phrase(words: list[str]) -> bool:
    """Whether ``words`` is one word or phrase over and over ("test test test")."""
    count = len(words)
    return any(
        count % size == 0 and words == words[:size] * (count // size)
        for size in range(1, count // 2 + 1)
    )


def _lack(text: str, minimum_words: int) -> _Lack | None:
    """What ``text`` lacks to be a reason of at least ``minimum_words`` words, if anything."""
    if not text.strip():
        return _Lack.EMPTY
    words = _words(text)
    if not words or " ".join(words) in _PLACEHOLDERS:
        return _Lack.PLACEHOLDER
    if len(set("".join(words))) == 1 or _repeats_one_phrase(words):
        return _Lack.REPEATED
    if len(words) < minimum_words:
        return _Lack.TOO_SHORT
    return None


def _at_least(count: int) -> str:
    return f"at least {count} word" + ("" if count == 1 else "s")


def _why_not(lack: _Lack, noun: str) -> str:
    """The end of a message: what was wrong, in general terms (never the typed text)."""
    if lack is _Lack.PLACEHOLDER:
        return f" (a placeholder such as 'see notes' or 'n/a' is not a {noun})."
    if lack is _Lack.REPEATED:
        return f" (the same word or letter repeated is not a {noun})."
    return "."


def rationale_problem(text: str, minimum_words: int) -> str | None:
    """None when ``text`` is a rationale with substance; otherwise what the worker should write."""
    lack = _lack(text, minimum_words)
    if lack is None:
        return None
    return (
        f"Write the reasons for this decision in {_at_least(minimum_words)}: what you weighed "
        "and why this step" + _why_not(lack, "rationale")
    )


def substance_problem(text: str, minimum_words: int, what: str) -> str | None:
    """None when ``text`` says something of substance; otherwise a request for ``what`` (e.g.
    "the impact of the incident on this child") in at least ``minimum_words`` words. The same
    test as a rationale's, for the other records people must write in words."""
    lack = _lack(text, minimum_words)
    if lack is None:
        return None
    return f"Write {what} in {_at_least(minimum_words)}" + _why_not(lack, "description")


def _consent_problems(decision: ThresholdDecision) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    reason = decision.consent_not_sought_reason
    if decision.consent is ConsentStatus.NOT_SOUGHT:
        # Not seeking the family's consent is itself a decision, so it carries its reason
        # whatever the next step.
        lack = _lack(reason or "", CONSENT_REASON_MINIMUM_WORDS)
        if lack is not None:
            message = (
                "Say why the family's consent was not sought, in "
                f"{_at_least(CONSENT_REASON_MINIMUM_WORDS)}: for example, that asking would put "
                "the child at risk or harm a police investigation"
            )
            problems.append(("consent_not_sought_reason", message + _why_not(lack, "reason")))
    elif reason is not None:
        problems.append(
            (
                "consent_not_sought_reason",
                "A reason consent was not sought is only recorded when consent was not sought: "
                "record consent as not sought, or clear the reason.",
            )
        )
    if decision.next_step is NextStep.EARLY_HELP and decision.consent is None:
        problems.append(
            (
                "consent",
                "Early help needs the family's consent: record that consent was given, or that "
                "it was not sought and why.",
            )
        )
    return problems


def _next_step_problem(decision: ThresholdDecision) -> str | None:
    if decision.level == 4 and decision.next_step is not NextStep.STRATEGY_DISCUSSION:
        # Level 4 is reasonable cause to suspect significant harm, which calls a strategy
        # discussion (Working Together); no further action at level 4 is caught here too.
        return (
            "Level 4 needs a strategy discussion: choose strategy discussion (section 47) as the "
            "next step, or record a lower level if that is your judgement."
        )
    if decision.level == 3 and decision.next_step is NextStep.NO_FURTHER_ACTION:
        return (
            "No further action does not fit level 3: a significant or recurring concern needs "
            "early help, a child-in-need assessment or a strategy discussion; or record a lower "
            "level if that is your judgement."
        )
    return None


def decision_problems(decision: ThresholdDecision, minimum_words: int) -> list[tuple[str, str]]:
    """Each (field name, message) that keeps ``decision`` from being recorded; empty when none.

    At most one message per field, so a form can show each beside its field.
    """
    problems: list[tuple[str, str]] = []
    rationale = rationale_problem(decision.rationale, minimum_words)
    if rationale is not None:
        problems.append(("rationale", rationale))
    problems.extend(_consent_problems(decision))
    next_step = _next_step_problem(decision)
    if next_step is not None:
        problems.append(("next_step", next_step))
    return problems


class RecordedDecision(Protocol):
    """What telling a standing decision needs of a recorded one: the event or its stored row."""

    @property
    def event_id(self) -> str: ...
    @property
    def revises(self) -> str | None: ...
    @property
    def decided_at(self) -> datetime: ...


DecisionT = TypeVar("DecisionT", bound=RecordedDecision)


def standing_decision(decisions: Sequence[DecisionT]) -> DecisionT:
    """The decision that stands on one work item: the newest of those no other decision revises
    (all of them, if every one is revised); ties go to the greater event id, so the answer does
    not depend on the order the decisions were read in."""
    revised = {decision.revises for decision in decisions if decision.revises}
    heads = [decision for decision in decisions if decision.event_id not in revised]
    return max(
        heads or decisions,
        key=lambda decision: (utc_instant(decision.decided_at), decision.event_id),
    )
