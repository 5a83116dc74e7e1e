"""Topic administration on the real broker: idempotent creation, and a wrong layout refused."""

from __future__ import annotations

import pytest
from kafka import KafkaAdminClient
from kafka.admin import NewTopic

from schemas.errors import TopicMismatchError
from streams.platform.admin import ensure_topics, format_reports
from streams.platform.settings import KafkaSettings
from streams.platform.topics import TOPICS

pytestmark = pytest.mark.integration


def test_topics_are_created_once_with_their_partitions_and_then_found(
    kafka: KafkaSettings, topic_prefix: str
) -> None:
    first = ensure_topics(kafka, TOPICS, prefix=topic_prefix)
    second = ensure_topics(kafka, TOPICS, prefix=topic_prefix)

    assert [r.status for r in first] == ["created"] * len(TOPICS)
    assert [r.status for r in second] == ["exists"] * len(TOPICS)
    assert all(r.partitions == r.spec.partitions for r in second)
    table = format_reports(second)
    for spec in TOPICS:
        assert spec.name_under(topic_prefix) in table
        assert spec.value.__name__ in table
    assert "retention.ms=-1" in table


def test_a_topic_with_the_wrong_partition_count_is_refused_by_name(
    kafka: KafkaSettings, topic_prefix: str
) -> None:
    wrong = TOPICS[0]
    admin = KafkaAdminClient(**kafka.kafka_python_config())
    try:
        admin.create_topics([NewTopic(wrong.name_under(topic_prefix), wrong.partitions + 1, 1)])
    finally:
        admin.close()

    with pytest.raises(TopicMismatchError, match=wrong.name_under(topic_prefix)):
        ensure_topics(kafka, TOPICS, prefix=topic_prefix)
