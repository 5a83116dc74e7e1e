"""The reconciliation: the proof, at run time, that nothing accepted is left behind silently.

A :class:`Reconciler` follows the flow's topics (intake, accepted events, child events, outcomes,
dead letters) into the :class:`~streams.decisions.ledger.Ledger`, publishes again what has waited
past ``FRONTDOOR_REDRIVE_AFTER_SECONDS`` although the worker group consumed past it, and puts to a
person (a MASH task) what has waited past ``FRONTDOOR_OUTCOME_BOUND_SECONDS``. It runs every
``FRONTDOOR_RECONCILE_INTERVAL_SECONDS`` in the worker that leads the group (one reconciler per
deployment), and on demand as ``frontdoor reconcile``.

This also catches what the stream processor itself loses: faust-streaming was measured to skip a
few offsets after a ``kill -9`` (``shared/broker-notes.md``); a skipped message has no outcome,
so it is re-driven here and processed.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from schemas.errors import UnusableEventError
from schemas.models import AcceptedEvent, ChildEvent, DeadLetter, Outcome
from schemas.wire import SENDER_HEADER, InboundMessage
from streams.decisions.ledger import Ledger, Waiting, overdue_task
from streams.platform.admin import committed_offsets
from streams.platform.app import app, codec, kafka_settings, worker_settings
from streams.platform.codec import AvroCodec
from streams.platform.publisher import Publisher
from streams.platform.reader import TopicFollower
from streams.platform.settings import KafkaSettings
from streams.platform.topics import (
    ACCEPTED_EVENTS,
    CHILD_EVENTS,
    DEAD_LETTERS,
    INTAKE,
    MASH_TASKS,
    OUTCOMES,
)

log = logging.getLogger(__name__)

_INTAKE_NAMES = frozenset(spec.name for spec in INTAKE.values())


@dataclass(frozen=True)
class Report:
    """One reconciliation: what waits for an outcome, and what was done about it."""

    at: datetime
    waiting: list[Waiting]
    redriven: list[Waiting]
    told: list[Waiting]
    bound: timedelta

    @property
    def overdue(self) -> list[Waiting]:
        return [waiting for waiting in self.waiting if waiting.age(self.at) >= self.bound]


class Reconciler:
    """Follows a deployment's flow into a ledger and acts on what is due. Not thread-safe."""

    def __init__(
        self,
        kafka: KafkaSettings,
        codec: AvroCodec,
        *,
        prefix: str,
        group_id: str,
        redrive_after: timedelta,
        bound: timedelta,
    ) -> None:
        self._kafka = kafka
        self._group_id = group_id
        self._codec = codec
        self._prefix = prefix
        self._redrive_after = redrive_after
        self._bound = bound
        self._ledger = Ledger()
        followed = [*INTAKE.values(), ACCEPTED_EVENTS, CHILD_EVENTS, OUTCOMES, DEAD_LETTERS]
        self._specs = {spec.name_under(prefix): spec for spec in followed}
        self._follower = TopicFollower(kafka, list(self._specs), client_id="frontdoor-reconcile")
        self._publisher = Publisher(kafka, codec)

    def step(self, now: datetime, *, act: bool = True) -> Report:
        """Read what is new, then (with ``act``) re-drive and raise tasks for what is due."""
        for message in self._follower.new_messages():
            self._observe(message, now)
        redriven: list[Waiting] = []
        told: list[Waiting] = []
        if act:
            due = self._ledger.due(
                now,
                redrive_after=self._redrive_after,
                bound=self._bound,
                consumed=committed_offsets(self._kafka, self._group_id),
            )
            for waiting in due.redrive:
                self._publisher.republish(waiting.message, waiting.redrive_headers)
                redriven.append(waiting)
            for waiting in due.overdue:
                task = overdue_task(waiting, now, self._bound)
                self._publisher.publish(
                    MASH_TASKS.name_under(self._prefix),
                    task,
                    headers={SENDER_HEADER: waiting.sender},
                )
                told.append(waiting)
        return Report(now, self._ledger.waiting(), redriven, told, self._bound)

    def close(self) -> None:
        self._follower.close()
        self._publisher.close()

    def _observe(self, message: InboundMessage, now: datetime) -> None:
        name = self._specs[message.topic].name
        try:
            if name in _INTAKE_NAMES:
                self._ledger.intake_message(message, now)
            elif name == ACCEPTED_EVENTS.name:
                accepted = self._codec.decode(message.value, AcceptedEvent)
                self._ledger.accepted_event(accepted, message)
            elif name == CHILD_EVENTS.name:
                self._ledger.child_event(self._codec.decode(message.value, ChildEvent), message)
            elif name == OUTCOMES.name:
                self._ledger.outcome(self._codec.decode(message.value, Outcome))
            else:
                self._dead_letter(self._codec.decode(message.value, DeadLetter))
        except UnusableEventError:
            # Not ours to follow: the flow dead-letters such a message itself, and that dead
            # letter is an outcome.
            return

    def _dead_letter(self, letter: DeadLetter) -> None:
        source = letter.source
        name = source.topic.removeprefix(self._prefix)
        if name in _INTAKE_NAMES:
            self._ledger.intake_dead_lettered((source.topic, source.partition, source.offset))
        elif name == ACCEPTED_EVENTS.name:
            accepted = self._codec.decode(letter.original_value, AcceptedEvent)
            self._ledger.accepted_dead_lettered(accepted.sender, accepted.event_id)
        elif name == CHILD_EVENTS.name:
            child_event = self._codec.decode(letter.original_value, ChildEvent)
            self._ledger.child_dead_lettered(child_event.event_id)


def deployment_reconciler() -> Reconciler:
    """The reconciler of this deployment, from its settings."""
    return Reconciler(
        kafka_settings,
        codec,
        prefix=worker_settings.topic_prefix,
        group_id=worker_settings.group_id,
        redrive_after=timedelta(seconds=worker_settings.redrive_after_seconds),
        bound=timedelta(seconds=worker_settings.outcome_bound_seconds),
    )


@functools.cache
def _workers_reconciler() -> Reconciler:
    # Made on the first tick, so importing the module connects to nothing.
    return deployment_reconciler()


def _tick() -> Report:
    return _workers_reconciler().step(datetime.now(UTC))


@app.timer(interval=worker_settings.reconcile_interval_seconds, on_leader=True)  # type: ignore[untyped-decorator]
async def reconcile_continuously() -> None:
    # Blocking Kafka clients: run off the event loop, one tick at a time (a timer waits for
    # its previous run).
    report = await asyncio.to_thread(_tick)
    for waiting in report.redriven:
        log.warning("re-drove %s %s: no outcome yet", waiting.stage.value, waiting.reference)
    for waiting in report.told:
        log.error(
            "no outcome for %s %s past the bound: MASH task raised",
            waiting.stage.value,
            waiting.reference,
        )
