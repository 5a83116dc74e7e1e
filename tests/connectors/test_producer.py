"""The partner producer library: same contracts as the gateway, acknowledged writes, real broker."""

from __future__ import annotations

import json

import pytest

from connectors.producer import PartnerProducer
from schemas.errors import EventValidationError, MessageTooLargeError
from schemas.models import PoliceNotification
from streams.platform.app import codec
from streams.platform.reader import read_topic
from streams.platform.settings import KafkaSettings
from streams.platform.topics import POLICE_NOTIFICATIONS
from tests.helpers import police_notification

pytestmark = pytest.mark.integration


def test_a_partner_publishes_a_notification_that_the_pipeline_decodes(
    kafka: KafkaSettings, topic_prefix: str
) -> None:
    sent = police_notification()
    with PartnerProducer(
        kafka.bootstrap_servers, sender="police.synthetic", topic_prefix=topic_prefix
    ) as producer:
        producer.publish_json("police_notification", json.loads(sent.model_dump_json()))

    (message,) = read_topic(kafka, POLICE_NOTIFICATIONS.name_under(topic_prefix))
    assert codec.decode(message.value, PoliceNotification) == sent
    assert message.headers["frontdoor-sender"] == b"police.synthetic"


def test_an_unusable_event_is_refused_before_anything_is_sent(
    kafka: KafkaSettings, topic_prefix: str
) -> None:
    data = json.loads(police_notification().model_dump_json()) | {"children": []}
    with (
        PartnerProducer(kafka.bootstrap_servers, sender="police.x", topic_prefix=topic_prefix) as p,
        pytest.raises(EventValidationError) as raised,
    ):
        p.publish_json("police_notification", data)

    assert raised.value.field == "children"
    topic = POLICE_NOTIFICATIONS.name_under(topic_prefix)
    assert list(read_topic(kafka, topic, idle_seconds=0.5)) == []


def test_an_event_too_large_for_the_front_door_is_refused_before_anything_is_sent(
    kafka: KafkaSettings, topic_prefix: str
) -> None:
    # Eight children, each with as long a voice as the contract allows: about 640 KB.
    template = police_notification().children[0]
    children = [template.model_copy(update={"child_voice": "\U0001f600" * 20_000})] * 8
    too_large = police_notification(children=children)
    with (
        PartnerProducer(kafka.bootstrap_servers, sender="police.x", topic_prefix=topic_prefix) as p,
        pytest.raises(MessageTooLargeError) as raised,
    ):
        p.publish(too_large)

    assert raised.value.code == "FD-MESSAGE-TOO-LARGE"
    assert raised.value.event_id == too_large.event_id
    topic = POLICE_NOTIFICATIONS.name_under(topic_prefix)
    assert list(read_topic(kafka, topic, idle_seconds=0.5)) == []
