"""Shared plumbing of the agent shells: at-least-once iteration, retries, and acknowledged sends.

Faust acks an event in a ``finally`` block, so an exception or a shutdown in the middle of an event
would mark it done and commit its offset with its outputs unsent. :func:`each_event` therefore
iterates with manual acks and acks an event only after its handler finished: a crash, a shutdown or
a rebalance mid-event leaves it unacked, and it is processed again (outputs are idempotent).

Our own transient faults (broker or schema registry unavailable) are retried in place, with
back-off, for as long as they last: the partition waits rather than skipping a child's event.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime

import faust
from faust.types import EventT
from kafka.errors import KafkaError

from schemas.errors import BrokerError, SchemaRegistryError, UnusableEventError
from schemas.models import DeadLetter, Event
from schemas.wire import InboundMessage
from streams.decisions.intake import dead_letter_for
from streams.platform import topology
from streams.platform.app import codec
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
) -> None:
    """Run ``handle(event)``, retrying transient faults with back-off until it succeeds."""
    delay = FIRST_RETRY_SECONDS
    attempt = 1
    while True:
        try:
            await handle(event)
        except TRANSIENT_FAULTS as fault:
            message = event.message
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
        await manual.ack(event)


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
        pending = await topology.topic(spec).send(
            key=spec.key_of(event).encode("utf-8"), value=codec.encode(event)
        )
        await pending
        if isinstance(event, DeadLetter):
            _log_dead_letter(event)


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
