"""The router as a pure function: a story for each of its own rules, properties for any input."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.models import (
    AcceptedEvent,
    Child,
    ChildEvent,
    ChildMatch,
    ConcernCategory,
    ConsentEvent,
    ConsentPosition,
    Contact,
    DutyTeamAlert,
    EventType,
    HistorySummary,
    MatchKind,
    Outcome,
    OutcomeKind,
    PoliceNotification,
    Priority,
    Queue,
    ServiceRequested,
    SourcePosition,
)
from streams.decisions.domestic_abuse import load_recipients
from streams.decisions.history import ChildHistory, stored_history
from streams.decisions.routing import Decision, route, route_child_event, work_items
from streams.decisions.rules import load_rules
from tests.helpers import consent_override, contact, police_notification

RULES = load_rules()
CALENDAR = RULES.office_calendar()
RECIPIENTS = load_recipients(RULES)
TUESDAY_10 = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
SATURDAY_22 = datetime(2026, 12, 5, 22, 0, tzinfo=UTC)
NO_HISTORY = HistorySummary()


KINDS = {
    Contact: EventType.CONTACT,
    PoliceNotification: EventType.POLICE_NOTIFICATION,
    ConsentEvent: EventType.CONSENT_EVENT,
}


def child_event(
    event: Contact | PoliceNotification | ConsentEvent, match: MatchKind = MatchKind.NEW
) -> ChildEvent:
    kind = KINDS[type(event)]
    accepted = AcceptedEvent.model_validate(
        {
            "event_id": event.event_id,
            "event_type": kind,
            "sender": "partner.synth",
            "source": SourcePosition(topic="t", partition=0, offset=1),
            "accepted_at": event.received_at,
            kind.value: event,
        }
    )
    return ChildEvent(
        event_id=f"ce-{event.event_id}",
        accepted=accepted,
        child_index=0,
        match=ChildMatch(child_key="ck-1", kind=match, score=0.8, reason="synthetic"),
    )


def decide(event: Contact | PoliceNotification, history: HistorySummary = NO_HISTORY) -> Decision:
    return route(child_event(event), history, RULES, CALENDAR)


def rules_of(decision: Decision) -> list[str]:
    return [entry.rule for entry in decision.rationale]


def early_help_contact(**changes: object) -> Contact:
    fields: dict[str, object] = {
        "concern_categories": [ConcernCategory.MENTAL_HEALTH],
        "service_requested": ServiceRequested.EARLY_HELP,
        "received_at": TUESDAY_10,
    }
    return contact(**(fields | changes))


def test_early_help_with_consent_goes_to_the_early_help_unit() -> None:
    decision = decide(early_help_contact())
    assert decision.queue is Queue.EARLY_HELP
    assert decision.level == 2
    assert decision.priority is Priority.GREEN
    assert decision.decision_due_at == TUESDAY_10 + timedelta(days=1)


def test_early_help_without_consent_goes_to_the_mash_for_a_consent_conversation() -> None:
    decision = decide(early_help_contact(consent=ConsentPosition.NOT_SOUGHT))
    assert decision.queue is Queue.MASH
    assert "router.consent-needed" in rules_of(decision)


def test_a_contact_that_fires_no_indicator_still_says_why_it_went_where_it_went() -> None:
    decision = decide(early_help_contact(concern_categories=[], service_requested="not_specified"))
    assert decision.level == 1
    assert rules_of(decision)[0] == "router.no-indicator"


def test_immediate_risk_in_office_hours_is_red_for_the_mash_and_alerts_nobody() -> None:
    decision = decide(early_help_contact(immediate_risk=True))
    assert decision.queue is Queue.MASH
    assert decision.priority is Priority.RED
    assert not decision.alerts_duty_team


def test_immediate_risk_out_of_hours_gives_the_duty_team_an_item_due_now() -> None:
    event = early_help_contact(immediate_risk=True, received_at=SATURDAY_22)
    decision = decide(event)

    items = work_items(child_event(event), NO_HISTORY, decision, SATURDAY_22)

    assert decision.alerts_duty_team
    assert [item.queue for item in items] == [Queue.DUTY_TEAM, Queue.MASH]
    assert items[0].decision_due_at == SATURDAY_22
    assert items[1].decision_due_at == datetime(2026, 12, 8, 8, 30, tzinfo=UTC)
    assert len({item.event_id for item in items}) == 2


def test_a_repeat_incident_raises_the_priority_one_step_and_says_which_indicator() -> None:
    notification = police_notification(received_at=TUESDAY_10)
    second = decide(notification, HistorySummary(domestic_abuse_incidents_12m=1))
    third = decide(notification, HistorySummary(domestic_abuse_incidents_12m=2))

    assert "router.priority-raised" not in rules_of(second)
    assert "router.priority-raised" in rules_of(third)
    order = [Priority.GREEN, Priority.AMBER, Priority.RED]
    assert order.index(third.priority) == order.index(second.priority) + 1


def test_a_possible_identity_match_is_said_in_the_rationale() -> None:
    decision = route(
        child_event(early_help_contact(), MatchKind.POSSIBLE), NO_HISTORY, RULES, CALENDAR
    )
    assert "router.possible-match" in rules_of(decision)


def test_the_routing_step_publishes_each_duty_team_item_with_its_alert_and_records_the_event() -> (
    None
):
    event = early_help_contact(immediate_risk=True, received_at=SATURDAY_22)
    history = ChildHistory(child_key="ck-1")

    routed = route_child_event(
        child_event(event), history, RULES, CALENDAR, SATURDAY_22, recipients=RECIPIENTS
    )

    kinds = [(type(output).__name__, getattr(output, "queue", None)) for output in routed.outputs]
    assert kinds == [
        ("WorkItem", Queue.DUTY_TEAM),
        ("DutyTeamAlert", None),
        ("WorkItem", Queue.MASH),
        ("Outcome", None),
    ]
    alert, outcome = routed.outputs[1], routed.outputs[3]
    assert isinstance(alert, DutyTeamAlert)
    assert alert.work_item_id == routed.outputs[0].event_id
    assert isinstance(outcome, Outcome)
    assert outcome.kind is OutcomeKind.ROUTED
    assert outcome.work_item_ids == [routed.outputs[0].event_id, routed.outputs[2].event_id]
    assert outcome.child_event_id == child_event(event).event_id
    assert routed.not_routed is None
    assert routed.history is not None
    assert routed.history.has_seen(event.event_id, "partner.synth")


def test_an_event_already_in_the_childs_history_is_not_routed_again() -> None:
    event = early_help_contact()
    first = route_child_event(
        child_event(event),
        ChildHistory(child_key="ck-1"),
        RULES,
        CALENDAR,
        TUESDAY_10,
        recipients=RECIPIENTS,
    )
    assert first.history is not None

    again = route_child_event(
        child_event(event), first.history, RULES, CALENDAR, TUESDAY_10, recipients=RECIPIENTS
    )

    assert again.outputs == []
    assert again.history is None
    assert again.not_routed == "already routed"


def test_a_child_named_twice_in_one_event_is_routed_once_and_the_second_mention_says_so() -> None:
    event = early_help_contact()
    first = child_event(event)
    second = first.model_copy(update={"event_id": f"{first.event_id}-2", "child_index": 1})
    routed = route_child_event(
        first, ChildHistory(child_key="ck-1"), RULES, CALENDAR, TUESDAY_10, recipients=RECIPIENTS
    )
    assert routed.history is not None

    mention = route_child_event(
        second, routed.history, RULES, CALENDAR, TUESDAY_10, recipients=RECIPIENTS
    )
    assert mention.history is not None
    redelivered = route_child_event(
        second, mention.history, RULES, CALENDAR, TUESDAY_10, recipients=RECIPIENTS
    )

    (outcome,) = mention.outputs
    assert isinstance(outcome, Outcome)
    assert outcome.kind is OutcomeKind.NO_ACTION
    assert outcome.child_event_id == second.event_id
    assert "more than once" in outcome.reason
    assert (redelivered.outputs, redelivered.not_routed) == ([], "already routed")


def test_a_consent_event_is_recorded_in_the_history_and_is_not_work() -> None:
    event = consent_override(decided_at=TUESDAY_10)
    history = stored_history(None, "ck-1")

    routed = route_child_event(
        child_event(event), history, RULES, CALENDAR, TUESDAY_10, recipients=RECIPIENTS
    )

    (outcome,) = routed.outputs
    assert isinstance(outcome, Outcome)
    assert (outcome.kind, outcome.reason) == (OutcomeKind.NO_ACTION, "consent event recorded")
    assert outcome.work_item_ids == []
    assert routed.not_routed == "consent event recorded"
    assert routed.history is not None
    assert routed.history.has_seen(event.event_id, "partner.synth")
    assert stored_history(routed.history.model_dump(mode="json"), "ck-1") == routed.history


def test_a_consent_override_is_recorded_as_a_disclosure_on_the_childs_history_once() -> None:
    event = consent_override(decided_at=TUESDAY_10)
    history = stored_history(None, "ck-1")

    routed = route_child_event(
        child_event(event), history, RULES, CALENDAR, TUESDAY_10, recipients=RECIPIENTS
    )
    assert routed.history is not None
    again = route_child_event(
        child_event(event), routed.history, RULES, CALENDAR, TUESDAY_10, recipients=RECIPIENTS
    )

    [disclosure] = routed.history.disclosures
    assert disclosure.event_id == event.event_id
    assert disclosure.lawful_basis is event.lawful_basis
    assert disclosure.shared_with == event.shared_with
    assert again.history is None  # a redelivery changes nothing
    given = consent_override(action="given", lawful_basis=None, rationale=None)
    given = given.model_copy(update={"information_shared": None, "shared_with": []})
    recorded = route_child_event(
        child_event(given), history, RULES, CALENDAR, TUESDAY_10, recipients=RECIPIENTS
    )
    assert recorded.history is not None
    assert recorded.history.disclosures == []


def test_work_item_ids_are_the_same_every_time_the_same_event_is_routed() -> None:
    event = early_help_contact()
    first = work_items(child_event(event), NO_HISTORY, decide(event), TUESDAY_10)
    again = work_items(child_event(event), NO_HISTORY, decide(event), TUESDAY_10 + timedelta(1))
    assert [item.event_id for item in first] == [item.event_id for item in again]


_moments = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC)
)


@settings(max_examples=200, deadline=None)
@given(
    concerns=st.lists(st.sampled_from(list(ConcernCategory)), max_size=3, unique=True),
    immediate_risk=st.booleans(),
    consent=st.sampled_from(list(ConsentPosition)),
    service=st.sampled_from(list(ServiceRequested)),
    received=_moments,
    incidents=st.integers(min_value=0, max_value=6),
    contacts=st.integers(min_value=0, max_value=6),
    born=st.dates(min_value=date(2008, 1, 1), max_value=date(2024, 12, 31)),
)
def test_every_decision_has_a_reason_is_due_after_receipt_and_urgent_never_goes_below_mash(  # noqa: PLR0917 - one argument per hypothesis strategy
    concerns: list[ConcernCategory],
    immediate_risk: bool,
    consent: ConsentPosition,
    service: ServiceRequested,
    received: datetime,
    incidents: int,
    contacts: int,
    born: date,
) -> None:
    event = contact(
        concern_categories=concerns,
        immediate_risk=immediate_risk,
        consent=consent,
        service_requested=service,
        received_at=received,
        children=[Child(given_name="Amelia", date_of_birth=born)],
    )
    history = HistorySummary(domestic_abuse_incidents_12m=incidents, contacts_12m=contacts)

    decision = decide(event, history)

    assert decision.rationale
    assert 1 <= decision.level <= 4
    assert decision.decision_due_at > received
    if immediate_risk:
        assert decision.queue is Queue.MASH
        assert decision.priority is Priority.RED
    if decision.queue is Queue.EARLY_HELP:
        assert consent is ConsentPosition.GIVEN
        assert decision.level <= 2
