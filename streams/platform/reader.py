"""Reading a whole topic from the beginning, for operators' commands and tests.

It stops after the topic has been quiet for ``idle_seconds`` rather than at the reported end
offsets: Tansu's ListOffsets(latest) is wrong after multi-record batches (broker notes).
"""

from __future__ import annotations

from collections.abc import Iterator

from kafka import KafkaConsumer, TopicPartition
from kafka.errors import KafkaError

from schemas.errors import BrokerUnavailableError
from schemas.wire import InboundMessage
from streams.platform.settings import KafkaSettings


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
            yield InboundMessage(
                topic=record.topic,
                partition=record.partition,
                offset=record.offset,
                key=record.key,
                value=record.value,
                headers={name: value or b"" for name, value in record.headers or []},
            )
    finally:
        consumer.close()
