"""The worker's transport: Faust finds it by its scheme, the fetch wait is ours to set (a long one
while tables recover), and a partition's end is where its last record is."""

from __future__ import annotations

import asyncio
import inspect
from types import SimpleNamespace
from typing import Any

import aiokafka
import pytest
from aiokafka import TopicPartition
from aiokafka.consumer.fetcher import Fetcher
from faust.transport import drivers
from faust.transport.drivers import aiokafka as faust_aiokafka
from kafka import KafkaAdminClient
from kafka.admin import NewTopic

from streams.platform.settings import KafkaSettings, WorkerSettings
from streams.platform.transport import (
    RECOVERY_FETCH_WAIT_MS,
    SCHEME,
    Consumer,
    ConsumerThread,
    Transport,
    fetch_wait_ms,
    fetched_end_offsets,
)


def test_faust_finds_the_transport_by_its_scheme() -> None:
    assert drivers.by_url(f"{SCHEME}://127.0.0.1:9092") is Transport


@pytest.mark.parametrize(
    ("setting", "embedded", "expected"),
    [(None, True, 10), (None, False, 500), (0, True, 0), (250, False, 250)],
)
def test_the_fetch_wait_is_short_on_the_embedded_broker_unless_set(
    setting: int | None, embedded: bool, expected: int
) -> None:
    worker = WorkerSettings(consumer_fetch_wait_ms=setting)
    kafka = KafkaSettings(bootstrap_servers="127.0.0.1:9092", embedded=embedded)
    assert fetch_wait_ms(worker, kafka) == expected


async def test_aiokafka_still_keeps_the_fetch_wait_where_the_transport_sets_it() -> None:
    # The transport sets this attribute on the consumer before it starts; if an aiokafka
    # upgrade renamed it, the wait would silently fall back to Faust's 1.5 s.
    consumer = aiokafka.AIOKafkaConsumer(bootstrap_servers="127.0.0.1:9", fetch_max_wait_ms=123)
    assert consumer._fetch_max_wait_ms == 123


def test_aiokafka_still_builds_each_fetch_from_the_fetchers_wait() -> None:
    # The transport swaps this attribute for the recovery wait; aiokafka reads it per request.
    source = inspect.getsource(Fetcher._get_actions_per_node)
    assert "self._fetch_max_wait_ms" in source


@pytest.mark.parametrize(("in_recovery", "expected"), [(True, RECOVERY_FETCH_WAIT_MS), (False, 10)])
async def test_the_fetch_wait_is_long_only_while_tables_recover(
    monkeypatch: pytest.MonkeyPatch, in_recovery: bool, expected: int
) -> None:
    seen: list[int] = []

    async def fetch(_self: object, consumer: Any, *_args: object) -> dict[str, Any]:
        seen.append(consumer._fetcher._fetch_max_wait_ms)
        return {}

    monkeypatch.setattr(faust_aiokafka.AIOKafkaConsumerThread, "_fetch_records", fetch)
    thread = object.__new__(ConsumerThread)
    thread.app = SimpleNamespace(in_recovery=in_recovery)  # type: ignore[assignment]
    thread._steady_fetch_wait_ms = 10
    consumer = SimpleNamespace(_fetcher=SimpleNamespace(_fetch_max_wait_ms=10))
    await thread._fetch_records(consumer, set())
    assert seen == [expected]


async def _batch_of(kafka: KafkaSettings, topic: str, count: int) -> None:
    admin = KafkaAdminClient(**kafka.kafka_python_config())
    try:
        admin.create_topics([NewTopic(topic, 1, 1)])
    finally:
        admin.close()
    producer = aiokafka.AIOKafkaProducer(bootstrap_servers=kafka.servers, acks="all", linger_ms=200)
    await producer.start()
    try:
        # Sent together, they travel as one batch.
        sent = [await producer.send(topic, b"x") for _ in range(count)]
        await asyncio.gather(*sent)
    finally:
        await producer.stop()


@pytest.mark.integration
async def test_the_end_of_a_partition_is_where_its_last_record_is(
    kafka: KafkaSettings, topic_prefix: str
) -> None:
    topic = f"{topic_prefix}ends"
    await _batch_of(kafka, topic, 100)
    partition = TopicPartition(topic, 0)
    consumer = aiokafka.AIOKafkaConsumer(bootstrap_servers=kafka.servers)
    await consumer.start()
    try:
        reported = await consumer.end_offsets([partition])
    finally:
        await consumer.stop()

    # Whatever the broker reported (the embedded one says 1 here), the fetch finds the end.
    assert await fetched_end_offsets(kafka.servers, reported) == {partition: 100}


@pytest.mark.integration
async def test_an_empty_partition_ends_at_zero(kafka: KafkaSettings, topic_prefix: str) -> None:
    empty = TopicPartition(f"{topic_prefix}empty", 0)
    assert await fetched_end_offsets(kafka.servers, {empty: 0}) == {empty: 0}


class _FakeConsumer:
    """Stands in for aiokafka's consumer: committed offsets, and where it was asked to seek."""

    def __init__(self, committed: dict[str, int | None]) -> None:
        self.committed = committed
        self.to_beginning: list[str] = []

    async def seek_to_committed(self) -> dict[str, int | None]:
        return self.committed

    async def seek_to_beginning(self, *partitions: str) -> None:
        self.to_beginning.extend(partitions)


async def test_a_partition_never_committed_is_read_from_its_start_after_a_seek() -> None:
    # aiokafka leaves these where its fetcher got to, past messages Faust discarded.
    consumer = _FakeConsumer({"never": None, "at-zero": 0, "later": 7})
    thread = object.__new__(ConsumerThread)
    thread._consumer = consumer

    committed = await thread._seek_to_committed_or_start()

    assert consumer.to_beginning == ["never", "at-zero"]
    assert committed == {"never": None, "at-zero": 0, "later": 7}


async def test_offsets_the_fetcher_ran_past_are_never_counted_as_processed() -> None:
    # Faust would add them to its gap tree, which its commits treat as acked.
    consumer = object.__new__(Consumer)
    consumer._gap = {}

    await consumer._add_gap(TopicPartition("accepted-events", 0), 1018, 1500)

    assert consumer._gap == {}
