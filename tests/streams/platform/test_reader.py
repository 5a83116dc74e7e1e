"""Following topics without a consumer group: a live system's topics are never quiet, and the
reconciliation must still finish each pass."""

from __future__ import annotations

import threading
import time

import pytest

from schemas.wire import SENDER_HEADER
from streams.platform.app import codec
from streams.platform.publisher import Publisher
from streams.platform.reader import TopicFollower, holds_messages
from streams.platform.settings import KafkaSettings
from streams.platform.topics import CONTACTS
from tests.helpers import contact

pytestmark = pytest.mark.integration


def test_a_pass_over_busy_topics_ends_and_holds_all_that_came_before_it(
    kafka: KafkaSettings, topic_prefix: str
) -> None:
    topic = CONTACTS.name_under(topic_prefix)
    stop = threading.Event()
    with Publisher(kafka, codec) as publisher:
        before = [
            publisher.publish(topic, contact(), headers={SENDER_HEADER: "s.1"}) for _ in range(20)
        ]

        def keep_publishing() -> None:  # twenty a second for 20 s, never quiet for long
            until = time.monotonic() + 20
            while not stop.is_set() and time.monotonic() < until:
                publisher.publish(topic, contact(), headers={SENDER_HEADER: "s.1"})
                time.sleep(0.05)

        traffic = threading.Thread(target=keep_publishing, daemon=True)
        traffic.start()
        try:
            time.sleep(1)
            follower = TopicFollower(kafka, [topic], client_id="test-follower")
            try:
                started = time.monotonic()
                seen = follower.new_messages()
                took = time.monotonic() - started
            finally:
                follower.close()
        finally:
            stop.set()
            traffic.join(timeout=10)

    assert took < 15, f"the pass took {took:.0f}s under steady traffic"
    assert set(before) <= {(m.partition, m.offset) for m in seen}


def test_following_topics_not_created_yet_reads_nothing(
    kafka: KafkaSettings, topic_prefix: str
) -> None:
    follower = TopicFollower(kafka, [CONTACTS.name_under(topic_prefix)], client_id="test")
    try:
        assert follower.new_messages(idle_seconds=0.2) == []
    finally:
        follower.close()


def test_whether_topics_hold_messages_is_answered_without_reading_them_all(
    kafka: KafkaSettings, topic_prefix: str
) -> None:
    topic = CONTACTS.name_under(topic_prefix)
    assert not holds_messages(kafka, [topic], wait_seconds=0.5)  # not created yet

    with Publisher(kafka, codec) as publisher:
        for _ in range(3):
            publisher.publish(topic, contact(), headers={SENDER_HEADER: "test"})

    assert holds_messages(kafka, [topic])
