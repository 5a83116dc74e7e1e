"""Information requests: the one way the front door asks a partner for something. Pure.

Intake asks for data-quality corrections; identification asks for what the rules file requires
and the event lacks. Both build their request here, so every request is addressed, identified and
worded the same way.
"""

from __future__ import annotations

from datetime import datetime

from schemas.models import (
    Agency,
    Contact,
    Event,
    EventType,
    InformationRequest,
    PoliceNotification,
    RequestedItem,
    RequestReason,
)
from streams.decisions.ids import derived_id


def addressed_agency(event: Event) -> Agency:
    """The agency an information request about this event goes to."""
    if isinstance(event, Contact):
        return event.referrer.agency
    if isinstance(event, PoliceNotification):
        return Agency.POLICE
    return Agency.LOCAL_AUTHORITY


def information_request(
    about: Event,
    event_type: EventType,
    *,
    sender: str,
    reason: RequestReason,
    items: list[RequestedItem],
    now: datetime,
) -> InformationRequest | None:
    """One request naming every item to supply or correct, or None when there is nothing to ask.

    Its id is derived from the sender, the event and the reason, so a redelivered event asks
    once, and two partners' events that share an id each get their own request.
    """
    if not items:
        return None
    return InformationRequest(
        event_id=derived_id("ir", sender, about.event_id, reason.value),
        about_event_id=about.event_id,
        about_event_type=event_type,
        addressed_to_agency=addressed_agency(about),
        addressed_to_sender=sender,
        reason=reason,
        items=items,
        created_at=now,
    )
