"""The Faust side of the topology: a Faust topic for every declared spec, and the tables.

Topic names, keys and layouts are declared in :mod:`streams.platform.topics`; this module only
binds them to the app. Every value is Avro in the Confluent wire format (see
:mod:`streams.platform.codec`); Faust sees raw bytes so that a message that cannot be decoded
reaches our code, and the dead-letter topic, instead of being dropped inside Faust's deserialiser.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from types import MappingProxyType

import faust
from aiokafka.partitioner import murmur2

from streams.platform.app import app, worker_settings
from streams.platform.topics import (
    ACCEPTED_EVENTS,
    CHILD_EVENTS,
    CLOCK_SOURCES,
    MEETING_SOURCES,
    TOPICS,
    TopicSpec,
)

_FAUST_TOPICS: Mapping[str, faust.TopicT] = MappingProxyType(
    {
        spec.name: app.topic(
            spec.full_name,
            key_type=bytes,
            value_type=bytes,
            partitions=spec.partitions,
            replicas=worker_settings.replication_factor,
            config=dict(spec.config),
        )
        for spec in TOPICS
    }
)


def topic(spec: TopicSpec) -> faust.TopicT:
    """The Faust topic of a declared spec."""
    return _FAUST_TOPICS[spec.name]


# A call costs about 8 us (pure-Python murmur2) and an entry about 300 bytes; the bound keeps a
# large history import (a new child every few rows) from growing the worker by that much a child.
@functools.lru_cache(maxsize=65_536)
def partition_of(key: str, partitions: int) -> int:
    """The partition a message keyed ``key`` is published to, and so where its table keys live.

    Our topics are written with the Kafka clients' default partitioner (murmur2 of the key), and
    a table key lives in its event's partition: a child's clocks and history are in the
    partition of the child-keyed topics that ``partition_of(child_key, partitions)`` names.
    """
    return int(murmur2(key.encode("utf-8")) & 0x7FFFFFFF) % partitions


#: Everything the timeliness clocks wait for, read by one agent: all keyed by child key, with the
#: same partitions, so one partition of each holds a child's events and its clocks.
clock_sources = app.topic(
    *(spec.full_name for spec in CLOCK_SOURCES), key_type=bytes, value_type=bytes
)


#: What the daily domestic-abuse meeting's agent reads: one partition each.
meeting_sources = app.topic(
    *(spec.full_name for spec in MEETING_SOURCES), key_type=bytes, value_type=bytes
)


# Tables: JSON documents (Faust's default serializer) keyed by string, changelogged, so rebuilt
# after a restart. A table has the partitions of the topic its agent reads, so each key lives
# with its events.
identity_index = app.Table(
    "identity-index",
    partitions=ACCEPTED_EVENTS.partitions,
    help="Child identifiers to child keys, and what is known of each child "
    "(streams.decisions.identification).",
)
child_history = app.Table(
    "child-history",
    partitions=CHILD_EVENTS.partitions,
    help="Each child's history, keyed by child key (streams.decisions.history.ChildHistory).",
)
clocks = app.Table(
    "clocks",
    partitions=CLOCK_SOURCES[0].partitions,
    help="Each child's timeliness clocks, keyed by child key (streams.decisions.clocks).",
)
meeting = app.Table(
    "domestic-abuse-meeting",
    partitions=MEETING_SOURCES[0].partitions,
    help="The daily domestic-abuse meeting: items waiting for an agenda and what was published "
    "(streams.decisions.meeting).",
)
