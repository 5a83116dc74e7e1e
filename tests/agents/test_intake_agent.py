"""Intake end to end on the real broker: a real worker process, real topics, real bytes.

Each story publishes to an intake topic the way a partner would and reads what the worker wrote.
"""

from __future__ import annotations

import io
import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import fastavro
import httpx
import pytest

from schemas.models import (
    AcceptedEvent,
    Contact,
    DeadLetter,
    InformationRequest,
    MashTask,
    RequestReason,
    WorkItem,
)
from schemas.wire import SENDER_HEADER
from streams.platform.app import codec
from streams.platform.broker import free_port
from streams.platform.codec import MAGIC_BYTE
from streams.platform.publisher import Publisher
from streams.platform.reader import read_topic
from streams.platform.registry import EmbeddedSchemaRegistry
from streams.platform.settings import KafkaSettings
from streams.platform.topics import (
    ACCEPTED_EVENTS,
    CHILD_EVENTS,
    CONTACTS,
    DEAD_LETTERS,
    INFORMATION_REQUESTS,
    MASH_QUEUE,
    MASH_TASKS,
    POLICE_NOTIFICATIONS,
    TopicSpec,
)
from tests.helpers import (
    INVALID_NHS_NUMBER,
    contact,
    new_id,
    police_notification,
    running_worker,
    wait_for_event,
    wait_for_matching,
    wait_for_messages,
)
from tests.streams.platform.test_metrics import Samples, documented_names

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def namespace() -> str:
    return f"test-intake-{uuid.uuid4().hex[:8]}."


@pytest.fixture(scope="module")
def metrics_port() -> int:
    """Where the module's worker serves its metrics."""
    return free_port()


@pytest.fixture(scope="module")
def worker(
    kafka: KafkaSettings,
    namespace: str,
    tmp_path_factory: pytest.TempPathFactory,
    metrics_port: int,
) -> Iterator[None]:
    metrics_env = {
        "FRONTDOOR_METRICS_WORKER_PORT": str(metrics_port),
        "FRONTDOOR_METRICS_LAG_INTERVAL_SECONDS": "1",
    }
    with running_worker(kafka, namespace, tmp_path_factory.mktemp("worker"), extra_env=metrics_env):
        yield


@pytest.fixture
def publisher(kafka: KafkaSettings) -> Iterator[Publisher]:
    with Publisher(kafka, codec) as publisher:
        yield publisher


def name(topic: TopicSpec, namespace: str) -> str:
    return topic.name_under(namespace)


@pytest.mark.usefixtures("worker")
def test_a_valid_contact_is_accepted_by_the_worker_and_published_onward(
    kafka: KafkaSettings, namespace: str, publisher: Publisher
) -> None:
    sent = contact()
    publisher.publish(name(CONTACTS, namespace), sent, headers={SENDER_HEADER: "school.990001"})

    mine = wait_for_matching(
        kafka,
        name(ACCEPTED_EVENTS, namespace),
        AcceptedEvent,
        lambda event: event.event_id == sent.event_id,
    )

    assert len(mine) == 1
    assert mine[0].contact == sent
    assert mine[0].sender == "school.990001"
    assert mine[0].data_quality_issues == []


@pytest.mark.usefixtures("worker")
def test_a_wrong_nhs_check_digit_is_accepted_and_the_police_are_asked_to_correct_it(
    kafka: KafkaSettings, namespace: str, publisher: Publisher
) -> None:
    notification = police_notification()
    first_child = notification.children[0].model_copy(update={"nhs_number": INVALID_NHS_NUMBER})
    notification = notification.model_copy(
        update={"children": [first_child, *notification.children[1:]]}
    )
    publisher.publish(
        name(POLICE_NOTIFICATIONS, namespace), notification, headers={SENDER_HEADER: "police.synth"}
    )

    request = wait_for_event(
        kafka,
        name(INFORMATION_REQUESTS, namespace),
        InformationRequest,
        lambda r: (
            r.about_event_id == notification.event_id and r.reason is RequestReason.DATA_QUALITY
        ),
    )
    event = wait_for_event(
        kafka,
        name(ACCEPTED_EVENTS, namespace),
        AcceptedEvent,
        lambda a: a.event_id == notification.event_id,
    )
    assert request.addressed_to_sender == "police.synth"
    assert [(item.field, item.code) for item in request.items] == [
        ("children.0.nhs_number", "DQ-NHS-NUMBER")
    ]
    assert [issue.field for issue in event.data_quality_issues] == ["children.0.nhs_number"]


def _garbage_messages() -> list[tuple[str, bytes]]:
    """Unusable messages of every kind, each under a unique key."""
    registry = EmbeddedSchemaRegistry()
    contact_id = registry.writer_id(Contact.AVRO_NAME)
    without_children = contact().model_dump(mode="python") | {"children": []}
    body = bytearray([MAGIC_BYTE]) + contact_id.to_bytes(4, "big")
    writer = fastavro.parse_schema(registry.schema_by_id(contact_id))
    buffer = io.BytesIO()
    fastavro.schemaless_writer(buffer, writer, without_children)
    no_child = bytes(body) + buffer.getvalue()
    valid = codec.encode(contact())
    return [
        (new_id("bad"), b""),
        (new_id("bad"), b"not avro at all"),
        (new_id("bad"), json.dumps({"event_id": "x"}).encode()),
        (new_id("bad"), bytes([0, 0, 0, 0x7F, 0x7F]) + b"\x02"),  # unknown schema id
        (new_id("bad"), valid[:-3]),  # truncated
        (new_id("bad"), valid + b"\x00\x01"),  # trailing bytes
        (new_id("bad"), codec.encode(police_notification())),  # wrong event type
        (new_id("bad"), no_child),  # decodes, but no child at all
    ]


@pytest.mark.usefixtures("worker")
def test_valid_and_invalid_messages_split_exactly_between_onward_and_dead_letter_topics(
    kafka: KafkaSettings, namespace: str, publisher: Publisher
) -> None:
    valid = [contact() for _ in range(12)]
    garbage = _garbage_messages()
    for event in valid:
        publisher.publish(name(CONTACTS, namespace), event, headers={SENDER_HEADER: "la.synth"})
    for key, value in garbage:
        publisher.publish_raw(
            name(CONTACTS, namespace), value, key=key, headers={SENDER_HEADER: "partner.x"}
        )

    valid_ids = {event.event_id for event in valid}
    garbage_keys = {key.encode() for key, _ in garbage}
    onward = wait_for_matching(
        kafka,
        name(ACCEPTED_EVENTS, namespace),
        AcceptedEvent,
        lambda e: e.event_id in valid_ids,
        len(valid),
    )
    mine = wait_for_matching(
        kafka,
        name(DEAD_LETTERS, namespace),
        DeadLetter,
        lambda letter: letter.original_key in garbage_keys,
        len(garbage),
    )

    assert {e.event_id for e in onward} == valid_ids
    assert len(onward) == len(valid)
    assert len(mine) == len(garbage)
    assert {letter.original_key: letter.original_value for letter in mine} == {
        key.encode(): value for key, value in garbage
    }
    assert all(letter.sender == "partner.x" and letter.reason for letter in mine)
    assert {letter.error_code for letter in mine} == {
        "FD-DECODE-EMPTY",
        "FD-DECODE-WIRE-FORMAT",
        "FD-DECODE-UNKNOWN-SCHEMA",
        "FD-DECODE-MALFORMED",
        "FD-DECODE-WRONG-TYPE",
        "FD-VALIDATION",
    }
    no_child = next(letter for letter in mine if letter.error_code == "FD-VALIDATION")
    assert no_child.error_field == "children"


@pytest.mark.usefixtures("worker")
def test_every_dead_letter_becomes_a_mash_task_naming_the_sender_and_reason(
    kafka: KafkaSettings, namespace: str, publisher: Publisher, tmp_path: Path
) -> None:
    key = new_id("bad")
    publisher.publish_raw(
        name(CONTACTS, namespace), b"\x00garbage", key=key, headers={SENDER_HEADER: "gp.synth"}
    )

    letter = wait_for_event(
        kafka, name(DEAD_LETTERS, namespace), DeadLetter, lambda dl: dl.original_key == key.encode()
    )
    task = wait_for_event(
        kafka, name(MASH_TASKS, namespace), MashTask, lambda t: t.reference == letter.event_id
    )

    assert task.sender == "gp.synth"
    assert task.error_code == letter.error_code
    assert task.reason == letter.reason


def test_an_event_caught_by_our_own_outage_and_a_shutdown_is_processed_after_restart(
    kafka: KafkaSettings, publisher: Publisher, tmp_path: Path
) -> None:
    # A worker whose schema registry is down cannot decode: the event is ours to retry, not the
    # sender's fault. Stopping that worker mid-retry must not mark the event done.
    namespace = f"test-outage-{uuid.uuid4().hex[:8]}."
    down = {"FRONTDOOR_SCHEMA_REGISTRY_URL": f"http://127.0.0.1:{free_port()}"}
    sent = contact()
    with running_worker(kafka, namespace, tmp_path, extra_env=down, log_name="down.log"):
        publisher.publish(name(CONTACTS, namespace), sent, headers={SENDER_HEADER: "la.synth"})
        deadline = time.monotonic() + 60
        while "retrying" not in (tmp_path / "down.log").read_text(errors="replace"):
            assert time.monotonic() < deadline, "the worker never tried the event"
            time.sleep(0.2)

    assert list(read_topic(kafka, name(DEAD_LETTERS, namespace), idle_seconds=0.5)) == []
    assert list(read_topic(kafka, name(ACCEPTED_EVENTS, namespace), idle_seconds=0.5)) == []

    with running_worker(kafka, namespace, tmp_path, log_name="restarted.log"):
        onward = wait_for_messages(kafka, name(ACCEPTED_EVENTS, namespace), 1)

    assert [codec.decode(m.value, AcceptedEvent).event_id for m in onward] == [sent.event_id]


@pytest.mark.usefixtures("worker")
def test_garbage_on_an_internal_topic_is_dead_lettered_and_the_work_goes_on(
    kafka: KafkaSettings, namespace: str, publisher: Publisher
) -> None:
    key = new_id("stranger")
    publisher.publish_raw(name(CHILD_EVENTS, namespace), b"not ours", key=key)
    sent = contact()
    publisher.publish(name(CONTACTS, namespace), sent, headers={SENDER_HEADER: "la.synth"})

    letter = wait_for_event(
        kafka,
        name(DEAD_LETTERS, namespace),
        DeadLetter,
        lambda dl: dl.original_key == key.encode(),
    )
    assert letter.source.topic == name(CHILD_EVENTS, namespace)
    assert letter.error_code == "FD-DECODE-WIRE-FORMAT"
    wait_for_event(
        kafka, name(MASH_QUEUE, namespace), WorkItem, lambda w: w.source_event_id == sent.event_id
    )


@pytest.mark.usefixtures("worker")
def test_the_worker_serves_prometheus_text_counting_what_flowed_through_it(
    kafka: KafkaSettings, namespace: str, publisher: Publisher, metrics_port: int
) -> None:
    contacts = name(CONTACTS, namespace)
    sent = contact()
    publisher.publish(contacts, sent, headers={SENDER_HEADER: "la.synth"})
    key = new_id("bad")
    publisher.publish_raw(contacts, b"\x00garbage", key=key, headers={SENDER_HEADER: "gp.synth"})
    wait_for_event(
        kafka,
        name(ACCEPTED_EVENTS, namespace),
        AcceptedEvent,
        lambda e: e.event_id == sent.event_id,
    )
    letter = wait_for_event(
        kafka, name(DEAD_LETTERS, namespace), DeadLetter, lambda dl: dl.original_key == key.encode()
    )

    # The counts follow the acks, the lag its timer, the broker's health its check: soon after.
    intake = {"agent": "intake.contact", "topic": contacts}
    deadline = time.monotonic() + 30
    while True:
        answer = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10)
        samples = Samples(answer.text)
        if (
            samples.value("frontdoor_events_processed_total", **intake, outcome="ok") >= 1
            and samples.value("frontdoor_events_processed_total", **intake, outcome="dead_lettered")
            >= 1
            and samples.labels_of("frontdoor_consumer_lag_messages")
            and samples.value("frontdoor_broker_reachable") == 1
        ):
            break
        assert time.monotonic() < deadline, answer.text
        time.sleep(0.5)

    assert answer.headers["content-type"].startswith("text/plain")
    for metric in documented_names("worker"):
        assert f"# TYPE {metric} " in answer.text
    assert samples.value("frontdoor_event_processing_seconds_count", agent="intake.contact") >= 2
    assert samples.value("frontdoor_dead_letters_total", error_code=letter.error_code) >= 1
    lagging = samples.labels_of("frontdoor_consumer_lag_messages")
    assert contacts in {labels["topic"] for labels in lagging}
