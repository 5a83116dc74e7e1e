"""The feeder against the real broker: what is published reaches the store once, and a group's
offsets move only after the store has committed.

Each test has its own topic namespace and consumer group; the store is SQLite in the test's
directory (the store's behaviour on PostgreSQL is covered by ``test_store.py``). Waits poll
with deadlines: the broker holds each fetch, and a group join takes seconds on it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine

from connectors.staff.consumer import (
    StoreFeeder,
    configured_feeder,
    default_codec,
    rebuild,
    store_topics,
)
from connectors.staff.db import engine_for, migrate
from connectors.staff.store import QueueStore
from schemas.errors import StoreError
from schemas.models import (
    AcknowledgedVia,
    Agency,
    AlertAcknowledgement,
    AlertStatus,
    ClockKind,
    DeliveryStatus,
    DiscussionStatus,
    Event,
    InformationRequest,
    NextStep,
    OutcomeNotification,
    Queue,
    SchoolNotification,
    StaffRole,
    StrategyDiscussion,
    ThresholdDecision,
    TimelinessAlert,
    WorkItem,
)
from schemas.wire import InboundMessage
from streams.decisions.routing import duty_team_alert
from streams.platform.admin import committed_offsets, ensure_topics
from streams.platform.publisher import Publisher
from streams.platform.settings import KafkaSettings
from streams.platform.topics import (
    ALERT_ACKNOWLEDGEMENTS,
    DECISIONS,
    DUTY_TEAM_ALERTS,
    MASH_TASKS,
    QUEUES,
    STRATEGY_DISCUSSIONS,
    TIMELINESS_ALERTS,
    destination,
)
from tests.connectors.staff.synthetic import work_items

pytestmark = pytest.mark.integration

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
CODEC = default_codec()


@pytest.fixture
def topics(kafka: KafkaSettings, topic_prefix: str) -> str:
    specs = [
        *QUEUES.values(),
        MASH_TASKS,
        DUTY_TEAM_ALERTS,
        ALERT_ACKNOWLEDGEMENTS,
        DECISIONS,
        STRATEGY_DISCUSSIONS,
        TIMELINESS_ALERTS,
    ]
    ensure_topics(kafka, specs, prefix=topic_prefix)
    return topic_prefix


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    url = f"sqlite:///{tmp_path / 'staff.db'}"
    migrate(url)
    opened = engine_for(url)
    yield opened
    opened.dispose()


@pytest.fixture
def publisher(kafka: KafkaSettings) -> Iterator[Publisher]:
    with Publisher(kafka, CODEC) as opened:
        yield opened


def publish(publisher: Publisher, prefix: str, event: Event) -> tuple[str, int, int]:
    """Publish as the pipeline does, topic and key from the topology; where it was stored."""
    spec = destination(event)
    topic = spec.name_under(prefix)
    partition, offset = publisher.publish(topic, event, key=spec.key_of(event))
    return topic, partition, offset


def feeder_for(kafka: KafkaSettings, store: QueueStore, prefix: str) -> StoreFeeder:
    return StoreFeeder(store, kafka, CODEC, prefix=prefix, group_id=f"{prefix}staff-store")


def feed_until(feeder: StoreFeeder, done: Callable[[], bool], *, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, "the feeder did not get there in time"
        feeder.feed_once(500)


def committed(kafka: KafkaSettings, group_id: str | None) -> dict[tuple[str, int], int]:
    assert group_id is not None
    return committed_offsets(kafka, group_id)


def decision_on(item: WorkItem) -> ThresholdDecision:
    return ThresholdDecision(
        event_id=f"dec-{item.event_id}",
        work_item_id=item.event_id,
        child_key=item.child_key,
        source_event_id=item.source_event_id,
        queue=item.queue,
        level=item.level,
        next_step=NextStep.STRATEGY_DISCUSSION,
        rationale="Synthetic reasons for a strategy discussion, written in full.",
        decided_by="mash.worker",
        decided_by_role=StaffRole.MASH_WORKER,
        decided_at=NOW,
    )


def stored_ids(store: QueueStore, queue: Queue) -> list[str]:
    return [row.event_id for row in store.queue(queue, include_decided=True)]


def test_published_items_reach_the_store_once_and_local_state_survives_redelivery(
    kafka: KafkaSettings,
    topics: str,
    engine: Engine,
    publisher: Publisher,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    items = work_items(6, queue=Queue.MASH)[:3]
    positions = [publish(publisher, topics, item) for item in items]
    publish(publisher, topics, decision_on(items[0]))
    store = QueueStore(engine)
    monkeypatch.setenv("FRONTDOOR_KAFKA_BOOTSTRAP_SERVERS", kafka.bootstrap_servers)
    monkeypatch.setenv("FRONTDOOR_TOPIC_PREFIX", topics)
    monkeypatch.setenv("FRONTDOOR_APP_ID", "staffapp")

    with configured_feeder(store) as feeder:
        assert feeder.group_id == f"{topics}staffapp-staff-store"
        feed_until(
            feeder,
            # All three stored, and the first decided (its decision is on another topic).
            lambda: len(stored_ids(store, Queue.MASH)) == 3 and len(store.queue(Queue.MASH)) == 2,
        )
        for topic, partition, offset in positions:
            assert committed(kafka, feeder.group_id)[(topic, partition)] > offset
        assert store.claim(items[1].event_id, "mash.worker", NOW).claimed

        topic, partition, offset = publish(publisher, topics, items[1])  # delivered again
        feed_until(
            feeder, lambda: committed(kafka, feeder.group_id).get((topic, partition), 0) > offset
        )

    assert sorted(stored_ids(store, Queue.MASH)) == sorted(item.event_id for item in items)
    view = store.item(items[1].event_id)
    assert view is not None
    assert view.claimed_by == "mash.worker"
    decided = store.item(items[0].event_id)
    assert decided is not None
    assert decided.decision_event_id == f"dec-{items[0].event_id}"
    assert feeder.skipped == 0


def test_published_discussions_and_timeliness_alerts_reach_the_store(
    kafka: KafkaSettings, topics: str, engine: Engine, publisher: Publisher
) -> None:
    item = work_items(6, queue=Queue.MASH)[0]
    held = StrategyDiscussion(
        event_id=f"sd-{item.event_id}",
        discussion_id=f"discussion-{item.event_id}",
        decision_id=f"dec-{item.event_id}",
        work_item_id=item.event_id,
        child_key=item.child_key,
        status=DiscussionStatus.HELD,
        at=NOW,
        recorded_by="mash.worker",
        recorded_by_role=StaffRole.MASH_WORKER,
        invitees=[Agency.POLICE, Agency.HEALTH, Agency.LOCAL_AUTHORITY],
        attendees=[Agency.POLICE, Agency.LOCAL_AUTHORITY],
        section_47=True,
        rationale="Synthetic reasons for the outcome, written in full.",
        missing_agencies=[Agency.HEALTH],
    )
    alert = TimelinessAlert(
        event_id=f"ta-{item.event_id}",
        clock_id=f"clock-{item.event_id}",
        clock=ClockKind.DECISION,
        child_key=item.child_key,
        work_item_id=item.event_id,
        status=AlertStatus.OVERDUE,
        started_at=item.received_at,
        due_at=item.decision_due_at,
        raised_at=item.decision_due_at,
    )
    for event in (item, held, alert):
        publish(publisher, topics, event)
    store = QueueStore(engine)

    with feeder_for(kafka, store, topics) as feeder:
        feed_until(
            feeder,
            lambda: bool(store.discussions(item.event_id) and store.timeliness_alerts()),
        )

    (stored,) = store.discussions(item.event_id)
    assert (stored.event_id, stored.missing_agencies) == (held.event_id, (Agency.HEALTH,))
    (open_alert,) = store.timeliness_alerts()
    assert (open_alert.clock_id, open_alert.overdue_at) == (alert.clock_id, alert.raised_at)
    assert feeder.skipped == 0


def test_an_acknowledgement_published_before_its_alert_reaches_the_store_with_it(
    kafka: KafkaSettings, topics: str, engine: Engine, publisher: Publisher
) -> None:
    mash = work_items(6, queue=Queue.MASH)[0]
    item = mash.model_copy(update={"event_id": f"{mash.event_id}-edt", "queue": Queue.DUTY_TEAM})
    alert = duty_team_alert(item, NOW)
    acknowledgement = AlertAcknowledgement(
        event_id=f"ack-{alert.event_id}",
        alert_id=alert.event_id,
        work_item_id=item.event_id,
        child_key=item.child_key,
        acknowledged_by="edt:on-call",
        via=AcknowledgedVia.EMAIL_LINK,
        acknowledged_at=NOW,
    )
    for event in (acknowledgement, item, alert):
        publish(publisher, topics, event)
    store = QueueStore(engine)

    def acknowledged() -> bool:
        shown = store.duty_alert(alert.event_id)
        return shown is not None and shown.acknowledged is not None

    with feeder_for(kafka, store, topics) as feeder:
        feed_until(feeder, acknowledged)

    shown = store.duty_alert(alert.event_id)
    assert shown is not None
    assert shown.acknowledged is not None
    assert (shown.acknowledged.event_id, shown.acknowledged.by) == (
        acknowledgement.event_id,
        "edt:on-call",
    )
    assert feeder.skipped == 0


class FailingOnce(QueueStore):
    """A store whose first batch fails, as a database that is briefly down would."""

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine)
        self.failed = False

    def apply(self, messages: Sequence[tuple[InboundMessage, Event]]) -> None:
        if not self.failed:
            self.failed = True
            raise StoreError("the staff store failed: OperationalError")
        super().apply(messages)


def test_offsets_are_committed_only_once_the_batch_is_stored(
    kafka: KafkaSettings, topics: str, engine: Engine, publisher: Publisher
) -> None:
    item = work_items(3, queue=Queue.MASH)[0]
    topic, partition, offset = publish(publisher, topics, item)
    store = FailingOnce(engine)

    with feeder_for(kafka, store, topics) as feeder:
        deadline = time.monotonic() + 60
        with pytest.raises(StoreError):  # noqa: PT012 - polls are empty until the group joins
            while time.monotonic() < deadline:
                feeder.feed_once(500)
        assert store.failed
        assert stored_ids(store, Queue.MASH) == []
        assert (topic, partition) not in committed(kafka, feeder.group_id)

        feed_until(feeder, lambda: stored_ids(store, Queue.MASH) == [item.event_id])
        assert committed(kafka, feeder.group_id)[(topic, partition)] == offset + 1


def test_an_unusable_message_is_counted_skipped_and_committed_past(
    kafka: KafkaSettings, topics: str, engine: Engine, publisher: Publisher
) -> None:
    item = work_items(3, queue=Queue.MASH)[0]
    topic = QUEUES[Queue.MASH].name_under(topics)
    # The same key puts both on one partition: the good item waits behind the bad bytes.
    _, bad_offset = publisher.publish_raw(topic, b"\x00\x00\x00\x00\x07garbage", key=item.child_key)
    _, partition, offset = publish(publisher, topics, item)
    assert offset > bad_offset
    store = QueueStore(engine)

    with feeder_for(kafka, store, topics) as feeder:
        feed_until(feeder, lambda: stored_ids(store, Queue.MASH) == [item.event_id])
        assert feeder.skipped == 1
        assert feeder.stored == 1
        assert committed(kafka, feeder.group_id)[(topic, partition)] == offset + 1


def test_run_feeds_until_stopped(
    kafka: KafkaSettings, topics: str, engine: Engine, publisher: Publisher
) -> None:
    items = work_items(6, queue=Queue.MASH)[:2]
    store = QueueStore(engine)
    feeder = feeder_for(kafka, store, topics)
    stop = threading.Event()
    runner = threading.Thread(target=feeder.run, args=(stop,), kwargs={"poll_ms": 200})
    runner.start()
    try:
        for item in items:
            publish(publisher, topics, item)
        deadline = time.monotonic() + 60
        while len(stored_ids(store, Queue.MASH)) < 2:
            assert time.monotonic() < deadline, "run() did not store the items in time"
            time.sleep(0.2)
    finally:
        stop.set()
        runner.join(timeout=30)
    assert not runner.is_alive()


def test_a_rebuild_refills_the_topic_rows_and_keeps_accounts_and_the_access_log(
    kafka: KafkaSettings, topics: str, engine: Engine, publisher: Publisher
) -> None:
    items = work_items(6, queue=Queue.MASH)[:3]
    for item in items:
        publish(publisher, topics, item)
    publish(publisher, topics, decision_on(items[2]))
    store = QueueStore(engine)
    store.create_user("manager", "A Manager", StaffRole.TEAM_MANAGER, "$argon2$hash", NOW)
    store.log_access("manager", items[0].child_key, "item", items[0].event_id, NOW)
    stale = items[0].model_copy(update={"event_id": "wi-not-on-any-topic"})
    store.apply([(InboundMessage("gone", 0, 0, None, None, {}), stale)])

    # A rebuild stops when the topics are quiet for a while; on a loaded machine a first fetch can
    # take longer than that, and a rebuild started again starts from scratch.
    deadline = time.monotonic() + 60
    read = rebuild(engine, kafka=kafka, codec=CODEC, prefix=topics, idle_seconds=2.0)
    while read < 4 and time.monotonic() < deadline:
        read = rebuild(engine, kafka=kafka, codec=CODEC, prefix=topics, idle_seconds=2.0)

    assert read == 4
    assert sorted(stored_ids(store, Queue.MASH)) == sorted(item.event_id for item in items)
    assert len(store.queue(Queue.MASH)) == 2
    decided = store.item(items[2].event_id)
    assert decided is not None
    assert decided.decided_at == NOW
    assert store.get_user("manager") is not None
    assert len(store.access_log(10)) == 1
    assert committed(kafka, f"{topics}staff-store") == {}


def test_the_feeder_reads_every_staff_topic_under_the_prefix() -> None:
    assert sorted(store_topics("p.")) == sorted(
        [
            "p.queue.early-help",
            "p.queue.mash",
            "p.queue.duty-team",
            "p.queue.mash-tasks",
            "p.alerts.duty-team",
            "p.alerts.acknowledgements",
            "p.decisions",
            "p.strategy-discussions",
            "p.alerts.timeliness",
            "p.meetings.domestic-abuse.agendas",
            "p.meetings.domestic-abuse.records",
            "p.information-requests",
            "p.notifications.outcomes",
            "p.deliveries.status",
            "p.notifications.schools",
        ]
    )
    assert store_topics("p.")["p.decisions"] is ThresholdDecision
    assert store_topics("p.")["p.strategy-discussions"] is StrategyDiscussion
    assert store_topics("p.")["p.alerts.timeliness"] is TimelinessAlert
    assert store_topics("p.")["p.information-requests"] is InformationRequest
    assert store_topics("p.")["p.notifications.outcomes"] is OutcomeNotification
    assert store_topics("p.")["p.deliveries.status"] is DeliveryStatus
    assert store_topics("p.")["p.alerts.acknowledgements"] is AlertAcknowledgement
    assert store_topics("p.")["p.notifications.schools"] is SchoolNotification
