"""Data-quality checks on usable events: pure functions that never reject.

A safeguarding concern never bounces on a typo. Each check returns :class:`DataQualityIssue` items
naming the field (dotted path) and a stable code; the event goes on, the field is not used for
matching, and an information request asks the sender to correct it. Messages never repeat the
field's value: they travel to partners and into logs.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Container, Iterable, Iterator
from datetime import date
from zoneinfo import ZoneInfo

from schemas.models import (
    Address,
    Child,
    ConsentEvent,
    Contact,
    DataQualityIssue,
    Event,
    PoliceNotification,
)

ENGLAND = ZoneInfo("Europe/London")
OLDEST_CHILD_AGE_YEARS = 25  # care leavers and young people with SEND are served to 25
LONGEST_PREGNANCY_DAYS = 300
OVERDUE_BIRTH_DAYS = 14  # past this, the baby has almost certainly been born
DASH_QUESTIONS = 24

_POSTCODE = re.compile(r"^(GIR ?0AA|[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][A-Z]{2})$")
_UPN = re.compile(r"^[A-Z][0-9]{11}[0-9A-Z]$")
_URN = re.compile(r"^[1-9][0-9]{5}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _issue(field: str, code: str, message: str) -> DataQualityIssue:
    return DataQualityIssue(field=field, code=code, message=message)


def nhs_check_digit(first_nine: str) -> int | None:
    """The modulus-11 check digit of nine ASCII digits; None when it would be 10 (no number)."""
    total = sum(
        int(digit) * weight for digit, weight in zip(first_nine, range(10, 1, -1), strict=True)
    )
    check = 11 - total % 11
    if check == 11:
        return 0
    return None if check == 10 else check


def nhs_number_is_valid(value: str) -> bool:
    """Ten digits (spaces or hyphens allowed) whose last digit is the modulus-11 check digit."""
    digits = value.replace(" ", "").replace("-", "")
    # isascii: str.isdigit() also accepts "²" (which int() rejects) and other scripts' digits.
    if len(digits) != 10 or not (digits.isascii() and digits.isdigit()):
        return False
    check = nhs_check_digit(digits[:9])
    return check is not None and check == int(digits[9])


def postcode_is_valid(value: str) -> bool:
    """The shape of a UK postcode (not whether it exists)."""
    return bool(_POSTCODE.match(value.strip().upper()))


def check_nhs_number(field: str, value: str | None) -> Iterator[DataQualityIssue]:
    if value is not None and not nhs_number_is_valid(value):
        yield _issue(
            field,
            "DQ-NHS-NUMBER",
            "NHS number is not 10 digits with a valid modulus-11 check digit",
        )


def check_postcode(field: str, address: Address | None) -> Iterator[DataQualityIssue]:
    if (
        address is not None
        and address.postcode is not None
        and not postcode_is_valid(address.postcode)
    ):
        yield _issue(f"{field}.postcode", "DQ-POSTCODE", "postcode is not a UK postcode")


def check_upn(field: str, value: str | None) -> Iterator[DataQualityIssue]:
    if value is not None and not _UPN.match(value.strip().upper()):
        yield _issue(
            field, "DQ-UPN", "unique pupil number is not a letter, 11 digits and a digit or letter"
        )


def check_school_urn(
    field: str, value: str | None, known_urns: Container[str] | None
) -> Iterator[DataQualityIssue]:
    if value is None:
        return
    urn = value.strip()
    if not _URN.match(urn):
        yield _issue(field, "DQ-SCHOOL-URN", "school URN is not a 6-digit URN")
    elif known_urns is not None and urn not in known_urns:
        yield _issue(field, "DQ-SCHOOL-URN-UNKNOWN", "school URN is not in the school directory")


def age_in_years(born: date, today: date) -> int:
    """Completed years of age on ``today``."""
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def check_child_dates(field: str, child: Child, today: date) -> Iterator[DataQualityIssue]:
    born = child.date_of_birth
    if born is not None:
        if born > today:
            yield _issue(
                f"{field}.date_of_birth", "DQ-DOB-FUTURE", "date of birth is in the future"
            )
        elif age_in_years(born, today) > OLDEST_CHILD_AGE_YEARS:
            yield _issue(
                f"{field}.date_of_birth",
                "DQ-DOB-AGE",
                f"date of birth makes the child older than {OLDEST_CHILD_AGE_YEARS}",
            )
    due = child.expected_date_of_delivery
    if due is not None and (due - today).days > LONGEST_PREGNANCY_DAYS:
        yield _issue(
            f"{field}.expected_date_of_delivery",
            "DQ-EDD-RANGE",
            "expected date of delivery is more than 300 days away",
        )
    elif due is not None and born is None and (today - due).days > OVERDUE_BIRTH_DAYS:
        yield _issue(
            f"{field}.expected_date_of_delivery",
            "DQ-EDD-PASSED",
            "expected date of delivery has passed: the child's date of birth is needed",
        )


def check_child(
    field: str, child: Child, today: date, known_urns: Container[str] | None
) -> Iterator[DataQualityIssue]:
    yield from check_nhs_number(f"{field}.nhs_number", child.nhs_number)
    yield from check_upn(f"{field}.unique_pupil_number", child.unique_pupil_number)
    yield from check_school_urn(f"{field}.school_urn", child.school_urn, known_urns)
    yield from check_postcode(f"{field}.address", child.address)
    yield from check_child_dates(field, child, today)


def _check_children(
    children: Iterable[Child], today: date, known_urns: Container[str] | None
) -> Iterator[DataQualityIssue]:
    for index, child in enumerate(children):
        yield from check_child(f"children.{index}", child, today, known_urns)


def check_contact(event: Contact, known_urns: Container[str] | None) -> Iterator[DataQualityIssue]:
    today = event.received_at.astimezone(ENGLAND).date()
    yield from _check_children(event.children, today, known_urns)
    for index, adult in enumerate(event.adults):
        yield from check_postcode(f"adults.{index}.address", adult.address)
    email = event.referrer.email
    if email is not None and not _EMAIL.match(email):
        yield _issue("referrer.email", "DQ-EMAIL", "referrer e-mail address is malformed")


def check_police_notification(
    event: PoliceNotification, known_urns: Container[str] | None
) -> Iterator[DataQualityIssue]:
    today = event.received_at.astimezone(ENGLAND).date()
    yield from _check_children(event.children, today, known_urns)
    yield from check_postcode("location", event.location)
    if event.dash_score is not None and not 0 <= event.dash_score <= DASH_QUESTIONS:
        yield _issue("dash_score", "DQ-DASH-SCORE", "DASH score must be between 0 and 24")
    if event.occurred_at is not None and event.occurred_at > event.received_at:
        yield _issue("occurred_at", "DQ-OCCURRED-AFTER-RECEIPT", "incident time is after receipt")


def check_consent_event(
    event: ConsentEvent, known_urns: Container[str] | None
) -> Iterator[DataQualityIssue]:
    today = event.received_at.astimezone(ENGLAND).date()
    yield from _check_children(event.children, today, known_urns)
    if event.decided_at > event.received_at:
        yield _issue("decided_at", "DQ-DECIDED-AFTER-RECEIPT", "decision time is after receipt")


_CHECKS: dict[type[Event], Callable[..., Iterator[DataQualityIssue]]] = {
    Contact: check_contact,
    PoliceNotification: check_police_notification,
    ConsentEvent: check_consent_event,
}


def data_quality_issues(
    event: Event, known_urns: Container[str] | None = None
) -> list[DataQualityIssue]:
    """Every data-quality problem of a partner event; ``known_urns=None`` skips the URN lookup."""
    check = _CHECKS.get(type(event))
    return list(check(event, known_urns)) if check else []
