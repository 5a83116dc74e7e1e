"""Every topic of the front door, declared once as plain data: name, key, value record, partitions.

The one place topic names exist. No Faust here, so the gateway, the command line, the partner
producer library and the tests read names from these specs without loading a stream processor;
:mod:`streams.platform.topology` builds the Faust topics and tables from the same list. Names
carry ``FRONTDOOR_TOPIC_PREFIX`` so that tests and several deployments can share one cluster.

Each spec names the attribute of its value that is the message key (``match.child_key`` keeps a
child's events on one partition), so :func:`destination` can say where any output goes and with
which key: an agent publishes an event, never a topic name.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from schemas.models import (
    AcceptedEvent,
    ActionDone,
    AgendaItem,
    AlertAcknowledgement,
    ChildEvent,
    ChildProtectionConference,
    ClockTick,
    ConsentEvent,
    Contact,
    DeadLetter,
    DeliveryStatus,
    DomesticAbuseAgenda,
    DutyTeamAlert,
    Event,
    EventType,
    HealthNotification,
    HistoryImportBatch,
    ImportedHistoryBatch,
    InformationRequest,
    MashTask,
    MeetingRecord,
    MeetingTick,
    Outcome,
    OutcomeNotification,
    PoliceNotification,
    Queue,
    SchoolNotification,
    StrategyDiscussion,
    ThresholdDecision,
    TimelinessAlert,
    WorkItem,
)
from streams.platform.settings import WorkerSettings, load


@functools.cache
def _deployment() -> WorkerSettings:
    # Read on first use, not at import: a bad setting then surfaces where the caller reports
    # errors (the command line prints one line with its code), and importing names is free.
    return load(WorkerSettings)


# Safeguarding records are kept: histories are rebuilt from these logs, so nothing expires.
KEEP_FOREVER: Mapping[str, str] = MappingProxyType(
    {"cleanup.policy": "delete", "retention.ms": "-1", "retention.bytes": "-1"}
)


@dataclass(frozen=True)
class TopicSpec:
    """One topic: its name without the deployment's prefix, key, value record and layout."""

    name: str
    #: The dotted attribute of the value whose text is the message key.
    key: str
    value: type[Event]
    description: str
    #: A partition count the topic needs whatever the deployment's default (None: the default).
    fixed_partitions: int | None = None
    config: Mapping[str, str] = field(default_factory=lambda: KEEP_FOREVER)

    @property
    def partitions(self) -> int:
        """The topic's partition count in this deployment."""
        return self.fixed_partitions or _deployment().default_partitions

    @property
    def full_name(self) -> str:
        """The topic's name in this deployment."""
        return self.name_under(_deployment().topic_prefix)

    def name_under(self, prefix: str) -> str:
        """The topic's name under another prefix (tests, a second deployment on one cluster)."""
        return f"{prefix}{self.name}"

    def key_of(self, event: Event) -> str:
        """The message key of ``event`` on this topic."""
        return str(operator.attrgetter(self.key)(event))


CONTACTS = TopicSpec(
    "intake.contacts",
    key="event_id",
    value=Contact,
    description="Contacts and referrals from partners (inbound).",
)
POLICE_NOTIFICATIONS = TopicSpec(
    "intake.police-notifications",
    key="event_id",
    value=PoliceNotification,
    description="Police notifications, domestic abuse first (inbound).",
)
CONSENT_EVENTS = TopicSpec(
    "intake.consent-events",
    key="event_id",
    value=ConsentEvent,
    description="Consent sought, given, refused, withdrawn, overridden (inbound).",
)
ACCEPTED_EVENTS = TopicSpec(
    "accepted-events",
    key="event_id",
    value=AcceptedEvent,
    description="Usable partner events with their data-quality problems attached.",
    # One partition: identification needs one index of every child (tens of events a
    # second at national peak; one worker identifies thousands a second).
    fixed_partitions=1,
)
CHILD_EVENTS = TopicSpec(
    "child-events",
    key="match.child_key",
    value=ChildEvent,
    description="One identified child of an accepted event; keyed so a child's history is "
    "on one partition.",
)
INFORMATION_REQUESTS = TopicSpec(
    "information-requests",
    key="about_event_id",
    value=InformationRequest,
    description="Requests to partners to correct or supply information.",
)
DEAD_LETTERS = TopicSpec(
    "dead-letters",
    key="source.topic",
    value=DeadLetter,
    description="Unusable messages, whole, with source position, error code and reason.",
)
MASH_TASKS = TopicSpec(
    "queue.mash-tasks",
    key="reference",
    value=MashTask,
    description="MASH tasks that are not a child's work item (dead-letter review).",
)
HISTORY_IMPORTS = TopicSpec(
    "intake.history-import-batches",
    key="event_id",
    value=HistoryImportBatch,
    description="Records of children's past from a case-management export, hundreds of rows a "
    "message (inbound).",
    fixed_partitions=1,  # read by identification, which keeps one index of every child
)
CHILD_HISTORY_IMPORTS = TopicSpec(
    "child-history-import-batches",
    key="first_child_key",
    value=ImportedHistoryBatch,
    description="Imported history records, identified, in batches whose children share a "
    "partition; partitioned like child-events.",
)
EARLY_HELP_QUEUE = TopicSpec(
    "queue.early-help",
    key="child_key",
    value=WorkItem,
    description="Work items for the Early Help Unit (levels 1-2, with consent).",
)
MASH_QUEUE = TopicSpec(
    "queue.mash",
    key="child_key",
    value=WorkItem,
    description="Work items for the MASH (levels 3-4, urgent, consent conversations).",
)
DUTY_TEAM_QUEUE = TopicSpec(
    "queue.duty-team",
    key="child_key",
    value=WorkItem,
    description="Work items for the out-of-hours Emergency Duty Team.",
)
DUTY_TEAM_ALERTS = TopicSpec(
    "alerts.duty-team",
    key="child_key",
    value=DutyTeamAlert,
    description="Alerts to the Emergency Duty Team: a child at immediate risk, now.",
)

OUTCOMES = TopicSpec(
    "outcomes",
    key="child_key",
    value=Outcome,
    description="The outcome of every child event routing decided: the work items, or why "
    "none was needed. The reconciliation reads it to prove nothing was left behind.",
)

DECISIONS = TopicSpec(
    "decisions",
    key="child_key",
    value=ThresholdDecision,
    description="Threshold decisions people record on work items, each with its rationale; "
    "keyed by child, so a child's decisions are read in the order they were made.",
)
STRATEGY_DISCUSSIONS = TopicSpec(
    "strategy-discussions",
    key="child_key",
    value=StrategyDiscussion,
    description="Strategy discussions convened, held or (a team manager's decision) not held.",
)
SCHOOL_NOTIFICATIONS = TopicSpec(
    "notifications.schools",
    key="child_key",
    value=SchoolNotification,
    description="Operation Encompass: to a school's safeguarding lead (or the education team), "
    "minimised, due before the next school day (outbound, for delivery).",
)
HEALTH_NOTIFICATIONS = TopicSpec(
    "notifications.health",
    key="child_key",
    value=HealthNotification,
    description="Domestic abuse involving a child: to health visiting (under five) or school "
    "nursing, minimised (outbound, for delivery).",
)
AGENDA_ITEMS = TopicSpec(
    "meetings.domestic-abuse.items",
    key="household_id",
    value=AgendaItem,
    description="Internal: each child of a domestic-abuse notification, for the daily meeting.",
    # One partition: one meeting, one agent and one table document for the whole authority.
    fixed_partitions=1,
)
MEETING_TICKS = TopicSpec(
    "meetings.domestic-abuse.ticks",
    key="event_id",
    value=MeetingTick,
    description="Internal: the meeting's timer, asking whether an agenda is due.",
    fixed_partitions=1,
    # A tick is worth nothing a day later: kept a week, not for ever.
    config=MappingProxyType({"cleanup.policy": "delete", "retention.ms": str(7 * 86_400_000)}),
)
AGENDAS = TopicSpec(
    "meetings.domestic-abuse.agendas",
    key="event_id",
    value=DomesticAbuseAgenda,
    description="The daily domestic-abuse meeting's agenda: one per working day (outbound).",
)
MEETING_RECORDS = TopicSpec(
    "meetings.domestic-abuse.records",
    key="child_key",
    value=MeetingRecord,
    description="What the daily meeting recorded for each child: the impact and the actions.",
)
ACTIONS_DONE = TopicSpec(
    "meetings.domestic-abuse.actions-done",
    key="child_key",
    value=ActionDone,
    description="Meeting actions recorded done (each stops the action's clock).",
)
CONFERENCES = TopicSpec(
    "conferences",
    key="child_key",
    value=ChildProtectionConference,
    description="Initial child protection conferences held after a section 47 enquiry.",
)
TIMELINESS_ALERTS = TopicSpec(
    "alerts.timeliness",
    key="child_key",
    value=TimelinessAlert,
    description="To the team managers: a decision, strategy discussion or conference overdue, "
    "and when it is cleared.",
)
OUTCOME_NOTIFICATIONS = TopicSpec(
    "notifications.outcomes",
    key="addressed_to_sender",
    value=OutcomeNotification,
    description="To referrers: what was decided about the child they told the front door about "
    "(minimised); delivered by the delivery service.",
)
ALERT_ACKNOWLEDGEMENTS = TopicSpec(
    "alerts.acknowledgements",
    key="child_key",
    value=AlertAcknowledgement,
    description="A member of the duty team has seen a duty-team alert (stops its escalation).",
)
DELIVERY_STATUSES = TopicSpec(
    "deliveries.status",
    key="message_id",
    value=DeliveryStatus,
    description="Each delivery attempt of an outbound message and what it came to (the "
    "chronology's 'school told at 07:42').",
)
CLOCK_TICKS = TopicSpec(
    "clocks.ticks",
    key="child_key",
    value=ClockTick,
    description="Internal: the clocks' timer asks the owner of a child's clocks to look at them.",
)


TOPICS: tuple[TopicSpec, ...] = (
    CONTACTS,
    POLICE_NOTIFICATIONS,
    CONSENT_EVENTS,
    ACCEPTED_EVENTS,
    CHILD_EVENTS,
    INFORMATION_REQUESTS,
    DEAD_LETTERS,
    MASH_TASKS,
    HISTORY_IMPORTS,
    CHILD_HISTORY_IMPORTS,
    EARLY_HELP_QUEUE,
    MASH_QUEUE,
    DUTY_TEAM_QUEUE,
    DUTY_TEAM_ALERTS,
    OUTCOMES,
    DECISIONS,
    STRATEGY_DISCUSSIONS,
    CONFERENCES,
    SCHOOL_NOTIFICATIONS,
    HEALTH_NOTIFICATIONS,
    AGENDA_ITEMS,
    MEETING_TICKS,
    AGENDAS,
    MEETING_RECORDS,
    ACTIONS_DONE,
    TIMELINESS_ALERTS,
    OUTCOME_NOTIFICATIONS,
    ALERT_ACKNOWLEDGEMENTS,
    DELIVERY_STATUSES,
    CLOCK_TICKS,
)

#: The work queue topic of each queue.
QUEUES: Mapping[Queue, TopicSpec] = MappingProxyType(
    {Queue.EARLY_HELP: EARLY_HELP_QUEUE, Queue.MASH: MASH_QUEUE, Queue.DUTY_TEAM: DUTY_TEAM_QUEUE}
)

#: What the timeliness clocks wait for, all keyed by child key. Duty-team items are not on a
#: working-day clock: they are due at once; their alerts have an acknowledgement clock instead.
CLOCK_SOURCES: tuple[TopicSpec, ...] = (
    MASH_QUEUE,
    EARLY_HELP_QUEUE,
    DECISIONS,
    STRATEGY_DISCUSSIONS,
    CONFERENCES,
    MEETING_RECORDS,
    ACTIONS_DONE,
    DUTY_TEAM_ALERTS,
    ALERT_ACKNOWLEDGEMENTS,
    CLOCK_TICKS,
)

#: What the daily domestic-abuse meeting's agent reads: one partition each, one table document.
MEETING_SOURCES: tuple[TopicSpec, ...] = (AGENDA_ITEMS, MEETING_TICKS)

#: The inbound topic of each partner event type.
INTAKE: Mapping[EventType, TopicSpec] = MappingProxyType(
    {
        EventType.CONTACT: CONTACTS,
        EventType.POLICE_NOTIFICATION: POLICE_NOTIFICATIONS,
        EventType.CONSENT_EVENT: CONSENT_EVENTS,
    }
)

# Records that travel on exactly one topic; a work item's topic depends on its queue.
_ONLY_TOPIC: Mapping[type[Event], TopicSpec] = MappingProxyType(
    {spec.value: spec for spec in TOPICS if spec.value is not WorkItem}
)


def destination(event: Event) -> TopicSpec:
    """The topic an output event is published to."""
    if isinstance(event, WorkItem):
        return QUEUES[event.queue]
    return _ONLY_TOPIC[type(event)]
