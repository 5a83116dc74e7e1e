"""A case-management system records decisions, strategy discussions and conferences through the
gateway: the same rules as the staff application's forms, against the work item in the staff
store, and nothing published when a record is refused.

Real HTTP server, real broker, a real (SQLite) staff store holding the work item the records are
about, as the staff application's feeder would have stored it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import httpx
import pytest

from connectors.gateway import create_app
from connectors.partner_keys import CaseRecordType, issue_key
from connectors.staff.db import engine_for, migrate
from connectors.staff.store import QueueStore
from connectors.store import open_store
from schemas.models import (
    Agency,
    ChildProtectionConference,
    DiscussionStatus,
    Event,
    EventType,
    NextStep,
    OutcomeNotification,
    Queue,
    StaffRole,
    StrategyDiscussion,
    ThresholdDecision,
    WorkItem,
)
from schemas.wire import InboundMessage
from streams.decisions.ids import derived_id
from streams.platform.app import codec
from streams.platform.reader import read_topic
from streams.platform.settings import GatewaySettings, KafkaSettings
from streams.platform.topics import (
    CONFERENCES,
    DECISIONS,
    OUTCOME_NOTIFICATIONS,
    STRATEGY_DISCUSSIONS,
    TopicSpec,
)
from tests.connectors.staff.synthetic import work_items
from tests.helpers import serving

pytestmark = pytest.mark.integration

EventT = TypeVar("EventT", bound=Event)

NOW = datetime.now(UTC)
RATIONALE = (
    "Unexplained bruising to a baby reported by the health visitor; police hold a previous "
    "domestic abuse incident at the address, so the threshold for a strategy discussion is met."
)


class Keys:
    """The local authority's case-management key, and a police key that may not record."""

    def __init__(self, store_url: str) -> None:
        store = open_store(store_url)
        try:
            self.case_management = issue_key(
                store,
                partner="la.case-management",
                agency=Agency.LOCAL_AUTHORITY,
                event_types=list(CaseRecordType),
                now=NOW,
            ).token
            self.police = issue_key(
                store,
                partner="police.synthetic",
                agency=Agency.POLICE,
                event_types=[EventType.POLICE_NOTIFICATION],
                now=NOW,
            ).token
        finally:
            store.close()


@pytest.fixture
def item() -> WorkItem:
    return work_items(6, queue=Queue.MASH)[0]


@dataclass(frozen=True)
class Running:
    url: str
    keys: Keys
    #: The staff store the gateway reads, as the staff application's feeder fills it.
    staff_store: QueueStore

    def stored(self, *events: Event) -> None:
        """Store ``events`` as the feeder would on reading them from their topics."""
        self.staff_store.apply(
            [
                (
                    InboundMessage(
                        topic="queue", partition=0, offset=n, key=None, value=None, headers={}
                    ),
                    event,
                )
                for n, event in enumerate(events)
            ]
        )


@pytest.fixture
def gateway(
    kafka: KafkaSettings, topic_prefix: str, tmp_path: Path, item: WorkItem
) -> Iterator[Running]:
    store_url = f"sqlite:///{tmp_path / 'gateway.db'}"
    staff_url = f"sqlite:///{tmp_path / 'staff.db'}"
    migrate(staff_url)
    engine = engine_for(staff_url)
    queue_store = QueueStore(engine)
    settings = GatewaySettings(store_url=store_url, publish_timeout_seconds=3)
    app = create_app(settings, kafka, topic_prefix=topic_prefix, queue_store=queue_store)
    try:
        with serving(app) as url:
            running = Running(url, Keys(store_url), queue_store)
            running.stored(item)
            yield running
    finally:
        engine.dispose()


def decision(item: WorkItem, **changes: object) -> ThresholdDecision:
    fields: dict[str, object] = {
        "event_id": f"dec-{item.event_id}",
        "work_item_id": item.event_id,
        "child_key": item.child_key,
        "source_event_id": item.source_event_id,
        "queue": item.queue,
        "level": 4,
        "next_step": NextStep.STRATEGY_DISCUSSION,
        "rationale": RATIONALE,
        "decided_by": "cms.synthetic",
        "decided_by_role": StaffRole.MASH_WORKER,
        "decided_at": NOW,
    }
    return ThresholdDecision.model_validate({**fields, **changes})


def held(item: WorkItem, decision_id: str) -> StrategyDiscussion:
    return StrategyDiscussion(
        event_id=f"sd-held-{item.event_id}",
        discussion_id=derived_id("discussion", item.event_id),
        decision_id=decision_id,
        work_item_id=item.event_id,
        child_key=item.child_key,
        status=DiscussionStatus.HELD,
        at=NOW + timedelta(hours=3),
        recorded_by="cms.synthetic",
        recorded_by_role=StaffRole.TEAM_MANAGER,
        attendees=[Agency.LOCAL_AUTHORITY, Agency.POLICE],
        section_47=True,
        rationale=RATIONALE,
    )


def conference(item: WorkItem) -> ChildProtectionConference:
    return ChildProtectionConference(
        event_id=f"icpc-{item.event_id}",
        discussion_id=derived_id("discussion", item.event_id),
        work_item_id=item.event_id,
        child_key=item.child_key,
        held_at=NOW + timedelta(days=14),
        recorded_by="cms.synthetic",
        recorded_by_role=StaffRole.TEAM_MANAGER,
        attendees=[Agency.LOCAL_AUTHORITY, Agency.POLICE, Agency.HEALTH],
        child_protection_plan=True,
        rationale=RATIONALE,
    )


def post(url: str, path: str, token: str, record: Event) -> httpx.Response:
    return httpx.post(
        f"{url}{path}",
        json=json.loads(record.model_dump_json()),
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )


def on_topic(
    kafka: KafkaSettings, prefix: str, spec: TopicSpec, model: type[EventT]
) -> list[tuple[str, EventT]]:
    """(message key, record) of everything on a topic."""
    return [
        ((m.key or b"").decode(), codec.decode(m.value, model))
        for m in read_topic(kafka, spec.name_under(prefix), idle_seconds=1)
    ]


def test_a_decision_is_published_keyed_by_child_with_the_referrers_outcome_notification(
    gateway: Running, item: WorkItem, kafka: KafkaSettings, topic_prefix: str
) -> None:
    url, keys = gateway.url, gateway.keys
    sent = decision(item)

    answer = post(url, "/v1/threshold-decisions", keys.case_management, sent)

    assert answer.status_code == 202, answer.text
    assert on_topic(kafka, topic_prefix, DECISIONS, ThresholdDecision) == [(item.child_key, sent)]
    [(_, notice)] = on_topic(kafka, topic_prefix, OUTCOME_NOTIFICATIONS, OutcomeNotification)
    assert notice.addressed_to_sender == item.sender
    assert notice.next_step is NextStep.STRATEGY_DISCUSSION
    again = post(url, "/v1/threshold-decisions", keys.case_management, sent)
    assert again.status_code == 202
    assert again.headers.get("Idempotent-Replayed") == "true"


@pytest.mark.parametrize("placeholder", ["n/a", "see notes", "."])
def test_a_placeholder_rationale_is_refused_naming_the_field_and_nothing_is_published(
    gateway: Running,
    item: WorkItem,
    kafka: KafkaSettings,
    topic_prefix: str,
    placeholder: str,
) -> None:
    url, keys = gateway.url, gateway.keys

    answer = post(
        url, "/v1/threshold-decisions", keys.case_management, decision(item, rationale=placeholder)
    )

    assert answer.status_code == 422, answer.text
    assert answer.json()["code"] == "FD-RECORD-REFUSED"
    assert [problem["field"] for problem in answer.json()["errors"]] == ["rationale"]
    assert on_topic(kafka, topic_prefix, DECISIONS, ThresholdDecision) == []
    assert on_topic(kafka, topic_prefix, OUTCOME_NOTIFICATIONS, OutcomeNotification) == []


def test_a_decision_on_a_work_item_not_on_the_queues_is_refused(
    gateway: Running, item: WorkItem, kafka: KafkaSettings, topic_prefix: str
) -> None:
    url, keys = gateway.url, gateway.keys
    unknown = decision(item, work_item_id="wi-not-on-any-queue")

    answer = post(url, "/v1/threshold-decisions", keys.case_management, unknown)

    assert answer.status_code == 422, answer.text
    assert [problem["field"] for problem in answer.json()["errors"]] == ["work_item_id"]
    assert on_topic(kafka, topic_prefix, DECISIONS, ThresholdDecision) == []


def test_only_a_local_authority_key_allowed_case_records_may_record_one(
    gateway: Running, item: WorkItem, kafka: KafkaSettings, topic_prefix: str
) -> None:
    url, keys = gateway.url, gateway.keys

    answer = post(url, "/v1/threshold-decisions", keys.police, decision(item))

    assert answer.status_code == 403, answer.text
    assert on_topic(kafka, topic_prefix, DECISIONS, ThresholdDecision) == []


def test_a_discussion_and_conference_after_the_decision_are_recorded_with_the_missing_flagged(
    gateway: Running, item: WorkItem, kafka: KafkaSettings, topic_prefix: str
) -> None:
    url, keys = gateway.url, gateway.keys
    too_soon = post(url, "/v1/strategy-discussions", keys.case_management, held(item, "dec-x1y2"))
    assert too_soon.status_code == 422, too_soon.text
    assert [p["field"] for p in too_soon.json()["errors"]] == ["decision_id"]

    first = decision(item)
    assert post(url, "/v1/threshold-decisions", keys.case_management, first).status_code == 202
    gateway.stored(first)
    discussion = held(item, first.event_id)

    answer = post(url, "/v1/strategy-discussions", keys.case_management, discussion)

    assert answer.status_code == 202, answer.text
    [(key, recorded)] = on_topic(kafka, topic_prefix, STRATEGY_DISCUSSIONS, StrategyDiscussion)
    assert key == item.child_key
    # Flagged: health did not attend (and the school, when the child has one).
    assert Agency.HEALTH in recorded.missing_agencies
    assert recorded.model_copy(update={"missing_agencies": []}) == discussion

    answer = post(url, "/v1/child-protection-conferences", keys.case_management, conference(item))

    assert answer.status_code == 202, answer.text
    assert on_topic(kafka, topic_prefix, CONFERENCES, ChildProtectionConference) == [
        (item.child_key, conference(item))
    ]


def test_a_conference_without_social_care_is_refused(
    gateway: Running, item: WorkItem, kafka: KafkaSettings, topic_prefix: str
) -> None:
    url, keys = gateway.url, gateway.keys
    unchaired = conference(item).model_copy(update={"attendees": [Agency.POLICE]})

    answer = post(url, "/v1/child-protection-conferences", keys.case_management, unchaired)

    assert answer.status_code == 422, answer.text
    assert [p["field"] for p in answer.json()["errors"]] == ["attendees"]
    assert on_topic(kafka, topic_prefix, CONFERENCES, ChildProtectionConference) == []
