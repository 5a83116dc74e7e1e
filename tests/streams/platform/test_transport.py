"""The worker's transport: Faust finds it by its scheme, and the fetch wait is ours to set."""

from __future__ import annotations

import aiokafka
import pytest
from faust.transport import drivers

from streams.platform.settings import KafkaSettings, WorkerSettings
from streams.platform.transport import SCHEME, Transport, fetch_wait_ms


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
