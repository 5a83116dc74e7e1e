"""What the front door tells a referrer about the child they told it about. Pure.

An outcome notification carries only what the referrer gave, and the next step decided: the
fields it may carry are declared once (:data:`OUTCOME_FIELDS`, :data:`CHILD_FIELDS`) and a test
checks every notification against them, so a field added to the contract later is a decision
someone makes, not an accident. Never the rationale, the level of need, the history or what other
agencies said.
"""

from __future__ import annotations

from schemas.models import NotifiedChild, OutcomeNotification, ThresholdDecision, WorkItem
from streams.decisions.ids import derived_id

#: Everything an outcome notification may say.
OUTCOME_FIELDS = frozenset(
    {
        "event_id",
        "about_event_id",
        "about_event_type",
        "addressed_to_sender",
        "child",
        "next_step",
        "decided_at",
        "revised",
    }
)
#: What it may say of the child: what the referrer gave in their own event.
CHILD_FIELDS = frozenset({"given_name", "family_name", "date_of_birth", "partner_reference"})


def outcome_notification(decision: ThresholdDecision, item: WorkItem) -> OutcomeNotification:
    """The notice to the referrer of ``item`` that ``decision`` was made.

    The item's child is as the referrer named them (routing keeps each event's own account of
    the child), so nothing learnt from other agencies or the child's history is passed on.
    """
    if decision.work_item_id != item.event_id:
        raise ValueError("the decision is about another work item")
    child = item.child
    return OutcomeNotification(
        event_id=derived_id("outcome-notice", decision.event_id),
        about_event_id=item.source_event_id,
        about_event_type=item.source_event_type,
        addressed_to_sender=item.sender,
        child=NotifiedChild(
            given_name=child.given_name,
            family_name=child.family_name,
            date_of_birth=child.date_of_birth,
            partner_reference=child.partner_reference,
        ),
        next_step=decision.next_step,
        decided_at=decision.decided_at,
        revised=decision.revises is not None,
    )
