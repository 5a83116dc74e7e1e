"""What each outbound message says: e-mails that name nobody in their subject, a school's
notification that carries exactly the declared fields, and webhook bodies that sign and verify."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import pytest

from connectors.delivery.channels import EmailRoute, Recipient, WebhookRoute
from connectors.delivery.messages import INCIDENT_EMAIL_FIELDS, Links, email_for, webhook_body
from connectors.delivery.signing import new_secret, signed_headers, verify
from schemas.models import (
    Address,
    AlertStatus,
    ClockKind,
    Event,
    EventType,
    HealthNotification,
    IncidentNotification,
    MeetingTick,
    NotificationRecipient,
    SchoolNotification,
)
from streams.decisions.domestic_abuse import ENVELOPE_FIELDS
from streams.decisions.encompass import ENCOMPASS_FIELDS
from tests.connectors.delivery.synthetic import (
    FAKE,
    SUMMER,
    duty_team_alert,
    health_notification,
    information_request,
    outcome_notification,
    school_notification,
    timeliness_alert,
)

LINKS = Links(
    staff_url="https://staff.council.example.org/",
    acknowledge_url="https://staff.council.example.org/alerts/ack?token=signed",
)
DUTY_TEAM = Recipient("duty_team", EmailRoute(("edt@council.example.org",)))
DUTY_MANAGER = Recipient("duty_manager", EmailRoute(("manager@council.example.org",)))
SCHOOL = Recipient("school:990002", EmailRoute(("dsl@school.sch.example",)))
# "Label: value" at the start of a line: how a reader (and this test) finds a field.
LABELLED_LINE = re.compile(r"^([^:\n]+): (.*)$", re.MULTILINE)


def _every_message() -> list[Event]:
    return [
        duty_team_alert(),
        timeliness_alert(status=AlertStatus.OVERDUE),
        timeliness_alert(status=AlertStatus.CLEARED, satisfied_by="ack-0001"),
        *(
            timeliness_alert(clock=clock, status=status)
            for clock in ClockKind
            if clock is not ClockKind.DUTY_ALERT_ACKNOWLEDGEMENT
            for status in AlertStatus
        ),
        information_request(),
        outcome_notification(),
        outcome_notification(revised=True),
        school_notification(),
        school_notification(
            recipient=NotificationRecipient.LOCAL_AUTHORITY_EDUCATION, school_urn=None
        ),
        health_notification(),
        health_notification(recipient=NotificationRecipient.SCHOOL_NURSING),
    ]


def _personal_values(event: Event) -> list[str]:
    """The names, dates of birth and addresses an event carries, as they could be written."""
    values: list[str] = []
    child = getattr(event, "child", event)
    for name in ("given_name", "family_name"):
        value = getattr(child, name, None)
        if value:
            values.append(value)
    born = getattr(child, "date_of_birth", None)
    if born is not None:
        values += [born.isoformat(), f"{born.day} {born:%B %Y}", born.strftime("%d/%m/%Y")]
    location = getattr(event, "incident_location", None)
    if isinstance(location, Address):
        values += [part for part in (location.line1, location.town, location.postcode) if part]
    return values


@pytest.mark.parametrize("event", _every_message(), ids=lambda event: type(event).__name__)
@pytest.mark.parametrize("recipient", [DUTY_TEAM, DUTY_MANAGER, SCHOOL], ids=lambda r: r.code)
def test_every_message_renders_with_a_subject_that_names_nobody(
    event: Event, recipient: Recipient
) -> None:
    email = email_for(event, recipient, LINKS)
    assert email.subject
    assert "\n" not in email.subject
    assert email.body.strip()
    assert event.event_id in email.subject + email.body
    for personal in _personal_values(event):
        assert personal not in email.subject


def test_the_personal_values_checked_are_really_in_the_bodies() -> None:
    # The subject test above means something only if the bodies do carry such values.
    for event in (outcome_notification(), school_notification()):
        body = email_for(event, SCHOOL, LINKS).body
        assert all(value in body for value in _personal_values(event)[:2])


def test_a_duty_alert_says_why_how_urgent_and_when_and_links_to_the_item() -> None:
    alert = duty_team_alert()
    email = email_for(alert, DUTY_TEAM, LINKS)
    assert email.subject == "URGENT duty-team alert (red): work item item-0001:duty_team"
    assert alert.reason in email.body
    assert "Priority: red" in email.body
    assert alert.rationale[0].description in email.body
    assert "https://staff.council.example.org/items/item-0001%3Aduty_team" in email.body
    assert LINKS.acknowledge_url is not None
    assert LINKS.acknowledge_url in email.body
    # Shown as in England, the zone named: 19:42 UTC is 19:42 GMT in March.
    assert "Alert raised: Tuesday 10 March 2026, 19:42 GMT" in email.body
    # The rule's evidence stays behind the staff application's sign-in.
    assert alert.rationale[0].evidence not in email.body


def test_without_an_acknowledge_link_the_alert_points_to_the_staff_application() -> None:
    email = email_for(duty_team_alert(), DUTY_TEAM, Links("https://staff.council.example.org"))
    assert "Acknowledge the alert in the staff application" in email.body
    assert "token=" not in email.body


def test_summer_times_are_shown_in_british_summer_time() -> None:
    email = email_for(duty_team_alert(raised_at=SUMMER), DUTY_TEAM, LINKS)
    assert "Alert raised: Wednesday 1 July 2026, 07:05 BST" in email.body


def test_an_unacknowledged_alert_escalates_to_the_manager_and_is_resent_to_the_team() -> None:
    alert = timeliness_alert(clock=ClockKind.DUTY_ALERT_ACKNOWLEDGEMENT)
    to_manager = email_for(alert, DUTY_MANAGER, LINKS)
    to_team = email_for(alert, DUTY_TEAM, LINKS)
    assert to_manager.subject.startswith("ESCALATION: duty-team alert not acknowledged in time")
    assert "nobody in the duty team acknowledged a duty-team alert in time" in to_manager.body
    assert to_team.subject.startswith("URGENT re-sent, not acknowledged")
    assert "SENT AGAIN" in to_team.body
    assert "The duty manager has been told" in to_team.body
    for email in (to_manager, to_team):
        assert "To be acknowledged by: Tuesday 10 March 2026, 19:57 GMT" in email.body
        assert "/items/item-0001%3Aduty_team" in email.body


def test_a_late_acknowledgement_tells_the_manager_it_is_taken_on() -> None:
    alert = timeliness_alert(status=AlertStatus.CLEARED, satisfied_by="ack-0001")
    email = email_for(alert, DUTY_MANAGER, LINKS)
    assert email.subject == "Duty-team alert acknowledged late: work item item-0001:duty_team"
    assert "has now been acknowledged" in email.body
    assert "ack-0001" in email.body


def test_the_alert_a_clock_is_about_is_named_when_known() -> None:
    alert = timeliness_alert(subject_id="alert-0001-work-item")
    for recipient in (DUTY_TEAM, DUTY_MANAGER):
        assert "Duty-team alert: alert-0001-work-item" in email_for(alert, recipient, LINKS).body
    meeting = timeliness_alert(clock=ClockKind.MEETING_ACTION, subject_id="action-0007")
    assert "About: action-0007" in email_for(meeting, DUTY_MANAGER, LINKS).body


def test_another_clock_tells_the_team_managers_what_is_overdue() -> None:
    alert = timeliness_alert(clock=ClockKind.STRATEGY_DISCUSSION, work_item_id="item-0002:mash")
    email = email_for(alert, DUTY_MANAGER, LINKS)
    assert email.subject == "Overdue: strategy discussion for work item item-0002:mash"
    assert "/items/item-0002%3Amash" in email.body


def test_an_information_request_says_what_is_asked_about_which_event() -> None:
    request = information_request()
    email = email_for(request, SCHOOL, LINKS)
    assert email.subject == "Information request request-0001 about your event police-evt-0001"
    assert "About your police notification: police-evt-0001" in email.body
    for item in request.items:
        assert item.message in email.body
        assert item.field in email.body


def test_an_outcome_names_the_child_as_the_referrer_did_and_the_next_step() -> None:
    outcome = outcome_notification(about_event_type=EventType.CONTACT)
    email = email_for(outcome, SCHOOL, LINKS)
    assert email.subject == "Outcome of your contact contact-0001"
    assert outcome.child.given_name is not None
    assert f"Child's given name: {outcome.child.given_name}" in email.body
    assert "Child's date of birth: 2 April 2016" in email.body
    assert "Next step: early help" in email.body
    assert "Decided: Wednesday 1 July 2026, 07:05 BST" in email.body
    revised = email_for(outcome_notification(revised=True), SCHOOL, LINKS)
    assert revised.subject.startswith("Revised outcome")


# ---------------------------------------------------------------------------------------------
# A school's or health's notification: the declared fields and nothing else.


def test_the_declared_fields_are_the_schemes_minimum_and_envelope_references_only() -> None:
    declared = set(INCIDENT_EMAIL_FIELDS)
    assert set(ENCOMPASS_FIELDS) <= declared
    assert declared - set(ENCOMPASS_FIELDS) <= set(ENVELOPE_FIELDS)
    assert {"child_key", "rule"}.isdisjoint(declared)
    assert declared <= set(IncidentNotification.model_fields)
    assert len(set(INCIDENT_EMAIL_FIELDS.values())) == len(INCIDENT_EMAIL_FIELDS)


@pytest.mark.parametrize(
    "notification",
    [
        school_notification(),
        school_notification(child_voice="I hid upstairs.\nPerpetrator: " + FAKE.name()),
        school_notification(given_name=None, date_of_birth=None, incident_location=None),
        health_notification(),
    ],
    ids=["school", "voice-with-a-newline", "thin", "health"],
)
def test_the_notification_email_has_one_labelled_line_per_declared_field(
    notification: SchoolNotification | HealthNotification,
) -> None:
    body = email_for(notification, SCHOOL, LINKS).body
    labelled = LABELLED_LINE.findall(body)
    assert [label for label, _ in labelled] == list(INCIDENT_EMAIL_FIELDS.values())
    shown = dict(labelled)
    for name, label in INCIDENT_EMAIL_FIELDS.items():
        if getattr(notification, name) is None:
            assert shown[label] == "not given"


def test_the_notification_email_never_carries_the_police_narrative() -> None:
    narrative = (
        "The suspect, " + FAKE.name() + ", threw a glass at the victim in front of the children."
    )
    # The contract has no field for it: a notification built with one is refused outright.
    with pytest.raises(ValueError, match="circumstances"):
        school_notification(circumstances=narrative)
    notification = school_notification()
    body = email_for(notification, SCHOOL, LINKS).body
    assert notification.brief_circumstances is not None
    assert f"Brief circumstances: {notification.brief_circumstances}" in body
    # Nor the front door's own key for the child.
    assert notification.child_key not in body


def test_the_notification_email_shows_values_for_a_reader() -> None:
    body = email_for(school_notification(), SCHOOL, LINKS).body
    assert "Child present at the incident: yes" in body
    assert "Child seen or spoken to by police: no" in body
    assert "What the child said: not given" in body
    assert "Child's date of birth: 14 September 2017" in body
    assert "Incident date and time: Tuesday 10 March 2026, 17:42 GMT" in body
    assert "School URN: 990002" in body


def test_the_subjects_name_the_scheme_and_the_school() -> None:
    assert email_for(school_notification(), SCHOOL, LINKS).subject == (
        "Operation Encompass notification for school 990002: encompass-0001"
    )
    assert email_for(health_notification(), SCHOOL, LINKS).subject == (
        "Domestic abuse incident notification: encompass-0001"
    )


# ---------------------------------------------------------------------------------------------
# Webhook bodies.


@pytest.mark.parametrize("event", _every_message(), ids=lambda event: type(event).__name__)
def test_a_webhook_body_is_the_standard_payload_and_the_same_on_every_retry(
    event: Event,
) -> None:
    body = webhook_body(event)
    assert body == webhook_body(event.model_copy(deep=True))
    assert b" " not in body.split(b'"data":')[0]
    payload = json.loads(body)
    assert list(payload) == ["data", "timestamp", "type"]
    assert payload["type"] == type(event).__name__
    assert payload["data"] == event.model_dump(mode="json")
    assert body == json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()


@pytest.mark.parametrize(
    ("event", "created"),
    [
        (duty_team_alert(), "raised_at"),
        (timeliness_alert(), "raised_at"),
        (information_request(), "created_at"),
        (outcome_notification(), "decided_at"),
        (school_notification(), "created_at"),
        (health_notification(), "created_at"),
    ],
    ids=lambda value: value if isinstance(value, str) else type(value).__name__,
)
def test_the_webhook_timestamp_is_the_events_own_time(event: Event, created: str) -> None:
    payload = json.loads(webhook_body(event))
    moment = getattr(event, created)
    assert datetime.fromisoformat(payload["timestamp"]) == moment


def test_a_kind_of_event_nobody_receives_has_no_email_and_no_webhook() -> None:
    tick = MeetingTick(event_id="meeting-tick-0001", ticked_at=SUMMER)
    with pytest.raises(TypeError, match="MeetingTick"):
        email_for(tick, DUTY_TEAM, LINKS)
    with pytest.raises(TypeError, match="MeetingTick"):
        webhook_body(tick)


def test_a_signed_webhook_body_verifies_at_the_partner() -> None:
    secret = new_secret()
    route = WebhookRoute("https://police-west.example.org/webhooks/frontdoor", secret)
    request = information_request()
    body = webhook_body(request)
    sent_at = int(datetime(2026, 3, 10, 19, 43, tzinfo=UTC).timestamp())
    headers = signed_headers(route.secret, request.event_id, sent_at, body)
    assert verify(secret, headers, body, now=sent_at + 2) == request.event_id
    # A retry an hour later signs the same bytes under a new timestamp, and verifies too.
    retried = signed_headers(route.secret, request.event_id, sent_at + 3600, webhook_body(request))
    assert verify(secret, retried, body, now=sent_at + 3600) == request.event_id
