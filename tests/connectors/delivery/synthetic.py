"""Synthetic outbound events for the delivery tests: one valid event of each kind delivered.

Each builder makes one valid event of a kind the delivery service delivers; keyword arguments
replace fields. Names are Faker's (en_GB, seeded), addresses and references are made up.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from faker import Faker

from schemas.models import (
    Address,
    AlertStatus,
    ClockKind,
    DutyTeamAlert,
    EventType,
    HealthNotification,
    InformationRequest,
    NextStep,
    NotificationRecipient,
    NotifiedChild,
    OutcomeNotification,
    Priority,
    RationaleEntry,
    RequestedItem,
    RequestReason,
    SchoolNotification,
    TimelinessAlert,
)

FAKE = Faker("en_GB")
FAKE.seed_instance(20260310)

#: A winter evening (GMT) and a summer morning (BST): times are shown in Europe/London.
WINTER = datetime(2026, 3, 10, 19, 42, tzinfo=UTC)
SUMMER = datetime(2026, 7, 1, 6, 5, tzinfo=UTC)


def duty_team_alert(**changes: object) -> DutyTeamAlert:
    values: dict[str, object] = {
        "event_id": "alert-0001-work-item",
        "work_item_id": "item-0001:duty_team",
        "source_event_id": "police-evt-0001",
        "child_key": "child-0001",
        "priority": Priority.RED,
        "reason": "Child at immediate risk outside office hours",
        "rationale": [
            RationaleEntry(
                rule="immediate-risk",
                description="The referrer says the child is at immediate risk",
                level=4,
                evidence="immediate_risk = true",
            )
        ],
        "received_at": WINTER - timedelta(minutes=3),
        "raised_at": WINTER,
    }
    return DutyTeamAlert.model_validate(values | changes)


def timeliness_alert(**changes: object) -> TimelinessAlert:
    values: dict[str, object] = {
        "event_id": "clock-0001-overdue",
        "clock_id": "clock-0001",
        "clock": ClockKind.DUTY_ALERT_ACKNOWLEDGEMENT,
        "child_key": "child-0001",
        "work_item_id": "item-0001:duty_team",
        "status": AlertStatus.OVERDUE,
        "started_at": WINTER,
        "due_at": WINTER + timedelta(minutes=15),
        "raised_at": WINTER + timedelta(minutes=15, seconds=20),
    }
    return TimelinessAlert.model_validate(values | changes)


def information_request(**changes: object) -> InformationRequest:
    values: dict[str, object] = {
        "event_id": "request-0001",
        "about_event_id": "police-evt-0001",
        "about_event_type": EventType.POLICE_NOTIFICATION,
        "addressed_to_agency": "police",
        "addressed_to_sender": "police.synthetic",
        "reason": RequestReason.MISSING_INFORMATION,
        "items": [
            RequestedItem(
                field="children.0.school_urn",
                code="MI-SCHOOL",
                message="The child's school or setting is not given",
            ),
            RequestedItem(
                field="children.0.child_voice",
                code="MI-CHILD-VOICE",
                message="Whether the child was spoken to, and what they said",
            ),
        ],
        "created_at": WINTER,
    }
    return InformationRequest.model_validate(values | changes)


def outcome_notification(**changes: object) -> OutcomeNotification:
    values: dict[str, object] = {
        "event_id": "outcome-notice-0001",
        "about_event_id": "contact-0001",
        "about_event_type": EventType.CONTACT,
        "addressed_to_sender": "health.synthetic-gp",
        "child": NotifiedChild(
            given_name=FAKE.first_name(),
            family_name=FAKE.last_name(),
            date_of_birth=date(2016, 4, 2),
            partner_reference="GP-77",
        ),
        "next_step": NextStep.EARLY_HELP,
        "decided_at": SUMMER,
    }
    return OutcomeNotification.model_validate(values | changes)


def _incident(**changes: object) -> dict[str, object]:
    values: dict[str, object] = {
        "event_id": "encompass-0001",
        "about_event_id": "police-evt-0001",
        "child_key": "child-0001",
        "recipient": NotificationRecipient.SCHOOL,
        "school_urn": "990002",
        "due_by": datetime(2026, 3, 11, 8, 30, tzinfo=UTC),
        "rule": "school",
        "created_at": WINTER,
        "given_name": FAKE.first_name(),
        "family_name": FAKE.last_name(),
        "date_of_birth": date(2017, 9, 14),
        "police_reference": "SYN/2026/000123",
        "occurred_at": WINTER - timedelta(hours=2),
        "incident_location": Address(
            line1=FAKE.street_address(), town=FAKE.city(), postcode=FAKE.postcode()
        ),
        "present": True,
        "seen_or_spoken_to": False,
        "child_voice": None,
        "brief_circumstances": "Verbal argument between adults at the home; police attended.",
        "police_contact": "PC 4821, Synthetic Police safeguarding desk",
    }
    return values | changes


def school_notification(**changes: object) -> SchoolNotification:
    return SchoolNotification.model_validate(_incident(**changes))


def health_notification(**changes: object) -> HealthNotification:
    changes = {
        "recipient": NotificationRecipient.HEALTH_VISITING,
        "school_urn": None,
        "rule": "health_visiting",
    } | changes
    return HealthNotification.model_validate(_incident(**changes))
