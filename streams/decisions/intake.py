"""Intake triage: one inbound partner message in, the events to publish out. Pure, synchronous.

Two kinds of bad input are treated differently, because a safeguarding concern must never bounce on
a typo:

* **Unusable** (cannot be decoded, not the schema, no event id or time, no child at all): the
  message becomes a :class:`DeadLetter`, kept whole with where it came from and why.
* **Data-quality problems** in a usable event: the event is accepted with the problems attached and
  an :class:`InformationRequest` asks the sender to correct them.

Ids of everything produced here are derived from the input, so processing the same message twice
(at-least-once delivery) produces the same events, which consumers deduplicate.
"""

from __future__ import annotations

import uuid
from collections.abc import Container, Mapping
from dataclasses import dataclass
from datetime import datetime

from schemas.errors import UnusableEventError
from schemas.models import (
    AcceptedEvent,
    Agency,
    ConsentEvent,
    Contact,
    DataQualityIssue,
    DeadLetter,
    Event,
    EventType,
    InformationRequest,
    MashTask,
    PoliceNotification,
    RequestedItem,
    RequestReason,
    SourcePosition,
    TaskKind,
)
from schemas.quality import data_quality_issues
from streams.platform.codec import AvroCodec
from streams.platform.publisher import SENDER_HEADER

UNKNOWN_SENDER = "unknown"
_IDS = uuid.UUID("5b0c2a57-6c1e-4d8e-9a51-3f7f0e0c1d20")  # namespace for derived ids


def derived_id(kind: str, *parts: object) -> str:
    """A stable id for an output derived from its inputs (same inputs, same id)."""
    return f"{kind}-{uuid.uuid5(_IDS, '|'.join(str(part) for part in parts))}"


@dataclass(frozen=True)
class InboundMessage:
    """A Kafka message as it arrived: raw bytes and where they came from."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: Mapping[str, bytes]

    @property
    def source(self) -> SourcePosition:
        return SourcePosition(topic=self.topic, partition=self.partition, offset=self.offset)

    @property
    def sender(self) -> str:
        raw = self.headers.get(SENDER_HEADER)
        if not raw:
            return UNKNOWN_SENDER
        try:
            text = raw.decode("utf-8").strip()
        except UnicodeDecodeError:
            return UNKNOWN_SENDER
        return text[:64] or UNKNOWN_SENDER


@dataclass(frozen=True)
class IntakeOutcome:
    """What to publish for one inbound message: an accepted event, or a dead letter."""

    accepted: AcceptedEvent | None = None
    information_request: InformationRequest | None = None
    dead_letter: DeadLetter | None = None


def addressed_agency(event: Event) -> Agency:
    """The agency an information request about this event goes to."""
    if isinstance(event, Contact):
        return event.referrer.agency
    if isinstance(event, PoliceNotification):
        return Agency.POLICE
    return Agency.LOCAL_AUTHORITY


def triage(
    message: InboundMessage,
    *,
    event_type: EventType,
    model: type[Contact | PoliceNotification | ConsentEvent],
    codec: AvroCodec,
    now: datetime,
    known_urns: Container[str] | None = None,
) -> IntakeOutcome:
    """Decide what becomes of one inbound message. Raises only for our own faults (registry)."""
    try:
        event = codec.decode(message.value, model)
    except UnusableEventError as error:
        return IntakeOutcome(dead_letter=dead_letter_for(message, error, now))
    issues = data_quality_issues(event, known_urns)
    accepted = AcceptedEvent(
        event_id=event.event_id,
        event_type=event_type,
        sender=message.sender,
        source=message.source,
        accepted_at=now,
        data_quality_issues=issues,
        **{event_type.value: event},
    )
    request = information_request_for(event, event_type, message.sender, issues, now)
    return IntakeOutcome(accepted=accepted, information_request=request)


def information_request_for(
    event: Event,
    event_type: EventType,
    sender: str,
    issues: list[DataQualityIssue],
    now: datetime,
) -> InformationRequest | None:
    """One request naming every field to correct, or None when there is nothing to ask."""
    if not issues:
        return None
    return InformationRequest(
        event_id=derived_id("ir", event.event_id, RequestReason.DATA_QUALITY.value),
        about_event_id=event.event_id,
        about_event_type=event_type,
        addressed_to_agency=addressed_agency(event),
        addressed_to_sender=sender,
        reason=RequestReason.DATA_QUALITY,
        items=[RequestedItem(field=i.field, code=i.code, message=i.message) for i in issues],
        created_at=now,
    )


def dead_letter_for(
    message: InboundMessage, error: UnusableEventError, now: datetime
) -> DeadLetter:
    """The dead letter of an unusable message: original bytes, source position, code and reason."""
    reason = error.message if error.field is None else f"{error.field}: {error.message}"
    return DeadLetter(
        event_id=derived_id("dl", message.topic, message.partition, message.offset),
        source=message.source,
        original_key=message.key,
        original_value=message.value,
        original_headers=dict(message.headers),
        sender=message.sender,
        error_code=error.code,
        error_field=error.field[:64] if error.field else None,
        reason=reason[:500],
        original_event_id=error.event_id[:64] if error.event_id else None,
        dead_lettered_at=now,
    )


def review_task_for(dead_letter: DeadLetter) -> MashTask:
    """The MASH task that makes a person look at a dead letter: nothing rejected goes unseen."""
    return MashTask(
        event_id=derived_id("task", dead_letter.event_id),
        kind=TaskKind.DEAD_LETTER_REVIEW,
        title=f"Unusable message from {dead_letter.sender}: ask the sender to correct and resend",
        sender=dead_letter.sender,
        reason=dead_letter.reason,
        error_code=dead_letter.error_code,
        reference=dead_letter.event_id,
        created_at=dead_letter.dead_lettered_at,
    )
