"""A child's history: what the front door knows of each child, kept per child key. Pure functions.

The history lives in a Faust table (one JSON document per child key, read with
:func:`stored_history`) and is rebuilt from its changelog. Everything here is a pure function of the
history and an event's own time, never the wall clock, so replays give the same answers as the first
run.

Counts "in the last 12 months" look back 365 days from the event being routed and count only
*earlier* events: the summary describes what was known before this event arrived.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from schemas.models import (
    AcceptedEvent,
    ConsentAction,
    EventType,
    HistoryRecordType,
    HistorySummary,
    ImportedHistory,
    LawfulBasis,
    OpenPlan,
    Queue,
)
from streams.decisions.rules.facts import is_domestic_abuse

LOOK_BACK = timedelta(days=365)
REFERRAL_LEVEL = 3  # a contact routed at level 3 or 4 counts as a referral to social care
#: Each plan's place in OpenPlan, the order open plans are listed in (built once, not per event).
_PLAN_ORDER = {plan: place for place, plan in enumerate(OpenPlan)}
#: The sender of imported records; their ids are derived from the source system's own record ids.
IMPORTED = "history-import"


class PastEvent(BaseModel):
    """One earlier event for the child, reduced to what the history needs (no free text)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_id: str
    #: Who sent it: an event is its sender's id, as two partners may choose the same one. None
    #: on records kept before senders were recorded, which then match on the id alone.
    sender: str | None = None
    event_type: EventType
    received_at: datetime
    domestic_abuse: bool = False
    #: The MARAC criteria the incident met for the child (codes; streams.decisions.marac).
    marac: list[str] = Field(default_factory=list)
    queue: Queue | None = None
    level: int | None = None
    #: The child events of this event decided for this child (usually one; more when the event
    #: names the child twice), so a redelivered one is told from a second mention.
    child_event_ids: list[str] = Field(default_factory=list)


class Plan(BaseModel):
    """An open or closed plan or involvement (in need, protection, looked after, early help)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    plan: OpenPlan
    started_on: date
    ended_on: date | None = None


class Disclosure(BaseModel):
    """Information about the child shared without consent: a team manager's recorded override.

    The lawful basis and the recipients are kept; what was shared and why stay on the consent
    event itself (free text is not copied into the history).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_id: str
    sender: str
    decided_at: datetime
    lawful_basis: LawfulBasis
    shared_with: list[str] = Field(default_factory=list)


class ChildHistory(BaseModel):
    """Everything kept per child key."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    child_key: str
    events: list[PastEvent] = Field(default_factory=list)
    plans: list[Plan] = Field(default_factory=list)
    strategy_discussions: list[date] = Field(default_factory=list)
    #: Every sharing without consent, in the order recorded (domain brief: an override is a
    #: disclosure, recorded whether or not information was in the end shared).
    disclosures: list[Disclosure] = Field(default_factory=list)

    def has_decided(self, child_event_id: str) -> bool:
        """Whether this child event was decided already (it is being delivered again)."""
        return any(child_event_id in past.child_event_ids for past in self.events)

    def has_seen(self, event_id: str, sender: str) -> bool:
        """Whether this sender's event is already in the history."""
        return any(
            past.event_id == event_id and past.sender in (None, sender) for past in self.events
        )


def stored_history(stored: Mapping[str, Any] | None, child_key: str) -> ChildHistory:
    """A child's history from its stored JSON document, or an empty one for a new child."""
    return ChildHistory.model_validate(stored) if stored else ChildHistory(child_key=child_key)


def received_at(accepted: AcceptedEvent) -> datetime:
    return accepted.payload.received_at


def summarise(history: ChildHistory, at: datetime) -> HistorySummary:
    """The history as it stood just before ``at``."""
    since = at - LOOK_BACK
    earlier = [past for past in history.events if past.received_at < at]
    recent = [past for past in earlier if past.received_at >= since]
    referrals = [past for past in recent if past.level is not None and past.level >= REFERRAL_LEVEL]
    today = at.date()
    open_plans = sorted(
        {
            plan.plan
            for plan in history.plans
            if plan.started_on <= today and (plan.ended_on is None or plan.ended_on >= today)
        },
        key=_PLAN_ORDER.__getitem__,
    )
    last = max(earlier, key=lambda past: past.received_at, default=None)
    return HistorySummary(
        previous_events=len(earlier),
        contacts_12m=sum(1 for past in recent if past.event_type is EventType.CONTACT),
        referrals_12m=len(referrals),
        re_referral=bool(referrals),
        domestic_abuse_incidents_12m=sum(1 for past in recent if past.domestic_abuse),
        marac_flagged_12m=sum(1 for past in recent if past.marac),
        open_plans=open_plans,
        strategy_discussions_12m=sum(
            1 for day in history.strategy_discussions if since.date() <= day <= today
        ),
        last_queue=last.queue if last else None,
        last_event_at=last.received_at if last else None,
    )


def with_event(
    history: ChildHistory,
    accepted: AcceptedEvent,
    *,
    queue: Queue | None,
    level: int | None,
    child_event_id: str | None = None,
    marac: Sequence[str] = (),
) -> ChildHistory:
    """The history after this event was decided for the child, through ``child_event_id``, with
    the MARAC criteria (codes) the incident met for the child.

    An event already recorded is not recorded again; only the child event is added to it.
    """
    decided = [child_event_id] if child_event_id else []
    if history.has_seen(accepted.event_id, accepted.sender):
        events = [
            past.model_copy(update={"child_event_ids": [*past.child_event_ids, *decided]})
            if past.event_id == accepted.event_id
            and past.sender in (None, accepted.sender)
            and not set(decided) <= set(past.child_event_ids)
            else past
            for past in history.events
        ]
        return history.model_copy(update={"events": events})
    past = PastEvent(
        event_id=accepted.event_id,
        sender=accepted.sender,
        child_event_ids=decided,
        event_type=accepted.event_type,
        received_at=received_at(accepted),
        domestic_abuse=any(
            is_domestic_abuse(payload)
            for payload in (accepted.contact, accepted.police_notification)
            if payload is not None
        ),
        queue=queue,
        level=level,
        marac=list(marac),
    )
    return history.model_copy(
        update={
            "events": [*history.events, past],
            "disclosures": [*history.disclosures, *_disclosure(accepted)],
        }
    )


def _disclosure(accepted: AcceptedEvent) -> list[Disclosure]:
    consent = accepted.consent_event
    if consent is None or consent.action is not ConsentAction.OVERRIDDEN:
        return []
    if consent.lawful_basis is None:  # the contract refuses an override without one
        return []
    return [
        Disclosure(
            event_id=accepted.event_id,
            sender=accepted.sender,
            decided_at=consent.decided_at,
            lawful_basis=consent.lawful_basis,
            shared_with=list(consent.shared_with),
        )
    ]


_PLANS: dict[HistoryRecordType, OpenPlan] = {
    HistoryRecordType.CHILD_IN_NEED_PLAN: OpenPlan.CHILD_IN_NEED,
    HistoryRecordType.CHILD_PROTECTION_PLAN: OpenPlan.CHILD_PROTECTION,
    HistoryRecordType.LOOKED_AFTER: OpenPlan.LOOKED_AFTER,
    HistoryRecordType.EARLY_HELP: OpenPlan.EARLY_HELP,
}


def with_imported(history: ChildHistory, imported: ImportedHistory) -> ChildHistory:
    """The history after one imported record (unchanged if it was imported before)."""
    record = imported.record
    if record.record_type in _PLANS:
        plan = Plan(
            plan=_PLANS[record.record_type], started_on=record.started_on, ended_on=record.ended_on
        )
        if any(p.plan is plan.plan and p.started_on == plan.started_on for p in history.plans):
            return history
        return history.model_copy(update={"plans": [*history.plans, plan]})
    if record.record_type is HistoryRecordType.STRATEGY_DISCUSSION:
        if record.started_on in history.strategy_discussions:
            return history
        days = sorted([*history.strategy_discussions, record.started_on])
        return history.model_copy(update={"strategy_discussions": days})
    if history.has_seen(imported.event_id, IMPORTED):
        return history
    referral = record.record_type is HistoryRecordType.REFERRAL
    past = PastEvent(
        event_id=imported.event_id,
        sender=IMPORTED,
        event_type=EventType.POLICE_NOTIFICATION
        if record.record_type is HistoryRecordType.DOMESTIC_ABUSE_INCIDENT
        else EventType.CONTACT,
        # Exports carry dates, not times: noon keeps the day whatever the timezone.
        received_at=datetime.combine(record.started_on, time(12), tzinfo=UTC),
        domestic_abuse=record.record_type is HistoryRecordType.DOMESTIC_ABUSE_INCIDENT,
        queue=Queue.MASH if referral else None,
        level=REFERRAL_LEVEL if referral else None,
    )
    return history.model_copy(update={"events": [*history.events, past]})


def with_imported_records(
    records: Sequence[ImportedHistory], history_of: Callable[[str], ChildHistory]
) -> dict[str, ChildHistory]:
    """Each changed child's history after a batch of imported records, in the records' order.

    ``history_of(child_key)`` is a child's history before the batch. A child with several records
    in the batch is read once and written once; a child whose records were all imported before is
    left out (nothing to write).
    """
    before: dict[str, ChildHistory] = {}
    after: dict[str, ChildHistory] = {}
    for imported in records:
        key = imported.match.child_key
        if key not in after:
            before[key] = after[key] = history_of(key)
        after[key] = with_imported(after[key], imported)
    return {key: history for key, history in after.items() if history is not before[key]}
