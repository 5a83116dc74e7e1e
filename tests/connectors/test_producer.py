"""The partner producer library: same contracts as the gateway, acknowledged writes, real broker."""

from __future__ import annotations

import json

import pytest

from connectors.producer import PartnerProducer
from schemas.errors import EventValidationError
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
