"""The referrer is told the outcome, and nothing they did not give."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from schemas.models import NextStep, Queue, StaffRole, ThresholdDecision, WorkItem
from streams.decisions.notifications import CHILD_FIELDS, OUTCOME_FIELDS, outcome_notification
from tests.connectors.staff.synthetic import work_items

DECIDED = datetime(2026, 11, 30, 11, 0, tzinfo=UTC)


def decision_on(item: WorkItem, *, revises: str | None = None) -> ThresholdDecision:
    return ThresholdDecision(
        event_id="dec-notice-1" if revises is None else "dec-notice-2",
        work_item_id=item.event_id,
        child_key=item.child_key,
        source_event_id=item.source_event_id,
        queue=item.queue,
        level=3,
        next_step=NextStep.CHILD_IN_NEED_ASSESSMENT,
        rationale="Private reasons about the family that the referrer must never see.",
        decided_by="mw.synthetic",
        decided_by_role=StaffRole.MASH_WORKER,
        decided_at=DECIDED,
        revises=revises,
    )


@pytest.fixture(scope="module")
def item() -> WorkItem:
    return work_items(8, queue=Queue.MASH)[0]


def test_the_referrer_is_told_the_next_step_about_their_own_event(item: WorkItem) -> None:
    notice = outcome_notification(decision_on(item), item)

    assert notice.addressed_to_sender == item.sender
    assert notice.about_event_id == item.source_event_id
    assert notice.next_step is NextStep.CHILD_IN_NEED_ASSESSMENT
    assert notice.child.given_name == item.child.given_name
    assert notice.revised is False


def test_every_field_of_a_notification_is_one_the_scheme_allows(item: WorkItem) -> None:
    sent = outcome_notification(decision_on(item), item).model_dump(exclude_none=True)

    assert set(sent) <= OUTCOME_FIELDS
    assert set(sent["child"]) <= CHILD_FIELDS
    assert "Private reasons" not in str(sent)
    assert "level" not in sent


def test_a_decision_published_twice_notifies_once_and_a_revision_notifies_again(
    item: WorkItem,
) -> None:
    first = outcome_notification(decision_on(item), item)
    again = outcome_notification(decision_on(item), item)
    revision = outcome_notification(decision_on(item, revises="dec-notice-1"), item)

    assert first.event_id == again.event_id
    assert revision.event_id != first.event_id
    assert revision.revised is True


def test_a_decision_about_another_item_is_refused(item: WorkItem) -> None:
    other = work_items(8, queue=Queue.MASH)[1]

    with pytest.raises(ValueError, match="another work item"):
        outcome_notification(decision_on(other), item)
