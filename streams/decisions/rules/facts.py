"""The facts a rules condition may test: which exist, and how each is computed. Pure.

:data:`FACTS` declares every fact name a condition may use, with its type, where it comes from
(the event, one child, or the child's history) and, for text facts, its closed set of values; the
rules file may use no other, and :mod:`streams.decisions.rules.model` refuses a condition that
names an undeclared fact or a value the fact can never take. :func:`event_facts`,
:func:`child_facts` and :func:`history_facts` compute those facts, in one place for the router and
the required-information checks, as plain values (text, whole numbers, true or false, null, lists
of text: no enums), as the rules file spells them.
"""

from __future__ import annotations

import types
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Literal

from schemas.models import (
    Child,
    ConcernCategory,
    ConsentEvent,
    ConsentPosition,
    Contact,
    DashRiskLevel,
    EventType,
    HistorySummary,
    IncidentType,
    NotificationChild,
    OpenPlan,
    PoliceNotification,
    ServiceRequested,
)
from schemas.quality import ENGLAND, age_in_years

# ---------------------------------------------------------------------------------------------
# The facts a condition may test.


@dataclass(frozen=True)
class Fact:
    """What the loader knows about one fact: its value type, where it comes from, its values.

    ``scope`` is ``event`` (from the event itself), ``child`` (from one child of the event) or
    ``history`` (from what the front door already knows about the child). ``values`` is the
    closed set of text values, when there is one.
    """

    value_type: type[object]
    description: str
    scope: Literal["event", "child", "history"]
    is_list: bool = False
    nullable: bool = False
    values: frozenset[str] = frozenset()


def _values(enum: type[Enum]) -> frozenset[str]:
    return frozenset(str(member.value) for member in enum)


#: The only fact names a condition may use; the router computes them for each child of an event.
FACTS: Mapping[str, Fact] = types.MappingProxyType(
    {
        "event_type": Fact(
            str, "contact, police_notification or consent_event", "event", values=_values(EventType)
        ),
        "concern_categories": Fact(
            str,
            "a contact's concern categories",
            "event",
            is_list=True,
            values=_values(ConcernCategory),
        ),
        "immediate_risk": Fact(bool, "the referrer says a child is at immediate risk", "event"),
        "service_requested": Fact(
            str,
            "the service the referrer asks for (contacts only)",
            "event",
            nullable=True,
            values=_values(ServiceRequested),
        ),
        "consent": Fact(
            str,
            "the family's consent position (contacts only)",
            "event",
            nullable=True,
            values=_values(ConsentPosition),
        ),
        "incident_type": Fact(
            str,
            "a police notification's incident type",
            "event",
            nullable=True,
            values=_values(IncidentType),
        ),
        "event_is_domestic_abuse": Fact(
            bool, "a domestic-abuse incident or a contact about domestic abuse", "event"
        ),
        "dash_risk_level": Fact(
            str,
            "the police DASH risk level",
            "event",
            nullable=True,
            values=_values(DashRiskLevel),
        ),
        "dash_score": Fact(int, "yes answers of 24 on the DASH form", "event", nullable=True),
        "marac_referral_made": Fact(bool, "police made a MARAC referral", "event", nullable=True),
        "child_present": Fact(
            bool, "the child was present at the incident", "child", nullable=True
        ),
        "child_age_years": Fact(
            int, "the child's age in completed years when received", "child", nullable=True
        ),
        "child_unborn": Fact(bool, "an unborn child (expected date of delivery only)", "child"),
        "child_educated_at_home": Fact(
            bool, "police say the child is educated at home or attends no school", "child"
        ),
        "child_under_five": Fact(bool, "an unborn child or a child under five", "child"),
        "history.contacts_12m": Fact(int, "contacts about the child in 12 months", "history"),
        "history.referrals_12m": Fact(int, "referrals about the child in 12 months", "history"),
        "history.domestic_abuse_incidents_12m": Fact(
            int, "domestic-abuse incidents in 12 months, before this event", "history"
        ),
        "history.open_child_protection_plan": Fact(
            bool, "the child has an open child protection plan", "history"
        ),
        "history.open_child_in_need_plan": Fact(
            bool, "the child has an open child-in-need plan", "history"
        ),
        "history.looked_after": Fact(bool, "the child is looked after", "history"),
        "history.early_help_open": Fact(bool, "the family has open early help", "history"),
        "history.strategy_discussions_12m": Fact(
            int, "strategy discussions about the child in 12 months", "history"
        ),
    }
)

#: The operators of a fact condition.
OPERATORS: tuple[str, ...] = ("equals", "contains", "any_of_values", "at_least", "at_most")
_COMBINATORS: tuple[str, ...] = ("all", "any", "not")


# ---------------------------------------------------------------------------------------------
# How the facts are computed. A fact added to FACTS above is computed here, so that the
# declaration the loader checks and the values the router supplies cannot drift apart.

UNDER_FIVE = 5


def event_facts(event: Contact | PoliceNotification | ConsentEvent) -> dict[str, object]:
    """The facts about the event itself."""
    contact = event if isinstance(event, Contact) else None
    police = event if isinstance(event, PoliceNotification) else None
    if contact is not None:
        event_type = EventType.CONTACT
    elif police is not None:
        event_type = EventType.POLICE_NOTIFICATION
    else:
        event_type = EventType.CONSENT_EVENT
    return {
        "event_type": event_type.value,
        "concern_categories": [c.value for c in contact.concern_categories] if contact else [],
        "immediate_risk": bool(contact and contact.immediate_risk),
        "service_requested": contact.service_requested.value if contact else None,
        "consent": contact.consent.value if contact else None,
        "incident_type": police.incident_type.value if police else None,
        "event_is_domestic_abuse": is_domestic_abuse(event),
        "dash_risk_level": police.dash_risk_level.value
        if police and police.dash_risk_level
        else None,
        "dash_score": police.dash_score if police else None,
        "marac_referral_made": police.marac_referral_made if police else None,
    }


def child_facts(child: Child, received: datetime) -> dict[str, object]:
    """The facts about one child of the event, on the day it was received (in England)."""
    today = received.astimezone(ENGLAND).date()
    age = age_in_years(child.date_of_birth, today) if child.date_of_birth else None
    unborn = child.date_of_birth is None and child.expected_date_of_delivery is not None
    return {
        "child_present": child.present if isinstance(child, NotificationChild) else None,
        "child_age_years": age,
        "child_unborn": unborn,
        "child_educated_at_home": isinstance(child, NotificationChild)
        and child.educated_at_home is True,
        "child_under_five": unborn or (age is not None and age < UNDER_FIVE),
    }


def is_domestic_abuse(event: Contact | PoliceNotification | ConsentEvent) -> bool:
    """A domestic-abuse incident (police) or concern (contact): what the 12-month count counts."""
    if isinstance(event, PoliceNotification):
        return event.incident_type is IncidentType.DOMESTIC_ABUSE
    if isinstance(event, Contact):
        return ConcernCategory.DOMESTIC_ABUSE in event.concern_categories
    return False


def history_facts(history: HistorySummary) -> dict[str, object]:
    """The facts about the child's history before this event."""
    return {
        "history.contacts_12m": history.contacts_12m,
        "history.referrals_12m": history.referrals_12m,
        "history.domestic_abuse_incidents_12m": history.domestic_abuse_incidents_12m,
        "history.open_child_protection_plan": OpenPlan.CHILD_PROTECTION in history.open_plans,
        "history.open_child_in_need_plan": OpenPlan.CHILD_IN_NEED in history.open_plans,
        "history.looked_after": OpenPlan.LOOKED_AFTER in history.open_plans,
        "history.early_help_open": OpenPlan.EARLY_HELP in history.open_plans,
        "history.strategy_discussions_12m": history.strategy_discussions_12m,
    }
