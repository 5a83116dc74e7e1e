"""A synthetic but realistic day at the front door, and the staff's answers to the work it makes.

:func:`demo_day` builds what a county's partners send in ``days`` days ending at ``end``, in the
proportions of the domain brief: about 150 contacts a day from every
kind of agency, mostly in office hours; 25-30 domestic-abuse police notifications involving about
50 children, mostly at night, from two forces of which one is deliberately thinner; consent
events about earlier contacts; a few children at immediate risk out of office hours; duplicates
(a partner's retry with the same event id, and a second agency reporting an incident the police
already told us about); typos (a misspelt name, a date of birth with day and month swapped); a
police notification received days after the incident; repeat households within and across days.
Every value is synthetic: Faker ``en_GB`` names, NHS numbers from the 999 test range, the
synthetic school directory's URNs, ``ZZ`` postcodes, Ofcom's drama telephone numbers and
``example.org`` addresses. It says what it contains by construction (:class:`DayContents`), so a
test or the demo can hold the pipeline's own counts against it.

:func:`staff_decision`, :func:`strategy_discussion_events` and :func:`duty_alert_acknowledgement`
play the staff's part as work comes out of the pipeline: the events the staff application would
publish, with its ids and after its checks (:mod:`streams.decisions.threshold`,
:mod:`streams.decisions.strategy`), timed inside the simulated day. Pass each a random source
from :func:`staff_rng`, so an answer depends on the item and not on the order items come out in.

Pure and deterministic from the seed: no Kafka, no files, no wall clock.
"""

from __future__ import annotations

import random
import uuid
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from dataclasses import fields as dataclass_fields
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from faker import Faker

from connectors.generator import GeneratedEvent, synthetic_nhs_number
from schemas.models import (
    AcknowledgedVia,
    Address,
    Adult,
    AdultRole,
    Agency,
    AlertAcknowledgement,
    Child,
    ConcernCategory,
    ConsentAction,
    ConsentEvent,
    ConsentPosition,
    ConsentStatus,
    Contact,
    DashRiskLevel,
    DeciderRole,
    DiscussionStatus,
    DutyTeamAlert,
    EventType,
    IncidentType,
    MatchKind,
    NextStep,
    NotificationChild,
    PoliceNotification,
    Queue,
    Referrer,
    ServiceRequested,
    StaffRole,
    StrategyDiscussion,
    ThresholdDecision,
    WorkItem,
)
from streams.decisions.calendar import OfficeCalendar
from streams.decisions.encompass import academic_year_start, age_in_years
from streams.decisions.ids import derived_id
from streams.decisions.requests import addressed_agency
from streams.decisions.rules import Rules
from streams.decisions.strategy import (
    child_has_school,
    discussion_problems,
    held_discussion,
    required_agencies,
)
from streams.decisions.threshold import decision_problems

__all__ = [
    "DayContents",
    "DemoDay",
    "demo_day",
    "duty_alert_acknowledgement",
    "staff_decision",
    "staff_rng",
    "strategy_discussion_events",
]

DAY = timedelta(days=1)

# ---------------------------------------------------------------------------------------------
# Volumes per day (inclusive ranges), from the domain brief's county.

#: Contacts drawn by agency share; with the repeat referrals, the immediate-risk contacts and the
#: second agencies' reports, about 150 a day.
ORDINARY_CONTACTS = (130, 145)
DOMESTIC_ABUSE_NOTIFICATIONS = (25, 30)
#: Police notify other child concerns too (a missing child, exploitation), far less often.
OTHER_POLICE_NOTIFICATIONS = (2, 5)
IMMEDIATE_RISK_OUT_OF_HOURS = (2, 4)
IMMEDIATE_RISK_IN_HOURS = (0, 2)
CONSENT_EVENTS = (10, 16)
#: A partner's retry: the same event, same id, published again.
DUPLICATES = (3, 5)
#: A household referred again later the same day, by a partner who knows the family by name
#: only (a neighbour, the housing officer): identity matching has to find the children.
REPEAT_REFERRALS = (4, 6)
REFERRERS_BY_NAME = (
    Agency.PUBLIC,
    Agency.ANONYMOUS,
    Agency.HOUSING,
    Agency.VOLUNTARY_SECTOR,
    Agency.PROBATION,
)
#: A repeat referral comes at least this long before the end of the day.
LATEST_REPEAT = timedelta(hours=1)
#: A school or health visitor reporting an incident the police notified hours before.
SECOND_AGENCY_REPORTS = (3, 5)
#: Of the domestic-abuse notifications, how many police send days after the incident.
LATE_NOTIFICATIONS = 1
#: Of the out-of-hours immediate-risk contacts, how many the duty team acknowledges late.
SLOW_ACKNOWLEDGEMENTS = 1

#: Households the county's events are about. Sized so that a day repeats a few households and
#: three days re-refer about a quarter of them; the first ``DOMESTIC_ABUSE_HOUSEHOLDS`` are
#: where the domestic-abuse incidents happen, so repeat incidents (and MARAC) build up.
HOUSEHOLDS = 1200
DOMESTIC_ABUSE_HOUSEHOLDS = 250

#: Who refers, by share of contacts (England's referral sources, less the police's domestic-abuse
#: notifications, which are their own events here).
CONTACT_AGENCY_WEIGHTS: Mapping[Agency, int] = {
    Agency.EDUCATION: 25,
    Agency.HEALTH: 18,
    Agency.POLICE: 17,
    Agency.LOCAL_AUTHORITY: 10,
    Agency.PUBLIC: 9,
    Agency.VOLUNTARY_SECTOR: 6,
    Agency.ANONYMOUS: 5,
    Agency.HOUSING: 5,
    Agency.PROBATION: 5,
}

# Share of contacts left deliberately incomplete (each force has its own share, see Force): the
# public often does not know a date of birth.
INCOMPLETE_PROFESSIONAL = 0.12
INCOMPLETE_PUBLIC = 0.35
#: Of the other events about a household heard of earlier in the day, how many get a child's
#: name or date of birth wrong (where the partner gives no identifier).
TYPO_SHARE = 0.3
#: Of a thin force's school-age children, how many it names under a school that has closed.
STALE_SCHOOL_SHARE = 0.08

# ---------------------------------------------------------------------------------------------
# Partners: sender codes as the channel file (connectors/delivery/channels.yaml) and the partner
# keys know them. A school sends as ``school.<URN>``.


@dataclass(frozen=True)
class Force:
    sender: str
    name: str
    reference_prefix: str
    #: Share of its notifications left deliberately incomplete.
    incomplete_share: float
    #: Whether it sends its own nominal id for each child (exact matching on repeat incidents).
    sends_nominal_ids: bool
    #: Share of domestic-abuse notifications it sends.
    share: float


THOROUGH_FORCE = Force("police.synthetic", "Synthetic Constabulary", "SC", 0.08, True, 0.55)
THIN_FORCE = Force("police.synthshire", "Synthshire Police", "SSP", 0.35, False, 0.45)
FORCES = (THOROUGH_FORCE, THIN_FORCE)


@dataclass(frozen=True)
class HealthService:
    sender: str
    organisation: str
    domain: str
    roles: tuple[str, ...]
    weight: int


GP = HealthService("health.synthetic-gp", "Synthetic Medical Practice", "synthetic-gp", ("GP",), 40)
HOSPITAL = HealthService(
    "health.synthetic-hospital",
    "Synthetic General Hospital",
    "synthetic-hospital",
    ("Emergency department nurse", "Paediatric liaison nurse"),
    25,
)
COMMUNITY_HEALTH = HealthService(
    "health.synthetic-community",
    "Synthetic Community Health Trust",
    "synthetic-community",
    ("Health visitor", "Midwife", "School nurse"),
    20,
)
CAMHS = HealthService(
    "health.synthetic-camhs", "Synthetic CAMHS", "synthetic-camhs", ("CAMHS practitioner",), 15
)
HEALTH_SERVICES = (GP, HOSPITAL, COMMUNITY_HEALTH, CAMHS)

LOCAL_AUTHORITY_SENDER = "la.synthetic"
PUBLIC_SENDER = "public.web-form"
ANONYMOUS_SENDER = "anonymous.phone-line"
HOUSING_SENDER = "housing.synthetic"
PROBATION_SENDER = "probation.synthetic"
VOLUNTARY_SENDER = "vcs.synthetic-family-support"

#: The partner that reports each kind of agency's contacts, when there is only one.
SINGLE_SENDERS: Mapping[Agency, tuple[str, str, str, tuple[str, ...]]] = {
    # agency: (sender, organisation, e-mail domain, referrer roles)
    Agency.LOCAL_AUTHORITY: (
        LOCAL_AUTHORITY_SENDER,
        "Synthetic County Council",
        "synthetic-county",
        ("Early help practitioner", "Family support worker", "Youth worker"),
    ),
    Agency.HOUSING: (
        HOUSING_SENDER,
        "Synthetic Homes",
        "synthetic-homes",
        ("Housing officer", "Tenancy support officer"),
    ),
    Agency.PROBATION: (
        PROBATION_SENDER,
        "Synthetic Probation Delivery Unit",
        "synthetic-probation",
        ("Probation officer",),
    ),
    Agency.VOLUNTARY_SECTOR: (
        VOLUNTARY_SENDER,
        "Synthetic Family Support",
        "synthetic-family-support",
        ("Family support worker", "Domestic abuse advocate"),
    ),
}


def school_sender(urn: str) -> str:
    return f"school.{urn}"


# The synthetic school directory (streams/decisions/data/schools.csv), open schools with a
# safeguarding lead's contact, by the ages they teach. A test holds this against the file.
NURSERIES = ("990003", "990007", "990011", "990015")
PRIMARIES = ("990001", "990005", "990009", "990013", "990017")
SECONDARIES = ("990002", "990006", "990010", "990014")
ALL_THROUGH = ("990004", "990008", "990012", "990016", "990020")
SIXTH_FORM_COLLEGE = "990021"
#: A school the directory lists as closed: a thin force's records still name it.
CLOSED_SCHOOL = "990018"
SCHOOL_NAMES: Mapping[str, str] = {
    "990001": "Oakfield Primary School",
    "990002": "Brook Lane Academy",
    "990003": "Meadowbank Nursery School",
    "990004": "St Aidan's School",
    "990005": "Hollybush Primary School",
    "990006": "Kingsway Academy",
    "990007": "Riverside Nursery School",
    "990008": "Elmhurst School",
    "990009": "Fernwood Primary School",
    "990010": "Westgate Academy",
    "990011": "Highfields Nursery School",
    "990012": "Millbrook School",
    "990013": "Ashcroft Primary School",
    "990014": "Larkrise Academy",
    "990015": "Northgate Nursery School",
    "990016": "Hawthorn School",
    "990017": "Beeches Primary School",
    "990020": "Foxhill School",
    "990021": "Castlefield Sixth Form College",
}
#: Settings the directory does not list (private nurseries, childminders): named, never a URN.
PRIVATE_SETTINGS = (
    "Little Acorns Day Nursery",
    "Busy Bees Childminding",
    "Rainbow Corner Pre-school",
    "Tiny Steps Day Nursery",
)

# The staff application's demo accounts (connectors/staff/service.py DEMO_USERS), so decisions
# show under the people who sign in to the demo.
MASH_WORKER = ("demo.mash", StaffRole.MASH_WORKER)
TEAM_MANAGER = ("demo.manager", StaffRole.TEAM_MANAGER)
EARLY_HELP_WORKER = ("demo.earlyhelp", StaffRole.EARLY_HELP_WORKER)
DUTY_WORKER = "demo.duty"
#: Who an acknowledge link in the duty team's e-mail was made for (the channel file's code).
DUTY_TEAM_RECIPIENT = "duty_team"

# ---------------------------------------------------------------------------------------------
# The staff's habits.

#: Work items nobody has decided by the end of the day, beyond those received too late to decide.
UNDECIDED_SHARE = 0.05
LATE_DECISION_SHARE = 0.12
#: Office minutes a decision takes from its clock's start (one working day is 510), and a late
#: one past its due time.
ON_TIME_MINUTES = (15, 480)
URGENT_MINUTES = (10, 90)
LATE_MINUTES = (20, 490)
LATE_DISCUSSION_SHARE = 0.15
NOT_HELD_SHARE = 0.08
SECTION_47_SHARE = 0.7
ACKNOWLEDGE_MINUTES = (1, 12)
#: Past the rules' acknowledgement time by this many minutes, for a slow acknowledgement.
SLOW_ACKNOWLEDGE_EXTRA_MINUTES = (3, 30)
#: The router's rule id for a child at immediate risk (streams/decisions/routing.py).
URGENT_RULE = "router.urgent"


def staff_rng(seed: int, subject_id: str) -> random.Random:
    """The random source for the staff's answer to one work item, decision or alert: from the
    day's seed and the subject's id, so answers do not depend on the order items come out in."""
    return _rng(seed, "staff", subject_id)


def _rng(*parts: object) -> random.Random:
    # A string seed is hashed with SHA-512, so it is stable across processes and Python runs.
    return random.Random(":".join(str(part) for part in parts))  # noqa: S311 - synthetic data


# ---------------------------------------------------------------------------------------------
# Texts partners and staff write. Synthetic, and about no one.

CONCERN_TEXTS: Mapping[ConcernCategory, tuple[str, ...]] = {
    ConcernCategory.NEGLECT: (
        "The child has repeatedly arrived hungry and in unwashed clothes; they say there is "
        "often no food at home.",
        "Staff have seen the child's weight drop and untreated head lice over several weeks.",
        "Young children were seen alone at the window late at night with no adult at home.",
    ),
    ConcernCategory.PHYSICAL_ABUSE: (
        "The child has fingertip bruising to the upper arm and gave an unclear account of it.",
        "A mark on the child's cheek was seen this morning; the child said a parent hit them.",
    ),
    ConcernCategory.SEXUAL_ABUSE: (
        "The child has described being touched by an adult known to the family.",
        "Sexualised behaviour well beyond the child's age has been seen several times.",
    ),
    ConcernCategory.EMOTIONAL_ABUSE: (
        "The child is shouted at and belittled at collection time and seems frightened to go home.",
    ),
    ConcernCategory.DOMESTIC_ABUSE: (
        "The child talks about shouting and fighting between the adults at home at night.",
        "The parent disclosed controlling behaviour and threats from their partner.",
    ),
    ConcernCategory.EXPLOITATION: (
        "The child has been seen getting into cars with older males and has new phones and cash.",
        "The child is believed to be carrying drugs for an organised group (county lines).",
    ),
    ConcernCategory.MENTAL_HEALTH: (
        "The child has talked about self-harm and has cuts to the forearms.",
        "Low mood, withdrawal and poor sleep over the last term.",
    ),
    ConcernCategory.SUBSTANCE_MISUSE: (
        "A parent has been seen under the influence of alcohol when caring for the children.",
        "Drug paraphernalia was seen in the home within reach of young children.",
    ),
    ConcernCategory.MISSING: ("The child has been missing from home overnight twice this month.",),
    ConcernCategory.ONLINE_SAFETY: (
        "The child has been sending images to an adult they met online.",
    ),
    ConcernCategory.OTHER: (
        "The family has been served an eviction notice and the children sleep on a relative's "
        "floor.",
        "The child's attendance has fallen below 80% this term with no explanation from home.",
        "The child is a young carer for a disabled parent and is often too tired to learn.",
    ),
}

#: What each kind of agency is worried about, by weight.
CONCERN_WEIGHTS: Mapping[Agency, Mapping[ConcernCategory, int]] = {
    Agency.EDUCATION: {
        ConcernCategory.NEGLECT: 4,
        ConcernCategory.EMOTIONAL_ABUSE: 2,
        ConcernCategory.DOMESTIC_ABUSE: 2,
        ConcernCategory.PHYSICAL_ABUSE: 2,
        ConcernCategory.MENTAL_HEALTH: 5,
        ConcernCategory.ONLINE_SAFETY: 3,
        ConcernCategory.SEXUAL_ABUSE: 1,
        ConcernCategory.OTHER: 3,
    },
    Agency.HEALTH: {
        ConcernCategory.NEGLECT: 3,
        ConcernCategory.PHYSICAL_ABUSE: 2,
        ConcernCategory.MENTAL_HEALTH: 5,
        ConcernCategory.SUBSTANCE_MISUSE: 3,
        ConcernCategory.DOMESTIC_ABUSE: 2,
        ConcernCategory.OTHER: 2,
    },
    Agency.POLICE: {
        ConcernCategory.EXPLOITATION: 3,
        ConcernCategory.MISSING: 3,
        ConcernCategory.PHYSICAL_ABUSE: 1,
        ConcernCategory.ONLINE_SAFETY: 2,
        ConcernCategory.SUBSTANCE_MISUSE: 2,
        ConcernCategory.NEGLECT: 2,
        ConcernCategory.SEXUAL_ABUSE: 1,
        ConcernCategory.OTHER: 2,
    },
    Agency.LOCAL_AUTHORITY: {
        ConcernCategory.NEGLECT: 2,
        ConcernCategory.SUBSTANCE_MISUSE: 3,
        ConcernCategory.MENTAL_HEALTH: 3,
        ConcernCategory.OTHER: 3,
        ConcernCategory.DOMESTIC_ABUSE: 2,
    },
    Agency.PUBLIC: {
        ConcernCategory.NEGLECT: 4,
        ConcernCategory.PHYSICAL_ABUSE: 2,
        ConcernCategory.EMOTIONAL_ABUSE: 2,
        ConcernCategory.OTHER: 3,
    },
    Agency.ANONYMOUS: {
        ConcernCategory.NEGLECT: 3,
        ConcernCategory.PHYSICAL_ABUSE: 1,
        ConcernCategory.SUBSTANCE_MISUSE: 2,
        ConcernCategory.OTHER: 2,
    },
    Agency.HOUSING: {
        ConcernCategory.NEGLECT: 2,
        ConcernCategory.DOMESTIC_ABUSE: 2,
        ConcernCategory.OTHER: 4,
    },
    Agency.PROBATION: {
        ConcernCategory.DOMESTIC_ABUSE: 3,
        ConcernCategory.SUBSTANCE_MISUSE: 2,
        ConcernCategory.OTHER: 2,
    },
    Agency.VOLUNTARY_SECTOR: {
        ConcernCategory.MENTAL_HEALTH: 3,
        ConcernCategory.SUBSTANCE_MISUSE: 2,
        ConcernCategory.DOMESTIC_ABUSE: 2,
        ConcernCategory.NEGLECT: 1,
        ConcernCategory.OTHER: 2,
    },
}

#: Concerns that put a child at immediate risk, and a referrer's words for them.
IMMEDIATE_RISK_TEXTS: Mapping[ConcernCategory, str] = {
    ConcernCategory.PHYSICAL_ABUSE: "The child has injuries a parent caused today and says they "
    "are scared to go back home.",
    ConcernCategory.SEXUAL_ABUSE: "The child disclosed today that an adult living in the home "
    "is sexually abusing them.",
    ConcernCategory.NEGLECT: "Young children have been left alone in the home for hours; the "
    "parent cannot be reached.",
    ConcernCategory.EXPLOITATION: "The child was found in a property used for dealing drugs, "
    "with adults who are not family.",
    ConcernCategory.MISSING: "The child has been missing since the afternoon and was last seen "
    "with older males the police know.",
}

CHILD_VOICES = (
    "I don't want to go home tonight.",
    "Mum cries a lot when he gets angry.",
    "I hide in my room with my headphones when they shout.",
    "There isn't any food at home, I'm hungry.",
    "I look after my little brother when Dad goes out.",
    "I'm not allowed to tell anyone what happens at home.",
)
PRESENT_LOCATIONS = ("living room", "kitchen", "upstairs bedroom", "hallway", "in the car")
DOMESTIC_ABUSE_CIRCUMSTANCES = (
    "Police were called by a neighbour to a verbal argument between the {victim} and the "
    "{perpetrator} at the home. The {perpetrator} had left when officers arrived.",
    "The {victim} called police after the {perpetrator} pushed them against a wall and damaged "
    "property. The {perpetrator} was arrested at the scene.",
    "Police attended after reports of shouting and breaking glass. The {victim} has a minor "
    "injury and says the {perpetrator} has been controlling for months.",
    "The {perpetrator} arrived at the home drunk in breach of a bail condition and threatened "
    "the {victim}. Officers removed the {perpetrator} from the address.",
)
BRIEF_CIRCUMSTANCES = (
    "Police attended a domestic incident at the child's home overnight.",
    "A domestic incident between adults at the home; police attended.",
    "Police were called to the home after an argument between adults.",
)
OTHER_POLICE_CIRCUMSTANCES: Mapping[IncidentType, str] = {
    IncidentType.MISSING_CHILD: "The child was reported missing by a parent and found by "
    "officers the next morning in a town centre.",
    IncidentType.CHILD_EXPLOITATION: "The child was stopped with a quantity of drugs and cash "
    "and is believed to be exploited by an organised group.",
    IncidentType.CHILD_NEGLECT: "Officers found young children alone in a cold home with no "
    "food; a parent returned two hours later.",
    IncidentType.SEXUAL_OFFENCE: "The child disclosed a sexual offence by an adult outside the "
    "family; an investigation has started.",
    IncidentType.OTHER_CHILD_CONCERN: "The child was present at an address where officers "
    "executed a drugs warrant.",
}
NOT_SOUGHT_REASONS = (
    "Seeking consent could place the child at further risk of harm.",
    "Asking the family may prejudice a police investigation.",
    "The concern is about a parent, so asking them could put the child at risk.",
)
PUBLIC_NOT_SOUGHT_REASON = "A member of the public: the family does not know of the referral."
ANONYMOUS_NOT_SOUGHT_REASON = "An anonymous referral: consent could not be sought."


# ---------------------------------------------------------------------------------------------
# The county's households.


@dataclass(frozen=True)
class PoolChild:
    """A child as the county's records know them: the truth partners report parts of."""

    given_name: str
    family_name: str
    date_of_birth: date | None  # None: unborn
    expected_date_of_delivery: date | None
    nhs_number: str | None
    unique_pupil_number: str | None
    school_urn: str | None
    #: A setting the directory does not list (a private nursery): named, with no URN.
    setting_name: str | None
    #: The thorough force's nominal id for the child.
    police_nominal: str

    @property
    def unborn(self) -> bool:
        return self.date_of_birth is None

    @property
    def attends_no_setting(self) -> bool:
        return self.school_urn is None and self.setting_name is None


@dataclass(frozen=True)
class Household:
    index: int
    address: Address
    mother: Adult
    partner: Adult
    children: tuple[PoolChild, ...]

    @property
    def born(self) -> tuple[PoolChild, ...]:
        return tuple(child for child in self.children if not child.unborn)


def _upn(rng: random.Random, urn: str, year: int) -> str:
    """A unique pupil number: the DfE check letter, then the synthetic county's LA code 999,
    the school's establishment number, the year of allocation and a serial."""
    digits = f"999{urn[-4:]}{year % 100:02d}{rng.randrange(1000):03d}"
    letters = "ABCDEFGHJKLMNPQRTUVWXYZ"
    check = sum(int(digit) * position for position, digit in enumerate(digits, start=2)) % 23
    return letters[check] + digits


def _school_for(rng: random.Random, age_in_school_year: int) -> tuple[str | None, str | None]:
    """(URN, setting name) of a child of this age on 31 August; neither when the child attends
    none (a baby, a child educated at home, a young person out of education)."""
    none: tuple[str | None, str | None] = (None, None)
    if age_in_school_year < 2:
        return none
    if age_in_school_year < 4:
        options = [
            ((rng.choice(NURSERIES), None), 5),
            ((None, rng.choice(PRIVATE_SETTINGS)), 3),
            (none, 2),
        ]
    elif age_in_school_year < 16:
        phase = PRIMARIES if age_in_school_year < 11 else SECONDARIES
        options = [((rng.choice(phase + ALL_THROUGH), None), 98), (none, 2)]  # home educated
    else:
        options = [
            ((SIXTH_FORM_COLLEGE, None), 4),
            ((rng.choice(SECONDARIES + ALL_THROUGH), None), 4),
            (none, 2),  # not in education
        ]
    return rng.choices([school for school, _ in options], weights=[w for _, w in options])[0]


#: English street names end so (Faker's en_GB street names borrow American ones).
STREET_KINDS = ("Road", "Street", "Lane", "Close", "Avenue", "Drive", "Crescent", "Gardens", "Way")


def _phone(rng: random.Random) -> str:
    # Ofcom's numbers reserved for drama: they belong to nobody.
    return f"07700 900{rng.randrange(1000):03d}"


def _postcode(rng: random.Random) -> str:
    # ZZ is no real postcode area; the synthetic schools use it too.
    letters = "ABDEFGHJLNPQRSTUWXYZ"
    return f"ZZ{rng.randrange(10)} {rng.randrange(10)}{rng.choice(letters)}{rng.choice(letters)}"


class County:
    """The county's households, each built from the seed and its index when first needed, so a
    household is the same whichever day first mentions it."""

    def __init__(self, seed: int, today: date) -> None:
        self._seed = seed
        self._today = today
        self._faker = Faker("en_GB")
        self._households: dict[int, Household] = {}

    def household(self, index: int) -> Household:
        if index not in self._households:
            self._households[index] = self._build(index)
        return self._households[index]

    def _build(self, index: int) -> Household:
        rng = _rng(self._seed, "household", index)
        self._faker.seed_instance(f"{self._seed}:household:{index}")
        surname = self._faker.last_name()
        address = Address(
            line1=f"{rng.randint(1, 180)} {self._faker.last_name()} {rng.choice(STREET_KINDS)}",
            town=self._faker.city(),
            postcode=_postcode(rng),
        )
        mother = Adult(
            given_name=self._faker.first_name_female(),
            family_name=surname,
            role=AdultRole.MOTHER,
            date_of_birth=self._today - timedelta(days=rng.randint(20 * 365, 45 * 365)),
            address=address,
        )
        partner_role = rng.choice(
            (AdultRole.FATHER, AdultRole.PARENT_PARTNER, AdultRole.STEP_PARENT)
        )
        partner = Adult(
            given_name=self._faker.first_name_male(),
            family_name=surname if partner_role is AdultRole.FATHER else self._faker.last_name(),
            role=partner_role,
            date_of_birth=self._today - timedelta(days=rng.randint(20 * 365, 50 * 365)),
            address=address,
        )
        children = self._children(rng, surname, index)
        return Household(index, address, mother, partner, children)

    def _children(self, rng: random.Random, surname: str, index: int) -> tuple[PoolChild, ...]:
        count = rng.choices((1, 2, 3), weights=(45, 37, 18))[0]
        # Siblings are 13 months to 5 years apart, the youngest at least two months old.
        youngest, shortest_gap = 60, 400
        age_days = rng.randint(youngest + (count - 1) * shortest_gap, 17 * 365 + 300)
        children = []
        for position in range(count):
            born = self._today - timedelta(days=age_days)
            age_in_year = age_in_years(born, academic_year_start(self._today))
            urn, setting = _school_for(rng, age_in_year)
            children.append(
                PoolChild(
                    given_name=self._faker.first_name(),
                    # A half-sibling may carry another family name.
                    family_name=surname if rng.random() < 0.85 else self._faker.last_name(),
                    date_of_birth=born,
                    expected_date_of_delivery=None,
                    nhs_number=synthetic_nhs_number(rng),
                    unique_pupil_number=(
                        _upn(rng, urn, born.year + 4) if urn and age_in_year >= 4 else None
                    ),
                    school_urn=urn,
                    setting_name=setting,
                    police_nominal=f"SC-N{index:04d}{position}",
                )
            )
            younger = count - position - 1
            room = age_days - youngest - (younger - 1) * shortest_gap
            age_days -= rng.randint(shortest_gap, max(shortest_gap, min(5 * 365, room)))
        if rng.random() < 0.05:  # a pregnancy: midwives and police name the unborn child
            children.append(
                PoolChild(
                    given_name="Unborn",
                    family_name=surname,
                    date_of_birth=None,
                    expected_date_of_delivery=self._today + timedelta(days=rng.randint(20, 200)),
                    nhs_number=None,
                    unique_pupil_number=None,
                    school_urn=None,
                    setting_name=None,
                    police_nominal=f"SC-N{index:04d}U",
                )
            )
        return tuple(children)


# ---------------------------------------------------------------------------------------------
# What the day contains.


@dataclass(frozen=True)
class DayContents:
    """What a synthetic day contains, by construction. Counts are of distinct events (a
    duplicate is one event published twice); ids let a test find each kind. Agencies are
    counted as the pipeline addresses them (:func:`streams.decisions.requests.addressed_agency`:
    a contact's referrer, the police for a notification, the local authority for consent)."""

    start: datetime
    end: datetime
    #: Messages to publish, duplicates included.
    published: int
    events_in: Mapping[Agency, Counter[EventType]]
    events_by_sender: Mapping[str, int]
    domestic_abuse_notifications: int
    domestic_abuse_children: int
    #: Children of the contacts and police notifications: each is one MASH or early-help item.
    children_routed: int
    #: Events published twice with the same id (a partner's retry): the pipeline absorbs them.
    duplicated_event_ids: frozenset[str]
    #: Contacts reporting an incident the police notified earlier the same day.
    second_agency_event_ids: frozenset[str]
    #: Events lacking something the rules file requires (an information request asks for it).
    incomplete_event_ids: frozenset[str]
    #: Notifications naming a school the directory lists as closed (a data-quality problem).
    stale_school_event_ids: frozenset[str]
    #: The information requests the pipeline sends, by agency: one for each incomplete event,
    #: one for each data-quality problem.
    information_requests: Counter[Agency]
    #: Events with a child's name misspelt or date of birth day and month swapped.
    typo_event_ids: frozenset[str]
    #: Police notifications received days after the incident.
    late_event_ids: frozenset[str]
    immediate_risk_out_of_hours_event_ids: frozenset[str]
    immediate_risk_in_hours_event_ids: frozenset[str]
    #: Children in the out-of-hours immediate-risk contacts: each pages the duty team.
    duty_team_alerts_expected: int
    #: Of those contacts, the one a day whose duty-team alerts are acknowledged late.
    slow_acknowledgement_event_ids: frozenset[str]
    #: Events about a household an earlier event of the window was about.
    repeat_household_event_ids: frozenset[str]

    @property
    def events_by_type(self) -> Counter[EventType]:
        return sum(self.events_in.values(), Counter[EventType]())

    @property
    def contacts_by_agency(self) -> Counter[Agency]:
        return Counter(
            {agency: kinds[EventType.CONTACT] for agency, kinds in self.events_in.items()}
        )


@dataclass(frozen=True)
class DemoDay:
    """A synthetic day: the messages to publish in order, and what they contain."""

    events: tuple[GeneratedEvent, ...]
    contents: DayContents


def demo_day(
    seed: int, end: datetime, *, days: int = 1, calendar: OfficeCalendar | None = None
) -> DemoDay:
    """The partner events of ``days`` days ending at ``end`` (aware), with what they contain.

    Each 24 hours before ``end`` is built from the seed and its own start, so the last day of a
    three-day run is the one-day run. Nothing is received after ``end``. ``calendar`` says what
    office hours are (the default rules file's when None).
    """
    if end.tzinfo is None or end.utcoffset() is None:
        raise ValueError("end must be timezone-aware")
    if days < 1:
        raise ValueError("days must be 1 or more")
    end = end.astimezone(UTC)
    county = County(seed, end.date())
    office = calendar or OfficeCalendar()
    faker = Faker("en_GB")
    spans = [
        _Span(
            seed,
            county,
            office=office,
            faker=faker,
            start=end - (days - number) * DAY,
            end=end - (days - number - 1) * DAY,
        )
        for number in range(days)
    ]
    for span in spans:
        span.build()
    return _assemble(spans, end - days * DAY, end)


# ---------------------------------------------------------------------------------------------
# Building one day.


@dataclass
class _Planned:
    event: Contact | PoliceNotification | ConsentEvent
    event_type: EventType
    sender: str
    household: int


@dataclass
class _Tags:
    incomplete: set[str] = field(default_factory=set)
    stale_school: set[str] = field(default_factory=set)
    typo: set[str] = field(default_factory=set)
    late: set[str] = field(default_factory=set)
    duplicated: set[str] = field(default_factory=set)
    second_agency: set[str] = field(default_factory=set)
    immediate_out_of_hours: set[str] = field(default_factory=set)
    immediate_in_hours: set[str] = field(default_factory=set)
    slow_acknowledgement: set[str] = field(default_factory=set)


def _contact_weight(office: OfficeCalendar, moment: datetime) -> float:
    """How likely a contact is at ``moment``: mostly office hours, some evenings, few nights."""
    if office.is_open(moment):
        return 1.0
    hour = moment.astimezone(ZoneInfo(office.timezone)).hour
    return 0.12 if 7 <= hour < 22 else 0.03


def _incident_weight(office: OfficeCalendar, moment: datetime) -> float:
    """How likely a domestic-abuse incident is at ``moment``: evenings and nights, weekends more."""
    local = moment.astimezone(ZoneInfo(office.timezone))
    base = 1.0 if local.hour >= 18 or local.hour < 2 else 0.45 if local.hour < 7 else 0.2
    return base if office.is_working_day(local.date()) else min(1.0, base * 1.4)


def _after_office_minutes(office: OfficeCalendar, start: datetime, minutes: float) -> datetime:
    """The moment ``minutes`` of office time after ``start``: nights, weekends and bank holidays
    do not count, as a worker only decides while the office is open."""
    zone = ZoneInfo(office.timezone)
    moment = (start if office.is_open(start) else office.next_opening(start)).astimezone(UTC)
    remaining = timedelta(minutes=minutes)
    while True:
        local = moment.astimezone(zone)
        closing = datetime.combine(local.date(), office.closes, tzinfo=zone)
        if moment + remaining < closing:
            return (moment + remaining).replace(microsecond=0)
        remaining -= closing - moment
        moment = office.next_opening(closing).astimezone(UTC)


class _Span:
    """The events of the 24 hours from ``start`` to ``end``."""

    def __init__(
        self,
        seed: int,
        county: County,
        *,
        office: OfficeCalendar,
        faker: Faker,
        start: datetime,
        end: datetime,
    ) -> None:
        self.start, self.end = start, end
        self.planned: list[_Planned] = []
        self.tags = _Tags()
        self._seed = seed
        self._county = county
        self._office = office
        self._faker = faker
        self._rng = _rng(seed, "span", start.isoformat())
        self._references = Counter[str]()
        # Whether the office takes routine work at some time in the span (not on a weekend).
        self._has_office_hours = any(
            office.accepts_routine_work(start + timedelta(minutes=minutes))
            for minutes in range(0, 24 * 60, 15)
        )

    # -- the whole day ----------------------------------------------------------------------

    def build(self) -> None:
        # Reseeded here, not shared state between spans: each day is its seed's and start's.
        self._faker.seed_instance(f"{self._seed}:span:{self.start.isoformat()}")
        rng = self._rng
        notifications = [
            self._domestic_abuse_notification(late=number < LATE_NOTIFICATIONS)
            for number in range(_count(rng, DOMESTIC_ABUSE_NOTIFICATIONS))
        ]
        for _ in range(_count(rng, OTHER_POLICE_NOTIFICATIONS)):
            self._other_police_notification()
        for _ in range(_count(rng, ORDINARY_CONTACTS)):
            self._ordinary_contact()
        earlier = [p for p in self.planned if p.event.received_at < self.end - LATEST_REPEAT]
        by_name = {
            self._ordinary_contact(again)
            for again in rng.sample(earlier, k=_count(rng, REPEAT_REFERRALS))
        }
        out_of_hours = [
            self._immediate_risk_contact(out_of_hours=True)
            for _ in range(_count(rng, IMMEDIATE_RISK_OUT_OF_HOURS))
        ]
        # One child's alert acknowledged late, not a whole family's: the fewest children.
        fewest = min(len(contact.children) for contact in out_of_hours)
        slow = [contact.event_id for contact in out_of_hours if len(contact.children) == fewest]
        self.tags.slow_acknowledgement.update(rng.sample(slow, k=SLOW_ACKNOWLEDGEMENTS))
        for _ in range(_count(rng, IMMEDIATE_RISK_IN_HOURS) if self._has_office_hours else 0):
            self._immediate_risk_contact(out_of_hours=False)
        on_time = notifications[LATE_NOTIFICATIONS:]
        for notification in rng.sample(on_time, k=_count(rng, SECOND_AGENCY_REPORTS)):
            self._second_agency_report(notification)
        self._typos(by_name)
        self._consent_events(_count(rng, CONSENT_EVENTS))
        partner_events = [p for p in self.planned if p.event_type is not EventType.CONSENT_EVENT]
        for duplicated in rng.sample(partner_events, k=_count(rng, DUPLICATES)):
            self.tags.duplicated.add(duplicated.event.event_id)

    # -- times ------------------------------------------------------------------------------

    def _moment(
        self,
        weight: Callable[[OfficeCalendar, datetime], float],
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> datetime:
        """A moment in [start, end) (the span by default), drawn by ``weight`` (at most 1)."""
        low, high = start or self.start, end or self.end
        seconds = int((high - low).total_seconds())
        while True:
            moment = low + timedelta(seconds=self._rng.randrange(seconds))
            if self._rng.random() < weight(self._office, moment):
                return moment

    def _out_of_hours_moment(self) -> datetime:
        return self._moment(lambda office, moment: float(office.out_of_hours(moment)))

    def _routine_moment(self) -> datetime:
        """A moment the office takes routine work; any moment in a span without one."""
        if not self._has_office_hours:
            return self._moment(_contact_weight)
        return self._moment(lambda office, moment: float(office.accepts_routine_work(moment)))

    # -- households and children -------------------------------------------------------------

    def _household(self, *, domestic_abuse: bool = False) -> Household:
        bound = DOMESTIC_ABUSE_HOUSEHOLDS if domestic_abuse else HOUSEHOLDS
        return self._county.household(self._rng.randrange(bound))

    def _household_where(self, wanted: Callable[[Household], bool]) -> Household:
        while True:
            household = self._household()
            if wanted(household):
                return household

    def _id(self) -> str:
        return f"demo-{uuid.UUID(int=self._rng.getrandbits(128), version=4)}"

    def _child_fields(
        self, child: PoolChild, household: Household, *, identifiers: set[str]
    ) -> dict[str, Any]:
        """What a partner tells of a child: names, dates and address always, the identifiers
        it holds (``nhs``, ``upn``, ``nominal``) and the school when ``school`` is asked."""
        fields: dict[str, Any] = {
            "given_name": child.given_name,
            "family_name": child.family_name,
            "date_of_birth": child.date_of_birth,
            "expected_date_of_delivery": child.expected_date_of_delivery,
            "address": household.address,
        }
        if "nhs" in identifiers:
            fields["nhs_number"] = child.nhs_number
        if "upn" in identifiers:
            fields["unique_pupil_number"] = child.unique_pupil_number
        if "nominal" in identifiers:
            fields["partner_reference"] = child.police_nominal
        if "school" in identifiers:
            fields["school_urn"] = child.school_urn
            fields["school_name"] = child.setting_name
        return fields

    def _add(
        self, event: Contact | PoliceNotification | ConsentEvent, sender: str, household: int
    ) -> str:
        event_type = {
            Contact: EventType.CONTACT,
            PoliceNotification: EventType.POLICE_NOTIFICATION,
            ConsentEvent: EventType.CONSENT_EVENT,
        }[type(event)]
        self.planned.append(_Planned(event, event_type, sender, household))
        return event.event_id

    # -- police notifications ---------------------------------------------------------------

    def _force(self) -> Force:
        return self._rng.choices(FORCES, weights=[force.share for force in FORCES])[0]

    def _police_reference(self, force: Force, received: datetime) -> str:
        self._references[force.sender] += 1
        serial = self._rng.randrange(1000, 9000) + self._references[force.sender]
        return f"{force.reference_prefix}/{received:%Y%m%d}/{serial:05d}"

    def _incident_times(self, *, late: bool) -> tuple[datetime, datetime]:
        """(occurred, received): an incident mostly at night, notified 30 minutes to 12 hours
        later; a late one is received in office hours days after it happened."""
        if late:
            received = self._routine_moment()
            occurred = received - timedelta(
                days=self._rng.randint(4, 6), hours=self._rng.uniform(2, 10)
            )
            return occurred.replace(microsecond=0), received
        while True:
            occurred = self._moment(_incident_weight, self.start - timedelta(hours=12), self.end)
            received = occurred + timedelta(minutes=self._rng.randint(30, 12 * 60))
            if self.start <= received < self.end:
                return occurred, received

    def _notification_child(
        self, child: PoolChild, household: Household, force: Force, perpetrator: AdultRole
    ) -> dict[str, Any]:
        identifiers = {"school", "nominal"} if force.sends_nominal_ids else {"school"}
        fields = self._child_fields(child, household, identifiers=identifiers)
        if force is THIN_FORCE and child.school_urn and self._rng.random() < STALE_SCHOOL_SHARE:
            fields["school_urn"] = CLOSED_SCHOOL
        present = self._rng.random() < 0.6
        spoken_to = not child.unborn and self._rng.random() < 0.45
        fields |= {
            "present": present,
            "present_location": self._rng.choice(PRESENT_LOCATIONS) if present else None,
            "spoken_to": spoken_to,
            "child_voice": self._rng.choice(CHILD_VOICES) if spoken_to else None,
            "relationship_to_perpetrator": perpetrator,
            # Police say "attends no school or setting" of a baby or a young person out of
            # education: the rules then ask for no school (the field's documented meaning).
            "educated_at_home": True if child.attends_no_setting and not child.unborn else None,
        }
        return fields

    def _domestic_abuse_notification(self, *, late: bool = False) -> str:
        rng = self._rng
        household = self._household(domestic_abuse=True)
        force = THIN_FORCE if late else self._force()
        occurred, received = self._incident_times(late=late)
        risk = rng.choices(list(DashRiskLevel), weights=(55, 33, 12))[0]
        score = {
            DashRiskLevel.STANDARD: rng.randint(0, 9),
            DashRiskLevel.MEDIUM: rng.randint(10, 13),
            DashRiskLevel.HIGH: rng.randint(11, 21),  # high on judgement, or 14+ answers
        }[risk]
        perpetrator = household.partner.role
        children = [
            self._notification_child(child, household, force, perpetrator)
            for child in household.children
        ]
        circumstances = rng.choice(DOMESTIC_ABUSE_CIRCUMSTANCES).format(
            victim="mother", perpetrator=_role_words(perpetrator)
        )
        fields: dict[str, Any] = {
            "event_id": self._id(),
            "received_at": received,
            "police_reference": self._police_reference(force, received),
            "force": force.name,
            "occurred_at": occurred,
            "reported_at": occurred + timedelta(minutes=rng.randint(2, 40)),
            "location": household.address,
            "incident_type": IncidentType.DOMESTIC_ABUSE,
            "dash_risk_level": risk,
            "dash_score": score,
            "victim_role": AdultRole.MOTHER,
            "perpetrator_role": perpetrator,
            "children": children,
            "circumstances": circumstances,
            "marac_referral_made": risk is DashRiskLevel.HIGH and rng.random() < 0.6,
            "brief_circumstances": (
                rng.choice(BRIEF_CIRCUMSTANCES)
                if force is THOROUGH_FORCE or rng.random() < 0.5
                else None
            ),
        }
        return self._police(fields, force, household, late=late)

    def _other_police_notification(self) -> str:
        rng = self._rng
        household = self._household()
        force = self._force()
        incident = rng.choice(list(OTHER_POLICE_CIRCUMSTANCES))
        occurred, received = self._incident_times(late=False)
        # One child is the subject of these, except neglect of young siblings.
        subjects = household.born if incident is IncidentType.CHILD_NEGLECT else household.born[:1]
        fields: dict[str, Any] = {
            "event_id": self._id(),
            "received_at": received,
            "police_reference": self._police_reference(force, received),
            "force": force.name,
            "occurred_at": occurred,
            "reported_at": occurred,
            "location": household.address,
            "incident_type": incident,
            "children": [
                self._notification_child(child, household, force, AdultRole.UNKNOWN)
                | {"relationship_to_perpetrator": None}
                for child in subjects
            ],
            "circumstances": OTHER_POLICE_CIRCUMSTANCES[incident],
        }
        return self._police(fields, force, household, late=False)

    def _police(
        self, fields: dict[str, Any], force: Force, household: Household, *, late: bool
    ) -> str:
        """Thin the notification as its force does, then add it."""
        event_id: str = fields["event_id"]
        if self._rng.random() < force.incomplete_share:
            _thin_notification(self._rng, fields)
            self.tags.incomplete.add(event_id)
        fields["children"] = [NotificationChild.model_validate(c) for c in fields["children"]]
        notification = PoliceNotification.model_validate(fields)
        if any(child.school_urn == CLOSED_SCHOOL for child in notification.children):
            self.tags.stale_school.add(event_id)
        if late:
            self.tags.late.add(event_id)
        return self._add(notification, force.sender, household.index)

    # -- contacts ---------------------------------------------------------------------------

    def _referrer(
        self, agency: Agency, household: Household, *, urn: str | None = None
    ) -> tuple[str, Referrer, set[str]]:
        """(sender, referrer, identifiers the partner holds) for a contact from ``agency``; a
        school's is the school of ``urn``, or of the household's first pupil."""
        rng, faker = self._rng, self._faker
        if agency is Agency.ANONYMOUS:
            return ANONYMOUS_SENDER, Referrer(agency=agency), set()
        first, last = faker.first_name(), faker.last_name()
        if agency is Agency.PUBLIC:
            referrer = Referrer(
                name=f"{first} {last}",
                role=rng.choice(("Neighbour", "Relative", "Family friend")),
                agency=agency,
                phone=_phone(rng),
            )
            return PUBLIC_SENDER, referrer, set()
        if agency is Agency.EDUCATION:
            urn = urn or next(c.school_urn or "" for c in household.born if _pupil(c))
            organisation, domain = SCHOOL_NAMES[urn], f"{_slug(SCHOOL_NAMES[urn])}.sch.example"
            sender, role, identifiers = (
                school_sender(urn),
                "Designated safeguarding lead",
                {"upn", "school"},
            )
        elif agency is Agency.HEALTH:
            service = rng.choices(HEALTH_SERVICES, weights=[s.weight for s in HEALTH_SERVICES])[0]
            organisation, domain = service.organisation, f"{service.domain}.example.org"
            sender, role, identifiers = service.sender, rng.choice(service.roles), {"nhs"}
        elif agency is Agency.POLICE:
            force = self._force()
            organisation, domain = force.name, f"{_slug(force.name)}.example.org"
            sender, role = force.sender, "Police officer"
            identifiers = {"nominal", "school"} if force.sends_nominal_ids else {"school"}
        else:
            sender, organisation, slug, roles = SINGLE_SENDERS[agency]
            domain, role = f"{slug}.example.org", rng.choice(roles)
            identifiers = (
                {"nhs"} if agency is Agency.LOCAL_AUTHORITY and rng.random() < 0.5 else set()
            )
        referrer = Referrer(
            name=f"{first} {last}",
            role=role,
            organisation=organisation,
            agency=agency,
            phone=_phone(rng),
            email=f"{first}.{last}@{domain}".lower().replace(" ", "").replace("'", ""),
        )
        return sender, referrer, identifiers

    def _contact_household(self, agency: Agency) -> Household:
        """A household a contact from ``agency`` may be about: a school's has one of its pupils."""
        if agency is Agency.EDUCATION:
            return self._household_where(lambda h: any(_pupil(c) for c in h.born))
        return self._household()

    def _ordinary_contact(self, again: _Planned | None = None) -> str:
        """A contact from an agency drawn by its share; or, ``again``, about the household of an
        earlier event, from a partner who knows the family by name only, later the same day."""
        rng = self._rng
        if again is None:
            agency = rng.choices(
                list(CONTACT_AGENCY_WEIGHTS), weights=list(CONTACT_AGENCY_WEIGHTS.values())
            )[0]
            household = self._contact_household(agency)
            received = self._moment(_contact_weight)
        else:
            agency = rng.choice(REFERRERS_BY_NAME)
            household = self._county.household(again.household)
            received = self._moment(_contact_weight, again.event.received_at, self.end)
        sender, referrer, identifiers = self._referrer(agency, household)
        weights = CONCERN_WEIGHTS[agency]
        concerns = _distinct(
            rng.choices(list(weights), weights=list(weights.values()), k=rng.choice((1, 1, 2)))
        )
        subjects = _subjects(household, sender, referrer, concerns)
        professional = agency not in (Agency.PUBLIC, Agency.ANONYMOUS)
        service = (
            rng.choices(list(ServiceRequested), weights=(12, 38, 10, 5, 35))[0]
            if professional
            else ServiceRequested.NOT_SPECIFIED
        )
        consent, reason = self._consent_position(agency, concerns, service)
        fields: dict[str, Any] = {
            "event_id": self._id(),
            "received_at": received,
            "referrer": referrer,
            "children": [
                self._child_fields(c, household, identifiers=identifiers) for c in subjects
            ],
            "adults": [household.mother, household.partner] if rng.random() < 0.5 else [],
            "concern_categories": concerns,
            "description": " ".join(rng.choice(CONCERN_TEXTS[c]) for c in concerns),
            "child_voice": rng.choice(CHILD_VOICES)
            if agency is Agency.EDUCATION and rng.random() < 0.3
            else None,
            "service_requested": service,
            "consent": consent,
            "consent_not_sought_reason": reason,
        }
        return self._contact(fields, sender, household, agency)

    def _consent_position(
        self, agency: Agency, concerns: Sequence[ConcernCategory], service: ServiceRequested
    ) -> tuple[ConsentPosition, str | None]:
        rng = self._rng
        if agency is Agency.ANONYMOUS:
            return ConsentPosition.NOT_SOUGHT, ANONYMOUS_NOT_SOUGHT_REASON
        if agency is Agency.PUBLIC:
            return ConsentPosition.NOT_SOUGHT, PUBLIC_NOT_SOUGHT_REASON
        serious = {ConcernCategory.SEXUAL_ABUSE, ConcernCategory.PHYSICAL_ABUSE} & set(concerns)
        if serious or service is ServiceRequested.CHILD_PROTECTION:
            return ConsentPosition.NOT_SOUGHT, rng.choice(NOT_SOUGHT_REASONS)
        position = rng.choices(list(ConsentPosition), weights=(65, 12, 23))[0]
        reason = rng.choice(NOT_SOUGHT_REASONS) if position is ConsentPosition.NOT_SOUGHT else None
        return position, reason

    def _contact(
        self, fields: dict[str, Any], sender: str, household: Household, agency: Agency
    ) -> str:
        """Thin the contact as its referrer does, then add it."""
        event_id: str = fields["event_id"]
        share = INCOMPLETE_PUBLIC if agency is Agency.PUBLIC else INCOMPLETE_PROFESSIONAL
        # An anonymous referrer gives no way back by definition: the rules ask all the same.
        thin = agency is Agency.ANONYMOUS or (
            self._rng.random() < share and _thin_contact(self._rng, fields)
        )
        if thin:
            self.tags.incomplete.add(event_id)
        fields["children"] = [Child.model_validate(c) for c in fields["children"]]
        return self._add(Contact.model_validate(fields), sender, household.index)

    def _immediate_risk_contact(self, *, out_of_hours: bool) -> Contact:
        rng = self._rng
        agency = (
            rng.choices(
                (Agency.POLICE, Agency.HEALTH, Agency.PUBLIC, Agency.LOCAL_AUTHORITY),
                weights=(50, 25, 15, 10),
            )[0]
            if out_of_hours
            else rng.choice((Agency.EDUCATION, Agency.HEALTH))
        )
        household = self._contact_household(agency)
        sender, referrer, identifiers = self._referrer(agency, household)
        concern = rng.choice(list(IMMEDIATE_RISK_TEXTS))
        # Born children: a midwife's worry for an unborn child is no call for the duty team.
        subjects = [
            c for c in _subjects(household, sender, referrer, [concern]) if not c.unborn
        ] or list(household.born)
        fields: dict[str, Any] = {
            "event_id": self._id(),
            "received_at": self._out_of_hours_moment() if out_of_hours else self._routine_moment(),
            "referrer": referrer,
            "children": [
                self._child_fields(c, household, identifiers=identifiers) for c in subjects
            ],
            "adults": [household.mother, household.partner],
            "concern_categories": [concern],
            "description": IMMEDIATE_RISK_TEXTS[concern],
            "immediate_risk": True,
            "service_requested": (
                ServiceRequested.NOT_SPECIFIED
                if agency is Agency.PUBLIC
                else ServiceRequested.CHILD_PROTECTION
            ),
            "consent": ConsentPosition.NOT_SOUGHT,
            "consent_not_sought_reason": "Seeking consent could place the child at immediate risk.",
        }
        # Urgent calls are made by phone and written up in full: never thinned.
        contact = Contact.model_validate(
            fields | {"children": [Child.model_validate(c) for c in fields["children"]]}
        )
        tags = self.tags.immediate_out_of_hours if out_of_hours else self.tags.immediate_in_hours
        tags.add(self._add(contact, sender, household.index))
        return contact

    def _second_agency_report(self, notification_id: str) -> None:
        """A school (or a health visitor, for under-fives) reports the incident the police
        notified: the child told their teacher the next school day."""
        planned = next(p for p in self.planned if p.event.event_id == notification_id)
        household = self._county.household(planned.household)
        # Of school age: a nursery's children are the health visitor's to report.
        pupils = [c for c in household.born if _pupil(c) and c.unique_pupil_number]
        after = _after_office_minutes(
            self._office, planned.event.received_at, self._rng.randint(30, 300)
        )
        if after >= self.end:
            return
        if pupils:
            child = self._rng.choice(pupils)
            sender, referrer, identifiers = self._referrer(
                Agency.EDUCATION, household, urn=child.school_urn
            )
            subjects = [child]
        else:
            sender = COMMUNITY_HEALTH.sender
            first, last = self._faker.first_name(), self._faker.last_name()
            referrer = Referrer(
                name=f"{first} {last}",
                role="Health visitor",
                organisation=COMMUNITY_HEALTH.organisation,
                agency=Agency.HEALTH,
                phone=_phone(self._rng),
                email=f"{first}.{last}@{COMMUNITY_HEALTH.domain}.example.org".lower().replace(
                    "'", ""
                ),
            )
            subjects, identifiers = list(household.born), {"nhs"}
        contact = Contact(
            event_id=self._id(),
            received_at=after,
            referrer=referrer,
            children=[
                Child.model_validate(self._child_fields(c, household, identifiers=identifiers))
                for c in subjects
            ],
            concern_categories=[ConcernCategory.DOMESTIC_ABUSE],
            description="After police were called to the home, the family told us about the "
            "incident. " + self._rng.choice(CONCERN_TEXTS[ConcernCategory.DOMESTIC_ABUSE]),
            child_voice=self._rng.choice(CHILD_VOICES),
            service_requested=ServiceRequested.EARLY_HELP,
            consent=ConsentPosition.GIVEN,
        )
        self.tags.second_agency.add(self._add(contact, sender, household.index))

    # -- typos ------------------------------------------------------------------------------

    def _typos(self, by_name: set[str]) -> None:
        """Misspell a name or swap a date of birth's day and month in the repeat referrals
        ``by_name`` and some other events about a household an earlier event of the day was
        about, in a child the partner names without an identifier: only fuzzy matching can link
        them to the child the earlier event named."""
        heard_of: set[int] = set()
        order = sorted(range(len(self.planned)), key=lambda i: self.planned[i].event.received_at)
        for position in order:
            planned = self.planned[position]
            chance = 1.0 if planned.event.event_id in by_name else TYPO_SHARE
            if planned.household in heard_of and self._rng.random() < chance:
                event = _with_typo(self._rng, planned.event)
                if event is not None:
                    self.planned[position] = replace(planned, event=event)
                    self.tags.typo.add(event.event_id)
            heard_of.add(planned.household)

    # -- consent events ---------------------------------------------------------------------

    def _consent_events(self, count: int) -> None:
        """The family's answer about earlier contacts whose consent was not given: recorded by
        the referrer, or by the council's early-help team for the public's contacts."""
        rng = self._rng
        asked = [
            (p, p.event)
            for p in self.planned
            if isinstance(p.event, Contact)
            and p.event.consent is not ConsentPosition.GIVEN
            and not p.event.immediate_risk
        ]
        answered = 0
        for planned, contact in rng.sample(asked, k=len(asked)):
            if answered == count:
                return
            received = _after_office_minutes(
                self._office, contact.received_at, rng.randint(30, 240)
            )
            if received >= self.end:  # the family has not answered yet
                continue
            answered += 1
            household = self._county.household(planned.household)
            agency = contact.referrer.agency
            sender = (
                LOCAL_AUTHORITY_SENDER
                if agency in (Agency.PUBLIC, Agency.ANONYMOUS)
                else planned.sender
            )
            action = rng.choices(
                (
                    ConsentAction.GIVEN,
                    ConsentAction.REFUSED,
                    ConsentAction.SOUGHT,
                    ConsentAction.WITHDRAWN,
                ),
                weights=(60, 20, 15, 5),
            )[0]
            event = ConsentEvent(
                event_id=self._id(),
                received_at=received,
                action=action,
                decided_at=max(
                    contact.received_at, received - timedelta(minutes=rng.randint(5, 120))
                ),
                decided_by=f"{household.mother.given_name} {household.mother.family_name}",
                decided_by_role=DeciderRole.PARENT,
                contact_event_id=contact.event_id,
                children=list(contact.children),
            )
            self._add(event, sender, planned.household)


# ---------------------------------------------------------------------------------------------
# Thinning and typos: what partners leave out or get wrong.


#: What to leave out: one mapping (the event's fields or a child's) and what to change in it.
_Omission = tuple[dict[str, Any], dict[str, Any]]


def _thin_notification(rng: random.Random, fields: dict[str, Any]) -> None:
    """Leave out one thing the rules require of a police notification (there is always one:
    whether each child was present)."""
    options: list[_Omission] = []
    for child in fields["children"]:
        if child["date_of_birth"] is not None:
            options.append((child, {"date_of_birth": None}))
        if child["school_urn"] or child["school_name"]:
            options.append((child, {"school_urn": None, "school_name": None}))
        options.append((child, {"present": None, "present_location": None}))
        options.append((child, {"spoken_to": None, "child_voice": None}))
        if child["present"]:
            options.append((child, {"present_location": None}))
    if fields["incident_type"] is IncidentType.DOMESTIC_ABUSE:
        options.append((fields, {"dash_risk_level": None}))
    target, changes = rng.choice(options)
    target.update(changes)


def _thin_contact(rng: random.Random, fields: dict[str, Any]) -> bool:
    """Leave out one thing the rules require of a contact; False if none applies."""
    options: list[_Omission] = []
    for child in fields["children"]:
        if child["date_of_birth"] is not None:
            options.append((child, {"date_of_birth": None}))
    if fields["consent"] is ConsentPosition.NOT_SOUGHT:
        options.append((fields, {"consent_not_sought_reason": None}))
    referrer: Referrer = fields["referrer"]
    if referrer.phone or referrer.email:
        unreachable = referrer.model_copy(update={"phone": None, "email": None})
        options.append((fields, {"referrer": unreachable}))
    if not options:
        return False
    target, changes = rng.choice(options)
    target.update(changes)
    return True


def _slip(rng: random.Random, name: str) -> str | None:
    """``name`` with two letters in its middle swapped: a typing slip identity matching treats
    as one (the first letter and the last two are kept, see streams/decisions/identity.py)."""
    if len(name) < 5 or not name.isalpha():
        return None
    position = rng.randint(1, len(name) - 4)
    slipped = name[:position] + name[position + 1] + name[position] + name[position + 2 :]
    return slipped if slipped != name else None


def _misspelt_given(rng: random.Random, child: dict[str, Any], _: date) -> bool:
    slipped = _slip(rng, child["given_name"])
    if slipped is not None:
        child["given_name"] = slipped
    return slipped is not None


def _misspelt_family(rng: random.Random, child: dict[str, Any], _: date) -> bool:
    slipped = _slip(rng, child["family_name"])
    if slipped is not None:
        child["family_name"] = slipped
    return slipped is not None


def _swapped_date(_: random.Random, child: dict[str, Any], today: date) -> bool:
    born: date = child["date_of_birth"]
    if born.day > 12 or born.day == born.month:
        return False
    swapped = born.replace(month=born.day, day=born.month)
    # A baby's swapped date may not have come yet: that is a data-quality problem, not a typo.
    if swapped > today:
        return False
    child["date_of_birth"] = swapped
    return True


def _with_typo(
    rng: random.Random, event: Contact | PoliceNotification | ConsentEvent
) -> Contact | PoliceNotification | None:
    """``event`` with one child's name misspelt or date of birth swapped, or None when no child
    is named without an identifier and with a date of birth (a typo there changes nothing)."""
    if isinstance(event, ConsentEvent):
        return None
    children = [child.model_dump() for child in event.children]
    candidates = [
        child
        for child in children
        if not (child["nhs_number"] or child["unique_pupil_number"] or child["partner_reference"])
        and child["date_of_birth"] is not None
    ]
    for child in rng.sample(candidates, k=len(candidates)):
        for typo in rng.sample((_misspelt_given, _misspelt_family, _swapped_date), k=3):
            if typo(rng, child, event.received_at.date()):
                model = type(event.children[0])
                update = {"children": [model.model_validate(c) for c in children]}
                return event.model_copy(update=update)
    return None


# ---------------------------------------------------------------------------------------------
# Assembling the window.


def _assemble(spans: Sequence[_Span], start: datetime, end: datetime) -> DemoDay:
    planned = sorted((p for span in spans for p in span.planned), key=lambda p: p.event.received_at)
    tags = _Tags()
    for span in spans:
        for tag in dataclass_fields(tags):
            getattr(tags, tag.name).update(getattr(span.tags, tag.name))
    events: list[GeneratedEvent] = []
    seen_households: set[int] = set()
    repeats: set[str] = set()
    for item in planned:
        generated = GeneratedEvent(item.event_type, item.event, item.sender)
        events.append(generated)
        if item.event.event_id in tags.duplicated:
            events.append(generated)
        if item.event_type is not EventType.CONSENT_EVENT:
            if item.household in seen_households:
                repeats.add(item.event.event_id)
            seen_households.add(item.household)
    notifications = [
        p.event
        for p in planned
        if isinstance(p.event, PoliceNotification)
        and p.event.incident_type is IncidentType.DOMESTIC_ABUSE
    ]
    events_in: dict[Agency, Counter[EventType]] = {}
    for p in planned:
        events_in.setdefault(addressed_agency(p.event), Counter())[p.event_type] += 1
    partner_events = [p.event for p in planned if not isinstance(p.event, ConsentEvent)]
    requests = Counter(
        addressed_agency(p.event)
        for p in planned
        for tagged in (tags.incomplete, tags.stale_school)
        if p.event.event_id in tagged
    )
    contents = DayContents(
        start=start,
        end=end,
        published=len(events),
        events_in=events_in,
        events_by_sender=dict(Counter(p.sender for p in planned)),
        domestic_abuse_notifications=len(notifications),
        domestic_abuse_children=sum(len(n.children) for n in notifications),
        children_routed=sum(len(event.children) for event in partner_events),
        duplicated_event_ids=frozenset(tags.duplicated),
        second_agency_event_ids=frozenset(tags.second_agency),
        incomplete_event_ids=frozenset(tags.incomplete),
        stale_school_event_ids=frozenset(tags.stale_school),
        information_requests=requests,
        typo_event_ids=frozenset(tags.typo),
        late_event_ids=frozenset(tags.late),
        immediate_risk_out_of_hours_event_ids=frozenset(tags.immediate_out_of_hours),
        immediate_risk_in_hours_event_ids=frozenset(tags.immediate_in_hours),
        duty_team_alerts_expected=sum(
            len(p.event.children)
            for p in planned
            if p.event.event_id in tags.immediate_out_of_hours
        ),
        slow_acknowledgement_event_ids=frozenset(tags.slow_acknowledgement),
        repeat_household_event_ids=frozenset(repeats),
    )
    return DemoDay(tuple(events), contents)


# ---------------------------------------------------------------------------------------------
# The staff's part.


def _decided_level(rng: random.Random, item: WorkItem, urgent: bool) -> int:
    """The worker's level: mostly the router's, sometimes one either side on the facts."""
    if urgent:
        return 4
    shifts = {
        1: ((1, 80), (2, 20)),
        2: ((2, 75), (1, 15), (3, 10)),
        3: ((3, 65), (2, 20), (4, 15)),
        4: ((4, 85), (3, 15)),
    }[item.level]
    level = rng.choices([lv for lv, _ in shifts], weights=[w for _, w in shifts])[0]
    # Early help works with consenting families below child protection; level 4 goes to the MASH.
    return min(level, 3) if item.queue is Queue.EARLY_HELP else level


def _next_step(rng: random.Random, level: int) -> tuple[NextStep, ConsentStatus | None, str | None]:
    """(next step, consent, reason consent was not sought) fitting the level."""
    if level == 4:
        return (
            NextStep.STRATEGY_DISCUSSION,
            ConsentStatus.NOT_SOUGHT,
            rng.choice(NOT_SOUGHT_REASONS),
        )
    if level == 3:
        step = rng.choices(
            (NextStep.CHILD_IN_NEED_ASSESSMENT, NextStep.EARLY_HELP, NextStep.STRATEGY_DISCUSSION),
            weights=(65, 25, 10),
        )[0]
        if step is NextStep.STRATEGY_DISCUSSION:
            return step, ConsentStatus.NOT_SOUGHT, rng.choice(NOT_SOUGHT_REASONS)
        return step, ConsentStatus.GIVEN, None
    if level == 2:
        if rng.random() < 0.7:
            return NextStep.EARLY_HELP, ConsentStatus.GIVEN, None
        return NextStep.ADVICE_AND_SIGNPOSTING, None, None
    return rng.choice((NextStep.NO_FURTHER_ACTION, NextStep.ADVICE_AND_SIGNPOSTING)), None, None


NEXT_STEP_REASONS: Mapping[NextStep, tuple[str, ...]] = {
    NextStep.NO_FURTHER_ACTION: (
        "The concern is met by the universal services already around the child, and nothing "
        "suggests harm, so no further action is needed from children's services.",
    ),
    NextStep.ADVICE_AND_SIGNPOSTING: (
        "The family's needs can be met by universal services; the referrer is given advice and "
        "the family is signposted to the local family hub.",
        "The worry is real but low; advice to the referrer and signposting the parent to "
        "community support is proportionate.",
    ),
    NextStep.EARLY_HELP: (
        "The needs are emerging and the parent wants support, so an early help assessment with "
        "a lead practitioner is the right response.",
        "With the family's consent, targeted early help can address the concerns before they "
        "escalate; the school will act as lead professional.",
    ),
    NextStep.CHILD_IN_NEED_ASSESSMENT: (
        "The concerns are significant and recurring, so a child-in-need assessment under "
        "section 17 is needed to understand the child's needs.",
        "The child's needs are complex and not met by early help so far; a social work "
        "assessment under section 17 is proportionate.",
    ),
    NextStep.STRATEGY_DISCUSSION: (
        "There is reasonable cause to suspect the child is suffering or likely to suffer "
        "significant harm, so a strategy discussion with police and health is convened.",
        "The information points to significant harm; police, health and the school are to "
        "share what they know in a strategy discussion today.",
    ),
}


def _rationale(rng: random.Random, item: WorkItem, level: int, step: NextStep) -> str:
    """Reasons a MASH worker writes: what was weighed (the indicators, the history, what is
    missing) and why this step. Never the child's name: the reasons travel to managers' lists."""
    indicators = [
        entry.description for entry in item.rationale if not entry.rule.startswith("router.")
    ]
    source = item.source_event_type.value.replace("_", " ")
    weighed = (
        f"The {source} met these indicators: " + "; ".join(indicators[:3]).lower() + "."
        if indicators
        else f"No indicator of the threshold document fired on the {source} alone."
    )
    history = item.history
    known = (
        f"The child is known: {history.previous_events} earlier contact(s) or notification(s), "
        f"{history.domestic_abuse_incidents_12m} domestic-abuse incident(s) in 12 months."
        if history.previous_events
        else "Checks found no earlier involvement with children's services."
    )
    parts = [weighed, known]
    if item.missing_information:
        parts.append(
            "Some details are still awaited from the referrer; the decision is made on what is "
            "known now."
        )
    if item.match.kind is MatchKind.POSSIBLE:
        parts.append("The possible identity match was checked with the referrer and confirmed.")
    if level != item.level:
        parts.append(f"Having spoken with partners, I judge the need at level {level}.")
    parts.append(rng.choice(NEXT_STEP_REASONS[step]))
    return " ".join(parts)


def _decider(rng: random.Random, queue: Queue, level: int) -> tuple[str, StaffRole]:
    """Who decides, with a role the staff application lets decide on ``queue``."""
    if queue is Queue.EARLY_HELP:
        return EARLY_HELP_WORKER if rng.random() < 0.85 else TEAM_MANAGER
    manager_share = 0.6 if level == 4 else 0.15
    return TEAM_MANAGER if rng.random() < manager_share else MASH_WORKER


def _decision_time(
    rng: random.Random, item: WorkItem, office: OfficeCalendar, *, urgent: bool
) -> datetime:
    """When the decision is recorded: in office minutes from the decision clock's start, on
    time mostly, past the item's due time sometimes."""
    if rng.random() < LATE_DECISION_SHARE:
        return _after_office_minutes(office, item.decision_due_at, rng.randint(*LATE_MINUTES))
    start = office.clock_start(item.received_at, urgent=urgent)
    low, high = URGENT_MINUTES if urgent else ON_TIME_MINUTES
    # Most work is decided in the first hours of its clock, some near the end of it; under a
    # working day of office minutes is always before the due time.
    return _after_office_minutes(office, start, rng.triangular(low, high, low + (high - low) / 5))


def staff_decision(
    item: WorkItem, rng: random.Random, rules: Rules, *, end: datetime
) -> ThresholdDecision | None:
    """A MASH worker's, early-help worker's or team manager's threshold decision on a MASH or
    early-help work item, as the staff application records it; None for a duty-team item (its
    MASH item is decided) and for an item still waiting at ``end``.

    The decision passes :func:`streams.decisions.threshold.decision_problems` (raises
    ``ValueError`` if not: a fault here, never the item's). Its id is derived from the item, so
    a replay records it once.
    """
    if item.queue is Queue.DUTY_TEAM or rng.random() < UNDECIDED_SHARE:
        return None
    office = rules.office_calendar()
    urgent = any(entry.rule == URGENT_RULE for entry in item.rationale)
    decided_at = _decision_time(rng, item, office, urgent=urgent)
    if decided_at > end:
        return None
    level = _decided_level(rng, item, urgent)
    step, consent, not_sought = _next_step(rng, level)
    username, role = _decider(rng, item.queue, level)
    decision = ThresholdDecision(
        # The staff application's "dec-" form id, derived instead of random.
        event_id=derived_id("dec", item.event_id),
        work_item_id=item.event_id,
        child_key=item.child_key,
        source_event_id=item.source_event_id,
        queue=item.queue,
        level=level,
        next_step=step,
        rationale=_rationale(rng, item, level, step),
        decided_by=username,
        decided_by_role=role,
        decided_at=decided_at,
        consent=consent,
        consent_not_sought_reason=not_sought,
    )
    problems = decision_problems(decision, rules.decisions.minimum_rationale_words)
    if problems:
        raise ValueError(f"the synthetic decision would be refused: {problems}")
    return decision


DISCUSSION_REASONS = (
    "Police, health and social care agreed the threshold for significant harm is met; a "
    "section 47 enquiry starts with a joint visit today.",
    "Partners shared what they hold: the child's account and the agencies' records give "
    "reasonable cause to suspect significant harm, so a section 47 enquiry starts.",
)
NO_ENQUIRY_REASONS = (
    "Partners' information shows the harm is not significant; a child-in-need assessment under "
    "section 17 follows instead of a section 47 enquiry.",
)
NOT_HELD_REASONS = (
    "Police information received within the hour shows the child is safe with the other parent "
    "and the concern is not one of significant harm, so no strategy discussion is needed.",
)


def _attendees(rng: random.Random, invited: Sequence[Agency]) -> list[Agency]:
    """Who came: usually everyone invited; sometimes health, the school or the police could not."""
    absent: set[Agency] = set()
    for agency, chance in ((Agency.HEALTH, 0.12), (Agency.EDUCATION, 0.1), (Agency.POLICE, 0.05)):
        if agency in invited and rng.random() < chance:
            absent.add(agency)
    return [agency for agency in invited if agency not in absent]


def strategy_discussion_events(
    decision: ThresholdDecision, item: WorkItem, rng: random.Random, rules: Rules, *, end: datetime
) -> list[StrategyDiscussion]:
    """The strategy discussion a decision calls for, as the staff application records it:
    convened, then held (mostly within the rules' hours, some late, sometimes short of a
    partner) or, by a team manager's decision, not held. Nothing dated after ``end``; nothing
    for a decision that needs no discussion.

    Ids and ``missing_agencies`` are the staff application's: one ``discussion_id`` per work
    item, ``missing_agencies`` from :func:`streams.decisions.strategy.held_discussion`.
    """
    if decision.level != 4 and decision.next_step is not NextStep.STRATEGY_DISCUSSION:
        return []
    discussion_id = derived_id("discussion", item.event_id)
    has_school = child_has_school(item.child)
    invited = required_agencies(has_school)
    convened_at = decision.decided_at + timedelta(minutes=rng.randint(10, 90))
    common: dict[str, Any] = {
        "discussion_id": discussion_id,
        "decision_id": decision.event_id,
        "work_item_id": item.event_id,
        "child_key": item.child_key,
    }
    manager, manager_role = TEAM_MANAGER
    events = [
        StrategyDiscussion(
            event_id=derived_id("sd", discussion_id, DiscussionStatus.CONVENED.value),
            status=DiscussionStatus.CONVENED,
            at=convened_at,
            recorded_by=decision.decided_by,
            recorded_by_role=decision.decided_by_role,
            invitees=invited,
            **common,
        )
    ]
    due = decision.decided_at + timedelta(hours=rules.decisions.strategy_discussion_due_hours)
    if rng.random() < NOT_HELD_SHARE:
        outcome = StrategyDiscussion(
            event_id=derived_id("sd", discussion_id, DiscussionStatus.NOT_HELD.value),
            status=DiscussionStatus.NOT_HELD,
            at=convened_at + timedelta(minutes=rng.randint(30, 240)),
            recorded_by=manager,
            recorded_by_role=manager_role,
            rationale=rng.choice(NOT_HELD_REASONS),
            **common,
        )
    else:
        if rng.random() < LATE_DISCUSSION_SHARE:
            held_at = due + timedelta(minutes=rng.randint(60, 12 * 60))
        else:
            # Mostly within hours of being convened, some late on the last day allowed.
            latest = max((due - convened_at).total_seconds() / 60 - 30, 61)
            minutes = rng.triangular(60, latest, 180)
            held_at = convened_at + timedelta(minutes=round(minutes))
        section_47 = rng.random() < SECTION_47_SHARE
        outcome = held_discussion(
            StrategyDiscussion(
                event_id=derived_id("sd", discussion_id, DiscussionStatus.HELD.value),
                status=DiscussionStatus.HELD,
                at=held_at,
                recorded_by=manager,
                recorded_by_role=manager_role,
                invitees=invited,
                attendees=_attendees(rng, invited),
                section_47=section_47,
                rationale=rng.choice(DISCUSSION_REASONS if section_47 else NO_ENQUIRY_REASONS),
                **common,
            ),
            has_school,
        )
    events.append(outcome)
    minimum_words = rules.decisions.minimum_rationale_words
    for event in events:
        problems = discussion_problems(event, minimum_words)
        if problems:
            raise ValueError(f"the synthetic strategy discussion would be refused: {problems}")
    return [event for event in events if event.at <= end]


def duty_alert_acknowledgement(
    alert: DutyTeamAlert, rng: random.Random, rules: Rules, *, slow: bool = False
) -> AlertAcknowledgement:
    """The duty team's acknowledgement of an alert, as the staff application or the link in the
    alert's e-mail records it: within minutes of the alert being raised, or, when ``slow`` (the
    day's :attr:`DayContents.slow_acknowledgement_event_ids` name its source event), after the
    rules' acknowledgement time, so the escalation fires and then clears."""
    if slow:
        minutes = rules.decisions.duty_alert_acknowledge_minutes + rng.randint(
            *SLOW_ACKNOWLEDGE_EXTRA_MINUTES
        )
    else:
        minutes = rng.randint(*ACKNOWLEDGE_MINUTES)
    by_link = rng.random() < 0.5
    by = DUTY_TEAM_RECIPIENT if by_link else DUTY_WORKER
    return AlertAcknowledgement(
        event_id=derived_id("alert-acknowledgement", alert.event_id, by),
        alert_id=alert.event_id,
        work_item_id=alert.work_item_id,
        child_key=alert.child_key,
        acknowledged_by=by,
        via=AcknowledgedVia.EMAIL_LINK if by_link else AcknowledgedVia.STAFF_APPLICATION,
        acknowledged_at=alert.raised_at + timedelta(minutes=minutes, seconds=rng.randint(0, 59)),
    )


# ---------------------------------------------------------------------------------------------
# Small helpers.


def _pupil(child: PoolChild) -> bool:
    """Whether the child attends one of the directory's schools (and so has a sender)."""
    return child.school_urn in SCHOOL_NAMES


#: Worries about what one child does or suffers outside the home, not the household's care.
ONE_CHILD_CONCERNS = frozenset(
    {
        ConcernCategory.EXPLOITATION,
        ConcernCategory.MISSING,
        ConcernCategory.MENTAL_HEALTH,
        ConcernCategory.ONLINE_SAFETY,
    }
)


def _subjects(
    household: Household, sender: str, referrer: Referrer, concerns: Sequence[ConcernCategory]
) -> list[PoolChild]:
    """The children a contact is about: a school's own pupil, a midwife's unborn child, the
    eldest for a worry about one child's own life, otherwise every born child of the household."""
    if sender.startswith("school."):
        urn = sender.removeprefix("school.")
        return [child for child in household.born if child.school_urn == urn][:1]
    if referrer.role == "Midwife" and any(child.unborn for child in household.children):
        return [child for child in household.children if child.unborn]
    if ONE_CHILD_CONCERNS.intersection(concerns):
        return list(household.born[:1])
    return list(household.born)


def _count(rng: random.Random, bounds: tuple[int, int]) -> int:
    return rng.randint(*bounds)


def _distinct(items: Sequence[ConcernCategory]) -> list[ConcernCategory]:
    return list(dict.fromkeys(items))


def _slug(name: str) -> str:
    return "-".join(name.lower().replace("'", "").split())


def _role_words(role: AdultRole) -> str:
    return {
        AdultRole.FATHER: "father",
        AdultRole.STEP_PARENT: "stepfather",
        AdultRole.PARENT_PARTNER: "mother's partner",
    }.get(role, "partner")
