"""A staff application with real parts for the web and browser tests.

Synthetic work items (:mod:`tests.connectors.staff.synthetic`) are published to the queue topics
of the test's own namespace on the real broker and fed into a real database by the real feeder;
the application publishes decisions and acknowledgements to the same broker. One account per
role, with the password :data:`PASSWORD`.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

from connectors.staff.consumer import StoreFeeder, default_codec
from connectors.staff.db import engine_for, migrate
from connectors.staff.security import hash_password
from connectors.staff.store import QueueStore
from connectors.staff.web import Staff
from schemas.models import (
    AlertAcknowledgement,
    ConsentEvent,
    Event,
    OutcomeNotification,
    StaffRole,
    StrategyDiscussion,
    ThresholdDecision,
    WorkItem,
)
from streams.decisions.rules import load_rules
from streams.platform.admin import ensure_topics
from streams.platform.publisher import Publisher
from streams.platform.reader import read_topic
from streams.platform.settings import KafkaSettings, StaffSettings
from streams.platform.topics import (
    ALERT_ACKNOWLEDGEMENTS,
    CONSENT_EVENTS,
    DECISIONS,
    DELIVERY_STATUSES,
    DUTY_TEAM_ALERTS,
    MASH_TASKS,
    OUTCOME_NOTIFICATIONS,
    QUEUES,
    STRATEGY_DISCUSSIONS,
    TIMELINESS_ALERTS,
    destination,
)

PASSWORD = "correct horse battery staple"
MASH_WORKER = "mw.okafor"
TEAM_MANAGER = "tm.henderson"
EARLY_HELP_WORKER = "eh.patel"
DUTY_WORKER = "edt.nwosu"
LEADER = "ld.ahmed"
ACCOUNTS = (
    (MASH_WORKER, "Ada Okafor", StaffRole.MASH_WORKER),
    (TEAM_MANAGER, "Ruth Henderson", StaffRole.TEAM_MANAGER),
    (EARLY_HELP_WORKER, "Sam Patel", StaffRole.EARLY_HELP_WORKER),
    (DUTY_WORKER, "Kemi Nwosu", StaffRole.DUTY_TEAM),
    (LEADER, "Farah Ahmed", StaffRole.LEADER),
)
SESSION_SECRET = "synthetic-session-secret-for-tests-only"
CODEC = default_codec()
EventT = TypeVar("EventT", bound=Event)
_HIDDEN = re.compile(
    r'name="(?P<name>csrf_token|decision_id|override_id|discussion_event_id)" '
    r'value="(?P<value>[^"]*)"'
)


@dataclass
class RunningStaff:
    """The parts of a staff application under test."""

    staff: Staff
    store: QueueStore
    kafka: KafkaSettings
    prefix: str
    items: list[WorkItem]
    #: Events published to the topics the store is fed from, so far.
    published: int = 0

    def decisions(self) -> list[ThresholdDecision]:
        return _read(self.kafka, DECISIONS.name_under(self.prefix), ThresholdDecision)

    def consent_events(self) -> list[ConsentEvent]:
        return _read(self.kafka, CONSENT_EVENTS.name_under(self.prefix), ConsentEvent)

    def notifications(self) -> list[OutcomeNotification]:
        topic = OUTCOME_NOTIFICATIONS.name_under(self.prefix)
        return _read(self.kafka, topic, OutcomeNotification)

    def acknowledgements(self) -> list[AlertAcknowledgement]:
        topic = ALERT_ACKNOWLEDGEMENTS.name_under(self.prefix)
        return _read(self.kafka, topic, AlertAcknowledgement)

    def discussions(self) -> list[StrategyDiscussion]:
        return _read(self.kafka, STRATEGY_DISCUSSIONS.name_under(self.prefix), StrategyDiscussion)

    def catch_up(self) -> None:
        """Feed the store everything on its topics (what the application published too)."""
        with StoreFeeder(
            self.store, self.kafka, CODEC, prefix=self.prefix, group_id=None
        ) as feeder:
            quiet = 0
            while quiet < 3:  # the first polls may come back empty while partitions are fetched
                quiet = 0 if feeder.feed_once(500) else quiet + 1

    def publish_and_store(self, *events: Event) -> None:
        """Publish ``events`` to their topics and wait until the feeder has stored them."""
        with Publisher(self.kafka, CODEC) as publisher:
            for event in events:
                spec = destination(event)
                publisher.publish(spec.name_under(self.prefix), event, key=spec.key_of(event))
        self.published += len(events)
        _feed(self.store, self.kafka, self.prefix, self.published)


def start_staff(
    kafka: KafkaSettings,
    prefix: str,
    database_url: str,
    items: list[WorkItem],
    *,
    secure_cookies: bool = False,
) -> RunningStaff:
    """Publish ``items``, feed them into the database and build the application's parts."""
    ensure_topics(
        kafka,
        [
            *QUEUES.values(),
            MASH_TASKS,
            DUTY_TEAM_ALERTS,
            ALERT_ACKNOWLEDGEMENTS,
            DECISIONS,
            CONSENT_EVENTS,
            STRATEGY_DISCUSSIONS,
            TIMELINESS_ALERTS,
            OUTCOME_NOTIFICATIONS,
            DELIVERY_STATUSES,
        ],
        prefix=prefix,
    )
    publisher = Publisher(kafka, CODEC)
    for item in items:
        spec = destination(item)
        publisher.publish(spec.name_under(prefix), item, key=spec.key_of(item))
    migrate(database_url)
    store = QueueStore(engine_for(database_url))
    _feed(store, kafka, prefix, len(items))
    now = datetime.now(UTC)
    hashed = hash_password(PASSWORD)
    for username, name, role in ACCOUNTS:
        store.create_user(username, name, role, hashed, now)
    rules = load_rules()
    staff = Staff(
        settings=StaffSettings(secure_cookies=secure_cookies, sign_in_attempts_per_minute=5),
        store=store,
        publisher=lambda: publisher,
        minimum_rationale_words=rules.decisions.minimum_rationale_words,
        topic_prefix=prefix,
        calendar=rules.office_calendar(),
    )
    return RunningStaff(staff, store, kafka, prefix, items, published=len(items))


def hidden_fields(page: str) -> dict[str, str]:
    """The hidden fields of a page's forms (the last of each name)."""
    return {match["name"]: match["value"] for match in _HIDDEN.finditer(page)}


def _feed(store: QueueStore, kafka: KafkaSettings, prefix: str, count: int) -> None:
    with StoreFeeder(store, kafka, CODEC, prefix=prefix, group_id=None) as feeder:
        deadline = time.monotonic() + 60
        while feeder.stored < count:
            assert time.monotonic() < deadline, f"stored {feeder.stored} of {count} items"
            feeder.feed_once(500)


def _read(kafka: KafkaSettings, topic: str, model: type[EventT]) -> list[EventT]:
    return [CODEC.decode(m.value, model) for m in read_topic(kafka, topic, idle_seconds=0.5)]
