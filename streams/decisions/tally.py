"""The front door's day in numbers, counted from the events on its topics. Pure.

:class:`Tally` is given every record of a run (partner events from the intake topics, and what
the pipeline, the staff and the delivery service published) in any order, and as often as a
redelivery brings it: everything is counted once, by its event id. :meth:`Tally.summary` is what
``frontdoor demo`` prints, and what its test compares with a day whose answers are known.

What counts as what:

* **events in**: distinct partner events (sender and event id) by the agency they came from (a
  contact's referrer, the police for a notification, the local authority for a consent event,
  which records the family's answer: :func:`~streams.decisions.requests.addressed_agency`); a
  second copy of one is a **duplicate absorbed**.
* **work items**: distinct work items by queue and priority.
* **decisions on time**: of the work items that have a decision, the share whose first decision
  (not a revision) was recorded at or before the item's decision due time; items on the MASH and
  early-help queues with none are **undecided**.
* **notifications**: each outbound message to each recipient, by what it came to last:
  delivered, waiting at the gateway for the partner to fetch it, failed (a person told instead),
  or still being retried.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from schemas.models import (
    PARTNER_EVENT_MODELS,
    AcceptedEvent,
    Agency,
    AlertAcknowledgement,
    AlertStatus,
    DeadLetter,
    DeliveryState,
    DeliveryStatus,
    DiscussionStatus,
    DutyTeamAlert,
    Event,
    EventType,
    InformationRequest,
    MashTask,
    Outcome,
    Queue,
    StrategyDiscussion,
    ThresholdDecision,
    TimelinessAlert,
    WorkItem,
)
from streams.decisions.figures import DECISION_QUEUES
from streams.decisions.requests import addressed_agency

#: The later of two statuses of one message to one recipient wins; a final one over a retry.
_STATE_RANK = {
    DeliveryState.RETRYING: 0,
    DeliveryState.AVAILABLE: 1,
    DeliveryState.FAILED: 2,
    DeliveryState.DELIVERED: 2,
}


_EVENT_TYPES = {model: event_type for event_type, model in PARTNER_EVENT_MODELS.items()}


@dataclass(frozen=True)
class DecisionTimeliness:
    decided: int
    on_time: int
    undecided: int

    @property
    def on_time_share(self) -> float | None:
        return self.on_time / self.decided if self.decided else None


@dataclass(frozen=True)
class DaySummary:
    """What :class:`Tally` counted; every mapping lists only what occurred."""

    events_in: dict[Agency, Counter[EventType]]
    duplicates_absorbed: int
    accepted: int
    work_items: dict[Queue, Counter[str]]
    information_requests: Counter[Agency]
    duty_alerts: int
    duty_alerts_acknowledged: int
    timeliness_overdue: Counter[str]
    notifications: dict[str, Counter[DeliveryState]]
    dead_letters: Counter[str]
    mash_tasks: Counter[str]
    decisions: DecisionTimeliness
    strategy_discussions_held: int
    outcomes: int

    @property
    def events_in_total(self) -> int:
        return sum(sum(counts.values()) for counts in self.events_in.values())


@dataclass
class Tally:
    """Counts a run's records once each, whatever order and however often they arrive."""

    _partner_events: dict[tuple[str, str], Event] = field(default_factory=dict)
    _partner_messages: int = 0
    _accepted: set[tuple[str, str]] = field(default_factory=set)
    _work_items: dict[str, WorkItem] = field(default_factory=dict)
    _requests: dict[str, InformationRequest] = field(default_factory=dict)
    _alerts: set[str] = field(default_factory=set)
    _acknowledged: set[str] = field(default_factory=set)
    _overdue: dict[str, TimelinessAlert] = field(default_factory=dict)
    _deliveries: dict[tuple[str, str, str], DeliveryStatus] = field(default_factory=dict)
    _dead_letters: dict[str, DeadLetter] = field(default_factory=dict)
    _tasks: dict[str, MashTask] = field(default_factory=dict)
    _first_decisions: dict[str, ThresholdDecision] = field(default_factory=dict)
    _held: set[str] = field(default_factory=set)
    _outcomes: set[str] = field(default_factory=set)

    def partner_event(self, event: Event, sender: str) -> None:
        """A message on an intake topic (a copy of one counts as a duplicate)."""
        self._partner_messages += 1
        self._partner_events.setdefault((sender, event.event_id), event)

    def observe(self, event: Event) -> None:  # noqa: PLR0912 - one branch a record type
        """Anything else the run published."""
        if isinstance(event, AcceptedEvent):
            self._accepted.add((event.sender, event.event_id))
        elif isinstance(event, WorkItem):
            self._work_items.setdefault(event.event_id, event)
        elif isinstance(event, InformationRequest):
            self._requests.setdefault(event.event_id, event)
        elif isinstance(event, DutyTeamAlert):
            self._alerts.add(event.event_id)
        elif isinstance(event, AlertAcknowledgement):
            self._acknowledged.add(event.alert_id)
        elif isinstance(event, TimelinessAlert):
            if event.status is AlertStatus.OVERDUE:
                self._overdue.setdefault(event.clock_id, event)
        elif isinstance(event, DeliveryStatus):
            self._delivery(event)
        elif isinstance(event, DeadLetter):
            self._dead_letters.setdefault(event.event_id, event)
        elif isinstance(event, MashTask):
            self._tasks.setdefault(event.event_id, event)
        elif isinstance(event, ThresholdDecision):
            self._decision(event)
        elif isinstance(event, StrategyDiscussion):
            if event.status is DiscussionStatus.HELD:
                self._held.add(event.discussion_id)
        elif isinstance(event, Outcome):
            self._outcomes.add(event.event_id)

    def _delivery(self, status: DeliveryStatus) -> None:
        # A recipient reached two ways (e-mail and a webhook) is two deliveries.
        key = (status.message_id, status.recipient, status.channel.value)
        known = self._deliveries.get(key)
        if known is None or (_STATE_RANK[status.state], status.attempt) >= (
            _STATE_RANK[known.state],
            known.attempt,
        ):
            self._deliveries[key] = status

    def _decision(self, decision: ThresholdDecision) -> None:
        if decision.revises is not None:
            return
        known = self._first_decisions.get(decision.work_item_id)
        if known is None or decision.decided_at < known.decided_at:
            self._first_decisions[decision.work_item_id] = decision

    # -- what a run waits for -------------------------------------------------------------------

    @property
    def partner_messages(self) -> int:
        """Messages read from the intake topics, copies included."""
        return self._partner_messages

    def undelivered(self) -> list[tuple[str, str, str]]:
        """Messages to a recipient still being retried (message id, recipient, channel)."""
        retrying = DeliveryState.RETRYING
        return [key for key, status in self._deliveries.items() if status.state is retrying]

    def delivered_message_ids(self) -> set[str]:
        """Outbound messages with at least one status, or a task saying none could be sent."""
        told = {task.reference for task in self._tasks.values()}
        return {message_id for message_id, _, _ in self._deliveries} | told

    # -- the numbers ------------------------------------------------------------------------------

    def summary(self) -> DaySummary:
        events_in: dict[Agency, Counter[EventType]] = {}
        for event in self._partner_events.values():
            by_type = events_in.setdefault(addressed_agency(event), Counter())
            by_type[_EVENT_TYPES[type(event)]] += 1
        work_items: dict[Queue, Counter[str]] = {}
        for item in self._work_items.values():
            work_items.setdefault(item.queue, Counter())[item.priority.value] += 1
        notifications: dict[str, Counter[DeliveryState]] = {}
        for status in self._deliveries.values():
            notifications.setdefault(status.message_type, Counter())[status.state] += 1
        return DaySummary(
            events_in=events_in,
            duplicates_absorbed=self._partner_messages - len(self._partner_events),
            accepted=len(self._accepted),
            work_items=work_items,
            information_requests=Counter(
                request.addressed_to_agency for request in self._requests.values()
            ),
            duty_alerts=len(self._alerts),
            duty_alerts_acknowledged=len(self._acknowledged & self._alerts),
            timeliness_overdue=Counter(alert.clock.value for alert in self._overdue.values()),
            notifications=notifications,
            dead_letters=Counter(letter.error_code for letter in self._dead_letters.values()),
            mash_tasks=Counter(task.kind.value for task in self._tasks.values()),
            decisions=self._timeliness(),
            strategy_discussions_held=len(self._held),
            outcomes=len(self._outcomes),
        )

    def _timeliness(self) -> DecisionTimeliness:
        decided = on_time = undecided = 0
        for item in self._work_items.values():
            if item.queue not in DECISION_QUEUES:
                continue
            decision = self._first_decisions.get(item.event_id)
            if decision is None:
                undecided += 1
                continue
            decided += 1
            on_time += decision.decided_at <= item.decision_due_at
        return DecisionTimeliness(decided=decided, on_time=on_time, undecided=undecided)
