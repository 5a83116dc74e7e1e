"""The topology: every topic the front door uses, with its key, value type, partitions and configs.

This is the one place topic names exist. Agents and connectors import the topic objects or specs
from here, never a string. Names carry ``FRONTDOOR_TOPIC_PREFIX`` so that tests and several
deployments can share one cluster.

Every value is Avro in the Confluent wire format (see :mod:`streams.platform.codec`); Faust sees raw
bytes so that a message that cannot be decoded reaches our code, and the dead-letter topic, instead
of being dropped inside Faust's deserialiser.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import faust

from schemas.models import (
    AcceptedEvent,
    ChildEvent,
    ConsentEvent,
    Contact,
    DeadLetter,
    DutyTeamAlert,
    Event,
    EventType,
    HistoryImport,
    ImportedHistory,
    InformationRequest,
    MashTask,
    PoliceNotification,
    Queue,
    WorkItem,
)
from streams.platform.app import app, worker_settings

# Safeguarding records are kept: histories are rebuilt from these logs, so nothing expires.
KEEP_FOREVER: Mapping[str, str] = MappingProxyType(
    {"cleanup.policy": "delete", "retention.ms": "-1", "retention.bytes": "-1"}
)


@dataclass(frozen=True)
class TopicSpec:
    """One topic of the topology."""

    name: str
    key: str
    value: type[Event]
    description: str
    partitions: int = worker_settings.default_partitions
    config: Mapping[str, str] = field(default_factory=lambda: KEEP_FOREVER)

    @property
    def full_name(self) -> str:
        return self.name_under(worker_settings.topic_prefix)

    def name_under(self, prefix: str) -> str:
        """The topic's name under another prefix (tests, a second deployment on one cluster)."""
        return f"{prefix}{self.name}"


TOPICS: list[TopicSpec] = []


def _declare(spec: TopicSpec) -> faust.TopicT:
    TOPICS.append(spec)
    return app.topic(
        spec.full_name,
        key_type=bytes,
        value_type=bytes,
        partitions=spec.partitions,
        replicas=worker_settings.replication_factor,
        config=dict(spec.config),
    )


contacts = _declare(
    TopicSpec(
        "intake.contacts",
        key="event_id",
        value=Contact,
        description="Contacts and referrals from partners (inbound).",
    )
)
police_notifications = _declare(
    TopicSpec(
        "intake.police-notifications",
        key="event_id",
        value=PoliceNotification,
        description="Police notifications, domestic abuse first (inbound).",
    )
)
consent_events = _declare(
    TopicSpec(
        "intake.consent-events",
        key="event_id",
        value=ConsentEvent,
        description="Consent sought, given, refused, withdrawn, overridden (inbound).",
    )
)
accepted_events = _declare(
    TopicSpec(
        "accepted-events",
        key="event_id",
        value=AcceptedEvent,
        description="Usable partner events with their data-quality problems attached.",
        # One partition: identification needs one index of every child (tens of events a
        # second at national peak; one worker identifies thousands a second).
        partitions=1,
    )
)
child_events = _declare(
    TopicSpec(
        "child-events",
        key="child_key",
        value=ChildEvent,
        description="One identified child of an accepted event; keyed so a child's history is "
        "on one partition.",
    )
)
information_requests = _declare(
    TopicSpec(
        "information-requests",
        key="about_event_id",
        value=InformationRequest,
        description="Requests to partners to correct or supply information.",
    )
)
dead_letters = _declare(
    TopicSpec(
        "dead-letters",
        key="source topic",
        value=DeadLetter,
        description="Unusable messages, whole, with source position, error code and reason.",
    )
)
mash_tasks = _declare(
    TopicSpec(
        "queue.mash-tasks",
        key="reference",
        value=MashTask,
        description="MASH tasks that are not a child's work item (dead-letter review).",
    )
)

history_imports = _declare(
    TopicSpec(
        "intake.history-imports",
        key="event_id",
        value=HistoryImport,
        description="Records of children's past from a case-management export (inbound).",
        partitions=1,  # read by identification, which keeps one index of every child
    )
)
child_history_imports = _declare(
    TopicSpec(
        "child-history-imports",
        key="child_key",
        value=ImportedHistory,
        description="Imported history records, identified; partitioned like child-events.",
    )
)
early_help_queue = _declare(
    TopicSpec(
        "queue.early-help",
        key="child_key",
        value=WorkItem,
        description="Work items for the Early Help Unit (levels 1-2, with consent).",
    )
)
mash_queue = _declare(
    TopicSpec(
        "queue.mash",
        key="child_key",
        value=WorkItem,
        description="Work items for the MASH (levels 3-4, urgent, consent conversations).",
    )
)
duty_team_queue = _declare(
    TopicSpec(
        "queue.duty-team",
        key="child_key",
        value=WorkItem,
        description="Work items for the out-of-hours Emergency Duty Team.",
    )
)
duty_team_alerts = _declare(
    TopicSpec(
        "alerts.duty-team",
        key="child_key",
        value=DutyTeamAlert,
        description="Alerts to the Emergency Duty Team: a child at immediate risk, now.",
    )
)

#: The work queue topic of each queue.
QUEUE_TOPICS: Mapping[Queue, faust.TopicT] = MappingProxyType(
    {
        Queue.EARLY_HELP: early_help_queue,
        Queue.MASH: mash_queue,
        Queue.DUTY_TEAM: duty_team_queue,
    }
)

#: The inbound topic of each partner event type.
INTAKE_TOPICS: Mapping[EventType, faust.TopicT] = MappingProxyType(
    {
        EventType.CONTACT: contacts,
        EventType.POLICE_NOTIFICATION: police_notifications,
        EventType.CONSENT_EVENT: consent_events,
    }
)


def spec_of(topic: faust.TopicT) -> TopicSpec:
    """The spec behind a declared topic object."""
    (name,) = topic.topics
    return next(spec for spec in TOPICS if spec.full_name == name)


# Tables: JSON documents (Faust's default serializer) keyed by string, changelogged, so rebuilt
# after a restart. A table has the partitions of the topic its agent reads, so each key lives
# with its events.
identity_index = app.Table(
    "identity-index",
    partitions=spec_of(accepted_events).partitions,
    help="Child identifiers to child keys, and what is known of each child "
    "(streams.decisions.identification).",
)
child_history = app.Table(
    "child-history",
    partitions=spec_of(child_events).partitions,
    help="Each child's history, keyed by child key (streams.decisions.history.ChildHistory).",
)
