"""Fills the staff application's queue store from the pipeline's topics.

:class:`StoreFeeder` reads the three queue topics, the MASH tasks, the duty-team alerts and their
acknowledgements, the threshold decisions, the strategy discussions, the timeliness alerts, the
meeting agendas and records, the information requests and outcome notifications addressed to
partners (which they fetch from the gateway), the delivery statuses of outbound messages (who
was told, and when) and the school notifications (the dashboard's "told before the school day")
in the consumer group
``<prefix><app id>-staff-store`` (the deployment's namespace, like the workers' group), decodes
each message with the project's codec and stores each polled batch with :meth:`QueueStore.apply`
in one transaction. Offsets are committed only after that transaction committed, so a crash
between the two delivers the batch again, which the store absorbs (it upserts on event ids, and
timeliness alerts on their clock's id): at least once, never lost. The group's committed offsets
are the feeder's position; the database keeps none of its own.

A message that cannot be used (:class:`UnusableEventError`) is logged by position and code and
skipped: the flow that published it dead-letters such messages and puts them to a person, so the
staff store does not hold the queue back for it. A failure of ours (database, broker, schema
registry) stores nothing and commits nothing; the batch is read again.

:func:`rebuild` refills a store from the beginning of the topics: after a database is lost, or
for a second one.
"""

from __future__ import annotations

import logging
import threading
from types import TracebackType
from typing import Any

from kafka import KafkaConsumer, TopicPartition
from kafka.errors import KafkaError
from kafka.structs import OffsetAndMetadata
from sqlalchemy import Engine

from connectors.staff.store import QueueStore
from schemas.errors import BrokerError, BrokerUnavailableError, FrontDoorError, UnusableEventError
from schemas.models import Event
from schemas.wire import InboundMessage
from streams.platform import metrics
from streams.platform.codec import AvroCodec
from streams.platform.reader import inbound_message
from streams.platform.registry import registry_from
from streams.platform.settings import (
    KafkaSettings,
    SchemaRegistrySettings,
    WorkerSettings,
    load,
)
from streams.platform.topics import (
    AGENDAS,
    ALERT_ACKNOWLEDGEMENTS,
    DECISIONS,
    DELIVERY_STATUSES,
    DUTY_TEAM_ALERTS,
    INFORMATION_REQUESTS,
    MASH_TASKS,
    MEETING_RECORDS,
    OUTCOME_NOTIFICATIONS,
    QUEUES,
    SCHOOL_NOTIFICATIONS,
    STRATEGY_DISCUSSIONS,
    TIMELINESS_ALERTS,
)

log = logging.getLogger(__name__)

CLIENT_ID = "frontdoor-staff-store"


def store_topics(prefix: str) -> dict[str, type[Event]]:
    """The topics the staff store is filled from, under ``prefix``, with the record each carries."""
    specs = (
        *QUEUES.values(),
        MASH_TASKS,
        DUTY_TEAM_ALERTS,
        ALERT_ACKNOWLEDGEMENTS,
        DECISIONS,
        STRATEGY_DISCUSSIONS,
        TIMELINESS_ALERTS,
        AGENDAS,
        MEETING_RECORDS,
        INFORMATION_REQUESTS,
        OUTCOME_NOTIFICATIONS,
        DELIVERY_STATUSES,
        SCHOOL_NOTIFICATIONS,
    )
    return {spec.name_under(prefix): spec.value for spec in specs}


def feeder_group_id(worker: WorkerSettings) -> str:
    """The feeder's consumer group: the deployment's group id (prefix and app id) and a suffix."""
    return f"{worker.group_id}-staff-store"


def default_codec() -> AvroCodec:
    """The codec over the configured schema registry, as the worker builds it."""
    return AvroCodec(registry_from(load(SchemaRegistrySettings)))


class StoreFeeder:
    """Reads the staff store's topics and applies them to a :class:`QueueStore`.

    With a ``group_id`` it consumes in that group, from its committed offsets (a new group starts
    at the beginning) and commits after each stored batch. With ``group_id=None`` it reads every
    partition from offset 0 and commits nothing (:func:`rebuild`).
    """

    def __init__(
        self,
        store: QueueStore,
        kafka: KafkaSettings,
        codec: AvroCodec,
        *,
        prefix: str,
        group_id: str | None,
        session_timeout_seconds: float = 6.0,
        heartbeat_interval_seconds: float = 1.0,
    ) -> None:
        self._store = store
        self._codec = codec
        self._models = store_topics(prefix)
        self._group_id = group_id
        self._stored = 0
        self._skipped = 0
        config: dict[str, Any] = {
            **kafka.kafka_python_config(),
            "enable_auto_commit": False,
            "auto_offset_reset": "earliest",
            # A topic not yet created must not be auto-created with the broker's partition count.
            "allow_auto_create_topics": False,
            "client_id": CLIENT_ID,
            "group_id": group_id,
        }
        if group_id is not None:
            # The embedded broker makes a join wait half the session timeout (broker notes).
            config["session_timeout_ms"] = int(session_timeout_seconds * 1000)
            config["heartbeat_interval_ms"] = int(heartbeat_interval_seconds * 1000)
        try:
            self._consumer = KafkaConsumer(**config)
            if group_id is None:
                assignment = [
                    TopicPartition(topic, partition)
                    for topic in sorted(self._models)
                    for partition in sorted(self._consumer.partitions_for_topic(topic) or ())
                ]
                self._consumer.assign(assignment)
                if assignment:
                    self._consumer.seek_to_beginning(*assignment)
            else:
                self._consumer.subscribe(topics=sorted(self._models))
        except KafkaError as exc:
            raise BrokerUnavailableError(f"cannot reach {kafka.bootstrap_servers}") from exc

    @property
    def group_id(self) -> str | None:
        return self._group_id

    @property
    def stored(self) -> int:
        """Events stored since this feeder started (a redelivered one counts again)."""
        return self._stored

    @property
    def skipped(self) -> int:
        """Unusable messages skipped since this feeder started."""
        return self._skipped

    def feed_once(self, timeout_ms: int = 1000) -> int:
        """Poll once, store what came and commit it; the number of messages read (0: none).

        Raises a :class:`FrontDoorError` when the batch could not be stored (nothing of it is
        committed, and the next poll reads it again) or its offsets could not be committed (it is
        stored; reading it again later is harmless).
        """
        try:
            batch = self._consumer.poll(timeout_ms=timeout_ms)
        except KafkaError as exc:
            raise BrokerUnavailableError("the broker stopped answering the staff store") from exc
        if not batch:
            return 0
        messages = [inbound_message(record) for records in batch.values() for record in records]
        try:
            events, unusable = self._decoded(messages)
            self._store.apply(events)
        except Exception:
            # Back to the batch's first offsets, so the next poll delivers it again.
            for partition, records in batch.items():
                self._consumer.seek(partition, records[0].offset)
            raise
        self._stored += len(events)
        metrics.count_staff_messages_stored(message.topic for message, _event in events)
        self._skipped += len(unusable)
        for message, code in unusable:
            log.warning(
                "staff store skipped an unusable message: %s[%d]@%d %s",
                message.topic,
                message.partition,
                message.offset,
                code,
            )
        self._commit(batch)
        return len(messages)

    def _decoded(
        self, messages: list[InboundMessage]
    ) -> tuple[list[tuple[InboundMessage, Event]], list[tuple[InboundMessage, str]]]:
        """The events decoded, and the unusable messages with their error codes."""
        events: list[tuple[InboundMessage, Event]] = []
        unusable: list[tuple[InboundMessage, str]] = []
        for message in messages:
            try:
                events.append(
                    (message, self._codec.decode(message.value, self._models[message.topic]))
                )
            except UnusableEventError as exc:
                unusable.append((message, exc.code))
        return events, unusable

    def _commit(self, batch: dict[Any, list[Any]]) -> None:
        if self._group_id is None:
            return
        offsets = {
            partition: OffsetAndMetadata(records[-1].offset + 1, "", -1)
            for partition, records in batch.items()
        }
        try:
            self._consumer.commit(offsets)
        except KafkaError as exc:
            raise BrokerError(
                f"the staff store's group commit failed ({type(exc).__name__}); the batch is "
                "stored, and reading it again will change nothing"
            ) from exc

    def run(
        self, stop: threading.Event, *, poll_ms: int = 1000, retry_seconds: float = 5.0
    ) -> None:
        """Feed until ``stop`` is set, then close. A failure is logged and retried after
        ``retry_seconds``: the database or broker coming back is all it takes."""
        try:
            while not stop.is_set():
                try:
                    self.feed_once(poll_ms)
                except FrontDoorError as exc:
                    # The error names its cause; a traceback on every retry would be noise.
                    log.error("staff store feeder: %s; retrying in %.0f s", exc, retry_seconds)  # noqa: TRY400
                    stop.wait(retry_seconds)
        finally:
            self.close()

    def close(self) -> None:
        self._consumer.close(autocommit=False)

    def __enter__(self) -> StoreFeeder:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def configured_feeder(store: QueueStore) -> StoreFeeder:
    """A feeder for ``store`` from the environment's Kafka, worker and schema registry settings."""
    kafka, worker = load(KafkaSettings), load(WorkerSettings)
    return StoreFeeder(
        store,
        kafka,
        default_codec(),
        prefix=worker.topic_prefix,
        group_id=feeder_group_id(worker),
        session_timeout_seconds=worker.session_timeout_seconds,
        heartbeat_interval_seconds=worker.heartbeat_interval_seconds,
    )


def rebuild(
    engine: Engine,
    *,
    kafka: KafkaSettings | None = None,
    codec: AvroCodec | None = None,
    prefix: str | None = None,
    idle_seconds: float = 2.0,
) -> int:
    """Refill the store at ``engine`` from the beginning of its topics; the messages read.

    Clears the topic-derived tables (work items, tasks, alerts, decisions, strategy discussions,
    delivery statuses, school notifications;
    not staff accounts, the access log or the partner messages, whose sequence numbers are
    partners' cursors and which reading again changes nothing), then reads every partition from
    offset 0, outside any consumer group and committing nothing, until the topics are quiet for
    ``idle_seconds`` (their reported ends cannot be trusted on the embedded broker). Claims,
    acknowledgements and done tasks exist only here and are lost; decisions and discussions come
    back from their topics.
    The feeder's group is untouched: started afterwards it goes on from its committed offsets, and
    what it reads again is absorbed.
    Another way to refill a fresh database is to start the feeder under a new group id. Settings
    not given are read from the environment.
    """
    store = QueueStore(engine)
    store.clear_topic_rows()
    with StoreFeeder(
        store,
        kafka or load(KafkaSettings),
        codec or default_codec(),
        prefix=load(WorkerSettings).topic_prefix if prefix is None else prefix,
        group_id=None,
    ) as feeder:
        read = 0
        while count := feeder.feed_once(int(idle_seconds * 1000)):
            read += count
    return read
