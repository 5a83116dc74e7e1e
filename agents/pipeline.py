"""Pipelined at-least-once processing: many events in flight, each committed once its outputs are.

An agent used to publish an event's outputs and wait for the broker's acknowledgement before it
took the next event: one round trip per event, about 60 events a second whatever the machine.
Here the step of each event runs at once and its outputs are handed to the producer without
waiting; an acknowledger behind it waits for the outputs in the order the events came, and only
then writes the event's state to its tables and acks the event. Faust commits a partition only up
to its first unacked event, so:

* no event is committed before all its outputs are acknowledged, and an event whose output failed
  holds the commit of every later event of its partition until its outputs are delivered (they
  are re-sent, exactly as recorded, never recomputed);
* state (the history and identity tables) is written only after the outputs it records: a crash
  in between replays the event, which publishes the same outputs again (their ids are derived, so
  consumers deduplicate), instead of finding "already decided" with nothing published.

The next event must still see the state of the events before it, written or not: a
:class:`StagedTable` shows the staged writes on top of the table. A rebalance drops everything in
flight (it is redelivered from the committed position, which Faust seeks to on assignment) along
with the staged writes, so no state outlives the assignment it was computed under.
"""

from __future__ import annotations

import asyncio
import contextvars
import itertools
import logging
import time
from collections import ChainMap
from collections.abc import Awaitable, Callable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

log = logging.getLogger(__name__)

V = TypeVar("V")
#: What a delivery resolves to (the broker's record metadata); only its success matters here.
Delivery = Awaitable[Any]

#: Back-off between retries of our own passing faults (a step, a delivery): doubling up to the last.
FIRST_RETRY_SECONDS = 0.5
LONGEST_RETRY_SECONDS = 30.0

#: Events in flight per agent before the step waits for the acknowledger: enough to hide the
#: broker's round trip, few enough that a rebalance redelivers little.
IN_FLIGHT_LIMIT = 500
#: The same for history-import batches, a hundred rows each: 500 of them would be 50,000 rows of
#: staged writes, all redone after a rebalance, with nothing gained (measured: no faster replay).
IMPORT_BATCHES_IN_FLIGHT = 2


class StagedTable(Generic[V]):
    """A table as the next event must see it: writes staged but not yet acknowledged, on top."""

    def __init__(self, table: MutableMapping[str, V]) -> None:
        self._table = table
        self._staged: dict[str, V] = {}
        self._staged_by: dict[str, int] = {}
        self._serials = itertools.count()

    def get(self, key: str) -> V | None:
        """The key's newest value, staged or written."""
        if key in self._staged:
            return self._staged[key]
        return self._table.get(key)

    def view(self) -> Mapping[str, V]:
        """A read-only view, staged writes over the table, for steps that take a mapping."""
        return ChainMap(self._staged, self._table)

    def stage(self, updates: Mapping[str, V]) -> StagedWrite[V]:
        """Make ``updates`` visible to later events now; :meth:`StagedWrite.apply` writes them."""
        serial = next(self._serials)
        for key, value in updates.items():
            self._staged[key] = value
            self._staged_by[key] = serial
        return StagedWrite(self, dict(updates), serial)

    def discard_staged(self) -> None:
        """Forget every staged write (a rebalance: the events behind them will be redelivered)."""
        self._staged.clear()
        self._staged_by.clear()

    def _write(self, updates: Mapping[str, V], serial: int) -> None:
        for key, value in updates.items():
            self._table[key] = value
            # A later event may have staged a newer value for the key: that one stays visible.
            if self._staged_by.get(key) == serial:
                del self._staged[key]
                del self._staged_by[key]


@dataclass(frozen=True)
class StagedWrite(Generic[V]):
    """Writes staged by one event, applied once its outputs are acknowledged."""

    table: StagedTable[V]
    updates: Mapping[str, V]
    serial: int

    def apply(self) -> None:
        self.table._write(self.updates, self.serial)


@dataclass(frozen=True)
class Step:
    """What a step decided for one event: outputs to publish, then table updates to write."""

    outputs: Sequence[Any]
    writes: Sequence[tuple[StagedTable[Any], Mapping[str, Any]]] = ()


@dataclass
class _InFlight:
    event: Any
    records: Sequence[Any]
    deliveries: list[Delivery]
    writes: Sequence[StagedWrite[Any]]
    generation: int
    # The context the event was taken in: Faust finds the table partition of a write from the
    # current event, a context variable, so writes run in the event's own context.
    context: contextvars.Context
    started: float = field(default_factory=time.monotonic)
    alerted: bool = False


Enqueue = Callable[[Any], Awaitable[Delivery]]
Ack = Callable[[Any], Awaitable[Any]]
Sleep = Callable[[float], Awaitable[None]]


class Acknowledger:
    """Waits for each in-flight event's outputs in order, then writes its state and acks it.

    ``enqueue(record)`` hands one prepared record to the producer and returns its delivery;
    ``ack(event)`` acks an event, and ``on_delivered(event, records)`` hears of it then (logs and
    metrics: once per event acked). A failed delivery is re-sent, the same record again, with
    back-off, for as long as it fails: the record was built and encoded already, so what fails is
    the broker, and dropping it would drop a child. Waiting longer than ``stall_alert_seconds``
    raises an operator alert (CRITICAL) naming the event, so a held partition is never silent.
    """

    def __init__(
        self,
        *,
        enqueue: Enqueue,
        ack: Ack,
        stall_alert_seconds: float,
        first_retry_seconds: float = FIRST_RETRY_SECONDS,
        longest_retry_seconds: float = LONGEST_RETRY_SECONDS,
        limit: int = IN_FLIGHT_LIMIT,
        on_delivered: Callable[[Any, Sequence[Any]], None] = lambda _event, _records: None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._enqueue = enqueue
        self._ack = ack
        self._stall_alert_seconds = stall_alert_seconds
        self._first_retry = first_retry_seconds
        self._longest_retry = longest_retry_seconds
        self._on_delivered = on_delivered
        self._sleep = sleep
        self._queue: asyncio.Queue[_InFlight] = asyncio.Queue(maxsize=limit)
        self._generation = 0
        self._tables: list[StagedTable[Any]] = []

    def watch(self, table: StagedTable[Any]) -> None:
        """Discard ``table``'s staged writes whenever in-flight work is dropped."""
        self._tables.append(table)

    def drop_in_flight(self) -> None:
        """A rebalance: nothing in flight is written or acked; it is redelivered and redone."""
        self._generation += 1
        for table in self._tables:
            table.discard_staged()

    async def submit(self, event: Any, records: Sequence[Any], step: Step) -> None:
        """Publish ``records`` (one event's prepared outputs) now; stage its writes behind them."""
        context = contextvars.copy_context()
        writes = [table.stage(updates) for table, updates in step.writes]
        deliveries = [await self._enqueue(record) for record in records]
        await self._queue.put(
            _InFlight(event, records, deliveries, writes, self._generation, context)
        )

    async def run(self) -> None:
        """Acknowledge in-flight events in order, for as long as the agent runs."""
        while True:
            item = await self._queue.get()
            await self._delivered(item)
            if item.generation == self._generation:
                for write in item.writes:
                    item.context.run(write.apply)
                await self._ack(item.event)
                self._on_delivered(item.event, item.records)
            self._queue.task_done()

    async def idle(self) -> None:
        """Wait until everything submitted so far is acknowledged."""
        await self._queue.join()

    async def _delivered(self, item: _InFlight) -> None:
        delay = self._first_retry
        while failed := await self._failures(item):
            log.error(
                "delivery of %d output(s) of %s failed (%s %s); re-sending in %.1fs",
                len(failed),
                _where(item.event),
                type(failed[0][1]).__name__,
                getattr(failed[0][1], "code", ""),
                delay,
            )
            await self._sleep(delay)
            delay = min(delay * 2, self._longest_retry)
            for position, _fault in failed:
                item.deliveries[position] = await self._enqueue(item.records[position])

    async def _failures(self, item: _InFlight) -> list[tuple[int, BaseException]]:
        """Wait for every delivery of ``item``; the positions that failed, with their faults."""
        pending = [asyncio.ensure_future(delivery) for delivery in item.deliveries]
        if not pending:
            return []
        # Under load the outputs of the events behind the first are usually delivered by the
        # time it is their turn; two asyncio.wait calls an event were a tenth of this loop.
        if all(future.done() for future in pending):
            self._alert_if_stalled(item)
            return _faults(pending)
        if not item.alerted:
            remaining = self._stall_alert_seconds - (time.monotonic() - item.started)
            await asyncio.wait(pending, timeout=max(remaining, 0.0))
            self._alert_if_stalled(item)
        await asyncio.wait(pending)
        return _faults(pending)

    def _alert_if_stalled(self, item: _InFlight) -> None:
        if not item.alerted and time.monotonic() - item.started >= self._stall_alert_seconds:
            self._alert(item)

    def _alert(self, item: _InFlight) -> None:
        item.alerted = True
        log.critical(
            "OPERATOR ALERT: the outputs of %s have waited %.0fs for the broker; its "
            "partition's commits are held until they are delivered",
            _where(item.event),
            time.monotonic() - item.started,
        )


def _faults(done: Sequence[asyncio.Future[Any]]) -> list[tuple[int, BaseException]]:
    """The positions of finished deliveries that failed, with their faults."""
    return [
        (position, fault)
        for position, future in enumerate(done)
        if (fault := future.exception()) is not None
    ]


def _where(event: Any) -> str:
    message = event.message
    return f"{message.topic}[{message.partition}@{message.offset}]"
