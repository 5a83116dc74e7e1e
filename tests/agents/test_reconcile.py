"""The reconciliation on the real broker: a lost message is found and re-driven, a stuck one is put
to a person, and a healthy flow reports nothing waiting."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest
from kafka import KafkaConsumer, TopicPartition
from kafka.structs import OffsetAndMetadata

from schemas.models import AcceptedEvent, MashTask, Queue, TaskKind, WorkItem
from schemas.wire import REDRIVE_HEADER, SENDER_HEADER
from streams.platform.app import codec
from streams.platform.publisher import Publisher
from streams.platform.reader import read_topic
from streams.platform.settings import KafkaSettings
from streams.platform.topics import ACCEPTED_EVENTS, CONTACTS, MASH_TASKS, QUEUES
from tests.helpers import contact, frontdoor, running_worker, wait_for_event, work_item_in

pytestmark = pytest.mark.integration

QUICK_RECONCILIATION = {
    "FRONTDOOR_RECONCILE_INTERVAL_SECONDS": "2",
    "FRONTDOOR_REDRIVE_AFTER_SECONDS": "3",
    "FRONTDOOR_OUTCOME_BOUND_SECONDS": "4",
}


def _env(kafka: KafkaSettings, prefix: str) -> dict[str, str]:
    return {
        "KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
        "FRONTDOOR_TOPIC_PREFIX": prefix,
        "FRONTDOOR_APP_ID": "worker",
        **QUICK_RECONCILIATION,
    }


def _skip_in_the_workers_group(
    kafka: KafkaSettings, prefix: str, partition: int, offset: int
) -> None:
    """Commit the worker group's position past one message: what a skipped offset looks like."""
    group = KafkaConsumer(
        **kafka.kafka_python_config(), group_id=f"{prefix}worker", enable_auto_commit=False
    )
    try:
        skipped = TopicPartition(CONTACTS.name_under(prefix), partition)
        group.assign([skipped])
        group.commit({skipped: OffsetAndMetadata(offset + 1, "", -1)})
    finally:
        group.close()


def test_a_message_the_stream_processor_skipped_is_found_and_re_driven_by_the_worker(
    kafka: KafkaSettings, tmp_path: Path
) -> None:
    prefix = f"test-skip-{uuid.uuid4().hex[:8]}."
    frontdoor("topics", env=_env(kafka, prefix))
    lost = contact(immediate_risk=True)
    with Publisher(kafka, codec) as publisher:
        partition, offset = publisher.publish(
            CONTACTS.name_under(prefix), lost, headers={SENDER_HEADER: "gp.synth"}
        )
    _skip_in_the_workers_group(kafka, prefix, partition, offset)

    with running_worker(kafka, prefix, tmp_path, extra_env=QUICK_RECONCILIATION):
        item = work_item_in(kafka, prefix, Queue.MASH, lost.event_id)

    assert item.sender == "gp.synth"
    copies = [
        m
        for m in read_topic(kafka, CONTACTS.name_under(prefix), idle_seconds=0.5)
        if m.headers.get(REDRIVE_HEADER)
    ]
    assert [m.headers[REDRIVE_HEADER] for m in copies] == [
        f"{CONTACTS.name_under(prefix)}:{partition}:{offset}".encode()
    ]
    assert "re-drove intake" in (tmp_path / "worker.log").read_text(encoding="utf-8")
    # The original was never processed (its offset was skipped); its copy was.
    accepted = [
        codec.decode(m.value, AcceptedEvent)
        for m in read_topic(kafka, ACCEPTED_EVENTS.name_under(prefix), idle_seconds=0.5)
    ]
    assert {(a.source.partition, a.source.offset) for a in accepted} == {
        (copy.partition, copy.offset) for copy in copies
    }


def test_a_stuck_event_is_reported_and_put_to_a_person_then_settles(
    kafka: KafkaSettings, tmp_path: Path
) -> None:
    prefix = f"test-stuck-{uuid.uuid4().hex[:8]}."
    env = _env(kafka, prefix)
    frontdoor("topics", env=env)
    stuck = contact()
    with Publisher(kafka, codec) as publisher:
        partition, offset = publisher.publish(
            CONTACTS.name_under(prefix), stuck, headers={SENDER_HEADER: "school.990001"}
        )
    time.sleep(4.5)  # no worker runs: the contact waits past its bound

    report = frontdoor("reconcile", env=env, check=False)

    assert report.returncode == 1, report.stdout + report.stderr
    position = f"{CONTACTS.name_under(prefix)}:{partition}:{offset}"
    assert position in report.stdout
    task = wait_for_event(
        kafka,
        MASH_TASKS.name_under(prefix),
        MashTask,
        lambda t: t.kind is TaskKind.OVERDUE_EVENT and t.reference == position,
    )
    assert task.sender == "school.990001"
    assert "No outcome after" in task.title

    with running_worker(kafka, prefix, tmp_path):
        work_item_in(kafka, prefix, Queue.MASH, stuck.event_id)
        settled = frontdoor("reconcile", "--dry-run", env=env, check=False)

    assert settled.returncode == 0, settled.stdout + settled.stderr
    assert "nothing is waiting" in settled.stdout
    items = [
        codec.decode(m.value, WorkItem)
        for m in read_topic(kafka, QUEUES[Queue.EARLY_HELP].name_under(prefix), idle_seconds=0.5)
    ] + [
        codec.decode(m.value, WorkItem)
        for m in read_topic(kafka, QUEUES[Queue.MASH].name_under(prefix), idle_seconds=0.5)
    ]
    # Queued, not skipped (no worker had consumed past it): not re-driven, routed once.
    assert [item.source_event_id for item in items] == [stuck.event_id]
