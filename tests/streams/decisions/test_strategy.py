"""Strategy discussions: who must take part, who was missing, and when a record is refused.

A strategy discussion needs children's social care, the police and health, and the child's school
or setting when they have one. These tests pin down the required agencies, the flag a held
discussion carries for those who did not attend, that only a team manager may decide a discussion
will not be held (and must say why), and that no message repeats what was typed.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from schemas.models import (
    Agency,
    Child,
    ChildProtectionConference,
    DiscussionStatus,
    StaffRole,
    StrategyDiscussion,
)
from streams.decisions.strategy import (
    REQUIRED_ALWAYS,
    child_has_school,
    conference_problems,
    discussion_problems,
    held_discussion,
    missing_agencies,
    required_agencies,
)

AT = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
MINIMUM = 8
SOUND_RATIONALE = (
    "Police and health agree the bruising on the baby needs a joint section 47 enquiry today, "
    "with a medical this afternoon."
)
NOT_HELD_RATIONALE = (
    "The injury was explained by the hospital as accidental and the family is already known to "
    "the health visitor; early help instead."
)


def discussion(**changes: object) -> StrategyDiscussion:
    """A sound held discussion with all four agencies and a section 47; override any field."""
    fields: dict[str, object] = {
        "event_id": "sd-event-00000001",
        "discussion_id": "sd-00000001",
        "decision_id": "dec-00000001",
        "work_item_id": "wi-00000001",
        "child_key": "ck-synthetic-1",
        "status": DiscussionStatus.HELD,
        "at": AT,
        "recorded_by": "synthetic.worker",
        "recorded_by_role": StaffRole.MASH_WORKER,
        "invitees": [Agency.LOCAL_AUTHORITY, Agency.POLICE, Agency.HEALTH, Agency.EDUCATION],
        "attendees": [Agency.LOCAL_AUTHORITY, Agency.POLICE, Agency.HEALTH, Agency.EDUCATION],
        "section_47": True,
        "rationale": SOUND_RATIONALE,
    }
    fields.update(changes)
    return StrategyDiscussion.model_validate(fields)


def not_held(**changes: object) -> StrategyDiscussion:
    """A sound decision by a team manager not to hold one; override any field."""
    fields: dict[str, object] = {
        "status": DiscussionStatus.NOT_HELD,
        "recorded_by": "synthetic.manager",
        "recorded_by_role": StaffRole.TEAM_MANAGER,
        "invitees": [],
        "attendees": [],
        "section_47": None,
        "rationale": NOT_HELD_RATIONALE,
    }
    fields.update(changes)
    return discussion(**fields)


def convened(**changes: object) -> StrategyDiscussion:
    """A discussion convened with the three always-required agencies; override any field."""
    fields: dict[str, object] = {
        "status": DiscussionStatus.CONVENED,
        "invitees": list(REQUIRED_ALWAYS),
        "attendees": [],
        "section_47": None,
        "rationale": None,
    }
    fields.update(changes)
    return discussion(**fields)


def fields_of(problems: list[tuple[str, str]]) -> list[str]:
    return [field for field, _ in problems]


# ---------------------------------------------------------------------------------------------
# Who must take part


def test_social_care_police_and_health_are_always_required() -> None:
    assert required_agencies(child_has_school=False) == [
        Agency.LOCAL_AUTHORITY,
        Agency.POLICE,
        Agency.HEALTH,
    ]


def test_the_school_is_required_too_when_the_child_has_one() -> None:
    assert required_agencies(child_has_school=True) == [
        Agency.LOCAL_AUTHORITY,
        Agency.POLICE,
        Agency.HEALTH,
        Agency.EDUCATION,
    ]


@pytest.mark.parametrize(
    ("child", "expected"),
    [
        (Child(school_urn="100000"), True),
        (Child(school_name="Synthetic Primary School"), True),
        (Child(school_urn="100000", school_name="Synthetic Primary School"), True),
        (Child(given_name="Synthetic"), False),
        (Child(school_name="   "), False),
    ],
)
def test_a_child_has_a_school_when_its_urn_or_name_is_given(child: Child, expected: bool) -> None:
    assert child_has_school(child) is expected


def test_social_care_and_police_only_for_a_pupil_misses_health_and_school() -> None:
    held = held_discussion(
        discussion(attendees=[Agency.LOCAL_AUTHORITY, Agency.POLICE]), child_has_school=True
    )
    assert held.missing_agencies == [Agency.HEALTH, Agency.EDUCATION]
    assert discussion_problems(held, MINIMUM) == []  # flagged on the record, not refused


def test_a_child_without_a_school_misses_only_health() -> None:
    held = held_discussion(
        discussion(attendees=[Agency.POLICE, Agency.LOCAL_AUTHORITY]), child_has_school=False
    )
    assert held.missing_agencies == [Agency.HEALTH]


def test_a_full_discussion_misses_no_one_and_other_agencies_stand_in_for_no_one() -> None:
    assert held_discussion(discussion(), child_has_school=True).missing_agencies == []
    held = held_discussion(
        discussion(attendees=[Agency.LOCAL_AUTHORITY, Agency.PROBATION, Agency.HOUSING]),
        child_has_school=False,
    )
    assert held.missing_agencies == [Agency.POLICE, Agency.HEALTH]


def test_only_a_held_discussion_carries_missing_agencies_whatever_the_sender_put_there() -> None:
    sent = convened(missing_agencies=[Agency.POLICE])
    assert held_discussion(sent, child_has_school=True).missing_agencies == []
    sent = not_held(missing_agencies=[Agency.POLICE])
    assert held_discussion(sent, child_has_school=True).missing_agencies == []


def test_filling_missing_agencies_changes_nothing_else() -> None:
    original = discussion(attendees=[Agency.LOCAL_AUTHORITY])
    held = held_discussion(original, child_has_school=True)
    assert held.model_dump(exclude={"missing_agencies"}) == original.model_dump(
        exclude={"missing_agencies"}
    )
    # Still a valid record of the contract, as it will be published.
    assert StrategyDiscussion.model_validate(held.model_dump()) == held


@given(
    attendees=st.lists(st.sampled_from(list(Agency)), max_size=12),
    has_school=st.booleans(),
)
def test_missing_is_exactly_the_required_not_attending_in_the_required_order(
    attendees: list[Agency], has_school: bool
) -> None:
    missing = missing_agencies(attendees, has_school)
    required = required_agencies(has_school)
    assert missing == [agency for agency in required if agency in set(missing)]
    assert set(missing) == set(required) - set(attendees)


# ---------------------------------------------------------------------------------------------
# Not held: a team manager's decision, with its reasons


def test_a_team_managers_reasoned_decision_not_to_hold_one_is_accepted() -> None:
    assert discussion_problems(not_held(), MINIMUM) == []


@pytest.mark.parametrize("role", [role for role in StaffRole if role is not StaffRole.TEAM_MANAGER])
def test_no_one_but_a_team_manager_can_decide_a_discussion_will_not_be_held(
    role: StaffRole,
) -> None:
    assert discussion_problems(not_held(recorded_by_role=role), MINIMUM) == [
        (
            "recorded_by_role",
            "Only a team manager can decide a strategy discussion will not be held",
        )
    ]


@pytest.mark.parametrize("rationale", [None, "see notes", "n/a", "Not needed.", "no no no no"])
def test_not_holding_one_without_reasons_of_substance_is_refused(rationale: str | None) -> None:
    problems = discussion_problems(not_held(rationale=rationale), MINIMUM)
    assert fields_of(problems) == ["rationale"]
    assert "at least 8 words" in problems[0][1]


def test_a_mash_worker_not_holding_one_without_reasons_hears_both_at_once() -> None:
    problems = discussion_problems(
        not_held(recorded_by_role=StaffRole.MASH_WORKER, rationale="as above"), MINIMUM
    )
    assert fields_of(problems) == ["recorded_by_role", "rationale"]


def test_a_discussion_not_held_has_no_attendees_and_starts_no_section_47() -> None:
    problems = discussion_problems(not_held(attendees=[Agency.POLICE], section_47=False), MINIMUM)
    assert fields_of(problems) == ["attendees", "section_47"]


def test_the_minimum_words_come_from_the_rules() -> None:
    assert discussion_problems(not_held(), minimum_words=40) != []
    assert discussion_problems(not_held(rationale="Accidental injury, explained."), 3) == []


# ---------------------------------------------------------------------------------------------
# Held: who attended, whether a section 47 enquiry starts, and why


def test_a_held_discussion_with_its_reasons_is_accepted_with_or_without_a_section_47() -> None:
    assert discussion_problems(discussion(section_47=True), MINIMUM) == []
    assert discussion_problems(discussion(section_47=False), MINIMUM) == []


def test_anyone_may_record_a_held_discussion() -> None:
    for role in StaffRole:
        assert discussion_problems(discussion(recorded_by_role=role), MINIMUM) == []


def test_a_held_discussion_records_who_attended() -> None:
    problems = discussion_problems(discussion(attendees=[]), MINIMUM)
    assert fields_of(problems) == ["attendees"]
    assert "children's social care, the police and health" in problems[0][1]


def test_social_care_leads_a_held_discussion() -> None:
    problems = discussion_problems(discussion(attendees=[Agency.POLICE, Agency.HEALTH]), MINIMUM)
    assert fields_of(problems) == ["attendees"]
    assert "social care leads" in problems[0][1]


def test_a_held_discussion_says_whether_a_section_47_enquiry_starts() -> None:
    problems = discussion_problems(discussion(section_47=None), MINIMUM)
    assert fields_of(problems) == ["section_47"]


@pytest.mark.parametrize("rationale", [None, "see notes", "Agreed.", "s47 s47 s47 s47"])
def test_a_held_discussion_says_why(rationale: str | None) -> None:
    assert fields_of(discussion_problems(discussion(rationale=rationale), MINIMUM)) == ["rationale"]


def test_everything_wrong_with_a_held_discussion_is_said_once_per_field() -> None:
    problems = discussion_problems(
        discussion(attendees=[], section_47=None, rationale="tbc"), MINIMUM
    )
    assert fields_of(problems) == ["attendees", "section_47", "rationale"]


# ---------------------------------------------------------------------------------------------
# Convened: who is invited


def test_a_convened_discussion_names_its_invitees() -> None:
    assert discussion_problems(convened(), MINIMUM) == []
    problems = discussion_problems(convened(invitees=[]), MINIMUM)
    assert fields_of(problems) == ["invitees"]


def test_a_convened_discussion_short_of_a_required_agency_is_still_recorded() -> None:
    assert discussion_problems(convened(invitees=[Agency.LOCAL_AUTHORITY]), MINIMUM) == []


def test_a_convened_discussion_has_no_attendees_yet_and_decides_no_section_47() -> None:
    problems = discussion_problems(convened(attendees=[Agency.POLICE], section_47=True), MINIMUM)
    assert fields_of(problems) == ["attendees", "section_47"]


def test_a_convened_discussion_needs_no_reasons() -> None:
    assert discussion_problems(convened(rationale=None), MINIMUM) == []


# ---------------------------------------------------------------------------------------------
# Messages never repeat what was typed


TYPED = "Zebediah-Quartermaine-4471"


@pytest.mark.parametrize(
    "record",
    [
        not_held(recorded_by_role=StaffRole.MASH_WORKER, rationale=TYPED),
        discussion(attendees=[], section_47=None, rationale=TYPED),
        convened(invitees=[], attendees=[Agency.POLICE], section_47=True, rationale=TYPED),
    ],
)
def test_no_message_repeats_what_was_typed(record: StrategyDiscussion) -> None:
    problems = discussion_problems(record, MINIMUM)
    assert problems
    for field, message in problems:
        assert TYPED.casefold() not in message.casefold(), field
        assert "zebediah" not in message.casefold()
    assert len(set(fields_of(problems))) == len(problems)


# ---------------------------------------------------------------------------------------------
# The initial child protection conference that follows a section 47 enquiry


def conference(**changes: object) -> ChildProtectionConference:
    fields: dict[str, object] = {
        "event_id": "icpc-00000001",
        "discussion_id": "sd-00000001",
        "work_item_id": "wi-00000001",
        "child_key": "ck-synthetic-1",
        "held_at": AT,
        "recorded_by": "synthetic.manager",
        "recorded_by_role": StaffRole.TEAM_MANAGER,
        "attendees": [Agency.LOCAL_AUTHORITY, Agency.POLICE, Agency.HEALTH],
        "child_protection_plan": True,
        "rationale": SOUND_RATIONALE,
    }
    return ChildProtectionConference.model_validate({**fields, **changes})


def test_a_conference_chaired_by_social_care_with_reasons_is_recorded() -> None:
    assert conference_problems(conference(), MINIMUM) == []


def test_a_conference_without_social_care_or_with_a_placeholder_reason_is_refused() -> None:
    refused = conference(attendees=[Agency.POLICE, Agency.HEALTH], rationale="see notes")
    problems = dict(conference_problems(refused, MINIMUM))
    assert set(problems) == {"attendees", "rationale"}
    assert "local authority" in problems["attendees"]
