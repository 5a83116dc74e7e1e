"""The worker's Prometheus exporter: its metrics served over HTTP, and the consumer lag among them.

From its start, while its tables recover too, the worker serves
:data:`streams.platform.metrics.WORKER` at
``http://FRONTDOOR_METRICS_HOST:FRONTDOOR_METRICS_WORKER_PORT/metrics`` (``frontdoor worker``
starts the server before Faust; port 0: off; a port already taken is a warning, and the worker
routes on without metrics). Every
``FRONTDOOR_METRICS_LAG_INTERVAL_SECONDS`` it updates the lag of each partition it consumes: the
high watermark its latest fetch reported minus the group's committed offset. Not the broker's
"end offsets": the embedded broker answers those wrongly (``streams/platform/transport.py``).

The other metrics are counted where things happen: events and dead letters as each event is acked
(:mod:`agents.delivery`), timeliness alerts and overdue clocks in :mod:`agents.clocks`, the
broker's reachability in :mod:`agents.health`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import cast

from faust.transport.consumer import Consumer
from faust.types import TP

from streams.platform import metrics
from streams.platform.app import app
from streams.platform.settings import MetricsSettings, load
from streams.platform.topics import TOPICS

settings = load(MetricsSettings)


def consumer_lag(
    partitions: Iterable[TP],
    highwater: Callable[[TP], int | None],
    committed: Mapping[TP, int | None],
    topics: frozenset[str],
) -> dict[tuple[str, int], int]:
    """Messages not yet committed per (topic, partition) of ``topics`` among ``partitions``.

    A partition not fetched yet has no high watermark and is left out; one never committed is
    consumed from its start (``auto_offset_reset`` is earliest and topics are kept forever).
    """
    lag = {}
    for tp in partitions:
        if tp.topic not in topics:
            continue  # a table's changelog (read only to restore the table) or Faust's own
        end = highwater(tp)
        if end is not None:
            lag[(tp.topic, tp.partition)] = max(end - (committed.get(tp) or 0), 0)
    return lag


def _highwater(tp: TP) -> int | None:
    try:
        return app.consumer.highwater(tp)
    except AssertionError:
        return None  # aiokafka asserts the partition is assigned: a rebalance took it meanwhile


@app.timer(interval=settings.lag_interval_seconds)  # type: ignore[untyped-decorator]
async def measure_consumer_lag() -> None:
    consumer = app.consumer
    # Faust keeps the offsets it committed, and those it found committed on assignment, without
    # a public accessor; asking the broker instead would cost a round trip per partition.
    committed = cast(Consumer, consumer)._committed_offset
    topology_topics = frozenset(spec.full_name for spec in TOPICS)
    metrics.set_consumer_lag(
        consumer_lag(consumer.assignment(), _highwater, committed, topology_topics)
    )
