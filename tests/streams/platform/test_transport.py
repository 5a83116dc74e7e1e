"""The worker's transport: Faust finds it by its scheme, and the fetch wait is ours to set (a
long one while tables recover)."""

from __future__ import annotations

import inspect
from types import SimpleNamespace
from typing import Any

import aiokafka
import pytest
from aiokafka.consumer.fetcher import Fetcher
from faust.transport import drivers
from faust.transport.drivers import aiokafka as faust_aiokafka

from streams.platform.settings import KafkaSettings, WorkerSettings
from streams.platform.transport import (
    RECOVERY_FETCH_WAIT_MS,
    SCHEME,
    ConsumerThread,
    Transport,
    fetch_wait_ms,
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
