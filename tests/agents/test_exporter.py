"""The worker's metrics that take working out: consumer lag, and whose clocks a worker counts.

The endpoint itself, on a real worker, is tested with the intake agent
(``tests/agents/test_intake_agent.py``).
"""

from __future__ import annotations

from faust.types import TP
from kafka.partitioner.default import murmur2 as kafka_python_murmur2

from agents.exporter import consumer_lag
from streams.platform.topology import partition_of


def test_lag_is_the_fetched_high_watermark_less_the_committed_offset_of_our_topics() -> None:
    highwaters = {
        TP("fd.intake.contacts", 0): 120,
        TP("fd.intake.contacts", 1): 40,
        TP("fd.intake.contacts", 2): None,  # not fetched yet
        TP("fd.routing", 0): 7,  # never committed: consumed from its start
        TP("fd.frontdoor-clocks-changelog", 0): 500,
    }
    committed = {TP("fd.intake.contacts", 0): 100, TP("fd.intake.contacts", 1): 40}

    lag = consumer_lag(
        highwaters,
        highwaters.get,
        committed,
        frozenset({"fd.intake.contacts", "fd.routing"}),
    )

    assert lag == {
        ("fd.intake.contacts", 0): 20,
        ("fd.intake.contacts", 1): 0,
        ("fd.routing", 0): 7,
    }


def test_a_childs_partition_is_the_one_the_kafka_clients_publish_its_events_to() -> None:
    for child_key in ("child-1", "ck-5f2a9c", "a", "ünïcode-key"):
        key = child_key.encode("utf-8")
        expected = (kafka_python_murmur2(key) & 0x7FFFFFFF) % 4
        assert partition_of(child_key, 4) == expected
    assert {partition_of(f"child-{n}", 4) for n in range(50)} == {0, 1, 2, 3}
