"""The day's figures counted from the records of a run: each once, whatever the order."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from schemas.models import (
    AcceptedEvent,
    AcknowledgedVia,
    Agency,
    AlertAcknowledgement,
    ConsentEvent,
    DeadLetter,
    DeliveryChannel,
    DeliveryState,
    DeliveryStatus,
    Event,
    EventType,
    NextStep,
    Queue,
    Referrer,
    SourcePosition,
    StaffRole,
    ThresholdDecision,
    WorkItem,
)
from streams.decisions.ids import derived_id
from streams.decisions.tally import DecisionTimeliness, Tally
from tests.connectors.delivery.synthetic import (
    duty_team_alert,
    information_request,
    school_notification,
    timeliness_alert,
)
from tests.connectors.staff.synthetic import work_items
from tests.helpers import consent_override, contact, police_notification

ITEMS = work_items(12, queue=Queue.MASH)


def _accepted(event: Event, sender: str, event_type: EventType) -> AcceptedEvent:
    return AcceptedEvent.model_validate(
        {
            "event_id": event.event_id,
            "event_type": event_type,
            "sender": sender,
            "source": SourcePosition(topic="intake", partition=0, offset=1),
            "accepted_at": event.received_at,  # type: ignore[attr-defined]
            event_type.value: event,
        }
    )


def _decision(item: WorkItem, *, late: bool, revises: str | None = None) -> ThresholdDecision:
    at = item.decision_due_at + (timedelta(minutes=1) if late else timedelta(0))
    return ThresholdDecision(
        event_id=derived_id("decision", item.event_id, revises),
        work_item_id=item.event_id,
        child_key=item.child_key,
        source_event_id=item.source_event_id,
        queue=item.queue,
        level=3,
        next_step=NextStep.CHILD_IN_NEED_ASSESSMENT,
        rationale="Repeated concerns about neglect need an assessment of the child's needs now",
        decided_by="mw.okafor",
        decided_by_role=StaffRole.MASH_WORKER,
        decided_at=at + (timedelta(days=3) if revises else timedelta(0)),
        revises=revises,
    )


def _status(message: Event, state: DeliveryState, attempt: int) -> DeliveryStatus:
    return DeliveryStatus(
        event_id=f"status-{message.event_id}-{attempt}",
        message_id=message.event_id,
        message_type=type(message).__name__,
        recipient="school:990001",
        channel=DeliveryChannel.EMAIL,
        address="dsl@school.example.org",
        attempt=attempt,
        state=state,
        at=ITEMS[0].routed_at + timedelta(minutes=attempt),
    )


def test_a_day_is_counted_once_whatever_the_order_and_the_redeliveries() -> None:
    from_school = contact(
        referrer=Referrer(name="A Teacher", agency=Agency.EDUCATION, email="t@school.example.org")
    )
    notification = police_notification()
    consent: ConsentEvent = consent_override()
    mash_first, mash_second, mash_third = ITEMS[:3]
    alert = duty_team_alert()
    notice = school_notification()
    letter = DeadLetter(
        event_id="dead-0001",
        source=SourcePosition(topic="intake.contacts", partition=0, offset=9),
        sender="school.990001",
        error_code="FD-SCHEMA",
        reason="not a contact",
        dead_lettered_at=ITEMS[0].routed_at,
    )
    records: list[Event] = [
        _accepted(from_school, "school.990001", EventType.CONTACT),
        mash_first,
        mash_second,
        mash_third,
        _decision(mash_first, late=False),
        _decision(mash_first, late=True, revises=derived_id("decision", mash_first.event_id, None)),
        _decision(mash_second, late=True),
        information_request(),
        alert,
        AlertAcknowledgement(
            event_id="ack-0001",
            alert_id=alert.event_id,
            work_item_id=alert.work_item_id,
            child_key=alert.child_key,
            acknowledged_by="edt.nwosu",
            via=AcknowledgedVia.EMAIL_LINK,
            acknowledged_at=alert.raised_at + timedelta(minutes=4),
        ),
        timeliness_alert(),
        _status(notice, DeliveryState.RETRYING, 1),
        _status(notice, DeliveryState.DELIVERED, 2),
        letter,
    ]
    tally = Tally()
    for event, sender in ((from_school, "school.990001"), (notification, "police.synthetic")):
        tally.partner_event(event, sender)
    tally.partner_event(consent, "la.synthetic")
    tally.partner_event(from_school, "school.990001")  # the partner sent it twice
    for record in [*reversed(records), *records]:  # any order, and everything delivered again
        tally.observe(record)

    summary = tally.summary()

    assert summary.events_in == {
        Agency.EDUCATION: Counter({EventType.CONTACT: 1}),
        Agency.POLICE: Counter({EventType.POLICE_NOTIFICATION: 1}),
        Agency.LOCAL_AUTHORITY: Counter({EventType.CONSENT_EVENT: 1}),
    }
    assert summary.duplicates_absorbed == 1
    assert summary.accepted == 1
    assert list(summary.work_items) == [Queue.MASH]
    assert sum(summary.work_items[Queue.MASH].values()) == 3
    # The first decision counts (on time), not its later revision; the second was late, the
    # third item waits.
    assert summary.decisions == DecisionTimeliness(decided=2, on_time=1, undecided=1)
    assert summary.information_requests == Counter({Agency.POLICE: 1})
    assert (summary.duty_alerts, summary.duty_alerts_acknowledged) == (1, 1)
    assert summary.timeliness_overdue == Counter({"duty_alert_acknowledgement": 1})
    assert summary.notifications == {"SchoolNotification": Counter({DeliveryState.DELIVERED: 1})}
    assert summary.dead_letters == Counter({"FD-SCHEMA": 1})
    assert tally.undelivered() == []
    assert notice.event_id in tally.delivered_message_ids()


def test_a_message_still_being_retried_is_not_delivered_yet() -> None:
    notice = school_notification()
    tally = Tally()
    tally.observe(_status(notice, DeliveryState.RETRYING, 1))

    assert tally.undelivered() == [(notice.event_id, "school:990001", "email")]
    assert tally.summary().notifications == {
        "SchoolNotification": Counter({DeliveryState.RETRYING: 1})
    }


def test_an_empty_run_has_no_share_of_decisions_on_time() -> None:
    summary = Tally().summary()

    assert summary.events_in_total == 0
    assert summary.decisions.on_time_share is None
