"""The topology: every topic the front door uses, with its key, value type, partitions and configs.

This is the one place topic names exist. Agents and connectors import the topic objects or specs
from here, never a string. Names carry ``FRONTDOOR_TOPIC_PREFIX`` so that tests and several
deployments can share one cluster.

Every value is Avro in the Confluent wire format (see :mod:`streams.codec`); Faust sees raw bytes so
that a message that cannot be decoded reaches our code, and the dead-letter topic, instead of being
dropped inside Faust's deserialiser.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import faust

from schemas.models import (
    AcceptedEvent,
    ConsentEvent,
    Contact,
    DeadLetter,
    Event,
    EventType,
    InformationRequest,
    MashTask,
    PoliceNotification,
)
from streams.app import app, worker_settings

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
