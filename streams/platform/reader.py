"""Reading a whole topic from the beginning, for operators' commands and tests.

It stops after the topic has been quiet for ``idle_seconds`` rather than at the reported end
offsets: Tansu's ListOffsets(latest) is wrong after multi-record batches (broker notes).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from typing import Any

from kafka import KafkaConsumer, TopicPartition
from kafka.errors import KafkaError

from schemas.errors import BrokerUnavailableError
from schemas.wire import InboundMessage
from streams.platform.settings import KafkaSettings


def holds_messages(
    settings: KafkaSettings, topics: Sequence[str], *, wait_seconds: float = 2.0
) -> bool:
    """Whether any of ``topics`` holds a message (one is read, whatever their size); topics not
    created yet hold none."""
    try:
        consumer = KafkaConsumer(
            **settings.kafka_python_config(), enable_auto_commit=False, client_id="frontdoor-reader"
        )
    except KafkaError as exc:
        raise BrokerUnavailableError(f"cannot reach {settings.bootstrap_servers}") from exc
    try:
        assignment = [
            TopicPartition(topic, partition)
            for topic in topics
            for partition in sorted(consumer.partitions_for_topic(topic) or ())
        ]
        if not assignment:
            return False
        consumer.assign(assignment)
        consumer.seek_to_beginning(*assignment)
        return bool(consumer.poll(timeout_ms=int(wait_seconds * 1000), max_records=1))
    except KafkaError as exc:
        raise BrokerUnavailableError("the broker stopped answering") from exc
    finally:
        consumer.close()


def read_topic(
    settings: KafkaSettings, topic: str, *, idle_seconds: float = 1.0
) -> Iterator[InboundMessage]:
    """Every message of ``topic``, partition by partition in offset order; no consumer group."""
    try:
        consumer = KafkaConsumer(
            **settings.kafka_python_config(),
            enable_auto_commit=False,
            consumer_timeout_ms=int(idle_seconds * 1000),
            client_id="frontdoor-reader",
        )
    except KafkaError as exc:
        raise BrokerUnavailableError(f"cannot reach {settings.bootstrap_servers}") from exc
    try:
        partitions = consumer.partitions_for_topic(topic) or set()
        assignment = [TopicPartition(topic, partition) for partition in sorted(partitions)]
        if not assignment:
            return
        consumer.assign(assignment)
        consumer.seek_to_beginning(*assignment)
        for record in consumer:
            yield inbound_message(record)
    finally:
        consumer.close()


class TopicFollower:
    """Follows topics from their beginning without a consumer group (nothing is committed).

    Each call of :meth:`new_messages` returns what was published since the previous one. Used by
    the reconciliation, in the worker (a call every two seconds) and on demand.
    """

    def __init__(self, settings: KafkaSettings, topics: Sequence[str], *, client_id: str) -> None:
        try:
            self._consumer = KafkaConsumer(
                **settings.kafka_python_config(), enable_auto_commit=False, client_id=client_id
            )
            assignment = [
                TopicPartition(topic, partition)
                for topic in topics
                for partition in sorted(self._consumer.partitions_for_topic(topic) or ())
            ]
        except KafkaError as exc:
            raise BrokerUnavailableError(f"cannot reach {settings.bootstrap_servers}") from exc
        self._consumer.assign(assignment)
        if assignment:  # kafka-python refuses to seek when nothing is assigned
            self._consumer.seek_to_beginning(*assignment)

    def new_messages(self, *, idle_seconds: float = 0.5) -> list[InboundMessage]:
        """What was published before this call, and what arrived while reading it.

        Reading stops when the topics are quiet for ``idle_seconds``, or when a poll brings only
        messages stored after the call began: on a live system the topics are never quiet, and
        the end offsets the broker reports cannot be trusted here (``shared/broker-notes.md``).
        Whatever a partition still held is read on the next call.
        """
        if not self._consumer.assignment():
            return []  # none of the topics exists (yet): nothing was published to them
        began_ms = time.time() * 1000
        messages: list[InboundMessage] = []
        try:
            while batch := self._consumer.poll(timeout_ms=int(idle_seconds * 1000)):
                records = [record for records in batch.values() for record in records]
                messages.extend(inbound_message(record) for record in records)
                if all(record.timestamp >= began_ms for record in records):
                    break
        except KafkaError as exc:
            raise BrokerUnavailableError("the broker stopped answering") from exc
        return messages

    def close(self) -> None:
        self._consumer.close()


def inbound_message(record: Any) -> InboundMessage:
    """A consumed record (kafka-python's or aiokafka's: they have the same fields) as the
    project's :class:`InboundMessage`, headers as a mapping."""
    return InboundMessage(
        topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        key=record.key,
        value=record.value,
        headers={name: value or b"" for name, value in record.headers or []},
        timestamp_ms=record.timestamp,
    )
