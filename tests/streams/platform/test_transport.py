"""The worker's transport: Faust finds it by its scheme, the fetch wait is ours to set (a long one
while tables recover, a longer one while a partition is behind), a partition with a backlog does
not hold up the others, and a partition's end is where its last record is."""

from __future__ import annotations

import asyncio
import inspect
from collections import OrderedDict
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
    CATCH_UP_FETCH_WAIT_MS,
    CATCH_UP_LAG,
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
    thread = _thread(steady_wait_ms=10, in_recovery=in_recovery)
    consumer = SimpleNamespace(_fetcher=SimpleNamespace(_fetch_max_wait_ms=10))
    await thread._fetch_records(consumer, set())
    assert seen == [expected]


@pytest.mark.parametrize(("in_recovery", "expected"), [(True, None), (False, 500)])
async def test_a_poll_is_limited_except_while_tables_recover(
    monkeypatch: pytest.MonkeyPatch, in_recovery: bool, expected: int | None
) -> None:
    seen: list[int | None] = []

    async def fetch(
        _self: object, _consumer: Any, _active: object, _timeout: object, max_records: int | None
    ) -> dict[str, Any]:
        seen.append(max_records)
        return {}

    monkeypatch.setattr(faust_aiokafka.AIOKafkaConsumerThread, "_fetch_records", fetch)
    thread = _thread(steady_wait_ms=10, in_recovery=in_recovery)
    consumer = SimpleNamespace(_fetcher=SimpleNamespace(_fetch_max_wait_ms=10))
    await thread._fetch_records(consumer, set(), 1.0, 500)
    assert seen == [expected]


def _thread(*, steady_wait_ms: int, in_recovery: bool = False) -> ConsumerThread:
    """The transport's consumer thread as far as its fetch wait and poll order need."""
    thread = object.__new__(ConsumerThread)
    thread.app = SimpleNamespace(in_recovery=in_recovery)  # type: ignore[assignment]
    thread._steady_fetch_wait_ms = steady_wait_ms
    thread._behind = set()
    return thread


class _Polls:
    """aiokafka's consumer as a poll sees it: partitions' ends, and a buffer of fetched records."""

    def __init__(self, ends: dict[str, int]) -> None:
        self.ends = ends
        self._fetcher = SimpleNamespace(
            _fetch_max_wait_ms=0, _records=OrderedDict((name, object()) for name in ends)
        )
        self.waits: list[int] = []

    def highwater(self, partition: str) -> int:
        return self.ends[partition]

    def serving(self, monkeypatch: pytest.MonkeyPatch, polls: list[dict[str, int]]) -> None:
        """Each poll hands out records up to the given offset of each partition."""
        waits = self.waits
        remaining = iter(polls)

        async def fetch(_self: object, consumer: Any, *_args: object) -> dict[str, Any]:
            waits.append(consumer._fetcher._fetch_max_wait_ms)
            return {
                partition: [SimpleNamespace(offset=last)]
                for partition, last in next(remaining).items()
            }

        monkeypatch.setattr(faust_aiokafka.AIOKafkaConsumerThread, "_fetch_records", fetch)


async def _waits(
    monkeypatch: pytest.MonkeyPatch,
    ends: dict[str, int],
    served: list[dict[str, int]],
    *,
    steady_wait_ms: int = 10,
    consumed: list[set[str]] | None = None,
) -> list[int]:
    """The fetch wait set at each poll, over polls handing out records up to the given offsets
    (of partitions ending at ``ends``), consuming ``consumed`` (every partition, unless given)."""
    polls = _Polls(ends)
    polls.serving(monkeypatch, served)
    thread = _thread(steady_wait_ms=steady_wait_ms)
    for active in consumed or [set(ends)] * len(served):
        await thread._fetch_records(polls, active)
    return polls.waits


async def test_the_fetch_wait_is_longer_while_a_partition_is_behind_and_short_once_caught_up(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    waits = await _waits(
        monkeypatch,
        {"history-imports": 250_000, "child-history-imports": 10},
        [
            {"history-imports": 499},  # 249,500 still to read
            {"child-history-imports": 9},
            {"history-imports": 249_999},  # caught up
            {},
        ],
    )
    assert waits == [10, CATCH_UP_FETCH_WAIT_MS, CATCH_UP_FETCH_WAIT_MS, 10]


async def test_a_partition_a_few_records_behind_keeps_the_short_wait(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    waits = await _waits(monkeypatch, {"contacts": CATCH_UP_LAG + 10}, [{"contacts": 10}, {}])
    assert waits == [10, 10]


async def test_a_partition_no_longer_consumed_is_not_waited_for(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Revoked by a rebalance, or paused while its agent's buffer is full.
    waits = await _waits(
        monkeypatch,
        {"history-imports": 250_000, "contacts": 5},
        [{"history-imports": 499}, {}],
        consumed=[{"history-imports", "contacts"}, {"contacts"}],
    )
    assert waits == [10, 10]


async def test_catching_up_never_shortens_a_longer_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    # On Kafka the wait is 500 ms, and Kafka answers a fetch as soon as it has records.
    waits = await _waits(
        monkeypatch,
        {"history-imports": 250_000},
        [{"history-imports": 499}, {}],
        steady_wait_ms=500,
    )
    assert waits == [500, 500]


async def test_the_partitions_a_poll_served_go_to_the_back_of_the_fetched_records(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    polls = _Polls({"history-imports": 250_000, "child-history-imports:0": 90, "contacts": 3})
    polls.serving(monkeypatch, [{"history-imports": 499}])
    await _thread(steady_wait_ms=10)._fetch_records(polls, set(polls.ends))

    assert list(polls._fetcher._records) == [
        "child-history-imports:0",
        "contacts",
        "history-imports",
    ]


def test_aiokafka_still_hands_out_fetched_records_in_the_order_of_an_ordered_dict() -> None:
    # The transport reorders this dict; if aiokafka renamed it or stopped reading it in order,
    # a partition's backlog would hold up every other partition again.
    assert "self._records = collections.OrderedDict()" in inspect.getsource(Fetcher.__init__)
    assert "for tp in list(self._records.keys()):" in inspect.getsource(Fetcher.fetched_records)


async def _batch_of(kafka: KafkaSettings, topic: str, count: int) -> None:
    """A new one-partition topic holding ``count`` records, written as one batch."""
    admin = KafkaAdminClient(**kafka.kafka_python_config())
    try:
        admin.create_topics([NewTopic(topic, 1, 1)])
    finally:
        admin.close()
    await _publish_batch(kafka, topic, count)


async def _publish_batch(kafka: KafkaSettings, topic: str, count: int) -> None:
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


@pytest.mark.integration
async def test_a_partition_with_a_backlog_does_not_hold_up_another(
    kafka: KafkaSettings, topic_prefix: str
) -> None:
    backlog, other = (
        TopicPartition(f"{topic_prefix}backlog", 0),
        TopicPartition(f"{topic_prefix}other", 0),
    )
    await _batch_of(kafka, backlog.topic, 3_000)
    await _batch_of(kafka, other.topic, 0)
    consumer = aiokafka.AIOKafkaConsumer(bootstrap_servers=kafka.servers, enable_auto_commit=False)
    await consumer.start()
    thread = _thread(steady_wait_ms=10)
    thread.consumer = SimpleNamespace(flow_active=True)  # type: ignore[assignment]
    served: list[tuple[str, int]] = []

    async def poll() -> None:
        records = await thread._fetch_records(consumer, {backlog, other}, 1.0, 100)
        served.extend((partition.topic, len(batch)) for partition, batch in records.items())

    try:
        consumer.assign([backlog, other])
        await consumer.seek_to_beginning()
        await poll()  # The backlog's fetch now waits in aiokafka's buffer, 2,900 records to go.
        await _publish_batch(kafka, other.topic, 20)
        while sum(count for topic, count in served if topic == other.topic) < 20:
            # As busy agents do: aiokafka fetches again only once a fetch has waited 100 ms.
            await asyncio.sleep(0.02)
            await poll()
    finally:
        await consumer.stop()

    from_backlog = sum(count for topic, count in served if topic == backlog.topic)
    # Without the reordering every poll took 100 of the backlog until all 3,000 were read.
    assert from_backlog <= 1_500


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
