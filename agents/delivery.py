"""Shared plumbing of the agent shells: at-least-once iteration, retries, and acknowledged sends.

Faust acks an event in a ``finally`` block, so an exception or a shutdown in the middle of an event
would mark it done and commit its offset with its outputs unsent. :func:`each_event` therefore
iterates with manual acks: each event's step runs, its outputs go to the producer at once, and the
:class:`agents.pipeline.Acknowledger` acks the event (and writes its state) only once its outputs
are acknowledged, in order. A crash, a shutdown or a rebalance mid-event leaves it unacked, and it
is processed again (outputs are idempotent).

Our own transient faults (broker or schema registry unavailable) are retried in place, with
back-off, for as long as they last: the partition waits rather than skipping a child's event. When
that lasts longer than ``FRONTDOOR_STALL_ALERT_SECONDS`` an operator alert (CRITICAL) names the
waiting event, so a stall is never silent. Any other failure is not retried: the message is
dead-lettered with its reason (a MASH task follows) and the partition moves on, because one event
that fails every time would otherwise hold every child behind it for ever.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

import faust
from faust.agents import current_agent
from faust.types import EventT
from kafka.errors import KafkaError
from pydantic import ValidationError

from agents.pipeline import (
    FIRST_RETRY_SECONDS,
    IN_FLIGHT_LIMIT,
    LONGEST_RETRY_SECONDS,
    Acknowledger,
    Delivery,
    StagedTable,
    Step,
)
from schemas.errors import (
    BrokerError,
    ProcessingFailedError,
    SchemaRegistryError,
    UnusableEventError,
)
from schemas.models import ChildEvent, DeadLetter, Event
from schemas.wire import SENDER_HEADER, InboundMessage
from streams.decisions.intake import dead_letter_for
from streams.platform import metrics, topology
from streams.platform.app import app, codec, worker_settings
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

T = TypeVar("T")
#: One event's step: decode, decide (pure), and say what to publish and which table keys to write.
Process = Callable[[EventT[bytes]], Step]


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


def published_at(event: EventT[bytes]) -> datetime:
    """The time the event was published (the broker's timestamp): "now" for steps that keep time.

    Judged at its own time, an event gives the same answer when the topics are replayed (a
    rebuild, a new worker) as when it first came, so a replay derives the same alerts and agendas,
    which consumers already hold, instead of finding every old clock overdue at today's date.
    """
    stamp = event.message.timestamp
    return datetime.fromtimestamp(stamp, UTC) if stamp else datetime.now(UTC)


async def until_done(
    attempt: Callable[[EventT[bytes]], Awaitable[T]],
    event: EventT[bytes],
    *,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> T:
    """Run ``attempt(event)``, retrying transient faults with back-off until it succeeds."""
    delay = FIRST_RETRY_SECONDS
    attempts = 1
    started = clock()
    alerted = False
    while True:
        try:
            return await attempt(event)
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
                attempts,
                message.topic,
                message.partition,
                message.offset,
                type(fault).__name__,
                getattr(fault, "code", ""),
                delay,
            )
            await sleep(delay)
            delay = min(delay * 2, LONGEST_RETRY_SECONDS)
            attempts += 1


async def each_event(
    stream: faust.StreamT[bytes],
    process: Process,
    tables: Sequence[StagedTable[Any]] = (),
    *,
    in_flight_limit: int = IN_FLIGHT_LIMIT,
) -> None:
    """Process every event of ``stream`` at least once, acking each only when its outputs are.

    ``tables`` are the staged tables ``process`` reads and writes (see :mod:`agents.pipeline`);
    ``in_flight_limit`` is how many events may wait for their outputs' acknowledgements at once.
    A message that cannot be used on any topic (internal ones included, where it means a bug or a
    stranger writing to them) goes to the dead-letter topic, where a person is told, instead of
    crashing the agent over and over and holding the partition's commits behind it.
    """
    manual: faust.StreamT[bytes] = stream.noack()  # type: ignore[attr-defined]  # on Stream only
    agent = current_agent()
    acknowledger = Acknowledger(
        enqueue=_enqueue,
        ack=manual.ack,
        stall_alert_seconds=worker_settings.stall_alert_seconds,
        limit=in_flight_limit,
        on_delivered=functools.partial(
            _delivered, metrics.AgentMetrics(agent.name if agent else "unknown")
        ),
    )
    for table in tables:
        acknowledger.watch(table)

    async def drop_in_flight(_sender: object, *_args: object, **_kwargs: object) -> None:
        acknowledger.drop_in_flight()

    app.on_partitions_revoked.connect(drop_in_flight)  # type: ignore[arg-type]  # mode's stubs
    acknowledging = asyncio.create_task(acknowledger.run(), name="acknowledger")
    try:
        async for event in manual.events():
            step, records = await until_done(_prepared(process), event)
            await acknowledger.submit(event, records, step)
            if acknowledging.done():
                acknowledging.result()  # the acknowledger never ends by itself: raise its fault
    finally:
        acknowledging.cancel()
        app.on_partitions_revoked.disconnect(drop_in_flight)  # type: ignore[arg-type]


def _prepared(
    process: Process,
) -> Callable[[EventT[bytes]], Awaitable[tuple[Step, list[Outgoing]]]]:
    """The step of one event with its outputs encoded, or its dead letter when it cannot be used."""

    async def attempt(event: EventT[bytes]) -> tuple[Step, list[Outgoing]]:
        try:
            step = process(event)
            return step, [outgoing(output) for output in step.outputs]
        except TRANSIENT_FAULTS:
            raise
        except UnusableEventError as error:
            reason = error
        except Exception as failure:  # noqa: BLE001 - any other failure goes to a person
            reason = processing_failed(failure)
        letter = dead_letter_for(inbound(event), reason, datetime.now(UTC))
        return Step(outputs=(letter,)), [outgoing(letter)]

    return attempt


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


# Partners' bad input is expected on intake topics; anywhere else it means a bug or a stranger.
_PARTNER_TOPICS = frozenset(spec.full_name for spec in INTAKE.values())


@dataclass(frozen=True)
class Outgoing:
    """One output, encoded and addressed: what the producer is handed."""

    event: Event
    topic: faust.TopicT
    key: bytes
    value: bytes
    headers: Mapping[str, bytes] | None


def outgoing(event: Event) -> Outgoing:
    """Address and encode ``event``: its declared topic and key, the partner's sender header.

    The topic and the key come from :func:`streams.platform.topics.destination`: a shell hands
    over what its step produced and never names a topic.
    """
    spec = destination(event)
    sender = _sender_of(event)
    return Outgoing(
        event=event,
        topic=topology.topic(spec),
        key=spec.key_of(event).encode("utf-8"),
        value=codec.encode(event),
        headers={SENDER_HEADER: sender.encode("utf-8")} if sender else None,
    )


async def _enqueue(record: Outgoing) -> Delivery:
    return await record.topic.send(key=record.key, value=record.value, headers=record.headers)


def _delivered(
    measured: metrics.AgentMetrics, event: EventT[bytes], records: Sequence[Outgoing]
) -> None:
    # Every event passes here once, when it is acked: each dead letter is logged and counted once.
    dead_lettered = False
    for record in records:
        if isinstance(record.event, DeadLetter):
            dead_lettered = True
            _log_dead_letter(record.event)
            metrics.dead_letters(record.event.error_code).inc()
    message = event.message
    # Faust's monitor stamps each message with time.monotonic() as it comes in.
    measured.processed(message.topic, dead_lettered=dead_lettered, received_at=message.time_in)


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
