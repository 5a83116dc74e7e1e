"""A child's chronology: every step, in time order, ids and codes in the summary, the reasons in
the details only.

The story: a school's contact about Amelia on a Saturday night, at immediate risk, goes through
the pipeline's own pure steps (identification asks the school for her date of birth; routing
pages the duty team and queues her for the MASH). A team manager overrides consent on Sunday and
shares records with the police and health. On Wednesday, late, a MASH worker decides level 4 and
a strategy discussion; the overdue decision clock clears; the discussion is convened and held
without health, and a section 47 enquiry starts. Oscar, another child, is in the same records and
must not appear. All data is synthetic.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from schemas.models import (
    AcceptedEvent,
    AcknowledgedVia,
    Agency,
    AlertAcknowledgement,
    AlertStatus,
    Child,
    ChildEvent,
    ChildMatch,
    ChildProtectionConference,
    ClockKind,
    ConcernCategory,
    ConsentEvent,
    Contact,
    DeliveryChannel,
    DeliveryState,
    DeliveryStatus,
    DiscussionStatus,
    DutyTeamAlert,
    Event,
    EventType,
    InformationRequest,
    MatchKind,
    NextStep,
    PoliceNotification,
    Queue,
    RequestedItem,
    RequestReason,
    SchoolNotification,
    SourcePosition,
    StaffRole,
    StrategyDiscussion,
    ThresholdDecision,
    TimelinessAlert,
    WorkItem,
)
from streams.decisions.chronology import ChronologyEntry, chronology
from streams.decisions.domestic_abuse import load_recipients
from streams.decisions.history import stored_history
from streams.decisions.identification import identify
from streams.decisions.routing import route_child_event
from streams.decisions.rules import load_rules
from tests.connectors.staff.synthetic import routed_events
from tests.helpers import consent_override, contact, police_notification

RULES = load_rules()
RECIPIENTS = load_recipients(RULES)
SCHOOL = "school.990001"
SATURDAY_22 = datetime(2026, 11, 28, 22, 0, tzinfo=UTC)
SUNDAY_9 = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)
WEDNESDAY_11 = datetime(2026, 12, 2, 11, 0, tzinfo=UTC)
DECISION_RATIONALE = (
    "Bruising seen by the school and the police attended overnight: the threshold for a "
    "strategy discussion is met today."
)
DISCUSSION_RATIONALE = (
    "Police and children's social care agree a joint section 47 enquiry starts this afternoon."
)
CONFERENCE_RATIONALE = (
    "The conference agreed the child is at continuing risk of physical harm and needs a plan."
)
OVERRIDE_RATIONALE = "Seeking consent would place the child at risk of significant harm."
SHARED = "Police and health records of the last 12 months."

SOURCE_TYPES = {
    Contact: EventType.CONTACT,
    PoliceNotification: EventType.POLICE_NOTIFICATION,
    ConsentEvent: EventType.CONSENT_EVENT,
}


def accepted(payload: Contact | PoliceNotification | ConsentEvent, sender: str) -> AcceptedEvent:
    kind = SOURCE_TYPES[type(payload)]
    return AcceptedEvent.model_validate(
        {
            "event_id": payload.event_id,
            "event_type": kind,
            "sender": sender,
            "source": SourcePosition(topic="synthetic", partition=0, offset=1),
            "accepted_at": payload.received_at,
            kind.value: payload,
        }
    )


def through_the_pipeline(
    payload: Contact | PoliceNotification, sender: str
) -> tuple[list[ChildEvent], list[Event]]:
    """Identification and routing, pure, with no history: the child events and every output."""
    event = accepted(payload, sender)
    identified = identify(event, {}, RULES, event.accepted_at)
    outputs: list[Event] = list(identified.outputs)
    for child_event in identified.child_events:
        key = child_event.match.child_key
        routed = route_child_event(
            child_event,
            stored_history(None, key),
            RULES,
            RULES.office_calendar(),
            event.accepted_at,
            recipients=RECIPIENTS,
        )
        outputs.extend(routed.outputs)
    return identified.child_events, outputs


def story() -> tuple[str, list[Event]]:
    """Amelia's records and Oscar's, as the topics would hold them, read topic by topic."""
    the_contact = contact(
        received_at=SATURDAY_22,
        immediate_risk=True,
        concern_categories=[ConcernCategory.PHYSICAL_ABUSE],
        children=[Child(given_name="Amelia", family_name="Thornbury", school_urn="990001")],
    )
    child_events, outputs = through_the_pipeline(the_contact, SCHOOL)
    key = child_events[0].match.child_key
    items = [o for o in outputs if isinstance(o, WorkItem)]
    mash = next(item for item in items if item.queue is Queue.MASH)

    override = consent_override(
        received_at=SUNDAY_9,
        decided_at=SUNDAY_9 - timedelta(minutes=30),
        contact_event_id=the_contact.event_id,
    )
    consent = ChildEvent(
        event_id="ce-consent-1",
        accepted=accepted(override, "la.synth"),
        child_index=0,
        match=ChildMatch(child_key=key, kind=MatchKind.CONFIRMED, score=1.0, reason="same child"),
    )
    decision = ThresholdDecision(
        event_id="decision-1",
        work_item_id=mash.event_id,
        child_key=key,
        source_event_id=the_contact.event_id,
        queue=Queue.MASH,
        level=4,
        next_step=NextStep.STRATEGY_DISCUSSION,
        rationale=DECISION_RATIONALE,
        decided_by="mash.worker1",
        decided_by_role=StaffRole.MASH_WORKER,
        decided_at=WEDNESDAY_11,
    )
    overdue, cleared = (
        TimelinessAlert(
            event_id=f"timeliness-{status.value}",
            clock_id="clock-decision-1",
            clock=ClockKind.DECISION,
            child_key=key,
            work_item_id=mash.event_id,
            status=status,
            started_at=SATURDAY_22,
            due_at=mash.decision_due_at,
            raised_at=raised,
            satisfied_by="decision-1" if status is AlertStatus.CLEARED else None,
        )
        for status, raised in (
            (AlertStatus.OVERDUE, mash.decision_due_at),
            (AlertStatus.CLEARED, WEDNESDAY_11),  # at the very instant of the decision
        )
    )
    discussions = [
        StrategyDiscussion(
            event_id=f"discussion-1-{status.value}",
            discussion_id="sd-1",
            decision_id="decision-1",
            work_item_id=mash.event_id,
            child_key=key,
            status=status,
            at=at,
            recorded_by="team.manager1",
            recorded_by_role=StaffRole.TEAM_MANAGER,
            invitees=[Agency.LOCAL_AUTHORITY, Agency.POLICE, Agency.HEALTH, Agency.EDUCATION],
            **extra,
        )
        for status, at, extra in (
            (DiscussionStatus.CONVENED, WEDNESDAY_11 + timedelta(hours=1), {}),
            (
                DiscussionStatus.HELD,
                WEDNESDAY_11 + timedelta(hours=4),
                {
                    "attendees": [Agency.LOCAL_AUTHORITY, Agency.POLICE, Agency.EDUCATION],
                    "section_47": True,
                    "rationale": DISCUSSION_RATIONALE,
                    "missing_agencies": [Agency.HEALTH],
                },
            ),
        )
    ]
    conference = ChildProtectionConference(
        event_id="icpc-00000001",
        discussion_id="sd-1",
        work_item_id=mash.event_id,
        child_key=key,
        held_at=WEDNESDAY_11 + timedelta(days=14),
        recorded_by="team.manager1",
        recorded_by_role=StaffRole.TEAM_MANAGER,
        attendees=[Agency.LOCAL_AUTHORITY, Agency.POLICE, Agency.HEALTH, Agency.EDUCATION],
        child_protection_plan=True,
        rationale=CONFERENCE_RATIONALE,
    )
    oscar_events, oscar_outputs = through_the_pipeline(
        police_notification(received_at=SATURDAY_22 + timedelta(minutes=30)), "police.synth"
    )
    assert key not in {event.match.child_key for event in oscar_events}
    other_decision = decision.model_copy(
        update={"event_id": "decision-oscar", "child_key": oscar_events[0].match.child_key}
    )
    # Topic by topic, as the command reads them: the child events, requests, queues, alerts...
    return key, [
        *child_events,
        consent,
        *oscar_events,
        *(o for o in outputs + oscar_outputs if isinstance(o, InformationRequest)),
        *(o for o in outputs + oscar_outputs if isinstance(o, WorkItem | DutyTeamAlert)),
        decision,
        other_decision,
        *discussions,
        conference,
        overdue,
        cleared,
    ]


def kinds(entries: list[ChronologyEntry]) -> list[str]:
    return [entry.kind for entry in entries]


def test_every_step_of_the_childs_story_is_told_in_time_order() -> None:
    key, records = story()

    entries = chronology(key, records)

    assert kinds(entries) == [
        "contact",
        "information request",
        "routed",  # the duty team's item
        "routed",  # the MASH's
        "duty-team alert",
        "consent overridden",
        "timeliness alert",  # the decision overdue
        "decision",
        "timeliness alert",  # cleared, at the instant of the decision: after it
        "strategy discussion",  # convened
        "strategy discussion",  # held
        "conference",
    ]
    times = [entry.at for entry in entries]
    assert times == sorted(times)
    assert "to duty_team" in entries[2].summary
    assert "to mash" in entries[3].summary
    assert "overdue" in entries[6].summary
    assert "cleared" in entries[8].summary
    assert "satisfied by decision-1" in entries[8].summary
    assert "convened" in entries[9].summary
    assert "held" in entries[10].summary
    assert "child protection plan; attended" in entries[11].summary


def test_the_summaries_carry_ids_and_codes_and_the_rationale_is_in_the_details() -> None:
    key, records = story()
    items = [r for r in records if isinstance(r, WorkItem) and r.child_key == key]

    entries = {entry.event_id: entry for entry in chronology(key, records)}

    for item in items:
        routed = entries[item.event_id]
        assert routed.details is not None
        for reason in item.rationale:
            assert reason.rule in routed.summary
            assert reason.description in routed.details
            assert reason.evidence in routed.details
        assert f"level {item.level}" in routed.summary
        assert f"priority {item.priority.value}" in routed.summary
    decision = entries["decision-1"]
    assert "level 4" in decision.summary
    assert "next step strategy_discussion" in decision.summary
    assert "decided by mash.worker1 (mash_worker)" in decision.summary
    assert decision.details is not None
    assert DECISION_RATIONALE in decision.details
    held = entries["discussion-1-held"]
    assert "section 47 enquiry starts" in held.summary
    assert "FLAG missing agencies health" in held.summary
    assert "attended local_authority, police, education" in held.summary
    assert held.details is not None
    assert DISCUSSION_RATIONALE in held.details


def test_a_consent_override_is_a_disclosure_with_what_was_shared_and_with_whom_on_request() -> None:
    key, records = story()

    override = next(e for e in chronology(key, records) if e.kind == "consent overridden")

    assert "disclosure without consent" in override.summary
    assert "lawful basis safeguarding_of_children" in override.summary
    assert "shared with 2 recipient(s)" in override.summary
    assert "decided by team_manager at 2026-11-29 08:30" in override.summary
    assert override.details is not None
    assert OVERRIDE_RATIONALE in override.details
    assert SHARED in override.details
    assert "shared with: police, health" in override.details
    assert "Morgan Ellery" in override.details  # who decided, a name: the details only


def test_no_summary_names_the_child_or_repeats_what_anyone_wrote() -> None:
    key, records = story()
    free_text = [
        "Amelia",
        "Thornbury",
        "Priya Hartley",
        "Morgan Ellery",
        "Synthetic description",
        DECISION_RATIONALE,
        DISCUSSION_RATIONALE,
        CONFERENCE_RATIONALE,
        OVERRIDE_RATIONALE,
        SHARED,
        "date of birth is missing",
    ]
    routed = [r for r in records if isinstance(r, WorkItem)]
    free_text += [reason.description for item in routed for reason in item.rationale]
    free_text += [reason.evidence for item in routed for reason in item.rationale]

    summaries = "\n".join(entry.summary for entry in chronology(key, records))

    assert [text for text in free_text if text in summaries] == []


def test_another_childs_records_are_left_out() -> None:
    key, records = story()
    others = {
        r.event_id
        for r in records
        if isinstance(r, WorkItem | DutyTeamAlert | ThresholdDecision) and r.child_key != key
    }
    others |= {
        r.accepted.event_id
        for r in records
        if isinstance(r, ChildEvent) and r.match.child_key != key
    }
    others |= {
        r.event_id
        for r in records
        if isinstance(r, InformationRequest) and r.addressed_to_sender == "police.synth"
    }
    assert "decision-oscar" in others

    entries = chronology(key, records)

    assert {entry.event_id for entry in entries} & others == set()
    assert "police notification" not in kinds(entries)


def test_a_record_delivered_twice_appears_once() -> None:
    key, records = story()
    once = chronology(key, records)

    # At least once: the child events, a work item and the decision come again, later on.
    again: list[Event] = [
        r for r in records if isinstance(r, ChildEvent | WorkItem | ThresholdDecision)
    ]

    assert chronology(key, records + again) == once
    assert chronology(key, again + records) == once


def test_a_partner_event_naming_the_child_twice_is_one_step() -> None:
    key, records = story()
    first = next(r for r in records if isinstance(r, ChildEvent))
    second = first.model_copy(update={"event_id": "ce-second-mention", "child_index": 1})

    entries = chronology(key, [first, second])

    assert kinds(entries) == ["contact"]


def test_an_information_request_is_the_childs_when_it_is_about_one_of_the_childs_events() -> None:
    key, records = story()
    the_contact = next(r for r in records if isinstance(r, ChildEvent)).accepted
    request = InformationRequest(
        event_id="ir-about-the-contact",
        about_event_id=the_contact.event_id,
        about_event_type=EventType.CONTACT,
        addressed_to_agency=Agency.EDUCATION,
        addressed_to_sender=SCHOOL,
        reason=RequestReason.DATA_QUALITY,
        items=[
            RequestedItem(
                field="children.0.nhs_number",
                code="DQ-NHS-CHECK-DIGIT",
                message="child 1: the NHS number fails its check digit",
            )
        ],
        created_at=SATURDAY_22 + timedelta(minutes=5),
    )
    # Partners choose their ids: another sender's event with the same id is another event.
    elsewhere = request.model_copy(
        update={"event_id": "ir-elsewhere", "addressed_to_sender": "gp.synth"}
    )
    unrelated = request.model_copy(
        update={"event_id": "ir-unrelated", "about_event_id": "evt-someone-else"}
    )

    entries = chronology(key, [*records, request, elsewhere, unrelated])

    asked = [entry for entry in entries if entry.kind == "information request"]
    assert [entry.event_id for entry in asked][-1] == "ir-about-the-contact"
    assert {"ir-elsewhere", "ir-unrelated"} & {entry.event_id for entry in entries} == set()
    assert "children.0.nhs_number DQ-NHS-CHECK-DIGIT" in asked[-1].summary
    assert f"about contact {the_contact.event_id}" in asked[-1].summary
    assert (
        asked[-1].details == "children.0.nhs_number: child 1: the NHS number fails its check digit"
    )


def test_generated_traffic_each_childs_routings_and_alerts_and_nothing_else() -> None:
    routed = routed_events(80, start=SATURDAY_22)  # from a Saturday night: some duty alerts
    alerted = next(event for event in routed if isinstance(event, DutyTeamAlert))
    sources: dict[str, set[str]] = {}
    for item in routed:
        if isinstance(item, WorkItem):
            sources.setdefault(item.child_key, set()).add(item.source_event_id)
    busiest = max(sources, key=lambda key: len(sources[key]))
    assert len(sources[busiest]) > 2

    for key in (alerted.child_key, busiest):
        entries = chronology(key, reversed(routed))  # the order read in does not matter

        mine = {
            event.event_id
            for event in routed
            if isinstance(event, WorkItem | DutyTeamAlert) and event.child_key == key
        }
        assert {entry.event_id for entry in entries} == mine
        assert [entry.at for entry in entries] == sorted(entry.at for entry in entries)
    entries = chronology(alerted.child_key, routed)
    alert_at = kinds(entries).index("duty-team alert")
    item_at = [entry.event_id for entry in entries].index(alerted.work_item_id)
    assert item_at < alert_at
    assert entries[item_at].at == entries[alert_at].at  # routed and paged at one instant


def test_nothing_about_the_child_is_an_empty_chronology() -> None:
    _, records = story()

    assert chronology("ck-nobody", records) == []
    assert chronology("ck-nobody", []) == []


def test_a_domestic_abuse_incident_shows_who_was_told_under_which_rule_without_names() -> None:
    notification = police_notification(received_at=SATURDAY_22)
    child_events, outputs = through_the_pipeline(notification, "police.synth")
    oscar = child_events[0].match.child_key  # at Oakfield Primary School, aged 8

    entries = chronology(oscar, [*child_events, *outputs])

    [told] = [entry for entry in entries if entry.kind == "notified"]
    assert "school 990001 told of" in told.summary
    assert "under rule school" in told.summary
    assert "Oscar" not in told.summary
    assert "Pembleton" not in told.summary
    assert told.details is not None
    assert "brief circumstances:" in told.details


def test_the_school_told_at_0742_and_the_alert_acknowledged_are_on_the_chronology() -> None:
    notification = police_notification(received_at=SATURDAY_22)
    child_events, outputs = through_the_pipeline(notification, "police.synth")
    told = next(output for output in outputs if isinstance(output, SchoolNotification))
    monday_0742 = datetime(2026, 11, 30, 7, 42, tzinfo=UTC)
    delivered = DeliveryStatus(
        event_id="delivery-00000001",
        message_id=told.event_id,
        message_type="SchoolNotification",
        child_key=told.child_key,
        recipient=f"school:{told.school_urn}",
        channel=DeliveryChannel.EMAIL,
        address="dsl@oakfield.example.org",
        attempt=2,
        state=DeliveryState.DELIVERED,
        at=monday_0742,
    )
    acknowledged = AlertAcknowledgement(
        event_id="ack-00000001",
        alert_id="alert-00000001",
        work_item_id="wi-00000001",
        child_key=told.child_key,
        acknowledged_by="duty_team",
        via=AcknowledgedVia.EMAIL_LINK,
        acknowledged_at=SUNDAY_9,
    )

    entries = chronology(told.child_key, [*child_events, *outputs, delivered, acknowledged])

    [delivery] = [entry for entry in entries if entry.kind == "delivery"]
    assert delivery.at == monday_0742
    assert f"to school:{told.school_urn} by email" in delivery.summary
    assert "delivered" in delivery.summary
    assert "attempt 2" in delivery.summary
    [seen] = [entry for entry in entries if entry.kind == "alert acknowledged"]
    assert seen.summary == "alert-00000001 acknowledged by duty_team (email link)"
    assert entries[-1] == delivery
