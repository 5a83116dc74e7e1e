"""The reconciliation: the proof, at run time, that nothing accepted is left behind silently.

A :class:`Reconciler` follows the flow's topics (intake, accepted events, child events, outcomes,
dead letters) into the :class:`~streams.decisions.ledger.Ledger`, publishes again what has waited
past ``FRONTDOOR_REDRIVE_AFTER_SECONDS`` although the worker group consumed past it, and puts to a
person (a MASH task) what has waited past ``FRONTDOOR_OUTCOME_BOUND_SECONDS``. It acts every
``FRONTDOOR_RECONCILE_INTERVAL_SECONDS`` (reading what is new every two seconds) in the worker that
leads the group (one reconciler per deployment), and on demand as ``frontdoor reconcile``.

This also catches what the stream processor itself loses: faust-streaming was measured to skip a
few offsets after a ``kill -9`` (``shared/broker-notes.md``); a skipped message has no outcome,
so it is re-driven here and processed.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from agents.ledger_feed import LedgerFeed
from schemas.wire import SENDER_HEADER
from streams.decisions.ledger import Waiting, overdue_task
from streams.platform.admin import committed_offsets
from streams.platform.app import app, codec, kafka_settings, worker_settings
from streams.platform.codec import AvroCodec
from streams.platform.publisher import Publisher
from streams.platform.reader import TopicFollower
from streams.platform.settings import KafkaSettings
from streams.platform.topics import (
    INTAKE,
    MASH_TASKS,
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
        self._prefix = prefix
        self._redrive_after = redrive_after
        self._bound = bound
        self._feed = LedgerFeed(codec, prefix)
        self._follower = TopicFollower(kafka, self._feed.topics, client_id="frontdoor-reconcile")
        self._publisher = Publisher(kafka, codec)

    def step(self, now: datetime, *, act: bool = True) -> Report:
        """Read what is new, then (with ``act``) re-drive and raise tasks for what is due."""
        for message in self._follower.new_messages():
            self._feed.observe(message, now)
        redriven: list[Waiting] = []
        told: list[Waiting] = []
        if act:
            due = self._feed.ledger.due(
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
        return Report(now, self._feed.ledger.waiting(), redriven, told, self._bound)

    def close(self) -> None:
        self._follower.close()
        self._publisher.close()


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


#: How often the leading worker reads the flow's new messages into its ledger. It used to read a
#: whole reconcile interval's messages at once: under load, tens of thousands decoded in a thread
#: that holds the interpreter, slowing every agent for a second or more each interval. Read in
#: small slices, the same work is a steady small share. (A read takes about half a second on
#: quiet topics, so two seconds keeps the timer's runs from overlapping.)
READ_EVERY_SECONDS = 2.0


@dataclass
class Cadence:
    """Says when a repeated run is also to act: once every ``every`` seconds, the first time a
    whole ``every`` after the first run (as the reconciliation's timer did when it read and acted
    at once). Monotonic seconds, so a change of the wall clock changes nothing."""

    every: float
    #: Runs come about this often: a run this much early still counts as on time.
    slack: float = 0.0
    last: float | None = None

    def due(self, now: float) -> bool:
        if self.last is None:
            self.last = now
            return False
        if now - self.last < self.every - self.slack / 2:
            return False
        self.last = now
        return True


_READ_EVERY = min(READ_EVERY_SECONDS, worker_settings.reconcile_interval_seconds)
_acting = Cadence(worker_settings.reconcile_interval_seconds, slack=_READ_EVERY)


@functools.cache
def _workers_reconciler() -> Reconciler:
    # Made on the first tick, so importing the module connects to nothing.
    return deployment_reconciler()


def _tick() -> Report:
    act = _acting.due(time.monotonic())
    return _workers_reconciler().step(datetime.now(UTC), act=act)


@app.timer(interval=_READ_EVERY, on_leader=True)  # type: ignore[untyped-decorator]
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
