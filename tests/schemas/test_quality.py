"""Data-quality checks: every problem is named by its field and a stable code, never by its value.

A usable event is never rejected for a typo; these tests pin down what counts as a typo (NHS
check digit, postcode and pupil-number shapes, dates that cannot be right) and how it is reported.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from schemas.models import (
    Address,
    Adult,
    Agency,
    Child,
    DataQualityIssue,
    MashTask,
    Referrer,
    TaskKind,
)
from schemas.quality import (
    check_school_urn,
    check_upn,
    data_quality_issues,
    nhs_number_is_valid,
    postcode_is_valid,
)
from tests.helpers import (
    INVALID_NHS_NUMBER,
    RECEIVED,
    VALID_NHS_NUMBER,
    consent_override,
    contact,
    police_notification,
)

RECEIVED_DAY = date(2026, 11, 24)  # RECEIVED (10:00 UTC) is the same day in London (GMT)
NHS_WEIGHTS = range(10, 1, -1)  # the modulus-11 weights of the first nine digits
# The valid number in other scripts' digits: str.isdigit() says yes, but they are not NHS digits.
ARABIC_INDIC_NHS_NUMBER = "".join(chr(0x0660 + int(d)) for d in VALID_NHS_NUMBER)
FULL_WIDTH_NHS_NUMBER = "".join(chr(0xFF10 + int(d)) for d in VALID_NHS_NUMBER)


def child(**fields: object) -> Child:
    """A named child with whatever identifiers the test is about."""
    return Child.model_validate({"given_name": "Amelia", "family_name": "Thornbury", **fields})


def issues_of_child(**fields: object) -> list[tuple[str, str]]:
    """(field, code) of every issue of a contact about one child with these fields."""
    event = contact(children=[child(**fields)])
    return [(issue.field, issue.code) for issue in data_quality_issues(event)]


def prefix_whose_check_digit_is_ten() -> str:
    """The first nine-digit prefix whose modulus-11 check digit would be 10 (no such number)."""
    for number in range(100_000_000, 1_000_000_000):
        prefix = str(number)
        total = sum(int(digit) * weight for digit, weight in zip(prefix, NHS_WEIGHTS, strict=True))
        if 11 - total % 11 == 10:
            return prefix
    raise AssertionError("no nine-digit prefix has check digit 10")


# ---------------------------------------------------------------------------------------------
# A well-formed event has nothing to ask about.


def test_a_well_formed_contact_has_no_issues() -> None:
    assert data_quality_issues(contact()) == []


def test_a_well_formed_police_notification_has_no_issues() -> None:
    assert data_quality_issues(police_notification()) == []


def test_a_well_formed_consent_event_has_no_issues() -> None:
    assert data_quality_issues(consent_override()) == []


def test_events_that_are_not_from_partners_are_not_checked() -> None:
    task = MashTask(
        event_id="task-00000001",
        kind=TaskKind.DEAD_LETTER_REVIEW,
        title="Review",
        sender="gp.synth",
        reason="synthetic",
        reference="dl-00000001",
        created_at=RECEIVED,
    )
    assert data_quality_issues(task) == []


# ---------------------------------------------------------------------------------------------
# NHS numbers: ten digits, the last a modulus-11 check digit.


def test_the_synthetic_test_nhs_number_is_valid() -> None:
    assert nhs_number_is_valid(VALID_NHS_NUMBER)


def test_changing_the_last_digit_makes_the_nhs_number_invalid() -> None:
    assert not nhs_number_is_valid(INVALID_NHS_NUMBER)
    others = [VALID_NHS_NUMBER[:9] + d for d in "0123456789" if d != VALID_NHS_NUMBER[9]]
    assert not any(nhs_number_is_valid(number) for number in others)


@pytest.mark.parametrize("written", ["943 476 5919", "943-476-5919", " 9434765919 "])
def test_an_nhs_number_may_be_written_with_spaces_or_hyphens(written: str) -> None:
    assert nhs_number_is_valid(written)


@pytest.mark.parametrize("number", ["", "943476591", "94347659190", "9434 76591 90"])
def test_an_nhs_number_of_the_wrong_length_is_invalid(number: str) -> None:
    assert not nhs_number_is_valid(number)


@pytest.mark.parametrize(
    "number",
    [
        "94347659I9",
        "943476591x",
        "9434.76591",
        "943476591²",
        ARABIC_INDIC_NHS_NUMBER,
        FULL_WIDTH_NHS_NUMBER,
    ],
)
def test_an_nhs_number_with_anything_but_ascii_digits_is_invalid(number: str) -> None:
    assert not nhs_number_is_valid(number)


def test_a_number_whose_check_digit_computes_to_ten_is_never_valid() -> None:
    prefix = prefix_whose_check_digit_is_ten()

    assert not any(nhs_number_is_valid(prefix + last) for last in "0123456789")


def test_an_invalid_nhs_number_is_reported_on_its_field() -> None:
    assert issues_of_child(nhs_number=INVALID_NHS_NUMBER) == [
        ("children.0.nhs_number", "DQ-NHS-NUMBER")
    ]


@given(st.text())
@example("943476591²")
@example(FULL_WIDTH_NHS_NUMBER)
def test_checking_an_nhs_number_never_raises_for_any_text(text: str) -> None:
    assert isinstance(nhs_number_is_valid(text), bool)


@given(st.text(alphabet=st.characters(categories=("Nd", "No")), min_size=10, max_size=10))
def test_checking_ten_digit_like_characters_never_raises(text: str) -> None:
    assert isinstance(nhs_number_is_valid(text), bool)


@given(st.text(alphabet="0123456789", min_size=9, max_size=9))
def test_nine_digits_have_at_most_one_valid_check_digit(prefix: str) -> None:
    valid = [last for last in "0123456789" if nhs_number_is_valid(prefix + last)]
    assert len(valid) <= 1


# ---------------------------------------------------------------------------------------------
# Postcodes: the shape of a UK postcode.


@pytest.mark.parametrize(
    "postcode", ["SW1A 1AA", "M1 2WD", "b33 8th", "GIR 0AA", "SW1A1AA", "M12WD", "EC1A 1BB"]
)
def test_uk_postcode_shapes_are_valid(postcode: str) -> None:
    assert postcode_is_valid(postcode)


@pytest.mark.parametrize("postcode", ["12345", "ABC DEF", "", "   ", "SW1A", "SW1A 1AAA"])
def test_things_that_are_not_uk_postcodes_are_invalid(postcode: str) -> None:
    assert not postcode_is_valid(postcode)


def test_a_childs_bad_postcode_is_reported_on_the_address() -> None:
    bad = Address(line1="1 Synthetic Road", postcode="12345")
    assert issues_of_child(address=bad) == [("children.0.address.postcode", "DQ-POSTCODE")]


def test_an_adults_bad_postcode_is_reported_on_the_adult() -> None:
    adult = Adult(given_name="Dana", address=Address(postcode="ABC DEF"))
    issues = data_quality_issues(contact(adults=[adult]))
    assert [(i.field, i.code) for i in issues] == [("adults.0.address.postcode", "DQ-POSTCODE")]


def test_a_bad_incident_location_postcode_is_reported_on_the_location() -> None:
    event = police_notification(location=Address(postcode="ABC DEF"))
    issues = data_quality_issues(event)
    assert [(i.field, i.code) for i in issues] == [("location.postcode", "DQ-POSTCODE")]


def test_an_address_without_a_postcode_is_not_a_postcode_problem() -> None:
    assert issues_of_child(address=Address(line1="1 Synthetic Road")) == []


# ---------------------------------------------------------------------------------------------
# Unique pupil numbers and school URNs.


@pytest.mark.parametrize("upn", ["A123456789012", "A12345678901B", "a12345678901b"])
def test_a_letter_eleven_digits_and_a_digit_or_letter_is_a_upn(upn: str) -> None:
    assert list(check_upn("upn", upn)) == []


@pytest.mark.parametrize(
    "upn", ["1234567890123", "A12345678901", "A1234567890123", "AB2345678901C", "A1234567890-1"]
)
def test_anything_else_is_not_a_upn(upn: str) -> None:
    assert [issue.code for issue in check_upn("upn", upn)] == ["DQ-UPN"]


def test_a_bad_upn_is_reported_on_its_field() -> None:
    assert issues_of_child(unique_pupil_number="A1234") == [
        ("children.0.unique_pupil_number", "DQ-UPN")
    ]


@pytest.mark.parametrize("urn", ["99001", "0990001", "099001", "URN990001", "9900012"])
def test_a_school_urn_must_be_six_digits(urn: str) -> None:
    assert [issue.code for issue in check_school_urn("urn", urn, None)] == ["DQ-SCHOOL-URN"]


def test_a_school_urn_not_in_the_directory_is_unknown() -> None:
    issues = data_quality_issues(contact(children=[child(school_urn="990099")]), {"990001"})
    assert [(i.field, i.code) for i in issues] == [
        ("children.0.school_urn", "DQ-SCHOOL-URN-UNKNOWN")
    ]


def test_a_school_urn_in_the_directory_is_known() -> None:
    assert data_quality_issues(contact(children=[child(school_urn="990001")]), {"990001"}) == []


def test_without_a_directory_a_well_formed_urn_is_not_looked_up() -> None:
    assert data_quality_issues(contact(children=[child(school_urn="990099")]), None) == []


def test_a_malformed_urn_is_a_format_problem_not_an_unknown_school() -> None:
    issues = list(check_school_urn("urn", "12345", {"990001"}))
    assert [issue.code for issue in issues] == ["DQ-SCHOOL-URN"]


# ---------------------------------------------------------------------------------------------
# Dates of birth and delivery, judged on the day of receipt in England.


def test_a_date_of_birth_after_the_day_of_receipt_is_in_the_future() -> None:
    assert issues_of_child(date_of_birth=RECEIVED_DAY + timedelta(days=1)) == [
        ("children.0.date_of_birth", "DQ-DOB-FUTURE")
    ]


def test_a_baby_born_on_the_day_of_receipt_is_not_in_the_future() -> None:
    assert issues_of_child(date_of_birth=RECEIVED_DAY) == []


def test_the_day_of_receipt_is_the_day_in_london_not_in_utc() -> None:
    # 23:30 UTC on 31 March 2026 is 00:30 BST on 1 April: a birth that day has happened.
    late_utc = datetime(2026, 3, 31, 23, 30, tzinfo=UTC)

    born_that_day = contact(received_at=late_utc, children=[child(date_of_birth=date(2026, 4, 1))])
    born_next_day = contact(received_at=late_utc, children=[child(date_of_birth=date(2026, 4, 2))])

    assert data_quality_issues(born_that_day) == []
    assert [i.code for i in data_quality_issues(born_next_day)] == ["DQ-DOB-FUTURE"]


def test_a_date_of_birth_more_than_25_years_ago_is_reported() -> None:
    assert issues_of_child(date_of_birth=date(2000, 1, 1)) == [
        ("children.0.date_of_birth", "DQ-DOB-AGE")
    ]


def test_a_young_person_of_24_is_within_age() -> None:
    assert issues_of_child(date_of_birth=date(2002, 6, 1)) == []


def test_age_is_counted_in_completed_years_to_the_day() -> None:
    turned_26_today = RECEIVED_DAY.replace(year=RECEIVED_DAY.year - 26)
    turns_26_tomorrow = turned_26_today + timedelta(days=1)

    assert issues_of_child(date_of_birth=turned_26_today) == [
        ("children.0.date_of_birth", "DQ-DOB-AGE")
    ]
    assert issues_of_child(date_of_birth=turns_26_tomorrow) == []


def test_an_expected_delivery_more_than_300_days_away_is_reported() -> None:
    assert issues_of_child(expected_date_of_delivery=RECEIVED_DAY + timedelta(days=301)) == [
        ("children.0.expected_date_of_delivery", "DQ-EDD-RANGE")
    ]


def test_an_expected_delivery_300_days_away_is_plausible() -> None:
    assert issues_of_child(expected_date_of_delivery=RECEIVED_DAY + timedelta(days=300)) == []


def test_an_expected_delivery_long_past_without_a_birth_date_asks_for_the_date_of_birth() -> None:
    assert issues_of_child(expected_date_of_delivery=RECEIVED_DAY - timedelta(days=15)) == [
        ("children.0.expected_date_of_delivery", "DQ-EDD-PASSED")
    ]
    assert issues_of_child(expected_date_of_delivery=RECEIVED_DAY - timedelta(days=14)) == []


# ---------------------------------------------------------------------------------------------
# Police notifications, consent events and the referrer.


@pytest.mark.parametrize("score", [-1, 25, 100])
def test_a_dash_score_outside_0_to_24_is_reported(score: int) -> None:
    issues = data_quality_issues(police_notification(dash_score=score))
    assert [(i.field, i.code) for i in issues] == [("dash_score", "DQ-DASH-SCORE")]


@pytest.mark.parametrize("score", [0, 24, None])
def test_a_dash_score_from_0_to_24_or_none_is_fine(score: int | None) -> None:
    assert data_quality_issues(police_notification(dash_score=score)) == []


def test_an_incident_after_its_notification_was_received_is_reported() -> None:
    event = police_notification(occurred_at=RECEIVED + timedelta(minutes=1))
    issues = data_quality_issues(event)
    assert [(i.field, i.code) for i in issues] == [("occurred_at", "DQ-OCCURRED-AFTER-RECEIPT")]


def test_an_incident_at_the_moment_of_receipt_is_fine() -> None:
    assert data_quality_issues(police_notification(occurred_at=RECEIVED)) == []


def test_a_consent_decision_after_its_receipt_is_reported() -> None:
    event = consent_override(decided_at=RECEIVED + timedelta(hours=1))
    issues = data_quality_issues(event)
    assert [(i.field, i.code) for i in issues] == [("decided_at", "DQ-DECIDED-AFTER-RECEIPT")]


@pytest.mark.parametrize("email", ["dsl.school.example", "dsl@school", "dsl @school.example"])
def test_a_malformed_referrer_email_is_reported(email: str) -> None:
    referrer = Referrer(name="Priya Hartley", agency=Agency.EDUCATION, email=email)
    issues = data_quality_issues(contact(referrer=referrer))
    assert [(i.field, i.code) for i in issues] == [("referrer.email", "DQ-EMAIL")]


def test_a_referrer_without_an_email_is_fine() -> None:
    referrer = Referrer(name="Priya Hartley", agency=Agency.EDUCATION)
    assert data_quality_issues(contact(referrer=referrer)) == []


# ---------------------------------------------------------------------------------------------
# How issues are reported.


def test_the_field_path_names_the_child_by_index() -> None:
    event = contact(
        children=[child(nhs_number=VALID_NHS_NUMBER), child(nhs_number=INVALID_NHS_NUMBER)]
    )
    assert [issue.field for issue in data_quality_issues(event)] == ["children.1.nhs_number"]


def test_the_field_path_names_the_second_child_of_a_police_notification() -> None:
    event = police_notification()
    second = event.children[1].model_copy(update={"nhs_number": INVALID_NHS_NUMBER})
    event = event.model_copy(update={"children": [event.children[0], second]})
    assert [issue.field for issue in data_quality_issues(event)] == ["children.1.nhs_number"]


def test_messages_never_repeat_the_offending_values() -> None:
    bad_values = {
        "nhs_number": INVALID_NHS_NUMBER,
        "unique_pupil_number": "Z98765",
        "school_urn": "54321",
        "date_of_birth": date(2031, 7, 19),
        "address": Address(postcode="QQ99 ZZZZ"),
    }
    bad_email = "referrer-at-nowhere"
    event = contact(
        children=[child(), child(**bad_values)],
        referrer=Referrer(name="Priya Hartley", agency=Agency.EDUCATION, email=bad_email),
    )
    texts = [INVALID_NHS_NUMBER, "Z98765", "54321", "2031", "QQ99", "ZZZZ", bad_email]

    issues: list[DataQualityIssue] = data_quality_issues(event, {"990001"})

    assert len(issues) == 6
    for issue in issues:
        for text in texts:
            assert text not in issue.message
            assert text not in issue.field
