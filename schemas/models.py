"""The event models: the single source of truth for every contract the front door publishes.

Each top-level record has ``AVRO_NAME`` (its Avro full name). The Avro schemas under
``schemas/avro/`` are generated from these classes (``frontdoor schemas export``) and a test fails
when the two drift. Rules that make a message *unusable* (no event id or time, no child at all, a
decision without its reason) live here as validation; data-quality problems in usable messages are
not validation errors: see :mod:`schemas.quality`.

Evolution rule: a released record only gains fields that have defaults, so every new version can
read what the old one wrote (BACKWARD compatibility, checked by tests).
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from schemas.types import (
    AwareDatetime,
    Code,
    EventId,
    Long,
    LongText,
    Name,
    Reasons,
    Reference,
    ShortText,
)

NAMESPACE = "uk.frontdoor.events"


class Record(BaseModel):
    """Base of every contract model: immutable, closed to unknown fields."""

    model_config = ConfigDict(frozen=True, extra="forbid", use_enum_values=False)


class Event(Record):
    """A top-level event: it has an Avro name and an id that consumers deduplicate on."""

    AVRO_NAME: ClassVar[str]

    event_id: EventId = Field(description="Globally unique id; consumers deduplicate on it.")


# ---------------------------------------------------------------------------------------------
# Closed enumerations. Symbols are lower_snake_case and are never removed once released.


class Agency(StrEnum):
    POLICE = "police"
    HEALTH = "health"
    EDUCATION = "education"
    LOCAL_AUTHORITY = "local_authority"
    PROBATION = "probation"
    HOUSING = "housing"
    VOLUNTARY_SECTOR = "voluntary_sector"
    PUBLIC = "public"
    ANONYMOUS = "anonymous"


class ConcernCategory(StrEnum):
    PHYSICAL_ABUSE = "physical_abuse"
    SEXUAL_ABUSE = "sexual_abuse"
    EMOTIONAL_ABUSE = "emotional_abuse"
    NEGLECT = "neglect"
    DOMESTIC_ABUSE = "domestic_abuse"
    EXPLOITATION = "exploitation"
    MENTAL_HEALTH = "mental_health"
    SUBSTANCE_MISUSE = "substance_misuse"
    MISSING = "missing"
    ONLINE_SAFETY = "online_safety"
    OTHER = "other"


class ServiceRequested(StrEnum):
    ADVICE = "advice"
    EARLY_HELP = "early_help"
    CHILD_IN_NEED_ASSESSMENT = "child_in_need_assessment"
    CHILD_PROTECTION = "child_protection"
    NOT_SPECIFIED = "not_specified"


class ConsentPosition(StrEnum):
    GIVEN = "given"
    REFUSED = "refused"
    NOT_SOUGHT = "not_sought"


class AdultRole(StrEnum):
    MOTHER = "mother"
    FATHER = "father"
    STEP_PARENT = "step_parent"
    PARENT_PARTNER = "parent_partner"
    CARER = "carer"
    RELATIVE = "relative"
    SIBLING_ADULT = "sibling_adult"
    OTHER = "other"
    UNKNOWN = "unknown"


class IncidentType(StrEnum):
    DOMESTIC_ABUSE = "domestic_abuse"
    MISSING_CHILD = "missing_child"
    CHILD_NEGLECT = "child_neglect"
    CHILD_EXPLOITATION = "child_exploitation"
    SEXUAL_OFFENCE = "sexual_offence"
    OTHER_CHILD_CONCERN = "other_child_concern"


class DashRiskLevel(StrEnum):
    STANDARD = "standard"
    MEDIUM = "medium"
    HIGH = "high"


class ConsentAction(StrEnum):
    SOUGHT = "sought"
    GIVEN = "given"
    REFUSED = "refused"
    WITHDRAWN = "withdrawn"
    OVERRIDDEN = "overridden"


class DeciderRole(StrEnum):
    PARENT = "parent"
    CARER = "carer"
    YOUNG_PERSON = "young_person"
    SOCIAL_WORKER = "social_worker"
    TEAM_MANAGER = "team_manager"
    PRACTITIONER = "practitioner"


class LawfulBasis(StrEnum):
    """Lawful bases for sharing without consent (UK GDPR Art. 6/9, DPA 2018)."""

    PUBLIC_TASK = "public_task"  # UK GDPR 6(1)(e)
    LEGAL_OBLIGATION = "legal_obligation"  # UK GDPR 6(1)(c)
    VITAL_INTERESTS = "vital_interests"  # UK GDPR 6(1)(d)
    SAFEGUARDING_OF_CHILDREN = "safeguarding_of_children"  # DPA 2018 Sch. 1 para 18 / Sch. 8 para 4


class EventType(StrEnum):
    CONTACT = "contact"
    POLICE_NOTIFICATION = "police_notification"
    CONSENT_EVENT = "consent_event"


class RequestReason(StrEnum):
    DATA_QUALITY = "data_quality"
    MISSING_INFORMATION = "missing_information"


class TaskKind(StrEnum):
    DEAD_LETTER_REVIEW = "dead_letter_review"
    #: An accepted event with no outcome past its bound (``frontdoor reconcile``).
    OVERDUE_EVENT = "overdue_event"
    #: A domestic-abuse notification that could not go to a child's school (unknown or closed
    #: school, no safeguarding-lead contact) or needs a person to decide who is told.
    NOTIFICATION_BLOCKED = "notification_blocked"
    #: A message the delivery service could not deliver within its retry limit: a person tells
    #: the recipient another way.
    DELIVERY_FAILED = "delivery_failed"


class OutcomeKind(StrEnum):
    #: Work items were published; ``Outcome.work_item_ids`` names them.
    ROUTED = "routed"
    #: Nothing for a person to do, for the stated reason (a consent event, recorded).
    NO_ACTION = "no_action"


class Queue(StrEnum):
    EARLY_HELP = "early_help"
    MASH = "mash"
    DUTY_TEAM = "duty_team"


class Priority(StrEnum):
    RED = "red"
    AMBER = "amber"
    GREEN = "green"


class MatchKind(StrEnum):
    CONFIRMED = "confirmed"
    POSSIBLE = "possible"
    NEW = "new"


class HistoryRecordType(StrEnum):
    """Kinds of record a case-management export carries into a child's history."""

    CONTACT = "contact"
    REFERRAL = "referral"
    DOMESTIC_ABUSE_INCIDENT = "domestic_abuse_incident"
    CHILD_IN_NEED_PLAN = "child_in_need_plan"
    CHILD_PROTECTION_PLAN = "child_protection_plan"
    LOOKED_AFTER = "looked_after"
    EARLY_HELP = "early_help"
    STRATEGY_DISCUSSION = "strategy_discussion"


class OpenPlan(StrEnum):
    CHILD_IN_NEED = "child_in_need"
    CHILD_PROTECTION = "child_protection"
    LOOKED_AFTER = "looked_after"
    EARLY_HELP = "early_help"


class NextStep(StrEnum):
    """What a threshold decision says happens next for the child."""

    NO_FURTHER_ACTION = "no_further_action"
    ADVICE_AND_SIGNPOSTING = "advice_and_signposting"
    EARLY_HELP = "early_help"
    CHILD_IN_NEED_ASSESSMENT = "child_in_need_assessment"
    #: A strategy discussion, which may start a section 47 enquiry.
    STRATEGY_DISCUSSION = "strategy_discussion"


class StaffRole(StrEnum):
    """The role a member of the local authority's staff acts in."""

    MASH_WORKER = "mash_worker"
    TEAM_MANAGER = "team_manager"
    EARLY_HELP_WORKER = "early_help_worker"
    DUTY_TEAM = "duty_team"
    #: A leader who reads the queues and their figures, and changes nothing.
    LEADER = "leader"


class ConsentStatus(StrEnum):
    """The family's consent as a threshold decision records it (early help needs it)."""

    GIVEN = "given"
    NOT_SOUGHT = "not_sought"


# ---------------------------------------------------------------------------------------------
# Shared parts.


class Address(Record):
    line1: ShortText | None = None
    line2: ShortText | None = None
    town: ShortText | None = None
    postcode: ShortText | None = None


class Child(Record):
    """One child as a partner knows them. Every identifier is optional: a thin record is asked
    about (information request), never rejected."""

    given_name: Name | None = None
    family_name: Name | None = None
    other_names: list[Name] = Field(default_factory=list, max_length=10)
    date_of_birth: date | None = None
    expected_date_of_delivery: date | None = Field(
        default=None, description="For an unborn child, instead of a date of birth."
    )
    nhs_number: Reference | None = None
    unique_pupil_number: Reference | None = None
    partner_reference: Reference | None = Field(
        default=None, description="The sending partner's own id for this child."
    )
    address: Address | None = None
    school_urn: Reference | None = Field(default=None, description="School or setting URN (GIAS).")
    school_name: ShortText | None = None


class Adult(Record):
    given_name: Name | None = None
    family_name: Name | None = None
    role: AdultRole = AdultRole.UNKNOWN
    date_of_birth: date | None = None
    address: Address | None = None


class Referrer(Record):
    name: Name | None = None
    role: ShortText | None = None
    organisation: ShortText | None = None
    agency: Agency
    phone: ShortText | None = None
    email: ShortText | None = None


class DataQualityIssue(Record):
    """A problem in one field of a usable event. The field is not used for matching."""

    field: Code = Field(description="Dotted path, e.g. children.1.nhs_number")
    code: Code = Field(description="Stable code, e.g. DQ-NHS-CHECK-DIGIT")
    message: ShortText


class SourcePosition(Record):
    topic: Code
    partition: Long
    offset: Long


# ---------------------------------------------------------------------------------------------
# Partner events (inbound).


class Contact(Event):
    """A contact or referral about one or more children, from any partner or the public."""

    AVRO_NAME: ClassVar[str] = f"{NAMESPACE}.Contact"

    received_at: AwareDatetime
    partner_reference: Reference | None = None
    referrer: Referrer
    children: list[Child] = Field(min_length=1, max_length=20)
    adults: list[Adult] = Field(default_factory=list, max_length=20)
    concern_categories: list[ConcernCategory] = Field(default_factory=list, max_length=11)
    description: LongText | None = None
    immediate_risk: bool = False
    child_voice: LongText | None = Field(
        default=None, description="What the child said, if recorded."
    )
    service_requested: ServiceRequested = ServiceRequested.NOT_SPECIFIED
    consent: ConsentPosition
    consent_not_sought_reason: ShortText | None = None


class NotificationChild(Child):
    """A child in a police notification: identity plus what happened to them."""

    present: bool | None = Field(default=None, description="Present at the incident.")
    present_location: ShortText | None = Field(default=None, description="Where, if present.")
    spoken_to: bool | None = None
    child_voice: LongText | None = Field(default=None, description="What the child said.")
    injuries: ShortText | None = None
    relationship_to_perpetrator: AdultRole | None = None
    educated_at_home: bool | None = Field(
        default=None,
        description="The child is educated at home or attends no school: the local authority's "
        "education team is told instead of a school.",
    )


class PoliceNotification(Event):
    """A police notification about children: domestic abuse first, other child concerns too."""

    AVRO_NAME: ClassVar[str] = f"{NAMESPACE}.PoliceNotification"

    received_at: AwareDatetime
    police_reference: Reference | None = None
    force: ShortText | None = None
    occurred_at: AwareDatetime | None = None
    reported_at: AwareDatetime | None = None
    location: Address | None = None
    incident_type: IncidentType
    dash_risk_level: DashRiskLevel | None = None
    dash_score: Long | None = Field(default=None, description="Yes answers of 24 on the DASH form.")
    victim_role: AdultRole | None = None
    perpetrator_role: AdultRole | None = None
    children: list[NotificationChild] = Field(min_length=1, max_length=20)
    circumstances: LongText | None = None
    marac_referral_made: bool | None = None
    brief_circumstances: ShortText | None = Field(
        default=None,
        description="A short account police write to be shared with the children's schools and "
        "health (Operation Encompass): no adult's name, no narrative. Never taken from "
        "circumstances.",
    )


class ConsentEvent(Event):
    """Consent sought, given, refused, withdrawn or overridden for a contact's children."""

    AVRO_NAME: ClassVar[str] = f"{NAMESPACE}.ConsentEvent"

    received_at: AwareDatetime
    action: ConsentAction
    decided_at: AwareDatetime
    decided_by: Name
    decided_by_role: DeciderRole
    contact_event_id: EventId
    children: list[Child] = Field(min_length=1, max_length=20)
    lawful_basis: LawfulBasis | None = None
    rationale: LongText | None = None
    information_shared: LongText | None = None
    shared_with: list[ShortText] = Field(default_factory=list, max_length=20)

    @model_validator(mode="after")
    def _override_is_a_recorded_decision(self) -> ConsentEvent:
        # An override without its reason is not a usable record of a decision (domain brief).
        if self.action is ConsentAction.OVERRIDDEN:
            if self.decided_by_role is not DeciderRole.TEAM_MANAGER:
                raise ValueError(
                    "decided_by_role: an override of consent is made by a team manager"
                )
            missing = [
                name
                for name, value in (
                    ("lawful_basis", self.lawful_basis),
                    ("rationale", self.rationale),
                    ("information_shared", self.information_shared),
                    ("shared_with", self.shared_with),
                )
                if not value
            ]
            if missing:
                raise ValueError(f"{missing[0]}: an override must record {', '.join(missing)}")
        return self


# ---------------------------------------------------------------------------------------------
# Internal and outbound events.


class AcceptedEvent(Event):
    """A usable partner event, validated, with its data-quality problems attached.

    Exactly one of ``contact``, ``police_notification`` and ``consent_event`` is set, matching
    ``event_type``. ``event_id`` is the partner event's id.
    """

    AVRO_NAME: ClassVar[str] = f"{NAMESPACE}.AcceptedEvent"

    event_type: EventType
    sender: Code
    source: SourcePosition
    accepted_at: AwareDatetime
    data_quality_issues: list[DataQualityIssue] = Field(default_factory=list)
    contact: Contact | None = None
    police_notification: PoliceNotification | None = None
    consent_event: ConsentEvent | None = None

    @property
    def payload(self) -> Contact | PoliceNotification | ConsentEvent:
        """The partner event itself (the validator guarantees exactly one is set)."""
        payload = self.contact or self.police_notification or self.consent_event
        if payload is None:
            raise ValueError("an accepted event always carries its payload")
        return payload

    @model_validator(mode="after")
    def _one_payload_matching_type(self) -> AcceptedEvent:
        payloads = {
            EventType.CONTACT: self.contact,
            EventType.POLICE_NOTIFICATION: self.police_notification,
            EventType.CONSENT_EVENT: self.consent_event,
        }
        present = [kind for kind, value in payloads.items() if value is not None]
        if present != [self.event_type]:
            raise ValueError(f"event_type {self.event_type} needs exactly that payload set")
        return self


class RequestedItem(Record):
    field: Code
    code: Code
    message: ShortText


class InformationRequest(Event):
    """A request to the sending agency to correct or supply information about an event."""

    AVRO_NAME: ClassVar[str] = f"{NAMESPACE}.InformationRequest"

    about_event_id: EventId
    about_event_type: EventType
    addressed_to_agency: Agency
    addressed_to_sender: Code
    reason: RequestReason
    items: list[RequestedItem] = Field(min_length=1)
    created_at: AwareDatetime


class DeadLetter(Event):
    """A message that could not be used, kept whole with where it came from and why.

    ``event_id`` is derived from the source position, so re-delivery yields the same dead letter.
    """

    AVRO_NAME: ClassVar[str] = f"{NAMESPACE}.DeadLetter"

    source: SourcePosition
    original_key: bytes | None = None
    original_value: bytes | None = None
    original_headers: dict[str, bytes] = Field(default_factory=dict)
    sender: Code
    error_code: Code
    error_field: Code | None = None
    reason: ShortText
    original_event_id: Code | None = None
    dead_lettered_at: AwareDatetime


class MashTask(Event):
    """A task for the MASH team that is not a child's work item, e.g. review a dead letter."""

    AVRO_NAME: ClassVar[str] = f"{NAMESPACE}.MashTask"

    kind: TaskKind
    title: ShortText
    sender: Code
    reason: ShortText
    error_code: Code | None = None
    reference: Code = Field(description="What the task is about, e.g. the dead letter's id.")
    created_at: AwareDatetime


class Outcome(Event):
    """The recorded outcome of one child of an accepted event.

    Routing writes one for every child event it decides, so that the reconciliation can prove
    each accepted event reached someone (or needed no one, and why) without reading the queues.
    """

    AVRO_NAME: ClassVar[str] = f"{NAMESPACE}.Outcome"

    child_event_id: Code
    source_event_id: EventId
    sender: Code
    child_key: Code
    kind: OutcomeKind
    reason: ShortText
    work_item_ids: list[Code] = Field(default_factory=list)
    decided_at: AwareDatetime


class ChildMatch(Record):
    """How a child in an event was linked to a child key."""

    child_key: Code
    kind: MatchKind
    score: float
    reason: ShortText


class ChildEvent(Event):
    """One child of an accepted event, identified: the unit the history and routing work on.

    ``event_id`` is derived from the accepted event's id and the child's position in it.
    """

    AVRO_NAME: ClassVar[str] = f"{NAMESPACE}.ChildEvent"

    accepted: AcceptedEvent
    child_index: Long
    match: ChildMatch
    missing_information: list[RequestedItem] = Field(default_factory=list)


class HistorySummary(Record):
    """A child's history at the time of an event, as the router and the MASH worker see it."""

    previous_events: Long = 0
    contacts_12m: Long = 0
    referrals_12m: Long = 0
    re_referral: bool = False
    domestic_abuse_incidents_12m: Long = 0
    marac_flagged_12m: Long = Field(
        default=0, description="Earlier incidents in 12 months that met a MARAC criterion."
    )
    open_plans: list[OpenPlan] = Field(default_factory=list)
    strategy_discussions_12m: Long = 0
    last_queue: Queue | None = None
    last_event_at: AwareDatetime | None = None


class RationaleEntry(Record):
    """One reason for a routing: an indicator that fired, or a rule of the router itself."""

    rule: Code = Field(description="Indicator id from the rules file, or a router rule id.")
    description: ShortText
    level: Long | None = None
    evidence: ShortText


class MaracFlag(Record):
    """One criterion for a MARAC (multi-agency risk assessment conference) that an incident met."""

    code: Code = Field(description="dash_high, dash_score, police_referral or repeat_incidents.")
    description: ShortText


class WorkItem(Event):
    """A routed piece of work for one child, on one queue, with the reason written down.

    ``event_id`` is derived from the source event, the child and the queue, so reprocessing the
    same input never creates a second work item.
    """

    AVRO_NAME: ClassVar[str] = f"{NAMESPACE}.WorkItem"

    queue: Queue
    source_event_id: EventId
    source_event_type: EventType
    sender: Code
    child_key: Code
    match: ChildMatch
    child: Child
    level: int = Field(ge=1, le=4)
    priority: Priority
    rationale: list[RationaleEntry] = Field(min_length=1)
    received_at: AwareDatetime
    decision_due_at: AwareDatetime
    out_of_hours: bool
    history: HistorySummary
    missing_information: list[RequestedItem] = Field(default_factory=list)
    data_quality_issues: list[DataQualityIssue] = Field(default_factory=list)
    routed_at: AwareDatetime
    marac: list[MaracFlag] = Field(
        default_factory=list,
        description="Each MARAC criterion a domestic-abuse incident met; empty when none.",
    )


class DutyTeamAlert(Event):
    """An alert to the out-of-hours Emergency Duty Team: a child at immediate risk, now."""

    AVRO_NAME: ClassVar[str] = f"{NAMESPACE}.DutyTeamAlert"

    work_item_id: EventId
    source_event_id: EventId
    child_key: Code
    priority: Priority
    reason: ShortText
    rationale: list[RationaleEntry] = Field(min_length=1)
    received_at: AwareDatetime
    raised_at: AwareDatetime


class HistoryRecord(Record):
    """One record of a child's past from a case-management system (no free text)."""

    record_type: HistoryRecordType
    started_on: date
    ended_on: date | None = None
    outcome: Code | None = Field(default=None, description="The system's outcome code, if any.")


class HistoryImport(Event):
    """One row of a case-management export: a child and one record of their past.

    ``event_id`` is derived from the source system and its record id, so importing the same file
    twice publishes the same events.
    """

    AVRO_NAME: ClassVar[str] = f"{NAMESPACE}.HistoryImport"

    source_system: Code
    source_record_id: Reference
    child: Child
    record: HistoryRecord
    imported_at: AwareDatetime


class ImportedHistory(Event):
    """An imported history record, its child identified; keyed by child key like child events."""

    AVRO_NAME: ClassVar[str] = f"{NAMESPACE}.ImportedHistory"

    match: ChildMatch
    record: HistoryRecord
    imported_at: AwareDatetime


#: Rows a history-import batch carries at most: a few hundred rows share one message's fetch, send
#: and commit, and a full batch stays well under the broker's default 1 MB message limit.
MAX_ROWS_PER_IMPORT_BATCH = 1000


class HistoryImportBatch(Event):
    """Consecutive rows of one case-management export, published as one message.

    A replay of a whole authority's past is millions of rows: one message a row spent most of the
    worker's time on per-message work. ``event_id`` is derived from the rows' ids, so importing
    the same file again publishes the same batches.
    """

    AVRO_NAME: ClassVar[str] = f"{NAMESPACE}.HistoryImportBatch"

    source_system: Code
    rows: list[HistoryImport] = Field(min_length=1, max_length=MAX_ROWS_PER_IMPORT_BATCH)


class ImportedHistoryBatch(Event):
    """Imported history records, identified, whose children's histories share one partition.

    Keyed by the first record's child key: every record's child key lands on the same partition
    of the topic (and of the child-history table), so one routing task owns them all.
    """

    AVRO_NAME: ClassVar[str] = f"{NAMESPACE}.ImportedHistoryBatch"

    records: list[ImportedHistory] = Field(min_length=1, max_length=MAX_ROWS_PER_IMPORT_BATCH)

    @property
    def first_child_key(self) -> str:
        """The message key: the first record's child key (all of them share its partition)."""
        return self.records[0].match.child_key


# ---------------------------------------------------------------------------------------------
# Staff events (published by the staff application).


class ThresholdDecision(Event):
    """A person's threshold decision on a routed work item: the level, the next step and why.

    ``revises`` names the decision this one replaces when the item was decided before; a decision
    is never edited in place. The contract refuses only a decision without its reason; whether
    the reasons say enough, and whether the next step fits the level and the consent, are the
    local authority's rules, checked before the decision is published.
    """

    # Those rules are streams.decisions.threshold: configurable (the minimum words), so kept out
    # of the contract, which must go on reading every decision ever recorded.

    AVRO_NAME: ClassVar[str] = f"{NAMESPACE}.ThresholdDecision"

    work_item_id: EventId = Field(description="The work item decided on.")
    child_key: Code
    source_event_id: EventId = Field(description="The partner event the work item came from.")
    queue: Queue
    level: int = Field(ge=1, le=4)
    next_step: NextStep
    rationale: Reasons
    decided_by: Code = Field(description="The staff username of the person who decided.")
    decided_by_role: StaffRole
    decided_at: AwareDatetime
    consent: ConsentStatus | None = None
    consent_not_sought_reason: Reasons | None = None
    revises: EventId | None = Field(
        default=None, description="The earlier decision on the same work item this one revises."
    )


class DiscussionStatus(StrEnum):
    CONVENED = "convened"
    HELD = "held"
    #: Decided against holding one: valid only from a team manager, with the reasons.
    NOT_HELD = "not_held"


class StrategyDiscussion(Event):
    """A strategy discussion about one child: convened (who is invited), held (who attended and
    whether a section 47 enquiry starts, with the reasons) or, by a team manager's decision with
    reasons, not held.

    ``discussion_id`` is derived from the decision that required it, so the three events of one
    discussion share it. ``missing_agencies`` names the required agencies that did not attend a
    held discussion (police and health always; education when the child has a school or setting),
    as computed by :func:`streams.decisions.strategy.missing_agencies` when it was recorded: the
    flag stays on the child's record.
    """

    AVRO_NAME: ClassVar[str] = f"{NAMESPACE}.StrategyDiscussion"

    discussion_id: Code
    decision_id: EventId = Field(description="The threshold decision that required it.")
    work_item_id: EventId
    child_key: Code
    status: DiscussionStatus
    at: AwareDatetime = Field(description="When it was convened, held, or decided against.")
    recorded_by: Code = Field(description="The staff username of the person who recorded it.")
    recorded_by_role: StaffRole
    invitees: list[Agency] = Field(default_factory=list, max_length=20)
    attendees: list[Agency] = Field(default_factory=list, max_length=20)
    section_47: bool | None = Field(
        default=None, description="Held: whether a section 47 enquiry starts."
    )
    rationale: Reasons | None = None
    missing_agencies: list[Agency] = Field(default_factory=list, max_length=20)


class ChildProtectionConference(Event):
    """The initial child protection conference held after a section 47 enquiry: who attended,
    whether the child is to have a child protection plan, and why.

    ``discussion_id`` names the held strategy discussion that started the enquiry: the
    conference clock waiting for this record is that discussion's. Recorded by the local
    authority (its case-management system through the gateway).
    """

    AVRO_NAME: ClassVar[str] = f"{NAMESPACE}.ChildProtectionConference"

    discussion_id: Code = Field(description="The strategy discussion that started the enquiry.")
    work_item_id: EventId
    child_key: Code
    held_at: AwareDatetime
    recorded_by: Code = Field(description="The staff username of the person who recorded it.")
    recorded_by_role: StaffRole
    attendees: list[Agency] = Field(min_length=1, max_length=20)
    child_protection_plan: bool = Field(description="Whether the child is to have a plan.")
    rationale: Reasons


class ClockKind(StrEnum):
    """What a timeliness clock waits for."""

    #: A threshold decision on a work item, by the item's due time (one working day).
    DECISION = "decision"
    #: A strategy discussion held (or a manager's decision not to), after a level-4 decision.
    STRATEGY_DISCUSSION = "strategy_discussion"
    #: The initial child protection conference, within 15 working days of a section 47 start.
    CHILD_PROTECTION_CONFERENCE = "child_protection_conference"
    #: An action the daily domestic-abuse meeting gave an agency, by its due date.
    MEETING_ACTION = "meeting_action"
    #: A duty-team alert acknowledged by a member of the duty team, within minutes (rules file:
    #: ``decisions.duty_alert_acknowledge_minutes``); overdue, it is re-sent and escalated.
    DUTY_ALERT_ACKNOWLEDGEMENT = "duty_alert_acknowledgement"


class AlertStatus(StrEnum):
    OVERDUE = "overdue"
    #: What the clock waited for arrived after it was overdue.
    CLEARED = "cleared"


class TimelinessAlert(Event):
    """To the team managers: a clock passed its due time, or, later, what it waited for came.

    ``event_id`` is derived from the clock and the status, so a clock raises each at most once,
    across restarts and replays.
    """

    AVRO_NAME: ClassVar[str] = f"{NAMESPACE}.TimelinessAlert"

    clock_id: Code
    clock: ClockKind
    child_key: Code
    work_item_id: EventId
    status: AlertStatus
    started_at: AwareDatetime
    due_at: AwareDatetime
    raised_at: AwareDatetime
    satisfied_by: Code | None = Field(
        default=None, description="Cleared: the event the clock waited for."
    )
    subject_id: Code | None = Field(
        default=None,
        description="What the clock is about: the work item, the strategy discussion, the "
        "meeting action or the duty-team alert (absent in alerts raised before it was added).",
    )


class ClockTick(Event):
    """Internal: the clocks' timer asking the agent that owns a child's clocks to look at them.

    A timer cannot write a table; it publishes a tick keyed by the child, and the agent that owns
    that child's partition decides (pure) whether anything is due. A repeated tick is harmless.
    """

    AVRO_NAME: ClassVar[str] = f"{NAMESPACE}.ClockTick"

    child_key: Code
    ticked_at: AwareDatetime


class AcknowledgedVia(StrEnum):
    """How a duty-team alert was acknowledged."""

    #: The signed link in the alert's e-mail.
    EMAIL_LINK = "email_link"
    #: The acknowledge button in the staff application.
    STAFF_APPLICATION = "staff_application"


class AlertAcknowledgement(Event):
    """A member of the duty team has seen a duty-team alert and is acting on it.

    It stops the alert's acknowledgement clock (:class:`ClockKind`), so the alert is not re-sent
    and escalated to the duty manager. ``event_id`` is derived from the alert and who
    acknowledged it, so a double click acknowledges once.
    """

    AVRO_NAME: ClassVar[str] = f"{NAMESPACE}.AlertAcknowledgement"

    alert_id: EventId = Field(description="The duty-team alert acknowledged.")
    work_item_id: EventId
    child_key: Code
    acknowledged_by: Code = Field(
        description="The staff username, or the e-mail recipient's code for a link."
    )
    via: AcknowledgedVia
    acknowledged_at: AwareDatetime


class DeliveryChannel(StrEnum):
    """How a message reaches a person or a partner system."""

    EMAIL = "email"
    WEBHOOK = "webhook"
    #: The partner fetches it from the gateway with its API key (nothing is pushed).
    FETCH = "fetch"


class DeliveryState(StrEnum):
    """What one delivery attempt came to."""

    #: Accepted by the recipient's mail server, or a 2xx answer from its webhook.
    DELIVERED = "delivered"
    #: The attempt failed; another follows after the back-off.
    RETRYING = "retrying"
    #: Undelivered after the retry limit: a MASH task asks a person to tell the recipient.
    FAILED = "failed"
    #: Waiting at the gateway for the partner to fetch it.
    AVAILABLE = "available"


class DeliveryStatus(Event):
    """One delivery attempt of one outbound message to one recipient, and what it came to.

    The chronology shows them ("school told at 07:42"). Never the message's content: the
    recipient's address and the error's class and code only. ``event_id`` is derived from the
    message, the recipient and the attempt number.
    """

    AVRO_NAME: ClassVar[str] = f"{NAMESPACE}.DeliveryStatus"

    message_id: EventId = Field(description="The event delivered (its id is the idempotency key).")
    message_type: Code = Field(description="The delivered record's name, e.g. DutyTeamAlert.")
    child_key: Code | None = Field(default=None, description="The child it is about, if one.")
    recipient: ShortText = Field(
        description="Who, as the channel file names them, e.g. school:100001."
    )
    channel: DeliveryChannel
    address: ShortText = Field(description="The e-mail address or the webhook's host.")
    attempt: Long = Field(ge=1)
    state: DeliveryState
    error_code: Code | None = None
    at: AwareDatetime
    next_attempt_at: AwareDatetime | None = None


class NotifiedChild(Record):
    """A child as the referrer named them in their own event: nothing they did not give."""

    given_name: Name | None = None
    family_name: Name | None = None
    date_of_birth: date | None = None
    partner_reference: Reference | None = None


class OutcomeNotification(Event):
    """To the referrer: what the front door decided about the child they told it about.

    Minimised (domain brief, data minimisation): the referrer's own event and the child as they
    named them, the next step and when it was decided; never the rationale, the history, the
    level of need or anything about the family the referrer did not give. ``event_id`` is derived
    from the decision, so a decision published twice notifies once; a revision notifies again.
    """

    AVRO_NAME: ClassVar[str] = f"{NAMESPACE}.OutcomeNotification"

    about_event_id: EventId = Field(description="The referrer's own event.")
    about_event_type: EventType
    addressed_to_sender: Code
    child: NotifiedChild
    next_step: NextStep
    decided_at: AwareDatetime
    revised: bool = Field(default=False, description="A revision of an earlier outcome.")


class NotificationRecipient(StrEnum):
    """Who is told of a child in a domestic-abuse incident."""

    #: The school's designated safeguarding lead (Operation Encompass).
    SCHOOL = "school"
    #: The local authority's education team: a child educated at home, or with no school.
    LOCAL_AUTHORITY_EDUCATION = "local_authority_education"
    HEALTH_VISITING = "health_visiting"
    SCHOOL_NURSING = "school_nursing"


class IncidentNotification(Event):
    """What a school, the education team or health is told of one child after a domestic-abuse
    incident: the minimum the scheme shares and nothing more.

    The content fields are exactly :data:`streams.decisions.encompass.ENCOMPASS_FIELDS` (a test
    compares them); the rest address and time the notification. Never the perpetrator's or any
    adult's name, never the police narrative: ``brief_circumstances`` is cut short by the rules.
    ``event_id`` is derived from the police notification, the child and the recipient, so a
    redelivery notifies once.
    """

    # Envelope: which notification, about which child, to whom, by when, under which rule.
    about_event_id: EventId = Field(description="The police notification.")
    child_key: Code
    recipient: NotificationRecipient
    school_urn: Reference | None = Field(default=None, description="The school told (GIAS URN).")
    due_by: AwareDatetime
    rule: Code = Field(description="Why this recipient is told (a stable reason code).")
    created_at: AwareDatetime
    # Content: the scheme's minimum.
    given_name: Name | None = None
    family_name: Name | None = None
    date_of_birth: date | None = None
    police_reference: Reference | None = None
    occurred_at: AwareDatetime | None = None
    incident_location: Address | None = None
    present: bool | None = None
    seen_or_spoken_to: bool | None = None
    child_voice: LongText | None = None
    brief_circumstances: LongText | None = None
    police_contact: ShortText | None = None


class SchoolNotification(IncidentNotification):
    """Operation Encompass: to the school's designated safeguarding lead (or, for a child
    educated at home, the local authority's education team), due before the next school day."""

    AVRO_NAME: ClassVar[str] = f"{NAMESPACE}.SchoolNotification"


class HealthNotification(IncidentNotification):
    """To the health visiting service (a child under five) or the school nursing service."""

    AVRO_NAME: ClassVar[str] = f"{NAMESPACE}.HealthNotification"


class NotifiedParty(Record):
    """Who was told of a child after a domestic-abuse incident, and by when."""

    notification_id: EventId
    recipient: NotificationRecipient
    school_urn: Reference | None = None
    due_by: AwareDatetime


class AgendaChild(Record):
    """A child on the daily domestic-abuse meeting's agenda: what the meeting needs to know."""

    child_key: Code
    work_item_id: EventId = Field(description="The child's daytime work item.")
    given_name: Name | None = None
    family_name: Name | None = None
    date_of_birth: date | None = None
    age_years: Long | None = Field(default=None, description="On the day of the incident.")
    school_urn: Reference | None = None
    school_name: ShortText | None = None
    educated_at_home: bool | None = None
    present: bool | None = None
    child_voice: LongText | None = None
    history: HistorySummary
    missing_information: list[RequestedItem] = Field(default_factory=list)
    marac: list[MaracFlag] = Field(default_factory=list)
    told: list[NotifiedParty] = Field(default_factory=list)
    not_told: list[Code] = Field(
        default_factory=list, description="Why a school or service could not be told (codes)."
    )


class AgendaItem(Event):
    """Internal: one child of a domestic-abuse notification, waiting for the next daily meeting.

    ``event_id`` is derived from the child event, so a redelivery is listed once.
    """

    AVRO_NAME: ClassVar[str] = f"{NAMESPACE}.AgendaItem"

    household_id: Code = Field(description="The children of one notification share it.")
    about_event_id: EventId
    child_index: Long
    police_reference: Reference | None = None
    received_at: AwareDatetime
    occurred_at: AwareDatetime | None = None
    child: AgendaChild


class MeetingTick(Event):
    """Internal: the meeting's timer asking whether an agenda is due (a timer cannot write the
    meeting's table; the agent that owns it answers the tick)."""

    AVRO_NAME: ClassVar[str] = f"{NAMESPACE}.MeetingTick"

    ticked_at: AwareDatetime


class AgendaHousehold(Record):
    """The children of one domestic-abuse notification, together on an agenda."""

    household_id: Code
    about_event_id: EventId
    police_reference: Reference | None = None
    received_at: AwareDatetime
    occurred_at: AwareDatetime | None = None
    late: bool = Field(description="Received before this agenda's window: missed an earlier one.")
    children: list[AgendaChild] = Field(min_length=1)


class DomesticAbuseAgenda(Event):
    """The daily multi-agency domestic-abuse meeting's agenda: every domestic-abuse notification
    since the previous meeting, by household, each child with what the meeting must consider.

    A long agenda (after a weekend of incidents, or downtime) comes in ``parts``, each a whole
    number of households, so that no message outgrows what the broker carries; the parts of one
    meeting share ``meeting_at``. ``event_id`` is derived from the meeting time and the part: one
    agenda per meeting, however often the worker restarts.
    """

    AVRO_NAME: ClassVar[str] = f"{NAMESPACE}.DomesticAbuseAgenda"

    meeting_at: AwareDatetime
    window_start: AwareDatetime = Field(description="Notifications received from here ...")
    households: list[AgendaHousehold] = Field(default_factory=list)
    published_at: AwareDatetime
    part: Long = Field(default=1, ge=1)
    parts: Long = Field(default=1, ge=1)


class MeetingAction(Record):
    """An action the meeting agreed for a child: what, which agency owns it, and by when."""

    action_id: Code
    description: ShortText = Field(min_length=1)
    owner: Agency
    due_on: date


class MeetingRecord(Event):
    """What the daily domestic-abuse meeting recorded for one child: the impact on that child and
    at least one action with its owner and due date (checked before it is published:
    :func:`streams.decisions.meeting.meeting_record_problems`)."""

    AVRO_NAME: ClassVar[str] = f"{NAMESPACE}.MeetingRecord"

    agenda_id: EventId
    meeting_at: AwareDatetime
    household_id: Code
    child_key: Code
    work_item_id: EventId
    impact_on_child: LongText
    actions: list[MeetingAction] = Field(default_factory=list, max_length=20)
    recorded_by: Code
    recorded_by_role: StaffRole
    recorded_at: AwareDatetime


class ActionDone(Event):
    """An action from the daily meeting is done: its clock stops (and an overdue alert clears)."""

    AVRO_NAME: ClassVar[str] = f"{NAMESPACE}.ActionDone"

    action_id: Code
    child_key: Code
    work_item_id: EventId
    done_at: AwareDatetime
    recorded_by: Code


#: Every top-level record, in the order their schemas are published.
ALL_EVENTS: tuple[type[Event], ...] = (
    Contact,
    PoliceNotification,
    ConsentEvent,
    AcceptedEvent,
    InformationRequest,
    DeadLetter,
    MashTask,
    ChildEvent,
    WorkItem,
    DutyTeamAlert,
    HistoryImport,
    ImportedHistory,
    Outcome,
    ThresholdDecision,
    StrategyDiscussion,
    TimelinessAlert,
    ClockTick,
    OutcomeNotification,
    ChildProtectionConference,
    SchoolNotification,
    HealthNotification,
    AgendaItem,
    MeetingTick,
    DomesticAbuseAgenda,
    MeetingRecord,
    ActionDone,
    AlertAcknowledgement,
    DeliveryStatus,
    HistoryImportBatch,
    ImportedHistoryBatch,
)

#: The partner event model for each event type.
PARTNER_EVENT_MODELS: dict[EventType, type[Event]] = {
    EventType.CONTACT: Contact,
    EventType.POLICE_NOTIFICATION: PoliceNotification,
    EventType.CONSENT_EVENT: ConsentEvent,
}
