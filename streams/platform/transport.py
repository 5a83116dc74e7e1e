"""The worker's Kafka transport: faust-streaming's own, with our fetch waits, a fair order of
partitions in each poll, and three faults mended.

faust-streaming 0.15.3 builds its stream consumer with ``fetch_max_wait_ms=1500``, fixed. A real
Kafka broker answers a fetch as soon as records are there, so that is only an upper bound; the
embedded broker (Tansu) holds every fetch for the whole wait even when records arrive
(``shared/broker-notes.md``: a 500 ms wait gives a p50 of 140 ms a hop, 5 ms gives 2.5 ms), so
each hop of the pipeline waited up to 1.5 s. ``FRONTDOOR_CONSUMER_FETCH_WAIT_MS`` sets it; unset,
10 ms with the embedded broker and Kafka's usual 500 ms elsewhere.

The embedded broker also reads a partition's stored batches into a fetch only until the wait is
up: on this 2-core machine under load, a 10 ms fetch brought one batch, and a partition written one
record a batch (as the agents write when they keep up) then gave one record a fetch, a few hundred
a second at most. A consumer behind therefore fell further behind: a 250,000-row history import
had its second hop starved to about 20 rows/s. So while any partition the worker consumes is
:data:`CATCH_UP_LAG` records or more behind its end, the wait is at least
:data:`CATCH_UP_FETCH_WAIT_MS` (a fetch with records to give is answered before the wait is up, so
this costs latency only for a partition with nothing new, and only while something is behind).
While a worker rebuilds its tables from their changelogs (after a start or a rebalance) the wait is
:data:`RECOVERY_FETCH_WAIT_MS`: Faust's recovery with a 10 ms wait crawled (a 50,000-row history
table was not back after 600 s; with 500 ms it took 16 s, measured with ``bench/replay.py``), and
a worker routes nothing until its tables are back.

aiokafka hands out what it fetched partition by partition, in the order the fetches came, up to
``max_records`` a poll (:data:`streams.platform.app.MAX_POLL_RECORDS`); so a partition with a
backlog would be served at every poll until its fetch was used up, and the agents of every other
partition would wait. The transport moves the partitions a poll served to the back.

The embedded broker also answers "where does this partition end?" (ListOffsets) wrongly: with the
first offset of the partition's last batch, plus one, so a batch of 100 records at offsets 0-99
"ends" at 1 (a fetch's high watermark is right). Faust's recovery reads each changelog up to that
end and then stops reading it, so a table could come back without the last writes of a batch.
With the embedded broker the transport therefore takes each end from a fetch at the reported end
(:func:`fetched_end_offsets`).

After recovery (and after each rebalance) Faust seeks every partition back to its committed offset,
to read again what its fetcher brought while the partition was not being consumed; aiokafka does
not move a partition that was never committed, so those messages were skipped:
:meth:`ConsumerThread.seek_to_committed` moves such partitions to their start. Nor does Faust count
the offsets the fetcher ran past as processed any more (:meth:`Consumer._add_gap`).

Faust finds this transport through its documented extension point, the ``faust.transports``
entry point group (``pyproject.toml``), under the URL scheme ``frontdoor-kafka://``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, TypeVar

import aiokafka
from aiokafka import TopicPartition
from faust.transport.drivers import aiokafka as faust_aiokafka

from streams.platform.settings import KafkaSettings, WorkerSettings, load

log = logging.getLogger(__name__)

#: A (topic, partition) pair: Faust's ``TP`` or aiokafka's ``TopicPartition``.
P = TypeVar("P", bound=tuple[str, int])

SCHEME = "frontdoor-kafka"
_EMBEDDED_FETCH_WAIT_MS = 10
_KAFKA_FETCH_WAIT_MS = 500
#: The fetch wait while tables are recovered from their changelogs, whatever the steady setting.
RECOVERY_FETCH_WAIT_MS = 500
#: The shortest fetch wait while a partition is behind: enough for the embedded broker to read a
#: few hundred small batches into one fetch (measured: 100 ms let a 250,000-row import complete).
CATCH_UP_FETCH_WAIT_MS = 100
#: Records a partition must be behind its end for the worker to count as catching up.
CATCH_UP_LAG = 200


def fetch_wait_ms(worker: WorkerSettings, kafka: KafkaSettings) -> int:
    """How long the stream consumer lets the broker hold a fetch that has no records yet."""
    if worker.consumer_fetch_wait_ms is not None:
        return worker.consumer_fetch_wait_ms
    return _EMBEDDED_FETCH_WAIT_MS if kafka.embedded else _KAFKA_FETCH_WAIT_MS


async def fetched_end_offsets(
    bootstrap_servers: Sequence[str],
    reported: Mapping[P, int],
    *,
    timeout: float = 10.0,
) -> dict[P, int]:
    """The end of each partition as a fetch tells it (its high watermark), from ``reported``.

    ``reported`` maps (topic, partition) pairs (Faust's or aiokafka's) to the ends the broker
    reported. A fetch from one before the reported end returns the batch holding that offset, and
    with it the partition's true high watermark. An empty partition (reported 0) stays 0. If the
    broker gives no answer within ``timeout``, the reported ends are returned, with a warning.
    """
    to_check = {TopicPartition(tp[0], tp[1]): tp for tp, end in reported.items() if end > 0}
    if not to_check:
        return dict(reported)
    consumer = aiokafka.AIOKafkaConsumer(
        bootstrap_servers=list(bootstrap_servers),
        enable_auto_commit=False,
        fetch_max_wait_ms=10,
        client_id="frontdoor-end-offsets",
    )
    await consumer.start()
    try:
        consumer.assign(list(to_check))
        for partition, tp in to_check.items():
            consumer.seek(partition, reported[tp] - 1)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while any(consumer.highwater(partition) is None for partition in to_check):
            if loop.time() > deadline:
                log.warning("the broker gave no high watermark within %.0fs", timeout)
                return dict(reported)
            await consumer.getmany(timeout_ms=200, max_records=1)
        fetched = {
            tp: max(consumer.highwater(partition), reported[tp])
            for partition, tp in to_check.items()
        }
        return {**reported, **fetched}
    finally:
        await consumer.stop()


class ConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    def _create_worker_consumer(self, transport: Any) -> aiokafka.AIOKafkaConsumer:
        consumer: aiokafka.AIOKafkaConsumer = super()._create_worker_consumer(transport)
        # aiokafka hands this to its fetcher when the consumer starts, which is after this
        # returns (aiokafka is pinned; tests/streams/platform/test_transport.py guards the name).
        self._kafka = load(KafkaSettings)
        self._steady_fetch_wait_ms = fetch_wait_ms(load(WorkerSettings), self._kafka)
        consumer._fetch_max_wait_ms = self._steady_fetch_wait_ms
        #: Partitions whose last poll left them CATCH_UP_LAG or more records behind their end.
        self._behind: set[Any] = set()
        return consumer

    async def _fetch_records(
        self,
        consumer: aiokafka.AIOKafkaConsumer,
        active_partitions: set[Any],
        timeout: float | None = None,
        max_records: int | None = None,
    ) -> Any:
        # A poll runs on this thread's loop, as aiokafka's fetcher does, so the wait set here is
        # the one its next fetch requests carry (the module docstring says which and why).
        fetcher = consumer._fetcher
        if self.app.in_recovery:
            fetcher._fetch_max_wait_ms = RECOVERY_FETCH_WAIT_MS
            # Recovery feeds the tables, not the agents' buffers: nothing to keep a poll small for.
            max_records = None
        else:
            fetcher._fetch_max_wait_ms = self._steady_or_catch_up_wait_ms(active_partitions)
        records = await super()._fetch_records(consumer, active_partitions, timeout, max_records)
        for partition, served in records.items():
            self._note_lag(partition, consumer.highwater(partition), served[-1].offset + 1)
            # What is left of this partition's fetch waits behind every other partition's.
            if partition in fetcher._records:
                fetcher._records.move_to_end(partition)
        return records

    def _steady_or_catch_up_wait_ms(self, active_partitions: set[Any] | None) -> int:
        """The wait for the fetches after this poll: the setting, or longer while behind."""
        # A partition no longer consumed (revoked, or paused for a full buffer) is not waited for.
        # (Faust passes None only to a client-only app, which consumes every partition.)
        if active_partitions is not None:
            self._behind.intersection_update(active_partitions)
        if self._behind:
            return max(self._steady_fetch_wait_ms, CATCH_UP_FETCH_WAIT_MS)
        return self._steady_fetch_wait_ms

    def _note_lag(self, partition: Any, end: int | None, next_offset: int) -> None:
        """Count ``partition`` behind while it has :data:`CATCH_UP_LAG` records yet to read."""
        if end is not None and end - next_offset >= CATCH_UP_LAG:
            self._behind.add(partition)
        else:
            self._behind.discard(partition)

    async def seek_to_committed(self) -> Mapping[Any, int]:
        """Seek every assigned partition to its committed offset, or to its start if it has none.

        aiokafka moves only partitions committed past offset 0 (``if offset and offset > 0``) and
        leaves the others where its fetcher got to. Faust discards what the fetcher brings for a
        partition it is not consuming yet (while tables recover, during a rebalance) and then
        seeks to the committed offsets to read it again; so on a partition never committed (or
        at 0) those messages were skipped for good: a contact published while the worker was
        down was never accepted, never routed (seen with ``bench/replay.py``, and faust-streaming
        #606's skipped offsets after a restart).
        """
        committed: Mapping[Any, int] = await self.call_thread(self._seek_to_committed_or_start)
        return committed

    async def _seek_to_committed_or_start(self) -> Mapping[Any, int]:
        consumer = self._ensure_consumer()
        committed: Mapping[Any, int] = await consumer.seek_to_committed()
        never_committed = [tp for tp, offset in committed.items() if not offset]
        if never_committed:
            # The app's consumer_auto_offset_reset is Faust's default, "earliest".
            await consumer.seek_to_beginning(*never_committed)
        return committed

    async def _highwaters(self, partitions: list[Any]) -> Mapping[Any, int]:
        # Faust's recovery reads each changelog up to these ends (see the module docstring).
        reported = await super()._highwaters(partitions)
        if not self._kafka.embedded:
            return reported
        return await fetched_end_offsets(self._kafka.servers, reported)


class Consumer(faust_aiokafka.Consumer):
    def _new_consumer_thread(self) -> ConsumerThread:
        return ConsumerThread(self, loop=self.loop, beacon=self.beacon)

    async def _add_gap(self, tp: Any, offset_from: int, offset_to: int) -> None:
        """Never count unread offsets as processed.

        Faust takes a jump in a partition's offsets for offsets that do not exist (compaction,
        transaction markers) and counts them as acked. The topics this worker consumes have
        neither, so a jump only ever means the fetcher ran ahead of records Faust discarded
        (while tables recover), records that are read again after the seek to committed offsets.
        Counted as acked, they were duplicated in Faust's list of acked offsets, and its commits
        then advanced one offset every commit interval: after a ``kill -9`` and restart the
        committed position stayed thousands of events behind. Worse, a commit could have passed
        them before they were processed.
        """
        log.debug("offsets %s-%s of %s not counted as processed", offset_from, offset_to, tp)


class Transport(faust_aiokafka.Transport):
    Consumer: ClassVar[type[Consumer]] = Consumer
