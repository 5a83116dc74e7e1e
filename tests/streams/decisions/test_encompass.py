"""Who is told about a child in a domestic-abuse notification, and what they are told.

The incident is on Friday 6 November 2026, so the school year's ages are counted on 31 August
2026. The acceptance cases of the issue come first, then the edges of the age rule, the blocked
cases (each asks for something instead, never a guessed school) and the minimised content.
"""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from streams.decisions.encompass import (
    ELLIPSIS,
    ENCOMPASS_FIELDS,
    DirectoryEntry,
    EncompassDecision,
    FollowUp,
    ReasonCode,
    Recipient,
    academic_year_start,
    age_in_years,
    brief_circumstances,
    encompass_decision,
)
from streams.decisions.rules.model import DomesticAbuseRules

INCIDENT = date(2026, 11, 6)
RULES = DomesticAbuseRules()
PRIMARY = DirectoryEntry(urn="990001", is_open=True, has_safeguarding_lead=True)
COLLEGE = DirectoryEntry(urn="990002", is_open=True, has_safeguarding_lead=True)


def decide(
    date_of_birth: date | None,
    school: DirectoryEntry | None = None,
    *,
    school_given: bool | None = None,
    home_educated: bool = False,
    rules: DomesticAbuseRules = RULES,
    unborn: bool = False,
) -> EncompassDecision:
    return encompass_decision(
        date_of_birth=date_of_birth,
        incident_date=INCIDENT,
        school_given=school is not None if school_given is None else school_given,
        directory_entry=school,
        home_educated_or_no_school=home_educated,
        rules=rules,
        unborn=unborn,
    )


def born_years_before(years: int, *, month: int = 3) -> date:
    """A birthday in ``month`` (March: the same age on 31 August and on the incident day)."""
    return date(INCIDENT.year - years, month, 1)


# -- the acceptance cases --------------------------------------------------------------


def test_a_seven_year_old_at_a_primary_school_notifies_the_school_only() -> None:
    decision = decide(born_years_before(7), PRIMARY)

    assert decision.recipients == (Recipient.SCHOOL,)
    assert decision.school_urn == "990001"
    assert decision.follow_ups == ()
    assert decision.reason_codes == (ReasonCode.SCHOOL, ReasonCode.SCHOOL_NURSING_OFF)


def test_a_three_year_old_with_no_setting_notifies_health_visiting_only() -> None:
    decision = decide(born_years_before(3))

    assert decision.recipients == (Recipient.HEALTH_VISITING,)
    assert decision.follow_ups == ()  # no school to ask about at three
    assert decision.reason_codes == (ReasonCode.BELOW_SCHOOL_AGE, ReasonCode.HEALTH_VISITING)


def test_a_sixteen_year_old_at_a_college_notifies_the_college() -> None:
    decision = decide(born_years_before(16), COLLEGE)

    assert decision.age_on_31_august == 16
    assert decision.recipients == (Recipient.SCHOOL,)
    assert decision.school_urn == "990002"


def test_a_reception_child_aged_four_at_a_primary_school_notifies_school_and_health() -> None:
    decision = decide(born_years_before(4), PRIMARY)

    assert decision.age_on_incident_date == 4
    assert decision.recipients == (Recipient.SCHOOL, Recipient.HEALTH_VISITING)


def test_a_ten_year_old_educated_at_home_notifies_the_education_team_and_no_school() -> None:
    decision = decide(born_years_before(10), home_educated=True)

    assert decision.recipients == (Recipient.LOCAL_AUTHORITY_EDUCATION,)
    assert decision.school_urn is None
    assert decision.follow_ups == ()


def test_an_eighteen_year_old_notifies_nobody() -> None:
    decision = decide(born_years_before(18), COLLEGE)

    assert decision.recipients == ()
    assert decision.follow_ups == ()
    assert decision.reason_codes == (ReasonCode.TOO_OLD,)


def test_a_missing_school_asks_the_police_and_notifies_no_school() -> None:
    decision = decide(born_years_before(9))

    assert not decision.tells(Recipient.SCHOOL)
    assert decision.follow_ups == (FollowUp.INFORMATION_REQUEST_TO_POLICE,)
    assert ReasonCode.SCHOOL_MISSING in decision.reason_codes


def test_an_unknown_urn_makes_a_mash_task_and_notifies_no_school() -> None:
    decision = decide(born_years_before(9), None, school_given=True)

    assert decision.recipients == ()
    assert decision.school_urn is None
    assert FollowUp.MASH_TASK in decision.follow_ups
    assert ReasonCode.SCHOOL_UNKNOWN in decision.reason_codes


# -- the age rule ------------------------------------------------------------------------------


def test_ages_are_counted_on_the_31_august_on_or_before_the_incident() -> None:
    assert academic_year_start(date(2026, 11, 6)) == date(2026, 8, 31)
    assert academic_year_start(date(2026, 8, 31)) == date(2026, 8, 31)
    assert academic_year_start(date(2026, 8, 30)) == date(2025, 8, 31)


def test_age_in_years_counts_completed_years_and_a_leap_day_birthday_on_1_march() -> None:
    assert age_in_years(date(2020, 2, 29), date(2026, 2, 28)) == 5
    assert age_in_years(date(2020, 2, 29), date(2026, 3, 1)) == 6
    assert age_in_years(date(2026, 9, 1), date(2026, 8, 31)) == -1  # not yet born


def test_a_child_born_on_31_august_is_in_reception_and_one_born_a_day_later_is_not() -> None:
    oldest_in_nursery = decide(date(2022, 9, 1), PRIMARY)
    youngest_in_reception = decide(date(2022, 8, 31), PRIMARY)

    assert oldest_in_nursery.age_on_31_august == 3
    assert not oldest_in_nursery.tells(Recipient.SCHOOL)
    assert ReasonCode.BELOW_SCHOOL_AGE in oldest_in_nursery.reason_codes
    assert youngest_in_reception.age_on_31_august == 4
    assert youngest_in_reception.tells(Recipient.SCHOOL)


def test_a_year_11_pupil_without_a_school_is_asked_about_but_a_sixteen_year_old_is_not() -> None:
    year_11 = decide(date(2010, 9, 1))  # 15 on 31 August 2026, 16 on the incident day
    year_12 = decide(date(2010, 8, 31))  # 16 on 31 August 2026

    assert year_11.follow_ups == (FollowUp.INFORMATION_REQUEST_TO_POLICE,)
    assert year_12.recipients == ()
    assert year_12.follow_ups == ()
    assert year_12.reason_codes[0] == ReasonCode.POST_16_NO_SCHOOL


def test_a_year_13_student_already_eighteen_is_an_adult_and_nobody_is_told() -> None:
    decision = decide(date(2008, 10, 1), COLLEGE)  # 17 on 31 August, 18 on the incident day

    assert decision.age_on_31_august == 17
    assert decision.recipients == ()
    assert decision.reason_codes == (ReasonCode.TOO_OLD,)


def test_the_age_bands_come_from_the_rules() -> None:
    rules = DomesticAbuseRules(
        encompass_from_age=3, encompass_until_age=16, sixth_form_until_age=16
    )

    assert decide(born_years_before(3), PRIMARY, rules=rules).tells(Recipient.SCHOOL)
    seventeen = decide(born_years_before(17), COLLEGE, rules=rules)
    assert not seventeen.tells(Recipient.SCHOOL)
    assert ReasonCode.TOO_OLD in seventeen.reason_codes


# -- health ------------------------------------------------------------------------------------


def test_school_nursing_is_told_of_children_five_and_over_only_when_the_rules_say_so() -> None:
    rules = DomesticAbuseRules(notify_school_nursing=True)

    decision = decide(born_years_before(7), PRIMARY, rules=rules)

    assert decision.recipients == (Recipient.SCHOOL, Recipient.SCHOOL_NURSING)


def test_health_visiting_is_decided_by_the_age_on_the_incident_day() -> None:
    just_five = decide(date(2021, 11, 6), PRIMARY)  # fifth birthday on the incident day
    four = decide(date(2021, 11, 7), PRIMARY)

    assert not just_five.tells(Recipient.HEALTH_VISITING)
    assert four.tells(Recipient.HEALTH_VISITING)


def test_an_unborn_child_notifies_health_visiting_and_no_school() -> None:
    decision = decide(None, unborn=True)

    assert decision.recipients == (Recipient.HEALTH_VISITING,)
    assert decision.follow_ups == ()


# -- blocked: never a guessed school -----------------------------------------------------------


def test_a_closed_school_asks_the_police_and_the_mash_and_notifies_no_school() -> None:
    closed = DirectoryEntry(urn="990018", is_open=False, has_safeguarding_lead=True)

    decision = decide(born_years_before(9), closed)

    assert decision.recipients == ()
    assert decision.follow_ups == (FollowUp.INFORMATION_REQUEST_TO_POLICE, FollowUp.MASH_TASK)
    assert ReasonCode.SCHOOL_CLOSED in decision.reason_codes
    assert "990018" in decision.reasons[0].explanation


def test_a_school_without_a_safeguarding_lead_contact_is_a_mash_task() -> None:
    no_lead = DirectoryEntry(urn="990004", is_open=True, has_safeguarding_lead=False)

    decision = decide(born_years_before(9), no_lead)

    assert decision.recipients == ()
    assert decision.follow_ups == (FollowUp.MASH_TASK,)
    assert ReasonCode.NO_SAFEGUARDING_LEAD in decision.reason_codes


def test_a_sixteen_year_old_at_an_unknown_college_is_asked_about_too() -> None:
    decision = decide(born_years_before(16), None, school_given=True)

    assert decision.follow_ups == (FollowUp.INFORMATION_REQUEST_TO_POLICE, FollowUp.MASH_TASK)


def test_home_educated_yet_with_a_school_named_tells_both_rather_than_guess() -> None:
    decision = decide(born_years_before(9), PRIMARY, home_educated=True)

    assert decision.recipients == (Recipient.SCHOOL, Recipient.LOCAL_AUTHORITY_EDUCATION)


def test_a_directory_entry_without_a_school_named_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="school_given"):
        decide(born_years_before(9), PRIMARY, school_given=False)


# -- no date of birth: age unknown, the safe reading -------------------------------------------


def test_no_date_of_birth_still_notifies_a_known_open_school_and_says_so() -> None:
    decision = decide(None, PRIMARY)

    assert decision.recipients == (Recipient.SCHOOL,)
    assert decision.age_on_31_august is None
    assert decision.follow_ups == (FollowUp.MASH_TASK,)  # a person decides on health
    reason = next(r for r in decision.reasons if r.code is ReasonCode.NO_DATE_OF_BIRTH)
    assert "school is told if it is known and open" in reason.explanation


def test_no_date_of_birth_and_no_school_asks_the_police_and_tells_nobody() -> None:
    decision = decide(None)

    assert decision.recipients == ()
    assert decision.follow_ups == (FollowUp.INFORMATION_REQUEST_TO_POLICE, FollowUp.MASH_TASK)
    assert decision.reason_codes == (ReasonCode.SCHOOL_MISSING, ReasonCode.NO_DATE_OF_BIRTH)


def test_a_date_of_birth_after_the_incident_is_treated_as_unknown() -> None:
    decision = decide(date(2027, 1, 1), PRIMARY)

    assert decision.age_on_incident_date is None
    assert decision.recipients == (Recipient.SCHOOL,)
    assert decision.reason_codes[0] == ReasonCode.DATE_OF_BIRTH_AFTER_INCIDENT


def test_every_decision_gives_a_reason_for_each_recipient() -> None:
    for decision in (decide(born_years_before(4), PRIMARY), decide(born_years_before(10), None)):
        codes = {reason.code.value for reason in decision.reasons}
        assert {recipient.value for recipient in decision.recipients} <= codes
        assert all(reason.explanation for reason in decision.reasons)


# -- what is shared ----------------------------------------------------------------------------


def test_the_shared_fields_are_the_schemes_minimum_declared_once() -> None:
    assert len(ENCOMPASS_FIELDS) == len(set(ENCOMPASS_FIELDS)) == 11
    assert {"given_name", "family_name", "date_of_birth", "child_voice"} <= set(ENCOMPASS_FIELDS)
    assert not any("perpetrator" in name or "adult" in name for name in ENCOMPASS_FIELDS)
    assert "circumstances" not in ENCOMPASS_FIELDS  # only the brief ones
    assert "brief_circumstances" in ENCOMPASS_FIELDS


def test_short_circumstances_are_kept_whole_with_whitespace_tidied() -> None:
    assert brief_circumstances("  Verbal argument;\n\nno injuries. ", 300) == (
        "Verbal argument; no injuries."
    )


def test_long_circumstances_are_cut_at_a_word_with_an_ellipsis() -> None:
    text = "Police attended after neighbours heard shouting at the address late at night."

    brief = brief_circumstances(text, 30)

    assert brief == "Police attended after" + ELLIPSIS
    assert len(brief) <= 30


def test_a_cut_just_after_punctuation_drops_the_punctuation() -> None:
    assert brief_circumstances("Argument, shouting heard", 11) == "Argument" + ELLIPSIS


def test_a_single_word_longer_than_the_limit_is_cut_mid_word() -> None:
    assert brief_circumstances("Aaaaaaaaaaaaaaaaaaaa", 8) == "Aaaaaaa" + ELLIPSIS


def test_a_cut_exactly_at_a_space_keeps_the_whole_last_word() -> None:
    assert brief_circumstances("one two three", 8) == "one two" + ELLIPSIS


@pytest.mark.parametrize("limit", [0, -3, True])
def test_a_limit_below_one_character_is_refused(limit: int) -> None:
    with pytest.raises(ValueError, match="limit"):
        brief_circumstances("text", limit)


@given(st.text(), st.integers(min_value=1, max_value=400))
def test_brief_circumstances_never_exceed_the_limit_and_start_as_the_text(
    text: str, limit: int
) -> None:
    brief = brief_circumstances(text, limit)
    flat = " ".join(text.split())

    assert len(brief) <= limit
    assert flat.startswith(brief.removesuffix(ELLIPSIS))
