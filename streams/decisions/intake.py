"""Intake triage: one inbound partner message in, the events to publish out. Pure, synchronous.

Two kinds of bad input are treated differently, because a safeguarding concern must never bounce on
a typo:

* **Unusable** (cannot be decoded, not the schema, no event id or time, no child at all, larger
  than the front door takes in): the message becomes a :class:`DeadLetter`, kept whole with where
  it came from and why (one too large for any record to carry keeps its position instead).
* **Data-quality problems** in a usable event: the event is accepted with the problems attached and
  an :class:`InformationRequest` asks the sender to correct them.

Ids of everything produced here are derived from the input, so processing the same message twice
(at-least-once delivery) produces the same events, which consumers deduplicate.
"""

from __future__ import annotations

from collections.abc import Callable, Container
from dataclasses import dataclass
from datetime import datetime

from schemas.errors import (
    EventIdReusedError,
    MessageTooLargeError,
    ProcessingFailedError,
    UnusableEventError,
)
from schemas.models import (
    AcceptedEvent,
    ConsentEvent,
    Contact,
    DeadLetter,
    Event,
    EventType,
    InformationRequest,
    MashTask,
    PoliceNotification,
    RequestedItem,
    RequestReason,
    TaskKind,
)
from schemas.quality import data_quality_issues
from schemas.types import SHORT_TEXT_LENGTH
from schemas.wire import MAX_MESSAGE_BYTES, InboundMessage
from streams.decisions.ids import derived_id
from streams.decisions.requests import information_request

PartnerEvent = Contact | PoliceNotification | ConsentEvent
#: Wire bytes to a validated partner event, raising :class:`UnusableEventError` (the codec's
#: decode, bound to the event type's model: the decisions never see the wire format).
Decoder = Callable[[bytes | None], PartnerEvent]

#: The largest message a dead letter keeps whole: the worker's producer refuses records over
#: 1,000,000 bytes (Faust's ``producer_max_request_size``), and a dead letter adds its own fields.
#: A larger one keeps its position, where the message itself stays (topics are kept forever).
LARGEST_KEPT_WHOLE = 900_000


@dataclass(frozen=True)
class IntakeOutcome:
    """What to publish for one inbound message: an accepted event, or a dead letter."""

    accepted: AcceptedEvent | None = None
    information_request: InformationRequest | None = None
    dead_letter: DeadLetter | None = None

    @property
    def outputs(self) -> list[Event]:
        """What to publish, in order: the dead letter, or the accepted event and its request."""
        produced: list[Event | None] = [self.dead_letter, self.accepted, self.information_request]
        return [event for event in produced if event is not None]


def triage(
    message: InboundMessage,
    *,
    event_type: EventType,
    decode: Decoder,
    now: datetime,
    known_urns: Container[str] | None = None,
) -> IntakeOutcome:
    """Decide what becomes of one inbound message. Raises only for our own faults (registry)."""
    if message.size > MAX_MESSAGE_BYTES:
        too_large = MessageTooLargeError(
            f"the message is {message.size} bytes; at most {MAX_MESSAGE_BYTES} are taken in"
        )
        return IntakeOutcome(dead_letter=dead_letter_for(message, too_large, now))
    try:
        event = decode(message.value)
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
    request = information_request(
        event,
        event_type,
        sender=message.sender,
        reason=RequestReason.DATA_QUALITY,
        items=[RequestedItem(field=i.field, code=i.code, message=i.message) for i in issues],
        now=now,
    )
    return IntakeOutcome(accepted=accepted, information_request=request)


def dead_letter_for(
    message: InboundMessage, error: UnusableEventError, now: datetime
) -> DeadLetter:
    """The dead letter of an unusable message: original bytes, source position, code and reason.

    A message too large for a dead letter to carry (over :data:`LARGEST_KEPT_WHOLE` bytes) keeps
    its position only, and its reason says so: a dead letter that cannot be published would stop
    the agent on that message instead of telling a person.
    """
    reason = error.message if error.field is None else f"{error.field}: {error.message}"
    kept = message.size <= LARGEST_KEPT_WHOLE
    if not kept:
        note = (
            f" (the message, {message.size} bytes, is too large to keep here: it stays at "
            f"{message.topic} partition {message.partition} offset {message.offset})"
        )
        reason = reason[: SHORT_TEXT_LENGTH - len(note)] + note
    return DeadLetter(
        event_id=derived_id("dl", message.topic, message.partition, message.offset),
        source=message.source,
        original_key=message.key if kept else None,
        original_value=message.value if kept else None,
        original_headers=dict(message.headers) if kept else {},
        sender=message.sender,
        error_code=error.code,
        error_field=error.field[:64] if error.field else None,
        reason=reason[:SHORT_TEXT_LENGTH],
        original_event_id=error.event_id[:64] if error.event_id else None,
        dead_lettered_at=now,
    )


def review_task_for(dead_letter: DeadLetter) -> MashTask:
    """The MASH task that makes a person look at a dead letter: nothing rejected goes unseen.

    Its title says what the person has to do, which depends on why the message was rejected.
    """
    if dead_letter.error_code == ProcessingFailedError.code:
        title = (
            f"Could not be processed automatically ({dead_letter.source.topic}): handle the "
            "child by hand and report the fault"
        )
    elif dead_letter.error_code == EventIdReusedError.code:
        title = (
            f"{dead_letter.sender} reused an event id for different content: ask them to "
            "resend it under a new id"
        )
    else:
        title = f"Unusable message from {dead_letter.sender}: ask the sender to correct and resend"
    return MashTask(
        event_id=derived_id("task", dead_letter.event_id),
        kind=TaskKind.DEAD_LETTER_REVIEW,
        title=title,
        sender=dead_letter.sender,
        reason=dead_letter.reason,
        error_code=dead_letter.error_code,
        reference=dead_letter.event_id,
        created_at=dead_letter.dead_lettered_at,
    )
