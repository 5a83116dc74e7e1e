"""Operation Encompass and health: who is told about a child in a domestic-abuse notification. Pure.

For each child named in a domestic-abuse police notification, :func:`encompass_decision` says who
is told and why, from plain values (the child's date of birth, the incident date, the school the
police named and what the school directory says of it) and the rules file's
``domestic_abuse`` section. Every decision carries its reasons, each with a stable
:class:`ReasonCode`; what is not sent is as explicit as what is.

Education (Operation Encompass). The school year is decided by the child's age on the 31 August
on or before the incident (the day before the English academic year starts): from
``encompass_from_age`` up to but not including ``encompass_until_age`` (4 and 16: reception to
year 11, compulsory school age or reception) the school's designated safeguarding lead is told;
from there up to but not including ``sixth_form_until_age`` (16 and 17: years 12 and 13) only
when the police named a school or college. A person 18 or over on the incident date is an adult
and nobody is told, whatever the 31 August age (a year 13 student already 18 included). A child
educated at home, or said to attend no school, is notified to the local authority's education
team instead. Nobody is told of a school that is only guessed:

* no school named: ``school_missing``, an information request to police, no school notification;
* a school named that the directory does not know (a URN it lacks, or only a name, which is never
  matched to a URN) or knows as closed: ``school_unknown`` / ``school_closed``, an information
  request to police and a MASH task for a person to find the school;
* a known, open school without a safeguarding lead's contact: ``no_safeguarding_lead``, a MASH
  task (the gap is in the authority's contact list, not the police's notification).

No date of birth means the age is unknown. The safe reading is that the child may be of school
age: their school is told if it is known and open (a child's own school is the proportionate
recipient whatever the age), a missing school is asked for, and a MASH task asks a person to
decide on health, since the child may be under five. No one else is guessed at.

Health. A child under five on the incident date (or unborn) is notified to the health visiting
service; a child of five or over to the school nursing service only if ``notify_school_nursing``.

What is shared is the minimum the scheme shares (:data:`ENCOMPASS_FIELDS`), with the
circumstances cut short by :func:`brief_circumstances`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from streams.decisions.rules.model import ADULTHOOD_AGE, DomesticAbuseRules

__all__ = [
    "ELLIPSIS",
    "ENCOMPASS_FIELDS",
    "HEALTH_VISITING_UNTIL_AGE",
    "DirectoryEntry",
    "EncompassDecision",
    "FollowUp",
    "Reason",
    "ReasonCode",
    "Recipient",
    "academic_year_start",
    "age_in_years",
    "brief_circumstances",
    "encompass_decision",
]

#: What a school (or the education team, or health) is told of a child in a domestic-abuse
#: notification, and nothing more: the scheme's minimum, declared once. The outbound contracts
#: are built from this list and a test compares each record's fields with it. Deliberately
#: absent: the perpetrator's (and every other adult's) name, the full police narrative (only
#: ``brief_circumstances``), the DASH answers, other children's details, the child's history.
ENCOMPASS_FIELDS: tuple[str, ...] = (
    "given_name",  # the child's
    "family_name",
    "date_of_birth",
    "police_reference",
    "occurred_at",  # the incident's date and time
    "incident_location",
    "present",  # whether the child was present at the incident
    "seen_or_spoken_to",  # whether police saw or spoke to the child
    "child_voice",  # the child's own words, if police recorded them
    "brief_circumstances",  # see brief_circumstances(); never the narrative
    "police_contact",  # whom the school may call back
)

#: Under this age on the incident date the health visiting service is told (0-5 service).
HEALTH_VISITING_UNTIL_AGE = 5

ELLIPSIS = "…"


class Recipient(StrEnum):
    """Who is told about the child."""

    SCHOOL = "school"  # the school's designated safeguarding lead
    LOCAL_AUTHORITY_EDUCATION = "local_authority_education"
    HEALTH_VISITING = "health_visiting"
    SCHOOL_NURSING = "school_nursing"


class FollowUp(StrEnum):
    """What a blocked notification asks for instead, so that no child is dropped silently."""

    INFORMATION_REQUEST_TO_POLICE = "information_request_to_police"
    MASH_TASK = "mash_task"


class ReasonCode(StrEnum):
    """Why a recipient is or is not told. Stable: stored with each decision and matched on."""

    # Told.
    SCHOOL = "school"
    LOCAL_AUTHORITY_EDUCATION = "local_authority_education"
    HEALTH_VISITING = "health_visiting"
    SCHOOL_NURSING = "school_nursing"
    # No school told, and what happens instead.
    SCHOOL_MISSING = "school_missing"
    SCHOOL_UNKNOWN = "school_unknown"
    SCHOOL_CLOSED = "school_closed"
    NO_SAFEGUARDING_LEAD = "no_safeguarding_lead"
    # Nobody in education told, by age.
    BELOW_SCHOOL_AGE = "below_school_age"
    POST_16_NO_SCHOOL = "post_16_no_school"
    TOO_OLD = "too_old"
    # Health not told.
    SCHOOL_NURSING_OFF = "school_nursing_off"
    # The age is not known.
    NO_DATE_OF_BIRTH = "no_date_of_birth"
    DATE_OF_BIRTH_AFTER_INCIDENT = "date_of_birth_after_incident"


@dataclass(frozen=True)
class Reason:
    code: ReasonCode
    explanation: str  # one sentence a practitioner reads in the child's record


@dataclass(frozen=True)
class DirectoryEntry:
    """What the school directory says of the school (URN) the police named for the child."""

    urn: str
    is_open: bool
    has_safeguarding_lead: bool  # a designated safeguarding lead's secure contact is on file


@dataclass(frozen=True)
class EncompassDecision:
    """Who is told about one child, what is asked for instead, and why."""

    recipients: tuple[Recipient, ...]
    school_urn: str | None  # the school told, when Recipient.SCHOOL is a recipient
    follow_ups: tuple[FollowUp, ...]
    reasons: tuple[Reason, ...]
    age_on_31_august: int | None  # None when the date of birth is unknown
    age_on_incident_date: int | None

    def tells(self, recipient: Recipient) -> bool:
        return recipient in self.recipients

    @property
    def reason_codes(self) -> tuple[ReasonCode, ...]:
        return tuple(reason.code for reason in self.reasons)


# ---------------------------------------------------------------------------------------------
# Ages.


def academic_year_start(day: date) -> date:
    """The 31 August on or before ``day``: the date a school year's ages are counted on."""
    this_year = date(day.year, 8, 31)
    return this_year if this_year <= day else date(day.year - 1, 8, 31)


def age_in_years(date_of_birth: date, on: date) -> int:
    """Completed years on ``on``; negative before the birth. Born 29 February: a year older on
    1 March in common years, as English law counts it."""
    birthday_not_yet = (on.month, on.day) < (date_of_birth.month, date_of_birth.day)
    return on.year - date_of_birth.year - int(birthday_not_yet)


# ---------------------------------------------------------------------------------------------
# The decision.


@dataclass
class _Draft:
    """The decision being built: the parts below each add what they find."""

    recipients: list[Recipient]
    follow_ups: list[FollowUp]
    reasons: list[Reason]
    school_urn: str | None = None

    def tell(self, recipient: Recipient, code: ReasonCode, explanation: str) -> None:
        self.recipients.append(recipient)
        self.reasons.append(Reason(code, explanation))

    def block(self, code: ReasonCode, explanation: str, *follow_ups: FollowUp) -> None:
        self.reasons.append(Reason(code, explanation))
        self.follow_ups.extend(f for f in follow_ups if f not in self.follow_ups)


def encompass_decision(
    *,
    date_of_birth: date | None,
    incident_date: date,
    school_given: bool,
    directory_entry: DirectoryEntry | None,
    home_educated_or_no_school: bool,
    rules: DomesticAbuseRules,
    unborn: bool = False,
) -> EncompassDecision:
    """Who is told about one child of a domestic-abuse notification (module docstring).

    ``school_given``: the police named a school or college (a URN, or only a name);
    ``directory_entry``: the directory's entry for the URN named, None if it has none (or only a
    name was given); ``home_educated_or_no_school``: the police say the child is educated at
    home or attends no school (not merely that the school is missing); ``unborn``: an unborn
    child (an expected date of delivery instead of a date of birth).
    """
    if directory_entry is not None and not school_given:
        raise ValueError("a directory entry is for a school the police named: school_given")
    draft = _Draft([], [], [])
    age_now: int | None = None
    age_in_year: int | None = None
    year_start = academic_year_start(incident_date)
    if date_of_birth is not None and date_of_birth > incident_date:
        # Not a reason to drop the child: the date is asked about by the data-quality checks;
        # until then the age is treated as unknown, the safe reading.
        draft.block(
            ReasonCode.DATE_OF_BIRTH_AFTER_INCIDENT,
            f"the date of birth given ({date_of_birth}) is after the incident "
            f"({incident_date}), so the child's age is treated as unknown",
        )
    elif date_of_birth is not None:
        age_now = age_in_years(date_of_birth, incident_date)
        age_in_year = age_in_years(date_of_birth, year_start)

    if unborn and age_now is None:
        draft.reasons.append(
            Reason(ReasonCode.BELOW_SCHOOL_AGE, "an unborn child has no school to tell")
        )
        draft.tell(
            Recipient.HEALTH_VISITING,
            ReasonCode.HEALTH_VISITING,
            "an unborn child: the health visiting service is told",
        )
    elif age_now is not None and age_now >= ADULTHOOD_AGE:
        draft.reasons.append(
            Reason(
                ReasonCode.TOO_OLD,
                f"aged {age_now} on the day of the incident: an adult, so neither a school "
                "nor health is told",
            )
        )
    else:
        _education(
            draft,
            age_in_year=age_in_year,
            year_start=year_start,
            school_given=school_given,
            directory_entry=directory_entry,
            home_educated_or_no_school=home_educated_or_no_school,
            rules=rules,
        )
        _health(draft, age_now=age_now, rules=rules)

    return EncompassDecision(
        recipients=tuple(draft.recipients),
        school_urn=draft.school_urn,
        follow_ups=tuple(draft.follow_ups),
        reasons=tuple(draft.reasons),
        age_on_31_august=age_in_year,
        age_on_incident_date=age_now,
    )


def _education(
    draft: _Draft,
    *,
    age_in_year: int | None,
    year_start: date,
    school_given: bool,
    directory_entry: DirectoryEntry | None,
    home_educated_or_no_school: bool,
    rules: DomesticAbuseRules,
) -> None:
    if age_in_year is None:
        age = "age unknown"
        compulsory = True  # the safe reading: the child may be of school age
    else:
        age = f"aged {age_in_year} on 31 August {year_start.year}"
        if age_in_year < rules.encompass_from_age:
            draft.reasons.append(
                Reason(
                    ReasonCode.BELOW_SCHOOL_AGE,
                    f"{age}, under {rules.encompass_from_age}: not yet in reception, so no "
                    "school is told",
                )
            )
            return
        if age_in_year >= rules.sixth_form_until_age:
            draft.reasons.append(
                Reason(
                    ReasonCode.TOO_OLD,
                    f"{age}, {rules.sixth_form_until_age} or over: past school and sixth form, "
                    "so no school or college is told",
                )
            )
            return
        compulsory = age_in_year < rules.encompass_until_age

    if not school_given:
        if not compulsory:
            draft.reasons.append(
                Reason(
                    ReasonCode.POST_16_NO_SCHOOL,
                    f"{age}: past year 11 and no school or college named, so none is told",
                )
            )
        elif home_educated_or_no_school:
            draft.tell(
                Recipient.LOCAL_AUTHORITY_EDUCATION,
                ReasonCode.LOCAL_AUTHORITY_EDUCATION,
                f"{age}, educated at home or attending no school: the local authority's "
                "education team is told instead of a school",
            )
        else:
            draft.block(
                ReasonCode.SCHOOL_MISSING,
                f"{age} and no school named: no school is told; the police are asked which "
                "school the child attends",
                FollowUp.INFORMATION_REQUEST_TO_POLICE,
            )
        return

    _named_school(draft, age, directory_entry)
    if compulsory and home_educated_or_no_school:
        # Police name a school and also say the child is home educated (or has no school):
        # both may be half true (flexi-schooling, a child just taken off roll). The education
        # team hears too, rather than the pipeline choosing which account to believe.
        draft.tell(
            Recipient.LOCAL_AUTHORITY_EDUCATION,
            ReasonCode.LOCAL_AUTHORITY_EDUCATION,
            f"{age}, said to be educated at home or attending no school although a school is "
            "named: the local authority's education team is told as well",
        )


def _named_school(draft: _Draft, age: str, entry: DirectoryEntry | None) -> None:
    """The school the police named: told only if the directory knows it open, with a lead."""
    if entry is None:
        draft.block(
            ReasonCode.SCHOOL_UNKNOWN,
            f"{age}; the school named is not in the school directory: no school is told; the "
            "police are asked to confirm the school and the MASH to find it",
            FollowUp.INFORMATION_REQUEST_TO_POLICE,
            FollowUp.MASH_TASK,
        )
    elif not entry.is_open:
        draft.block(
            ReasonCode.SCHOOL_CLOSED,
            f"{age}; the school named (URN {entry.urn}) is closed: no school is told; the "
            "police are asked to confirm the school and the MASH to find it",
            FollowUp.INFORMATION_REQUEST_TO_POLICE,
            FollowUp.MASH_TASK,
        )
    elif not entry.has_safeguarding_lead:
        draft.block(
            ReasonCode.NO_SAFEGUARDING_LEAD,
            f"{age}; the school (URN {entry.urn}) has no designated safeguarding lead's "
            "contact on file: the MASH is asked to reach the school",
            FollowUp.MASH_TASK,
        )
    else:
        draft.school_urn = entry.urn
        draft.tell(
            Recipient.SCHOOL,
            ReasonCode.SCHOOL,
            f"{age}; the school (URN {entry.urn}) is known and open: its designated "
            "safeguarding lead is told",
        )


def _health(draft: _Draft, *, age_now: int | None, rules: DomesticAbuseRules) -> None:
    if age_now is None:
        draft.block(
            ReasonCode.NO_DATE_OF_BIRTH,
            "no usable date of birth, so the age is unknown: the child's school is told if it "
            "is known and open, and the MASH decides whether health visiting (under five) or "
            "school nursing is told",
            FollowUp.MASH_TASK,
        )
    elif age_now < HEALTH_VISITING_UNTIL_AGE:
        draft.tell(
            Recipient.HEALTH_VISITING,
            ReasonCode.HEALTH_VISITING,
            f"aged {age_now} on the day of the incident, under five: the health visiting "
            "service is told",
        )
    elif rules.notify_school_nursing:
        draft.tell(
            Recipient.SCHOOL_NURSING,
            ReasonCode.SCHOOL_NURSING,
            f"aged {age_now} on the day of the incident: the school nursing service is told",
        )
    else:
        draft.reasons.append(
            Reason(
                ReasonCode.SCHOOL_NURSING_OFF,
                f"aged {age_now}, five or over: the rules do not tell the school nursing service",
            )
        )


# ---------------------------------------------------------------------------------------------
# Brief circumstances.


def brief_circumstances(text: str, limit: int) -> str:
    """``text`` in at most ``limit`` characters: whitespace runs become single spaces and a
    longer text is cut at the last word boundary that fits, ending with an ellipsis (…).

    A single word longer than the limit is cut mid-word: the limit is the promise. Cutting
    shortens what police wrote; it does not remove names, so what police put in the
    circumstances field is expected to be a summary fit to share, not the whole narrative.
    """
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ValueError(f"limit must be a whole number of characters, 1 or more, not {limit!r}")
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    room = limit - len(ELLIPSIS)
    head = flat[:room]
    if flat[room] != " ":  # the cut falls inside a word: go back to the word's start
        space = head.rfind(" ")
        if space > 0:
            head = head[:space]
    # "He left, " reads better as "He left…" (en and em dashes too); a cut that leaves only
    # punctuation keeps it.
    head = head.rstrip(" ,;:.-\u2013\u2014") or head.rstrip()
    return head + ELLIPSIS
