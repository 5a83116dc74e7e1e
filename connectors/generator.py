"""Synthetic partner traffic for demos and tests: contacts, police notifications, consent events.

Everything is invented with Faker (en_GB) from a seed, so a run can be repeated. NHS numbers are
drawn from the 999 range the NHS reserves for testing, with valid check digits. Children are drawn
from a fixed pool so histories build up (repeat incidents, re-referrals), and a share of events is
deliberately incomplete (no date of birth, no school, no referrer contact) to exercise the
information requests.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from faker import Faker

from schemas.models import (
    Address,
    Agency,
    Child,
    ConcernCategory,
    ConsentAction,
    ConsentEvent,
    ConsentPosition,
    Contact,
    DashRiskLevel,
    DeciderRole,
    Event,
    EventType,
    IncidentType,
    NotificationChild,
    PoliceNotification,
    Referrer,
    ServiceRequested,
)
from schemas.quality import nhs_check_digit

#: Shares of each event type, roughly a front door's mix.
PROPORTIONS: dict[EventType, float] = {
    EventType.CONTACT: 0.5,
    EventType.POLICE_NOTIFICATION: 0.4,
    EventType.CONSENT_EVENT: 0.1,
}
INCOMPLETE_SHARE = 0.2
CHILD_POOL = 150
SYNTHETIC_URNS = ("990001", "990002", "990003", "990005", "990006", "990007")

_SENDERS: dict[Agency, str] = {
    Agency.EDUCATION: "school.990001",
    Agency.HEALTH: "health.synthetic-gp",
    Agency.POLICE: "police.synthetic",
    Agency.PUBLIC: "public.web-form",
    Agency.LOCAL_AUTHORITY: "la.synthetic",
}


def synthetic_nhs_number(rng: random.Random) -> str:
    """A 999-range NHS test number with a valid modulus-11 check digit."""
    while True:
        first_nine = "999" + "".join(str(rng.randrange(10)) for _ in range(6))
        check = nhs_check_digit(first_nine)
        if check is not None:
            return f"{first_nine}{check}"


@dataclass(frozen=True)
class GeneratedEvent:
    event_type: EventType
    event: Event
    sender: str


class Generator:
    """A seeded stream of synthetic events, ``start`` onwards, a few minutes apart."""

    def __init__(self, seed: int = 1, start: datetime | None = None) -> None:
        self._rng = random.Random(seed)
        self._faker = Faker("en_GB")
        self._faker.seed_instance(seed)
        self._clock = start or datetime.now(UTC)
        self._families = [self._family() for _ in range(CHILD_POOL // 2)]
        self._contacts: list[Contact] = []

    def _family(self) -> tuple[list[Child], Address]:
        surname = self._faker.last_name()
        address = Address(
            line1=self._faker.street_address(),
            town=self._faker.city(),
            postcode=self._faker.postcode(),
        )
        today = date.today()
        children = [
            Child(
                given_name=self._faker.first_name(),
                family_name=surname,
                date_of_birth=today - timedelta(days=self._rng.randrange(60, 17 * 365)),
                nhs_number=synthetic_nhs_number(self._rng),
                school_urn=self._rng.choice(SYNTHETIC_URNS),
                address=address,
            )
            for _ in range(self._rng.choice((1, 1, 2, 3)))
        ]
        return children, address

    def __iter__(self) -> Iterator[GeneratedEvent]:
        return self

    def __next__(self) -> GeneratedEvent:
        self._clock += timedelta(minutes=self._rng.randrange(1, 30))
        kinds = list(PROPORTIONS)
        kind = self._rng.choices(kinds, weights=[PROPORTIONS[k] for k in kinds])[0]
        if kind is EventType.CONSENT_EVENT and self._contacts:
            return self._consent_event()
        if kind is EventType.POLICE_NOTIFICATION:
            return self._police_notification()
        return self._contact()

    def _incomplete(self) -> bool:
        return self._rng.random() < INCOMPLETE_SHARE

    def _thin(self, child: Child) -> dict[str, object]:
        fields = child.model_dump()
        if self._incomplete():
            fields["date_of_birth"] = None
        if self._incomplete():
            fields["school_urn"] = None
        return fields

    def _contact(self) -> GeneratedEvent:
        children, _ = self._rng.choice(self._families)
        agency = self._rng.choice(list(_SENDERS))
        concerns = self._rng.sample(list(ConcernCategory), k=self._rng.choice((1, 1, 2)))
        consent = self._rng.choices(list(ConsentPosition), weights=(6, 1, 2))[0]
        contact = Contact(
            event_id=f"demo-{uuid.UUID(int=self._rng.getrandbits(128))}",
            received_at=self._clock,
            referrer=Referrer(
                name=self._faker.name(),
                role="Designated safeguarding lead" if agency is Agency.EDUCATION else None,
                agency=agency,
                email=None if self._incomplete() else self._faker.email(),
                phone=None if self._incomplete() else self._faker.phone_number(),
            ),
            children=[Child.model_validate(self._thin(child)) for child in children],
            concern_categories=concerns,
            description=self._faker.paragraph(nb_sentences=3),
            immediate_risk=self._rng.random() < 0.05,
            service_requested=self._rng.choice(list(ServiceRequested)),
            consent=consent,
            consent_not_sought_reason=(
                "Seeking consent may place the child at risk"
                if consent is ConsentPosition.NOT_SOUGHT and not self._incomplete()
                else None
            ),
        )
        self._contacts = [*self._contacts[-50:], contact]
        return GeneratedEvent(EventType.CONTACT, contact, _SENDERS[agency])

    def _police_notification(self) -> GeneratedEvent:
        children, address = self._rng.choice(self._families)
        notification = PoliceNotification(
            event_id=f"demo-{uuid.UUID(int=self._rng.getrandbits(128))}",
            received_at=self._clock,
            police_reference=f"SYN-{self._rng.randrange(10**6):06d}",
            force="Synthetic Constabulary",
            occurred_at=self._clock - timedelta(hours=self._rng.randrange(1, 20)),
            location=address,
            incident_type=self._rng.choices(list(IncidentType), weights=(8, 1, 1, 1, 1, 1))[0],
            dash_risk_level=self._rng.choices(list(DashRiskLevel), weights=(6, 3, 1))[0],
            dash_score=self._rng.randrange(0, 20),
            children=[
                NotificationChild.model_validate(
                    self._thin(child)
                    | {
                        "present": None if self._incomplete() else self._rng.random() < 0.6,
                        "spoken_to": None if self._incomplete() else self._rng.random() < 0.4,
                    }
                )
                for child in children
            ],
            circumstances=self._faker.paragraph(nb_sentences=2),
            marac_referral_made=False,
        )
        return GeneratedEvent(EventType.POLICE_NOTIFICATION, notification, _SENDERS[Agency.POLICE])

    def _consent_event(self) -> GeneratedEvent:
        contact = self._rng.choice(self._contacts)
        action = self._rng.choice(
            (ConsentAction.GIVEN, ConsentAction.REFUSED, ConsentAction.SOUGHT)
        )
        event = ConsentEvent(
            event_id=f"demo-{uuid.UUID(int=self._rng.getrandbits(128))}",
            received_at=self._clock,
            action=action,
            decided_at=self._clock - timedelta(minutes=5),
            decided_by=self._faker.name(),
            decided_by_role=DeciderRole.PARENT,
            contact_event_id=contact.event_id,
            children=list(contact.children),
        )
        return GeneratedEvent(EventType.CONSENT_EVENT, event, _SENDERS[Agency.LOCAL_AUTHORITY])
