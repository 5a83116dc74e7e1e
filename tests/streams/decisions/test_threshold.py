"""Threshold decisions: no decision is recorded without reasons that say something, and its next
step must fit the level of need and the family's consent.

A MASH worker types the rationale; these tests pin down which texts are not reasons (placeholders,
repetition, too few words), that the minimum comes from the rules file, that every message says
what is needed without repeating what was typed, and the rules on level, next step and consent.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.errors import ConfigurationError
from schemas.models import ConsentStatus, NextStep, Queue, StaffRole, ThresholdDecision
from streams.decisions.rules import load_rules
from streams.decisions.threshold import (
    CONSENT_REASON_MINIMUM_WORDS,
    decision_problems,
    rationale_problem,
    standing_decision,
)

DECIDED = datetime(2026, 11, 24, 11, 30, tzinfo=UTC)
MINIMUM = 8
SOUND_RATIONALE = (
    "Repeat domestic abuse with the baby present; mother accepts support, so early help now "
    "with a review if police report another incident."
)
SOUND_CONSENT_REASON = "Asking the father would put the mother and baby at risk."


def decision(**changes: object) -> ThresholdDecision:
    """A sound level 2 early-help decision with consent given; override any field."""
    fields: dict[str, object] = {
        "event_id": "dec-00000001",
        "work_item_id": "wi-00000001",
        "child_key": "ck-synthetic-1",
        "source_event_id": "evt-00000001",
        "queue": Queue.MASH,
        "level": 2,
        "next_step": NextStep.EARLY_HELP,
        "rationale": SOUND_RATIONALE,
        "decided_by": "synthetic.worker",
        "decided_by_role": StaffRole.MASH_WORKER,
        "decided_at": DECIDED,
        "consent": ConsentStatus.GIVEN,
    }
    fields.update(changes)
    return ThresholdDecision.model_validate(fields)


def problem_fields(problems: list[tuple[str, str]]) -> list[str]:
    return [field for field, _ in problems]


# ---------------------------------------------------------------------------------------------
# The rationale


def test_a_rationale_that_says_what_was_weighed_and_why_is_accepted() -> None:
    assert rationale_problem(SOUND_RATIONALE, MINIMUM) is None


PLACEHOLDERS = [
    "n/a",
    "N/A",
    "na",
    "none",
    "None.",
    "see notes",
    "See Notes!",
    "see above",
    "as above",
    "As per notes.",
    "tbc",
    "NFA",
    "n.f.a.",
    "ok",
    "OK.",
    ".",
    "-",
    "x",
    "...",
    "  (see case notes)  ",
    "same as above",
    "nil",
]


@pytest.mark.parametrize("text", PLACEHOLDERS)
def test_a_placeholder_is_not_a_rationale_even_with_a_minimum_of_one_word(text: str) -> None:
    problem = rationale_problem(text, minimum_words=1)
    assert problem is not None
    assert "placeholder" in problem


@settings(max_examples=200)
@given(
    placeholder=st.sampled_from(["n/a", "none", "see notes", "see above", "as above", "tbc"]),
    upper=st.lists(st.booleans(), min_size=10, max_size=10),
    before=st.text(alphabet=" \t\n.,;:!?-()'\"*", max_size=4),
    after=st.text(alphabet=" \t\n.,;:!?-()'\"*", max_size=4),
)
def test_a_placeholder_in_any_case_and_wrapped_in_any_punctuation_is_not_a_rationale(
    placeholder: str, upper: list[bool], before: str, after: str
) -> None:
    cased = "".join(c.upper() if up else c for c, up in zip(placeholder, upper, strict=False))
    assert rationale_problem(before + cased + after, minimum_words=1) is not None


@pytest.mark.parametrize("text", ["", "   ", "\n\t "])
def test_an_empty_rationale_asks_for_the_reasons(text: str) -> None:
    assert rationale_problem(text, MINIMUM) == (
        "Write the reasons for this decision in at least 8 words: what you weighed and why "
        "this step."
    )


@pytest.mark.parametrize(
    "text",
    [
        "aaaaaa",
        "AAAA!!!",
        "test test test",
        "Test, TEST. test!",
        "see notes see notes see notes see notes",
        "ok ok ok ok ok ok ok ok ok ok",
    ],
)
def test_one_letter_word_or_phrase_repeated_is_not_a_rationale_however_long(text: str) -> None:
    problem = rationale_problem(text, minimum_words=1)
    assert problem is not None
    assert "repeated" in problem


def test_too_few_words_asks_for_the_minimum_the_rules_file_sets() -> None:
    text = "Mother is getting support."
    assert rationale_problem(text, minimum_words=MINIMUM) == (
        "Write the reasons for this decision in at least 8 words: what you weighed and why "
        "this step."
    )
    assert rationale_problem(text, minimum_words=4) is None
    assert rationale_problem("Safe.", minimum_words=1) is None


def test_a_minimum_of_one_word_is_asked_for_in_the_singular() -> None:
    assert rationale_problem("", minimum_words=1) == (
        "Write the reasons for this decision in at least 1 word: what you weighed and why "
        "this step."
    )


def test_punctuation_alone_is_no_word_and_a_contraction_is_one() -> None:
    # Eight words, when "-" and "..." are set aside and "don't" is one.
    text = "Parents don't - yet - see the risk to Zoë ..."
    assert rationale_problem(text, minimum_words=8) is None
    assert rationale_problem(text, minimum_words=9) is not None


SAFEGUARDING_WORDS = [
    "mother",
    "father",
    "baby",
    "school",
    "police",
    "health",
    "visitor",
    "attendance",
    "injury",
    "bruise",
    "neglect",
    "support",
    "family",
    "concern",
    "incident",
    "present",
    "history",
    "referral",
    "assessment",
    "strategy",
    "consent",
    "risk",
    "protective",
    "grandmother",
    "housing",
    "weighed",
    "because",
    "threshold",
    "review",
    "unborn",
]


@settings(max_examples=200)
@given(data=st.data(), minimum=st.integers(min_value=1, max_value=12))
def test_any_text_of_at_least_the_minimum_distinct_words_is_accepted(
    data: st.DataObject, minimum: int
) -> None:
    words = data.draw(
        st.lists(
            st.sampled_from(SAFEGUARDING_WORDS),
            min_size=minimum,
            max_size=len(SAFEGUARDING_WORDS),
            unique=True,
        )
    )
    cased = [data.draw(st.sampled_from([word, word.upper(), word.title()])) for word in words]
    separators = data.draw(
        st.lists(st.sampled_from([" ", ", ", "; ", ". ", " - ", "\n"]), min_size=len(words))
    )
    text = "".join(word + sep for word, sep in zip(cased, separators, strict=False))
    assert rationale_problem(text, minimum) is None


@settings(max_examples=300)
@given(text=st.text(max_size=80), minimum=st.integers(min_value=2, max_value=12))
def test_a_message_never_repeats_what_was_typed(text: str, minimum: int) -> None:
    # Every message is one of the few fixed ones for the minimum: none is built from the text.
    fixed = {rationale_problem(example, minimum) for example in ("", "n/a", "aaaa", "Safe.")}
    assert rationale_problem(text, minimum) in fixed | {None}


# ---------------------------------------------------------------------------------------------
# The decision


def test_a_sound_early_help_decision_with_consent_has_no_problems() -> None:
    assert decision_problems(decision(), MINIMUM) == []


def test_a_placeholder_rationale_is_a_problem_on_the_rationale_field() -> None:
    problems = decision_problems(decision(rationale="see notes"), MINIMUM)
    assert problem_fields(problems) == ["rationale"]
    assert "at least 8 words" in problems[0][1]


def test_the_minimum_words_given_is_the_one_applied() -> None:
    short = decision(rationale="Mother accepts support from the children's centre.")
    assert problem_fields(decision_problems(short, minimum_words=MINIMUM)) == ["rationale"]
    assert decision_problems(short, minimum_words=6) == []


def test_early_help_without_a_consent_answer_asks_for_the_familys_consent() -> None:
    problems = decision_problems(decision(consent=None), MINIMUM)
    assert problems == [
        (
            "consent",
            "Early help needs the family's consent: record that consent was given, or that it "
            "was not sought and why.",
        )
    ]


def test_early_help_with_consent_not_sought_for_a_stated_reason_is_sound() -> None:
    sound = decision(
        consent=ConsentStatus.NOT_SOUGHT, consent_not_sought_reason=SOUND_CONSENT_REASON
    )
    assert decision_problems(sound, MINIMUM) == []


@pytest.mark.parametrize("reason", [None, "n/a", "risk", "risk risk risk", "see notes"])
def test_consent_not_sought_without_a_real_reason_asks_why(reason: str | None) -> None:
    problems = decision_problems(
        decision(consent=ConsentStatus.NOT_SOUGHT, consent_not_sought_reason=reason), MINIMUM
    )
    assert problem_fields(problems) == ["consent_not_sought_reason"]
    assert problems[0][1].startswith(
        f"Say why the family's consent was not sought, in at least "
        f"{CONSENT_REASON_MINIMUM_WORDS} words"
    )


def test_not_seeking_consent_needs_its_reason_whatever_the_next_step() -> None:
    assessment = decision(
        level=3, next_step=NextStep.CHILD_IN_NEED_ASSESSMENT, consent=ConsentStatus.NOT_SOUGHT
    )
    assert problem_fields(decision_problems(assessment, MINIMUM)) == ["consent_not_sought_reason"]


@pytest.mark.parametrize("consent", [ConsentStatus.GIVEN, None])
def test_a_reason_consent_was_not_sought_is_a_problem_unless_it_was_not_sought(
    consent: ConsentStatus | None,
) -> None:
    advice = decision(
        level=1,
        next_step=NextStep.ADVICE_AND_SIGNPOSTING,
        consent=consent,
        consent_not_sought_reason=SOUND_CONSENT_REASON,
    )
    problems = decision_problems(advice, MINIMUM)
    assert problem_fields(problems) == ["consent_not_sought_reason"]
    assert "only recorded when consent was not sought" in problems[0][1]


@pytest.mark.parametrize("step", [s for s in NextStep if s is not NextStep.STRATEGY_DISCUSSION])
def test_level_4_without_a_strategy_discussion_is_a_problem_on_the_next_step(
    step: NextStep,
) -> None:
    problems = decision_problems(decision(level=4, next_step=step), MINIMUM)
    assert [(field, message.split(":")[0]) for field, message in problems] == [
        ("next_step", "Level 4 needs a strategy discussion")
    ]


def test_level_4_with_a_strategy_discussion_is_sound_without_consent() -> None:
    section_47 = decision(level=4, next_step=NextStep.STRATEGY_DISCUSSION, consent=None)
    assert decision_problems(section_47, MINIMUM) == []


def test_no_further_action_at_level_3_is_a_problem_and_at_levels_1_and_2_is_not() -> None:
    def closed_at(level: int) -> list[tuple[str, str]]:
        return decision_problems(
            decision(level=level, next_step=NextStep.NO_FURTHER_ACTION, consent=None), MINIMUM
        )

    assert closed_at(1) == []
    assert closed_at(2) == []
    problems = closed_at(3)
    assert problem_fields(problems) == ["next_step"]
    assert problems[0][1].startswith("No further action does not fit level 3")


@settings(max_examples=300)
@given(
    level=st.integers(min_value=1, max_value=4),
    step=st.sampled_from(NextStep),
    consent=st.sampled_from([*ConsentStatus, None]),
    reason=st.sampled_from([None, "n/a", SOUND_CONSENT_REASON]),
    rationale=st.sampled_from(["see notes", "Safe.", SOUND_RATIONALE]),
)
def test_a_form_can_show_each_problem_beside_its_field_one_message_each(
    level: int,
    step: NextStep,
    consent: ConsentStatus | None,
    reason: str | None,
    rationale: str,
) -> None:
    any_decision = decision(
        level=level,
        next_step=step,
        consent=consent,
        consent_not_sought_reason=reason,
        rationale=rationale,
    )
    fields = problem_fields(decision_problems(any_decision, MINIMUM))
    assert len(fields) == len(set(fields))
    assert set(fields) <= set(ThresholdDecision.model_fields)


# ---------------------------------------------------------------------------------------------
# The minimum words in the rules file

RULES_WITHOUT_DECISIONS = """\
version: 1
levels: {1: universal, 2: early help, 3: targeted early help, 4: specialist}
indicators: []
"""


def test_the_default_rules_file_asks_for_eight_words() -> None:
    assert load_rules().decisions.minimum_rationale_words == 8


def test_an_authority_sets_its_own_minimum_and_a_file_without_one_keeps_eight(
    tmp_path: Path,
) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(RULES_WITHOUT_DECISIONS, encoding="utf-8")
    assert load_rules(path).decisions.minimum_rationale_words == 8
    path.write_text(
        RULES_WITHOUT_DECISIONS + "decisions:\n  minimum_rationale_words: 12\n", encoding="utf-8"
    )
    assert load_rules(path).decisions.minimum_rationale_words == 12


@pytest.mark.parametrize("value", ["0", "-3", "eight", "true"])
def test_a_minimum_below_one_word_or_not_a_number_fails_at_load_naming_its_line(
    tmp_path: Path, value: str
) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(
        RULES_WITHOUT_DECISIONS + f"decisions:\n  minimum_rationale_words: {value}\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigurationError) as raised:
        load_rules(path)
    assert raised.value.message.startswith(f"{path}:5: decisions.minimum_rationale_words: ")


def test_the_standing_decision_is_the_newest_unrevised_one_whatever_the_order_read() -> None:
    first = decision(event_id="dec-00000001", decided_at=DECIDED)
    revision = decision(
        event_id="dec-00000002", revises="dec-00000001", decided_at=DECIDED.replace(hour=15)
    )
    correction = decision(
        event_id="dec-00000003", revises="dec-00000002", decided_at=DECIDED.replace(hour=16)
    )

    for order in ([first, revision, correction], [correction, first, revision]):
        assert standing_decision(order) is correction
    assert standing_decision([revision, first]) is revision
    # Each revising the other (bad data): the newest of them all.
    looped = decision(event_id="dec-00000004", revises="dec-00000002", decided_at=DECIDED)
    loop = revision.model_copy(update={"revises": "dec-00000004"})
    assert standing_decision([looped, loop]) is loop
