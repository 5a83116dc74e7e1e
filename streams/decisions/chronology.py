"""A child's chronology: everything the front door holds about one child key, in time order.

An inspection, a team manager or a social worker taking over asks the same question: what
happened to this child, when, and why? The answer is spread over the topics: the partner events
as identified (contacts, police notifications, consent events, on ``child-events``), the
information requests sent back about them, each routing with its rationale, the duty-team alerts,
the school and health notifications after a domestic-abuse incident (each a disclosure: who was
told what, when, under which rule), the daily domestic-abuse meeting's agendas and records and the
actions done, the threshold decisions, the strategy discussions, the child protection conferences,
the timeliness alerts, the duty team's acknowledgements of its alerts, and each attempt to deliver
a message about the child (``deliveries.status``: "school told at 07:42", or why not).
:func:`chronology` picks out what concerns one child from records read off those topics and puts
it in order, one :class:`ChronologyEntry` a step.

How each record is tied to the child:

* a :class:`~schemas.models.ChildEvent` by ``match.child_key``; its accepted partner event is the
  step (a contact, a police notification or a consent event), at the partner's ``received_at``;
* an :class:`~schemas.models.InformationRequest` carries no child key: it belongs to the child
  when it is about one of the child's partner events (the same sender and event id);
* a :class:`~schemas.models.DomesticAbuseAgenda` belongs to every child it lists;
* a :class:`~schemas.models.WorkItem` (a routing), :class:`~schemas.models.DutyTeamAlert`,
  :class:`~schemas.models.ThresholdDecision`, :class:`~schemas.models.StrategyDiscussion`,
  :class:`~schemas.models.ChildProtectionConference`, :class:`~schemas.models.TimelinessAlert`,
  :class:`~schemas.models.AlertAcknowledgement`, :class:`~schemas.models.DeliveryStatus` and the
  school and health notifications by ``child_key``.

Outcomes are left out (the routing says where the event went) and so is anything else.

**Ids and codes, or the free text too.** An entry's ``summary`` holds ids, codes, counts and times
only: never a name, a date of birth, an address or anything a person or partner typed, so it can
be shown wherever the child key can. ``details`` holds the free text that explains the step (each
rationale entry of a routing with its evidence, a decision's or a discussion's reasons, a consent
decision's reasons, who made it and, for an override, what was shared and with whom), shown only
when asked for (``frontdoor chronology KEY --details``).

**Order.** By time; on a tie, a partner event comes before the information request about it, then
the routing, the duty-team alert, the notifications, the decision, the strategy discussion, the
conference, a timeliness alert (a cleared alert is raised when what it waited for arrives), an
acknowledgement and last a delivery; records of one kind at one instant keep the order they were
read in. Delivery is at least once, so a record read twice (the same kind and id; a partner event
by its sender and id) appears once, at its earliest time.

Pure: no Kafka, no Faust; the command line reads the topics and prints the entries.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from schemas.models import (
    ActionDone,
    Agency,
    AlertAcknowledgement,
    ChildEvent,
    ChildProtectionConference,
    ConsentAction,
    ConsentEvent,
    Contact,
    DeliveryStatus,
    DomesticAbuseAgenda,
    DutyTeamAlert,
    Event,
    HealthNotification,
    IncidentNotification,
    InformationRequest,
    MeetingRecord,
    PoliceNotification,
    SchoolNotification,
    StrategyDiscussion,
    ThresholdDecision,
    TimelinessAlert,
    WorkItem,
)
from schemas.quality import ENGLAND

__all__ = ["ChronologyEntry", "chronology"]


@dataclass(frozen=True)
class ChronologyEntry:
    """One step of a child's chronology."""

    at: datetime
    #: What kind of step: "contact", "routed", "decision", "consent overridden", ...
    kind: str
    #: The record's id (a partner event's own id for a contact, notification or consent event).
    event_id: str
    #: Ids, codes, counts and times only: no name, date of birth, address or free text.
    summary: str
    #: The free text that explains the step, one line each; None when there is none.
    details: str | None = None


def chronology(child_key: str, events: Iterable[Event]) -> list[ChronologyEntry]:
    """Every step of ``events`` that concerns the child ``child_key``, in time order, once each."""
    records = list(events)
    partner_events = {
        (record.accepted.sender, record.accepted.event_id)
        for record in records
        if isinstance(record, ChildEvent) and record.match.child_key == child_key
    }
    found: list[tuple[datetime, int, int, tuple[str, ...], ChronologyEntry]] = []
    for position, record in enumerate(records):
        for rank, (kind, describe) in enumerate(_DESCRIBERS):
            if not isinstance(record, kind):
                continue
            if isinstance(record, InformationRequest):
                concerns = (record.addressed_to_sender, record.about_event_id) in partner_events
            elif isinstance(record, DomesticAbuseAgenda):
                concerns = child_key in _children_on(record)
            else:
                concerns = _child_key_of(record) == child_key
            if concerns:
                entry = describe(record)
                found.append((entry.at, rank, position, _identity(record), entry))
            break
    found.sort(key=lambda item: item[:3])
    seen: set[tuple[str, ...]] = set()
    entries = []
    for *_, identity, entry in found:
        if identity not in seen:
            seen.add(identity)
            entries.append(entry)
    return entries


def _children_on(agenda: DomesticAbuseAgenda) -> set[str]:
    return {child.child_key for household in agenda.households for child in household.children}


def _child_key_of(record: Event) -> str | None:
    if isinstance(record, ChildEvent):
        return record.match.child_key
    key = getattr(record, "child_key", None)
    return key if isinstance(key, str) else None


def _identity(record: Event) -> tuple[str, ...]:
    """What makes two records one step: a partner event is its sender's event id, whatever
    child event of it was read; anything else is its kind and id."""
    if isinstance(record, ChildEvent):
        return ("partner event", record.accepted.sender, record.accepted.event_id)
    return (type(record).__name__, record.event_id)


def _local(at: datetime) -> str:
    return f"{at.astimezone(ENGLAND):%Y-%m-%d %H:%M}"


def _codes(values: Iterable[str]) -> str:
    return ", ".join(values) or "none"


def _agencies(agencies: Iterable[Agency]) -> str:
    return _codes(agency.value for agency in agencies)


def _lines(*lines: str | None) -> str | None:
    kept = [line for line in lines if line]
    return "\n".join(kept) if kept else None


# ---------------------------------------------------------------------------------------------
# Partner events, as identified for the child.


def _partner_event(record: ChildEvent) -> ChronologyEntry:
    accepted = record.accepted
    payload = accepted.payload
    common = [f"children.{record.child_index} matched {record.match.kind.value}"]
    if accepted.data_quality_issues:
        common.append(
            "data quality " + _codes(issue.code for issue in accepted.data_quality_issues)
        )
    if record.missing_information:
        common.append("missing " + _codes(item.field for item in record.missing_information))
    if isinstance(payload, Contact):
        kind, facts, details = "contact", _contact_facts(payload), None
    elif isinstance(payload, PoliceNotification):
        kind, facts, details = "police notification", _notification_facts(payload), None
    else:
        kind = f"consent {payload.action.value}"
        facts, details = _consent_facts(payload), _consent_details(payload)
    summary = f"{accepted.event_id} from {accepted.sender}: " + "; ".join(facts + common)
    return ChronologyEntry(payload.received_at, kind, accepted.event_id, summary, details)


def _contact_facts(contact: Contact) -> list[str]:
    facts = [
        f"referrer {contact.referrer.agency.value}",
        "concerns " + _codes(category.value for category in contact.concern_categories),
        f"service {contact.service_requested.value}",
        f"consent {contact.consent.value}",
    ]
    if contact.immediate_risk:
        facts.append("immediate risk")
    return facts


def _notification_facts(notification: PoliceNotification) -> list[str]:
    facts = [f"incident {notification.incident_type.value}"]
    if notification.dash_risk_level is not None:
        score = f" ({notification.dash_score}/24)" if notification.dash_score is not None else ""
        facts.append(f"DASH {notification.dash_risk_level.value}{score}")
    if notification.marac_referral_made:
        facts.append("MARAC referral made")
    return facts


def _consent_facts(consent: ConsentEvent) -> list[str]:
    facts = [
        f"decided by {consent.decided_by_role.value} at {_local(consent.decided_at)}",
        f"contact {consent.contact_event_id}",
    ]
    if consent.action is ConsentAction.OVERRIDDEN:
        facts.append(
            f"disclosure without consent: lawful basis "
            f"{consent.lawful_basis.value if consent.lawful_basis else 'not recorded'}, "
            f"shared with {len(consent.shared_with)} recipient(s)"
        )
    return facts


def _consent_details(consent: ConsentEvent) -> str | None:
    return _lines(
        f"decided by: {consent.decided_by} ({consent.decided_by_role.value})",
        f"rationale: {consent.rationale}" if consent.rationale else None,
        f"information shared: {consent.information_shared}" if consent.information_shared else None,
        f"shared with: {', '.join(consent.shared_with)}" if consent.shared_with else None,
    )


# ---------------------------------------------------------------------------------------------
# What the front door and its people did about it.


def _information_request(record: InformationRequest) -> ChronologyEntry:
    summary = (
        f"{record.event_id} to {record.addressed_to_sender} "
        f"({record.addressed_to_agency.value}) about {record.about_event_type.value} "
        f"{record.about_event_id}: {record.reason.value}; "
        + _codes(f"{item.field} {item.code}" for item in record.items)
    )
    details = _lines(*(f"{item.field}: {item.message}" for item in record.items))
    return ChronologyEntry(
        record.created_at, "information request", record.event_id, summary, details
    )


def _routed(record: WorkItem) -> ChronologyEntry:
    parts = [
        f"level {record.level}",
        f"priority {record.priority.value}",
        f"due {_local(record.decision_due_at)}",
        "rules " + _codes(entry.rule for entry in record.rationale),
    ]
    if record.out_of_hours:
        parts.append("out of hours")
    if record.marac:
        parts.append("MARAC " + _codes(flag.code for flag in record.marac))
    summary = (
        f"{record.event_id} to {record.queue.value} for "
        f"{record.source_event_type.value} {record.source_event_id}: " + "; ".join(parts)
    )
    details = _lines(
        *(f"{entry.rule}: {entry.description} [{entry.evidence}]" for entry in record.rationale),
        *(f"MARAC: {flag.description}" for flag in record.marac),
    )
    return ChronologyEntry(record.routed_at, "routed", record.event_id, summary, details)


def _duty_team_alert(record: DutyTeamAlert) -> ChronologyEntry:
    summary = (
        f"{record.event_id} for work item {record.work_item_id}: priority {record.priority.value}"
    )
    details = f"reason: {record.reason}"
    return ChronologyEntry(record.raised_at, "duty-team alert", record.event_id, summary, details)


def _notification(record: IncidentNotification) -> ChronologyEntry:
    to = record.recipient.value.replace("_", " ") + (
        f" {record.school_urn}" if record.school_urn else ""
    )
    summary = (
        f"{record.event_id}: {to} told of {record.about_event_id} under rule {record.rule}, "
        f"due {_local(record.due_by)}"
    )
    details = _lines(
        "shared: the child's name and date of birth, the police reference, the incident's time "
        "and place, presence, whether seen or spoken to, the child's words, brief "
        "circumstances, the police contact",
        f"brief circumstances: {record.brief_circumstances}"
        if record.brief_circumstances
        else None,
    )
    return ChronologyEntry(record.created_at, "notified", record.event_id, summary, details)


def _agenda(record: DomesticAbuseAgenda) -> ChronologyEntry:
    late = any(household.late for household in record.households)
    summary = (
        f"{record.event_id}: on the daily domestic-abuse meeting's agenda for "
        f"{_local(record.meeting_at)}" + (" (late for an earlier meeting)" if late else "")
    )
    return ChronologyEntry(record.published_at, "meeting agenda", record.event_id, summary)


def _meeting_record(record: MeetingRecord) -> ChronologyEntry:
    actions = "; ".join(
        f"{action.action_id} for {action.owner.value} by {action.due_on}"
        for action in record.actions
    )
    summary = (
        f"{record.event_id} at the meeting of {_local(record.meeting_at)}, recorded by "
        f"{record.recorded_by} ({record.recorded_by_role.value}): actions {actions or 'none'}"
    )
    details = _lines(
        f"impact on the child: {record.impact_on_child}",
        *(f"{action.action_id}: {action.description}" for action in record.actions),
    )
    return ChronologyEntry(record.recorded_at, "meeting record", record.event_id, summary, details)


def _action_done(record: ActionDone) -> ChronologyEntry:
    summary = f"{record.event_id}: action {record.action_id} done, recorded by {record.recorded_by}"
    return ChronologyEntry(record.done_at, "action done", record.event_id, summary)


def _decision(record: ThresholdDecision) -> ChronologyEntry:
    parts = [
        f"level {record.level}",
        f"next step {record.next_step.value}",
        f"decided by {record.decided_by} ({record.decided_by_role.value})",
    ]
    if record.consent is not None:
        parts.append(f"consent {record.consent.value}")
    if record.revises:
        parts.append(f"revises {record.revises}")
    summary = (
        f"{record.event_id} on work item {record.work_item_id} ({record.queue.value}): "
        + "; ".join(parts)
    )
    details = _lines(
        f"rationale: {record.rationale}",
        f"consent not sought because: {record.consent_not_sought_reason}"
        if record.consent_not_sought_reason
        else None,
    )
    return ChronologyEntry(record.decided_at, "decision", record.event_id, summary, details)


def _discussion(record: StrategyDiscussion) -> ChronologyEntry:
    parts = [f"recorded by {record.recorded_by} ({record.recorded_by_role.value})"]
    if record.invitees:
        parts.append(f"invited {_agencies(record.invitees)}")
    if record.attendees:
        parts.append(f"attended {_agencies(record.attendees)}")
    if record.section_47 is not None:
        parts.append("section 47 enquiry " + ("starts" if record.section_47 else "not started"))
    if record.missing_agencies:
        parts.append(f"FLAG missing agencies {_agencies(record.missing_agencies)}")
    summary = (
        f"{record.discussion_id} {record.status.value} after decision "
        f"{record.decision_id}: " + "; ".join(parts)
    )
    details = _lines(f"rationale: {record.rationale}" if record.rationale else None)
    return ChronologyEntry(record.at, "strategy discussion", record.event_id, summary, details)


def _conference(record: ChildProtectionConference) -> ChronologyEntry:
    plan = "child protection plan" if record.child_protection_plan else "no child protection plan"
    summary = (
        f"{record.event_id} after strategy discussion {record.discussion_id}: {plan}; "
        f"attended {_agencies(record.attendees)}; recorded by {record.recorded_by} "
        f"({record.recorded_by_role.value})"
    )
    details = _lines(f"rationale: {record.rationale}")
    return ChronologyEntry(record.held_at, "conference", record.event_id, summary, details)


def _timeliness_alert(record: TimelinessAlert) -> ChronologyEntry:
    summary = (
        f"{record.event_id}: {record.clock.value} {record.status.value}, "
        f"due {_local(record.due_at)}, work item {record.work_item_id}"
    )
    if record.satisfied_by:
        summary += f", satisfied by {record.satisfied_by}"
    return ChronologyEntry(record.raised_at, "timeliness alert", record.event_id, summary)


def _acknowledged(record: AlertAcknowledgement) -> ChronologyEntry:
    summary = (
        f"{record.alert_id} acknowledged by {record.acknowledged_by} "
        f"({record.via.value.replace('_', ' ')})"
    )
    return ChronologyEntry(record.acknowledged_at, "alert acknowledged", record.event_id, summary)


def _delivery(record: DeliveryStatus) -> ChronologyEntry:
    """An attempt to deliver a message about the child: "school:100001 told at 07:42"."""
    summary = (
        f"{record.message_type} {record.message_id} to {record.recipient} by "
        f"{record.channel.value} ({record.address}): {record.state.value}"
    )
    if record.error_code:
        summary += f", {record.error_code}"
    if record.next_attempt_at:
        summary += f", next attempt {_local(record.next_attempt_at)}"
    if record.attempt > 1:
        summary += f", attempt {record.attempt}"
    return ChronologyEntry(record.at, "delivery", record.event_id, summary)


# The kinds of record a chronology holds, in the order they take when at one instant.
_DESCRIBERS: tuple[tuple[type[Event], Callable[[Any], ChronologyEntry]], ...] = (
    (ChildEvent, _partner_event),
    (InformationRequest, _information_request),
    (WorkItem, _routed),
    (DutyTeamAlert, _duty_team_alert),
    (SchoolNotification, _notification),
    (HealthNotification, _notification),
    (DomesticAbuseAgenda, _agenda),
    (MeetingRecord, _meeting_record),
    (ActionDone, _action_done),
    (ThresholdDecision, _decision),
    (StrategyDiscussion, _discussion),
    (ChildProtectionConference, _conference),
    (TimelinessAlert, _timeliness_alert),
    (AlertAcknowledgement, _acknowledged),
    (DeliveryStatus, _delivery),
)
