"""Routing stories, end to end on the real broker: from the intake topics to the queue topics.

Each story publishes what a partner would send and reads what a MASH worker, the Early Help Unit
or the duty team would receive. Times are London times; the default rules file applies.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TypeVar
from zoneinfo import ZoneInfo

import pytest

from connectors.generator import synthetic_nhs_number
from schemas.models import (
    AcceptedEvent,
    Child,
    ChildEvent,
    ChildMatch,
    ConcernCategory,
    ConsentPosition,
    Contact,
    DeadLetter,
    DutyTeamAlert,
    Event,
    HealthNotification,
    HistoryRecord,
    HistoryRecordType,
    ImportedHistory,
    ImportedHistoryBatch,
    IncidentNotification,
    InformationRequest,
    MashTask,
    MatchKind,
    NotificationChild,
    NotificationRecipient,
    Priority,
    Queue,
    RequestReason,
    SchoolNotification,
    ServiceRequested,
    WorkItem,
)
from schemas.wire import SENDER_HEADER
from streams.platform.app import codec
from streams.platform.publisher import Publisher
from streams.platform.reader import read_topic
from streams.platform.settings import KafkaSettings
from streams.platform.topics import (
    ACCEPTED_EVENTS,
    CHILD_EVENTS,
    CHILD_HISTORY_IMPORTS,
    CONSENT_EVENTS,
    CONTACTS,
    DEAD_LETTERS,
    DUTY_TEAM_ALERTS,
    HEALTH_NOTIFICATIONS,
    INFORMATION_REQUESTS,
    MASH_TASKS,
    POLICE_NOTIFICATIONS,
    QUEUES,
    SCHOOL_NOTIFICATIONS,
    TopicSpec,
)
from streams.platform.topology import partition_of
from tests.helpers import (
    consent_override,
    contact,
    frontdoor,
    police_notification,
    running_worker,
    wait_for_event,
    wait_for_matching,
    wait_for_messages,
)

pytestmark = pytest.mark.integration

LONDON = ZoneInfo("Europe/London")
Found = TypeVar("Found", WorkItem, DutyTeamAlert, InformationRequest)
_rng = random.Random()


def london(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=LONDON)


def a_child(**changes: object) -> Child:
    fields: dict[str, object] = {
        "given_name": "Amelia",
        "family_name": f"Synthetic{uuid.uuid4().hex[:6]}",
        "date_of_birth": date(2016, 3, 14),
        "nhs_number": synthetic_nhs_number(_rng),
        "school_urn": "990001",
    }
    fields.update(changes)
    return Child.model_validate(fields)


class FrontDoor:
    """The pipeline under test, seen from the partners' and the teams' side."""

    def __init__(self, kafka: KafkaSettings, namespace: str, publisher: Publisher) -> None:
        self.kafka = kafka
        self.namespace = namespace
        self.publisher = publisher

    def topic(self, topic: TopicSpec) -> str:
        return topic.name_under(self.namespace)

    def send(self, topic: TopicSpec, event: Event, sender: str) -> None:
        self.publisher.publish(self.topic(topic), event, headers={SENDER_HEADER: sender})

    def work_items(self, queue: Queue, event_id: str, count: int = 1) -> list[WorkItem]:
        return self._wait(self.topic(QUEUES[queue]), WorkItem, event_id, count)

    def all_work_items(self, queue: Queue, event_id: str) -> list[WorkItem]:
        messages = read_topic(self.kafka, self.topic(QUEUES[queue]), idle_seconds=0.5)
        items = [codec.decode(m.value, WorkItem) for m in messages]
        return [item for item in items if item.source_event_id == event_id]

    def alerts(self, event_id: str) -> list[DutyTeamAlert]:
        return self._wait(self.topic(DUTY_TEAM_ALERTS), DutyTeamAlert, event_id, 1)

    def information_requests(self, event_id: str) -> list[InformationRequest]:
        found = self._wait(self.topic(INFORMATION_REQUESTS), InformationRequest, event_id, 1)
        return [r for r in found if r.reason is RequestReason.MISSING_INFORMATION]

    def _wait(self, topic: str, model: type[Found], event_id: str, count: int) -> list[Found]:
        for _ in range(120):
            messages = read_topic(self.kafka, topic, idle_seconds=0.3)
            found = [
                event
                for event in (codec.decode(m.value, model) for m in messages)
                if _about(event) == event_id
            ]
            if len(found) >= count:
                return found
        raise AssertionError(f"no {model.__name__} about {event_id} on {topic}")


def _about(event: object) -> str:
    for attribute in ("source_event_id", "about_event_id", "event_id"):
        value = getattr(event, attribute, None)
        if isinstance(value, str):
            return value
    return ""


@pytest.fixture(scope="module")
def namespace() -> str:
    return f"test-routing-{uuid.uuid4().hex[:8]}."


@pytest.fixture(scope="module")
def front_door(
    kafka: KafkaSettings, namespace: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[FrontDoor]:
    with (
        running_worker(kafka, namespace, tmp_path_factory.mktemp("routing")),
        Publisher(kafka, codec) as publisher,
    ):
        yield FrontDoor(kafka, namespace, publisher)


def early_help_contact(**changes: object) -> Contact:
    """Level 2 under the default rules: an emotional-wellbeing worry, early help asked for."""
    fields: dict[str, object] = {
        "children": [a_child()],
        "concern_categories": [ConcernCategory.MENTAL_HEALTH],
        "service_requested": ServiceRequested.EARLY_HELP,
        "consent": ConsentPosition.GIVEN,
        "received_at": london(2026, 12, 1, 10),  # a Tuesday
    }
    fields.update(changes)
    return contact(**fields)


def test_a_level_2_contact_with_consent_goes_to_early_help_due_the_next_working_day(
    front_door: FrontDoor,
) -> None:
    sent = early_help_contact()
    front_door.send(CONTACTS, sent, "school.990001")

    (item,) = front_door.work_items(Queue.EARLY_HELP, sent.event_id)

    assert item.level == 2
    assert item.decision_due_at == london(2026, 12, 2, 10)
    assert item.rationale
    assert all(entry.level in (1, 2, None) for entry in item.rationale)


def test_the_same_contact_without_consent_goes_to_the_mash_saying_consent_is_why(
    front_door: FrontDoor,
) -> None:
    sent = early_help_contact(consent=ConsentPosition.REFUSED)
    front_door.send(CONTACTS, sent, "school.990001")

    (item,) = front_door.work_items(Queue.MASH, sent.event_id)

    consent_entries = [entry for entry in item.rationale if entry.rule == "router.consent-needed"]
    assert consent_entries
    assert "refused" in consent_entries[0].evidence


def test_immediate_risk_on_a_saturday_night_alerts_the_duty_team_and_the_mash_clock_waits(
    front_door: FrontDoor,
) -> None:
    sent = contact(
        children=[a_child(date_of_birth=None)],  # missing information never delays an urgent child
        immediate_risk=True,
        concern_categories=[ConcernCategory.PHYSICAL_ABUSE],
        received_at=london(2026, 12, 5, 22),  # Saturday 22:00
    )
    front_door.send(CONTACTS, sent, "public.web-form")

    (alert,) = front_door.alerts(sent.event_id)
    (request,) = front_door.information_requests(sent.event_id)
    assert [item.field for item in request.items] == ["children.0.date_of_birth"]
    (duty_item,) = front_door.work_items(Queue.DUTY_TEAM, sent.event_id)
    (mash_item,) = front_door.work_items(Queue.MASH, sent.event_id)

    assert alert.priority is Priority.RED
    assert duty_item.out_of_hours
    assert duty_item.decision_due_at == sent.received_at
    # The one-working-day clock starts at Monday's opening: due Tuesday at the same time.
    assert mash_item.decision_due_at == london(2026, 12, 8, 8, 30)
    assert any(entry.rule == "router.out-of-hours" for entry in mash_item.rationale)
    assert [item.field for item in mash_item.missing_information] == ["children.0.date_of_birth"]


def test_two_children_without_dates_of_birth_give_one_request_to_the_police_naming_both(
    front_door: FrontDoor,
) -> None:
    base = police_notification()
    children = [
        child.model_copy(update={"date_of_birth": None, "nhs_number": None})
        for child in base.children
    ]
    sent = base.model_copy(update={"children": children})
    front_door.send(POLICE_NOTIFICATIONS, sent, "police.synthetic")

    (request,) = front_door.information_requests(sent.event_id)

    assert request.addressed_to_sender == "police.synthetic"
    assert request.addressed_to_agency.value == "police"
    dob_fields = [item.field for item in request.items if "date_of_birth" in item.field]
    assert dob_fields == ["children.0.date_of_birth", "children.1.date_of_birth"]


def test_a_third_domestic_abuse_incident_in_12_months_raises_the_priority_and_says_why(
    front_door: FrontDoor,
) -> None:
    child = NotificationChild.model_validate(
        a_child().model_dump() | {"present": True, "spoken_to": True}
    )
    first_day = london(2026, 3, 2, 11)
    items = []
    for incident in range(3):
        sent = police_notification(
            children=[child], received_at=first_day + timedelta(days=60 * incident)
        )
        front_door.send(POLICE_NOTIFICATIONS, sent, "police.synthetic")
        (item,) = front_door.work_items(Queue.MASH, sent.event_id)
        items.append(item)

    first, second, third = items
    assert len({item.child_key for item in items}) == 1
    assert third.history.domestic_abuse_incidents_12m == 2
    order = [Priority.GREEN, Priority.AMBER, Priority.RED]
    assert order.index(third.priority) > order.index(second.priority)
    raised = [entry for entry in third.rationale if entry.rule == "router.priority-raised"]
    assert raised
    assert "repeat" in raised[0].evidence
    assert not any(entry.rule == "router.priority-raised" for entry in first.rationale)


def test_a_contact_on_christmas_eve_afternoon_is_due_after_christmas_and_boxing_day(
    front_door: FrontDoor,
) -> None:
    sent = early_help_contact(received_at=london(2026, 12, 24, 16))  # Thursday 16:00
    front_door.send(CONTACTS, sent, "school.990001")

    (item,) = front_door.work_items(Queue.EARLY_HELP, sent.event_id)

    assert item.decision_due_at == london(2026, 12, 29, 16)  # Tuesday: 28th is Boxing Day's


def test_the_same_event_published_twice_yields_one_work_item(
    front_door: FrontDoor, kafka: KafkaSettings
) -> None:
    child = a_child()
    sent = early_help_contact(children=[child])
    front_door.send(CONTACTS, sent, "school.990001")
    front_door.work_items(Queue.EARLY_HELP, sent.event_id)

    front_door.send(CONTACTS, sent, "school.990001")
    accepted_topic = front_door.topic(ACCEPTED_EVENTS)
    twice = [
        m
        for m in wait_for_messages(kafka, accepted_topic, 2)
        if codec.decode(m.value, AcceptedEvent).event_id == sent.event_id
    ]
    for _ in range(60):
        if len(twice) >= 2:
            break
        twice = [
            m
            for m in read_topic(kafka, accepted_topic, idle_seconds=0.3)
            if codec.decode(m.value, AcceptedEvent).event_id == sent.event_id
        ]
    assert len(twice) == 2
    # A later event about the same child is routed after the duplicate (same partitions, in order).
    marker = early_help_contact(children=[child], received_at=london(2026, 12, 1, 11))
    front_door.send(CONTACTS, marker, "school.990001")
    front_door.work_items(Queue.EARLY_HELP, marker.event_id)

    assert len(front_door.all_work_items(Queue.EARLY_HELP, sent.event_id)) == 1


def test_an_event_no_rule_foresaw_goes_to_a_person_and_the_children_behind_it_are_routed(
    front_door: FrontDoor, kafka: KafkaSettings
) -> None:
    child = a_child()
    # Received on the last day the contracts allow: its decision would fall due in a year no
    # record can carry, so routing cannot build its work item.
    unforeseen = police_notification(
        children=[child.model_dump()],
        received_at=datetime(2998, 12, 31, tzinfo=UTC),
        occurred_at=datetime(2998, 12, 30, tzinfo=UTC),
    )
    front_door.send(POLICE_NOTIFICATIONS, unforeseen, "police.synth")
    behind = early_help_contact(children=[child], received_at=london(2026, 12, 1, 11))
    front_door.send(CONTACTS, behind, "school.990001")

    letter = wait_for_event(
        kafka,
        front_door.topic(DEAD_LETTERS),
        DeadLetter,
        lambda d: (
            d.source.topic == front_door.topic(CHILD_EVENTS)
            and d.error_code == "FD-PROCESSING-FAILED"
            and codec.decode(d.original_value, ChildEvent).accepted.event_id == unforeseen.event_id
        ),
    )
    task = wait_for_event(
        kafka, front_door.topic(MASH_TASKS), MashTask, lambda t: t.reference == letter.event_id
    )
    assert "handle the child by hand" in task.title
    assert letter.error_field == "decision_due_at"
    # The child's next event was not held behind the one that failed.
    (item,) = front_door.work_items(Queue.EARLY_HELP, behind.event_id)
    assert item.child_key == codec.decode(letter.original_value, ChildEvent).match.child_key


def test_two_partners_who_chose_the_same_event_id_both_have_their_child_seen(
    front_door: FrontDoor,
) -> None:
    event_id = f"NP-{uuid.uuid4().hex[:10]}"
    from_school = early_help_contact(event_id=event_id, children=[a_child()])
    from_gp = early_help_contact(
        event_id=event_id, children=[a_child(given_name="Zara")], immediate_risk=True
    )
    front_door.send(CONTACTS, from_school, "school.990001")
    front_door.send(CONTACTS, from_gp, "gp.synth")

    (school_item,) = front_door.work_items(Queue.EARLY_HELP, event_id)
    (gp_item,) = front_door.work_items(Queue.MASH, event_id)

    assert (school_item.sender, gp_item.sender) == ("school.990001", "gp.synth")
    assert school_item.child_key != gp_item.child_key
    assert gp_item.priority is Priority.RED


def test_a_sender_reusing_its_event_id_for_another_child_is_caught_and_a_person_told(
    front_door: FrontDoor, kafka: KafkaSettings
) -> None:
    first = early_help_contact(children=[a_child()])
    reused = early_help_contact(event_id=first.event_id, children=[a_child(given_name="Zara")])
    front_door.send(CONTACTS, first, "school.990001")
    front_door.work_items(Queue.EARLY_HELP, first.event_id)
    front_door.send(CONTACTS, reused, "school.990001")

    letter = wait_for_event(
        kafka,
        front_door.topic(DEAD_LETTERS),
        DeadLetter,
        lambda d: d.error_code == "FD-EVENT-ID-REUSED" and d.original_event_id == first.event_id,
    )
    task = wait_for_event(
        kafka, front_door.topic(MASH_TASKS), MashTask, lambda t: t.reference == letter.event_id
    )
    assert letter.sender == "school.990001"
    assert task.title.startswith("school.990001 reused an event id")
    assert len(front_door.all_work_items(Queue.EARLY_HELP, first.event_id)) == 1


def test_history_imported_on_day_one_counts_towards_the_first_live_notification(
    front_door: FrontDoor, tmp_path: Path
) -> None:
    # Six children in one published batch: identification splits it by the partition each
    # child's history lives in, and each child's next notification must find its own records.
    children = [a_child() for _ in range(6)]
    export = tmp_path / "export.csv"
    export.write_text(
        "source_record_id,record_type,started_on,nhs_number\n"
        + "".join(
            f"{uuid.uuid4().hex},domestic_abuse_incident,{started},{child.nhs_number}\n"
            for started in ("2026-09-01", "2026-10-01")
            for child in children
        )
    )
    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": front_door.kafka.bootstrap_servers,
        "FRONTDOOR_TOPIC_PREFIX": front_door.namespace,
        "FRONTDOOR_APP_ID": "worker",  # the import waits for this worker's reads
    }
    result = subprocess.run(
        [sys.executable, "-m", "connectors.cli", "history-import", str(export)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "12 record(s) imported, 0 row(s) rejected" in result.stdout

    for child in children:
        present = NotificationChild.model_validate(child.model_dump() | {"present": True})
        # Retried notifications share one time: the history counts only earlier events, so a
        # retry never counts the notification before it.
        for attempt in range(40):
            sent = police_notification(children=[present], received_at=london(2026, 11, 2, 11))
            front_door.send(POLICE_NOTIFICATIONS, sent, "police.synthetic")
            (item,) = front_door.work_items(Queue.MASH, sent.event_id)
            if item.history.domestic_abuse_incidents_12m == 2 or attempt == 39:
                break
            time.sleep(0.5)  # the import is still on its way through identification

        assert item.history.domestic_abuse_incidents_12m == 2
        assert any(entry.rule == "router.priority-raised" for entry in item.rationale)


def test_an_imported_batch_holding_a_child_of_another_partition_goes_to_a_person(
    front_door: FrontDoor,
) -> None:
    # Identification never writes one; if a batch did, its history would be written where no
    # routing ever reads it: the whole batch is refused instead, for a person.
    keys: dict[int, str] = {}
    while len(keys) < 2:
        key = f"child-{uuid.uuid4()}"
        keys.setdefault(partition_of(key, CHILD_HISTORY_IMPORTS.partitions), key)
    batch = ImportedHistoryBatch(
        event_id=f"ihb-{uuid.uuid4()}",
        records=[
            ImportedHistory(
                event_id=f"hist-{uuid.uuid4()}",
                match=ChildMatch(child_key=key, kind=MatchKind.NEW, score=0.0, reason="new"),
                record=HistoryRecord(
                    record_type=HistoryRecordType.CONTACT, started_on=date(2026, 1, 5)
                ),
                imported_at=datetime.now(UTC),
            )
            for key in keys.values()
        ],
    )
    front_door.send(CHILD_HISTORY_IMPORTS, batch, "history-import")

    letter = wait_for_event(
        front_door.kafka,
        front_door.topic(DEAD_LETTERS),
        DeadLetter,
        lambda d: d.original_event_id == batch.event_id,
    )
    assert letter.error_code == "FD-PROCESSING-FAILED"
    assert letter.source.topic == front_door.topic(CHILD_HISTORY_IMPORTS)


def test_a_queue_can_be_tailed_readably_without_personal_details_unless_asked(
    front_door: FrontDoor,
) -> None:
    child = a_child(given_name="Wilhelmina")
    sent = early_help_contact(children=[child])
    front_door.send(CONTACTS, sent, "school.990001")
    (item,) = front_door.work_items(Queue.EARLY_HELP, sent.event_id)
    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": front_door.kafka.bootstrap_servers,
        "FRONTDOOR_TOPIC_PREFIX": front_door.namespace,
    }

    def tail(*extra: str) -> str:
        result = subprocess.run(
            [sys.executable, "-m", "connectors.cli", "tail", "early_help", *extra],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        return result.stdout

    plain, detailed = tail(), tail("--details")

    assert item.event_id in plain
    assert "GREEN" in plain
    assert "due Wed 02 Dec 10:00" in plain
    assert "early-help-requested" in plain
    assert "Wilhelmina" not in plain
    assert child.family_name is not None
    assert "Wilhelmina" in detailed


def test_a_team_managers_consent_override_is_a_disclosure_on_the_childs_chronology(
    front_door: FrontDoor,
) -> None:
    child = a_child()
    sent = early_help_contact(children=[child], consent=ConsentPosition.REFUSED)
    front_door.send(CONTACTS, sent, "school.990001")
    (item,) = front_door.work_items(Queue.MASH, sent.event_id)
    override = consent_override(
        contact_event_id=sent.event_id, children=[child], received_at=london(2026, 12, 1, 12)
    )

    # As the staff application records it: through intake, like a partner's consent event.
    front_door.send(CONSENT_EVENTS, override, "la.staff-app")

    wait_for_event(
        front_door.kafka,
        front_door.topic(CHILD_EVENTS),
        ChildEvent,
        lambda event: (
            event.accepted.event_id == override.event_id and event.match.child_key == item.child_key
        ),
    )
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": front_door.kafka.bootstrap_servers,
        "FRONTDOOR_TOPIC_PREFIX": front_door.namespace,
    }
    told = frontdoor("chronology", item.child_key, "--details", env=env).stdout
    [step] = [line for line in told.splitlines() if "consent overridden" in line]
    assert override.event_id in step
    assert "disclosure without consent: lawful basis safeguarding" in step
    assert f"    rationale: {override.rationale}" in told.splitlines()
    assert "    shared with: police, health" in told.splitlines()


def notified_child(age_on_friday: date, **changes: object) -> NotificationChild:
    fields: dict[str, object] = {
        "given_name": "Amelia",
        "family_name": f"Synthetic{uuid.uuid4().hex[:6]}",
        "date_of_birth": age_on_friday,
        "nhs_number": synthetic_nhs_number(_rng),
        "present": True,
        "present_location": "kitchen",
        "spoken_to": True,
    }
    fields.update(changes)
    return NotificationChild.model_validate(fields)


def test_a_friday_night_domestic_abuse_incident_tells_two_schools_before_monday_and_health(
    front_door: FrontDoor,
) -> None:
    friday = london(2026, 12, 4, 23, 10)
    sent = police_notification(
        received_at=friday,
        occurred_at=friday,
        children=[
            notified_child(date(2019, 3, 10), school_urn="990001"),  # 7, primary school
            notified_child(date(2023, 5, 1)),  # 3, no setting
            notified_child(date(2010, 6, 1), school_urn="990021"),  # 16, sixth-form college
        ],
    )

    front_door.send(POLICE_NOTIFICATIONS, sent, "police.synth")

    def about(notice: IncidentNotification) -> bool:
        return notice.about_event_id == sent.event_id

    schools = wait_for_matching(
        front_door.kafka, front_door.topic(SCHOOL_NOTIFICATIONS), SchoolNotification, about, 2
    )
    health = wait_for_matching(
        front_door.kafka, front_door.topic(HEALTH_NOTIFICATIONS), HealthNotification, about
    )
    assert sorted(n.school_urn or "" for n in schools) == ["990001", "990021"]
    assert {n.due_by for n in schools} == {london(2026, 12, 7, 8, 30)}
    assert [n.recipient for n in health] == [NotificationRecipient.HEALTH_VISITING]


def test_a_pupil_of_a_school_the_directory_does_not_know_becomes_a_mash_task_not_a_notice(
    front_door: FrontDoor,
) -> None:
    sent = police_notification(
        received_at=london(2026, 12, 1, 10),
        children=[notified_child(date(2019, 3, 10), school_urn="990999")],
    )

    front_door.send(POLICE_NOTIFICATIONS, sent, "police.synth")

    (item,) = front_door.work_items(Queue.MASH, sent.event_id)
    task = wait_for_event(
        front_door.kafka,
        front_door.topic(MASH_TASKS),
        MashTask,
        lambda task: task.reference == item.event_id,
    )
    assert task.error_code == "school_unknown"
    notices = read_topic(front_door.kafka, front_door.topic(SCHOOL_NOTIFICATIONS), idle_seconds=1)
    assert sent.event_id not in {
        codec.decode(m.value, SchoolNotification).about_event_id for m in notices
    }
