"""The facts the rules file's conditions test, computed in one place for the router and the
required-information checks. Pure.

Every name here is declared, with its type, in :data:`streams.decisions.rules.FACTS`; the rules
file may use no other.
"""

from __future__ import annotations

from datetime import datetime

from schemas.models import (
    Child,
    ConcernCategory,
    ConsentEvent,
    Contact,
    EventType,
    HistorySummary,
    IncidentType,
    NotificationChild,
    OpenPlan,
    PoliceNotification,
)
from schemas.quality import ENGLAND, age_in_years

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
