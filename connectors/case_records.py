"""A case-management system's records: threshold decisions, strategy discussions, conferences.

A local authority that keeps its case records in a case-management system (not in the staff
application) sends them through the gateway, and they must meet the same rules as the staff
application's forms: a rationale of substance, a strategy discussion only after the decision that
required it, a conference chaired by social care. :func:`checked_outputs` applies them, against
the work item as the staff application's queue store holds it, and returns every record to
publish: the record itself (a held discussion with its missing agencies worked out) and, for a
decision, the outcome notification to the referrer. Anything wrong raises
:class:`~schemas.errors.RecordRefusedError` naming each field, and nothing is published.
"""

from __future__ import annotations

from connectors.staff.store import ItemView
from schemas.errors import RecordRefusedError
from schemas.models import (
    ChildProtectionConference,
    Event,
    StrategyDiscussion,
    ThresholdDecision,
)
from streams.decisions.notifications import outcome_notification
from streams.decisions.strategy import (
    child_has_school,
    conference_problems,
    discussion_problems,
    held_discussion,
)
from streams.decisions.threshold import decision_problems

CaseRecord = ThresholdDecision | StrategyDiscussion | ChildProtectionConference


def checked_outputs(record: CaseRecord, view: ItemView | None, minimum_words: int) -> list[Event]:
    """The records to publish for ``record``, about the work item ``view`` (None: not known).

    ``minimum_words`` is the rules file's ``decisions.minimum_rationale_words``.
    """
    problems = _problems(record, minimum_words)
    if view is None or view.work_item.child_key != record.child_key:
        problems.append(
            (
                "work_item_id",
                f"no work item {record.work_item_id} for child {record.child_key} is on the "
                "queues (or it has not reached the staff store yet: retry in a minute)",
            )
        )
    elif isinstance(record, StrategyDiscussion) and record.decision_id not in {
        decision.event_id for decision in view.decisions
    }:
        problems.append(
            (
                "decision_id",
                f"no decision {record.decision_id} on work item {record.work_item_id}: record "
                "the decision that requires the discussion first",
            )
        )
    if problems:
        raise RecordRefusedError(
            "the record was not accepted: "
            + "; ".join(f"{field}: {message}" for field, message in problems),
            problems,
        )
    assert view is not None  # noqa: S101 - a missing item is a problem above
    if isinstance(record, ThresholdDecision):
        return [record, outcome_notification(record, view.work_item)]
    if isinstance(record, StrategyDiscussion):
        return [held_discussion(record, child_has_school(view.work_item.child))]
    return [record]


def _problems(record: CaseRecord, minimum_words: int) -> list[tuple[str, str]]:
    if isinstance(record, ThresholdDecision):
        return decision_problems(record, minimum_words)
    if isinstance(record, StrategyDiscussion):
        return discussion_problems(record, minimum_words)
    return conference_problems(record, minimum_words)
