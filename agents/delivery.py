"""Shared plumbing of the agent shells: at-least-once iteration, retries, and acknowledged sends.

Faust acks an event in a ``finally`` block, so an exception or a shutdown in the middle of an event
would mark it done and commit its offset with its outputs unsent. :func:`each_event` therefore
iterates with manual acks and acks an event only after its handler finished: a crash, a shutdown or
a rebalance mid-event leaves it unacked, and it is processed again (outputs are idempotent).

Our own transient faults (broker or schema registry unavailable) are retried in place, with
back-off, for as long as they last: the partition waits rather than skipping a child's event. When
that lasts longer than ``FRONTDOOR_STALL_ALERT_SECONDS`` an operator alert (CRITICAL) names the
waiting event, so a stall is never silent. Any other failure is not retried: the message is
dead-lettered with its reason (a MASH task follows) and the partition moves on, because one event
that fails every time would otherwise hold every child behind it for ever.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime

import faust
from faust.types import EventT
from kafka.errors import KafkaError
from pydantic import ValidationError

from schemas.errors import (
    BrokerError,
    ProcessingFailedError,
    SchemaRegistryError,
    UnusableEventError,
)
from schemas.models import ChildEvent, DeadLetter, Event
from schemas.wire import SENDER_HEADER, InboundMessage
from streams.decisions.intake import dead_letter_for
from streams.platform import topology
from streams.platform.app import codec, worker_settings
from streams.platform.codec import first_error
from streams.platform.topics import INTAKE, destination

log = logging.getLogger(__name__)

#: Faults that are ours and pass: retried, never dead-lettered, never skipped.
TRANSIENT_FAULTS: tuple[type[BaseException], ...] = (
    SchemaRegistryError,
    BrokerError,
    KafkaError,
    ConnectionError,
    TimeoutError,
)
FIRST_RETRY_SECONDS = 0.5
LONGEST_RETRY_SECONDS = 30.0

Handler = Callable[[EventT[bytes]], Awaitable[None]]


def inbound(event: EventT[bytes]) -> InboundMessage:
    """The raw message behind a Faust event, with headers as a plain mapping."""
    message = event.message
    raw_headers = message.headers or []
    pairs = list(raw_headers.items()) if isinstance(raw_headers, Mapping) else list(raw_headers)
    headers = {str(name): value if isinstance(value, bytes) else b"" for name, value in pairs}
    return InboundMessage(
        topic=message.topic,
        partition=message.partition,
        offset=message.offset,
        key=message.key,
        value=message.value,
        headers=headers,
    )


async def until_done(
    handle: Handler,
    event: EventT[bytes],
    *,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> None:
    """Run ``handle(event)``, retrying transient faults with back-off until it succeeds."""
    delay = FIRST_RETRY_SECONDS
    attempt = 1
    started = clock()
    alerted = False
    while True:
        try:
            await handle(event)
        except TRANSIENT_FAULTS as fault:
            message = event.message
            waited = clock() - started
            if not alerted and waited >= worker_settings.stall_alert_seconds:
                alerted = True
                log.critical(
                    "OPERATOR ALERT: %s[%s@%s] has waited %.0fs for the broker or schema "
                    "registry (%s %s); its partition is stalled until they answer",
                    message.topic,
                    message.partition,
                    message.offset,
                    waited,
                    type(fault).__name__,
                    getattr(fault, "code", ""),
                )
            log.error(  # noqa: TRY400 - the fault is expected; its class and code say enough
                "attempt %d at %s[%s@%s] failed (%s: %s); retrying in %.1fs",
                attempt,
                message.topic,
                message.partition,
                message.offset,
                type(fault).__name__,
                getattr(fault, "code", ""),
                delay,
            )
            await sleep(delay)
            delay = min(delay * 2, LONGEST_RETRY_SECONDS)
            attempt += 1
        else:
            return


async def each_event(stream: faust.StreamT[bytes], handle: Handler) -> None:
    """Process every event of ``stream`` at least once, acking each only when handled.

    A message that cannot be used on any topic (internal ones included, where it means a bug or a
    stranger writing to them) goes to the dead-letter topic, where a person is told, instead of
    crashing the agent over and over and holding the partition's commits behind it.
    """
    manual: faust.StreamT[bytes] = stream.noack()  # type: ignore[attr-defined]  # on Stream only
    async for event in manual.events():
        try:
            await until_done(handle, event)
        except UnusableEventError as error:
            await _dead_letter(event, error)
        except Exception as failure:  # noqa: BLE001 - any other failure goes to a person, below
            await _dead_letter(event, processing_failed(failure))
        await manual.ack(event)


def processing_failed(failure: Exception) -> ProcessingFailedError:
    """The dead-letter reason for a failure that retrying will not cure.

    Only the failure's class and, for a validation error, the field and rule are kept: an
    exception's own text may quote personal details (pydantic quotes the input).
    """
    log.error(
        "processing failed (%s); the message is dead-lettered for a person",
        type(failure).__name__,
    )
    log.debug("processing failure", exc_info=failure)
    if isinstance(failure, ValidationError):
        field, rule = first_error(failure)
        return ProcessingFailedError(
            f"{type(failure).__name__} building an output: {rule}", field=field
        )
    return ProcessingFailedError(f"{type(failure).__name__} while processing")


async def _dead_letter(event: EventT[bytes], error: UnusableEventError) -> None:
    letter = dead_letter_for(inbound(event), error, datetime.now(UTC))
    await until_done(lambda _: send(letter), event)


# Partners' bad input is expected on intake topics; anywhere else it means a bug or a stranger.
_PARTNER_TOPICS = frozenset(spec.full_name for spec in INTAKE.values())


async def send(*events: Event) -> None:
    """Publish each event to its declared topic, in order, each acknowledged before the next.

    The topic and the key come from :func:`streams.platform.topics.destination`: a shell hands
    over what its step produced and never names a topic. Every dead letter passes here, so each
    is logged once, with ids and codes only.
    """
    for event in events:
        spec = destination(event)
        sender = _sender_of(event)
        pending = await topology.topic(spec).send(
            key=spec.key_of(event).encode("utf-8"),
            value=codec.encode(event),
            headers={SENDER_HEADER: sender.encode("utf-8")} if sender else None,
        )
        await pending
        if isinstance(event, DeadLetter):
            _log_dead_letter(event)


def _sender_of(event: Event) -> str | None:
    # Internal records carry the partner's sender header on, so that a dead letter of one (and
    # the MASH task after it) still names the partner whose event it was.
    if isinstance(event, ChildEvent):
        return event.accepted.sender
    sender = getattr(event, "sender", None)
    return sender if isinstance(sender, str) else None


def _log_dead_letter(letter: DeadLetter) -> None:
    source = letter.source
    level = logging.WARNING if source.topic in _PARTNER_TOPICS else logging.ERROR
    log.log(
        level,
        "unusable message on %s[%s@%s] dead-lettered as %s code=%s sender=%s",
        source.topic,
        source.partition,
        source.offset,
        letter.event_id,
        letter.error_code,
        letter.sender,
    )
