"""The worker's Kafka transport: faust-streaming's own, with the stream consumer's fetch wait ours.

faust-streaming 0.15.3 builds its stream consumer with ``fetch_max_wait_ms=1500``, fixed. A real
Kafka broker answers a fetch as soon as records are there, so that is only an upper bound; the
embedded broker (Tansu) holds every fetch for the whole wait even when records arrive
(``shared/broker-notes.md``: a 500 ms wait gives a p50 of 140 ms a hop, 5 ms gives 2.5 ms), so
each hop of the pipeline waited up to 1.5 s. ``FRONTDOOR_CONSUMER_FETCH_WAIT_MS`` sets it; unset,
10 ms with the embedded broker and Kafka's usual 500 ms elsewhere.

While a worker rebuilds its tables from their changelogs (after a start or a rebalance) the wait is
:data:`RECOVERY_FETCH_WAIT_MS` instead: on the embedded broker, Faust's recovery with a 10 ms wait
crawled (a 50,000-row history table was not back after 600 s; with 500 ms it took 16 s, measured
with ``bench/replay.py``), and a worker routes nothing until its tables are back.

Faust finds this transport through its documented extension point, the ``faust.transports``
entry point group (``pyproject.toml``), under the URL scheme ``frontdoor-kafka://``.
"""

from __future__ import annotations

from typing import Any, ClassVar

import aiokafka
from faust.transport.drivers import aiokafka as faust_aiokafka

from streams.platform.settings import KafkaSettings, WorkerSettings, load

SCHEME = "frontdoor-kafka"
_EMBEDDED_FETCH_WAIT_MS = 10
_KAFKA_FETCH_WAIT_MS = 500
#: The fetch wait while tables are recovered from their changelogs, whatever the steady setting.
RECOVERY_FETCH_WAIT_MS = 500


def fetch_wait_ms(worker: WorkerSettings, kafka: KafkaSettings) -> int:
    """How long the stream consumer lets the broker hold a fetch that has no records yet."""
    if worker.consumer_fetch_wait_ms is not None:
        return worker.consumer_fetch_wait_ms
    return _EMBEDDED_FETCH_WAIT_MS if kafka.embedded else _KAFKA_FETCH_WAIT_MS


class ConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    def _create_worker_consumer(self, transport: Any) -> aiokafka.AIOKafkaConsumer:
        consumer: aiokafka.AIOKafkaConsumer = super()._create_worker_consumer(transport)
        # aiokafka hands this to its fetcher when the consumer starts, which is after this
        # returns (aiokafka is pinned; tests/streams/platform/test_transport.py guards the name).
        consumer._fetch_max_wait_ms = fetch_wait_ms(load(WorkerSettings), load(KafkaSettings))
        self._steady_fetch_wait_ms = consumer._fetch_max_wait_ms
        return consumer

    async def _fetch_records(
        self,
        consumer: aiokafka.AIOKafkaConsumer,
        active_partitions: set[Any],
        timeout: float | None = None,
        max_records: int | None = None,
    ) -> Any:
        # Read at each fetch, which runs on this thread's loop, as aiokafka's fetcher does: while
        # the tables are rebuilt from their changelogs the short wait is swapped for a long one.
        consumer._fetcher._fetch_max_wait_ms = (
            RECOVERY_FETCH_WAIT_MS if self.app.in_recovery else self._steady_fetch_wait_ms
        )
        return await super()._fetch_records(consumer, active_partitions, timeout, max_records)


class Consumer(faust_aiokafka.Consumer):
    def _new_consumer_thread(self) -> ConsumerThread:
        return ConsumerThread(self, loop=self.loop, beacon=self.beacon)


class Transport(faust_aiokafka.Transport):
    Consumer: ClassVar[type[Consumer]] = Consumer
