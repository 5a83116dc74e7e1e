"""Threshold routing: one identified child event in, a decision with its reasons out. Pure.

The local authority's indicators and levels come from the rules file
(:mod:`streams.decisions.rules`); this module adds only the rules that are the front door's own,
each written into the rationale with a ``router.*`` id so no routing is ever unexplained:

* levels 1-2 go to Early Help, which needs the family's consent; without it, to the MASH for a
  consent conversation (``router.consent-needed``);
* levels 3-4, and any child at immediate risk, go to the MASH (``router.urgent``);
* an escalation indicator raises the priority one step (``router.priority-raised``);
* immediate risk outside office hours also alerts the Emergency Duty Team, which gets the item at
  once, and the MASH picks it up at the next opening (``router.out-of-hours``);
* a possible identity match is said out loud (``router.possible-match``).

The decision is due one working day after the clock starts (see :class:`OfficeCalendar`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from schemas.models import (
    AgendaItem,
    Child,
    ChildEvent,
    ConsentPosition,
    DutyTeamAlert,
    EventType,
    HealthNotification,
    HistorySummary,
    MaracFlag,
    MashTask,
    MatchKind,
    Outcome,
    OutcomeKind,
    Priority,
    Queue,
    RationaleEntry,
    SchoolNotification,
    WorkItem,
)
from schemas.quality import ENGLAND
from streams.decisions.calendar import OfficeCalendar
from streams.decisions.domestic_abuse import (
    Notified,
    Recipients,
    incident_notifications,
    marac_flags,
)
from streams.decisions.history import ChildHistory, received_at, summarise, with_event
from streams.decisions.ids import derived_id
from streams.decisions.meeting import agenda_item
from streams.decisions.rules import Rules, fired_indicators
from streams.decisions.rules.facts import child_facts, event_facts, history_facts

EARLY_HELP_MAX_LEVEL = 2
_PRIORITY_ORDER = [Priority.GREEN, Priority.AMBER, Priority.RED]


@dataclass(frozen=True)
class Decision:
    """Where one child's event goes, how urgently, by when, and why."""

    queue: Queue
    level: int
    priority: Priority
    rationale: tuple[RationaleEntry, ...]
    received_at: datetime
    decision_due_at: datetime
    urgent: bool
    out_of_hours: bool

    @property
    def alerts_duty_team(self) -> bool:
        return self.urgent and self.out_of_hours


def child_of(child_event: ChildEvent) -> Child:
    child: Child = child_event.accepted.payload.children[child_event.child_index]
    return child


def facts(child_event: ChildEvent, history: HistorySummary) -> dict[str, object]:
    """The facts the rules file's indicators may test, for one child of one event."""
    payload = child_event.accepted.payload
    return {
        **event_facts(payload),
        **child_facts(child_of(child_event), payload.received_at),
        **history_facts(history),
    }


def _raised(priority: Priority) -> Priority:
    index = _PRIORITY_ORDER.index(priority)
    return _PRIORITY_ORDER[min(index + 1, len(_PRIORITY_ORDER) - 1)]


def route(
    child_event: ChildEvent, history: HistorySummary, rules: Rules, calendar: OfficeCalendar
) -> Decision:
    """Decide the queue, level, priority and due time of one child's event, with every reason."""
    known = facts(child_event, history)
    fired = fired_indicators(rules, known)
    rationale = [
        RationaleEntry(rule=f.id, description=f.description, level=f.level, evidence=f.evidence)
        for f in fired
    ]
    level = max((f.level for f in fired), default=1)
    if not fired:
        rationale.append(
            RationaleEntry(
                rule="router.no-indicator",
                description="No indicator of the threshold rules fired: universal services",
                level=1,
                evidence="no indicator matched this event",
            )
        )
    urgent = bool(known["immediate_risk"])
    queue = Queue.MASH
    if level <= EARLY_HELP_MAX_LEVEL and not urgent:
        consent = known["consent"]
        if consent == ConsentPosition.GIVEN.value:
            queue = Queue.EARLY_HELP
        else:
            rationale.append(
                RationaleEntry(
                    rule="router.consent-needed",
                    description="Early help needs the family's consent: the MASH is to hold a "
                    "consent conversation",
                    level=level,
                    evidence=f"consent is {consent or 'not recorded in this event'}",
                )
            )
    if urgent:
        rationale.append(
            RationaleEntry(
                rule="router.urgent",
                description="A child at immediate risk is never routed below the MASH",
                level=level,
                evidence="immediate_risk is true",
            )
        )
    priority = (
        Priority.RED if level == 4 or urgent else Priority.AMBER if level == 3 else Priority.GREEN
    )
    escalations = [f.id for f in fired if f.raises_priority]
    if escalations:
        raised = _raised(priority)
        rationale.append(
            RationaleEntry(
                rule="router.priority-raised",
                description=f"Priority raised from {priority.value} to {raised.value}"
                if raised is not priority
                else "Escalation noted; the priority is already red",
                level=level,
                evidence="escalation: " + ", ".join(escalations),
            )
        )
        priority = raised
    when = received_at(child_event.accepted)
    out_of_hours = calendar.out_of_hours(when)
    if urgent and out_of_hours:
        rationale.append(
            RationaleEntry(
                rule="router.out-of-hours",
                description="Immediate risk outside office hours: the Emergency Duty Team is "
                "alerted now; the MASH picks the item up at the next opening",
                level=level,
                evidence=f"received {when.astimezone(ENGLAND):%a %d %b %Y %H:%M}",
            )
        )
    if child_event.match.kind is MatchKind.POSSIBLE:
        rationale.append(
            RationaleEntry(
                rule="router.possible-match",
                description="Possible match to a known child: confirm the identity",
                level=level,
                evidence=child_event.match.reason,
            )
        )
    return Decision(
        queue=queue,
        level=level,
        priority=priority,
        rationale=tuple(rationale),
        received_at=when,
        decision_due_at=calendar.decision_due(when, urgent=urgent),
        urgent=urgent,
        out_of_hours=out_of_hours,
    )


def work_items(
    child_event: ChildEvent,
    history: HistorySummary,
    decision: Decision,
    now: datetime,
    marac: Sequence[MaracFlag] = (),
) -> list[WorkItem]:
    """The work items of a decision: its queue's, and the duty team's when it is alerted, each
    with the MARAC criteria the incident met (``marac``)."""
    accepted = child_event.accepted
    child = child_of(child_event)
    # A police notification's child (a NotificationChild) says more than a work item keeps: its
    # Child fields only. A contact's child is a Child already, and frozen: kept as it is rather
    # than dumped and validated again.
    if type(child) is not Child:
        child = Child.model_validate(child.model_dump(include=set(Child.model_fields)))
    common = {
        "source_event_id": accepted.event_id,
        "source_event_type": accepted.event_type,
        "sender": accepted.sender,
        "child_key": child_event.match.child_key,
        "match": child_event.match,
        "child": child,
        "level": decision.level,
        "priority": decision.priority,
        "rationale": list(decision.rationale),
        "received_at": decision.received_at,
        "out_of_hours": decision.out_of_hours,
        "history": history,
        "missing_information": child_event.missing_information,
        "data_quality_issues": accepted.data_quality_issues,
        "routed_at": now,
        "marac": list(marac),
    }
    queues = [(decision.queue, decision.decision_due_at)]
    if decision.alerts_duty_team:
        queues.insert(0, (Queue.DUTY_TEAM, decision.received_at))
    return [
        WorkItem(
            event_id=derived_id(
                "wi", accepted.sender, accepted.event_id, child_event.match.child_key, queue.value
            ),
            queue=queue,
            decision_due_at=due,
            **common,
        )
        for queue, due in queues
    ]


def duty_team_alert(item: WorkItem, now: datetime) -> DutyTeamAlert:
    """The alert that pages the Emergency Duty Team about a duty-team work item."""
    return DutyTeamAlert(
        event_id=derived_id("alert", item.event_id),
        work_item_id=item.event_id,
        source_event_id=item.source_event_id,
        child_key=item.child_key,
        priority=item.priority,
        reason="Child at immediate risk outside office hours",
        rationale=item.rationale,
        received_at=item.received_at,
        raised_at=now,
    )


@dataclass(frozen=True)
class Routed:
    """What routing one child event produced: outputs to publish, and the history to store."""

    outputs: list[WorkItem | DutyTeamAlert | Notified | AgendaItem | Outcome]
    #: The child's history with this event recorded; None when there is nothing to store.
    history: ChildHistory | None
    #: Why nothing was routed (a redelivery, a consent event), for the log; None when routed.
    not_routed: str | None = None


def route_child_event(
    child_event: ChildEvent,
    history: ChildHistory,
    rules: Rules,
    calendar: OfficeCalendar,
    now: datetime,
    *,
    recipients: Recipients,
) -> Routed:
    """The routing agent's step: one child event and the child's history in, outputs out.

    A child event decided before is being delivered again (at-least-once): nothing is published
    again, its outcome exists. An event already in the history through another of its child
    events names this child twice (or two of its children are one child): that mention is not
    routed twice, and its outcome says so. A consent event is recorded in the history,
    where later routing finds it, and is not itself work. Anything else is routed: its work
    items, each duty-team item followed by the alert that pages the team; for a domestic-abuse
    police notification, each work item carries the MARAC criteria met and the school and health
    notifications follow (:mod:`streams.decisions.domestic_abuse`, with ``recipients``), then
    the child's item for the daily domestic-abuse meeting (:mod:`streams.decisions.meeting`). Every
    decided child event ends with its :class:`Outcome`, published last, so an outcome means all
    was sent.
    """
    accepted = child_event.accepted
    if history.has_decided(child_event.event_id):
        return Routed(outputs=[], history=None, not_routed="already routed")
    decided = child_event.event_id
    if history.has_seen(accepted.event_id, accepted.sender):
        reason = "the event names this child more than once: routed once"
        outcome = _outcome(child_event, OutcomeKind.NO_ACTION, reason, [], now)
        recorded = with_event(history, accepted, queue=None, level=None, child_event_id=decided)
        return Routed(outputs=[outcome], history=recorded, not_routed=reason)
    if accepted.event_type is EventType.CONSENT_EVENT:
        recorded = with_event(history, accepted, queue=None, level=None, child_event_id=decided)
        reason = "consent event recorded"
        outcome = _outcome(child_event, OutcomeKind.NO_ACTION, reason, [], now)
        return Routed(outputs=[outcome], history=recorded, not_routed=reason)
    summary = summarise(history, received_at(accepted))
    decision = route(child_event, summary, rules, calendar)
    outputs: list[WorkItem | DutyTeamAlert | Notified | AgendaItem | Outcome] = []
    marac = marac_flags(child_event, history, recipients.rules)
    items = work_items(child_event, summary, decision, now, marac)
    for item in items:
        outputs.append(item)
        if item.queue is Queue.DUTY_TEAM:
            outputs.append(duty_team_alert(item, now))
    # A task about a school that could not be told belongs with the child's daytime work item.
    daytime = next(item for item in items if item.queue is not Queue.DUTY_TEAM)
    notified = incident_notifications(
        child_event, recipients, task_reference=daytime.event_id, now=now
    )
    outputs.extend(notified)
    on_agenda = agenda_item(
        child_event,
        work_item_id=daytime.event_id,
        history=summary,
        marac=marac,
        told=[n for n in notified if isinstance(n, SchoolNotification | HealthNotification)],
        blocked=[n.error_code for n in notified if isinstance(n, MashTask) and n.error_code],
        school_names=recipients.directory.names,
    )
    if on_agenda is not None:
        outputs.append(on_agenda)
    queues = ", ".join(item.queue.value for item in items)
    ids = [item.event_id for item in items]
    outputs.append(_outcome(child_event, OutcomeKind.ROUTED, f"routed to {queues}", ids, now))
    updated = with_event(
        history,
        accepted,
        queue=decision.queue,
        level=decision.level,
        child_event_id=decided,
        marac=[flag.code for flag in marac],
    )
    return Routed(outputs=outputs, history=updated)


def _outcome(
    child_event: ChildEvent,
    kind: OutcomeKind,
    reason: str,
    work_item_ids: list[str],
    now: datetime,
) -> Outcome:
    accepted = child_event.accepted
    return Outcome(
        event_id=derived_id("outcome", child_event.event_id),
        child_event_id=child_event.event_id,
        source_event_id=accepted.event_id,
        sender=accepted.sender,
        child_key=child_event.match.child_key,
        kind=kind,
        reason=reason,
        work_item_ids=work_item_ids,
        decided_at=now,
    )
