"""What each outbound message says: its e-mail (subject and plain-text body) and its webhook body.

E-mail crosses systems the front door does not control, so what it says is decided here, once:

* Subjects carry ids and codes only, never a name, a date of birth or an address: a subject is
  shown in inbox lists, notification pop-ups and mail-server logs.
* A school's or health's notification carries exactly the scheme's minimum
  (:data:`INCIDENT_EMAIL_FIELDS`: :data:`streams.decisions.encompass.ENCOMPASS_FIELDS` and the
  references a reader needs to act on it), one ``Label: value`` line each, and nothing else
  about the child; a test compares the lines with the declaration.
* A duty-team alert says why, how urgent and when, and links to the work item in the staff
  application (behind its sign-in) for the rest.

Times are shown in Europe/London, with the zone named (GMT or BST). Bodies are rendered from the
Jinja2 templates beside this module, plain text, with undefined names an error.

:func:`webhook_body` is the Standard Webhooks payload: the same bytes on every retry, so that the
signature and the partner's idempotency hold. Pure: no clock, no I/O beyond the templates.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType
from urllib.parse import quote
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from connectors.delivery.channels import DUTY_TEAM, Recipient
from schemas.models import (
    Address,
    AlertStatus,
    ClockKind,
    DutyTeamAlert,
    Event,
    HealthNotification,
    IncidentNotification,
    InformationRequest,
    NotificationRecipient,
    OutcomeNotification,
    SchoolNotification,
    TimelinessAlert,
)

__all__ = ["INCIDENT_EMAIL_FIELDS", "Email", "Links", "email_for", "webhook_body"]

LONDON = ZoneInfo("Europe/London")
NOT_GIVEN = "not given"

#: Every line a school's or health's notification e-mail carries, field by field, with its
#: label: the scheme's minimum (ENCOMPASS_FIELDS), and from the envelope (ENVELOPE_FIELDS) only
#: the references a reader quotes back or acts on: which notification, about which police
#: notification, for which school, and by when it was due. Not the child key, the reason code
#: or the rule: they are the front door's own.
INCIDENT_EMAIL_FIELDS: Mapping[str, str] = MappingProxyType(
    {
        "event_id": "Notification reference",
        "about_event_id": "About police notification",
        "school_urn": "School URN",
        "due_by": "Due by",
        "police_reference": "Police reference",
        "given_name": "Child's given name",
        "family_name": "Child's family name",
        "date_of_birth": "Child's date of birth",
        "occurred_at": "Incident date and time",
        "incident_location": "Incident location",
        "present": "Child present at the incident",
        "seen_or_spoken_to": "Child seen or spoken to by police",
        "child_voice": "What the child said",
        "brief_circumstances": "Brief circumstances",
        "police_contact": "Police contact",
    }
)

# Operation Encompass covers the school and, for a child educated at home, the education team.
_EDUCATION = frozenset(
    {NotificationRecipient.SCHOOL, NotificationRecipient.LOCAL_AUTHORITY_EDUCATION}
)
_RECIPIENT_NAMES: Mapping[NotificationRecipient, str] = {
    NotificationRecipient.SCHOOL: "the school's designated safeguarding lead",
    NotificationRecipient.LOCAL_AUTHORITY_EDUCATION: "the local authority's education team",
    NotificationRecipient.HEALTH_VISITING: "the health visiting service",
    NotificationRecipient.SCHOOL_NURSING: "the school nursing service",
}


@dataclass(frozen=True)
class Links:
    """Where a message's reader goes next: the staff application, and for a duty-team alert
    the signed link that acknowledges it."""

    staff_url: str
    acknowledge_url: str | None = None

    def work_item(self, work_item_id: str) -> str:
        """The staff application's page of one work item."""
        return f"{self.staff_url.rstrip('/')}/items/{quote(work_item_id, safe='')}"


@dataclass(frozen=True)
class Email:
    subject: str
    body: str


def _one_line(text: str) -> str:
    """``text`` on one line: a value never starts a line of its own (a child's recorded words
    could otherwise read as another labelled field, or a subject as another header)."""
    return " ".join(text.split())


def _when(moment: datetime) -> str:
    """A time as a reader in England reads it, zone named: 'Tuesday 10 March 2026, 07:42 GMT'."""
    local = moment.astimezone(LONDON)
    return f"{local:%A} {local.day} {local:%B %Y, %H:%M %Z}"


def _day(day: date) -> str:
    return f"{day.day} {day:%B %Y}"


def _words(code: StrEnum) -> str:
    return code.value.replace("_", " ")


def _shown(value: object) -> str:
    """One field's value in a ``Label: value`` line; an absent one is "not given"."""
    if isinstance(value, Address):
        value = ", ".join(
            part for part in (value.line1, value.line2, value.town, value.postcode) if part
        )
    if isinstance(value, bool):
        text = "yes" if value else "no"
    elif isinstance(value, datetime):
        text = _when(value)
    elif isinstance(value, date):
        text = _day(value)
    elif isinstance(value, StrEnum):
        text = _words(value)
    else:
        text = "" if value is None else _one_line(str(value))
    return text or NOT_GIVEN


_TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).with_name("templates")),
    # Plain-text e-mail, not HTML: escaping would put &amp; in front of the reader.
    autoescape=False,  # noqa: S701
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)
_TEMPLATES.filters.update(when=_when, day=_day, words=_words, line=_one_line, shown=_shown)


def _render(template: str, **values: object) -> str:
    return _TEMPLATES.get_template(template).render(**values)


def email_for(event: Event, recipient: Recipient, links: Links) -> Email:
    """The e-mail that tells ``recipient`` of ``event``; a ``TypeError`` for a kind of event
    nobody is e-mailed (:meth:`Channels.recipients_of` has no recipient for it either)."""
    if isinstance(event, DutyTeamAlert):
        return Email(
            subject=f"URGENT duty-team alert ({event.priority.value}): work item "
            f"{event.work_item_id}",
            body=_render(
                "duty_team_alert.txt",
                alert=event,
                item_url=links.work_item(event.work_item_id),
                acknowledge_url=links.acknowledge_url,
            ),
        )
    if isinstance(event, TimelinessAlert):
        return _timeliness_email(event, recipient, links)
    if isinstance(event, InformationRequest):
        return Email(
            subject=f"Information request {event.event_id} about your event {event.about_event_id}",
            body=_render("information_request.txt", request=event),
        )
    if isinstance(event, OutcomeNotification):
        revised = "Revised outcome" if event.revised else "Outcome"
        return Email(
            subject=_one_line(
                f"{revised} of your {_words(event.about_event_type)} {event.about_event_id}"
            ),
            body=_render("outcome_notification.txt", outcome=event),
        )
    if isinstance(event, IncidentNotification):
        return _incident_email(event)
    raise TypeError(f"no e-mail is written for a {type(event).__name__}")


def _incident_email(notification: IncidentNotification) -> Email:
    """Exactly the declared fields, one labelled line each (:data:`INCIDENT_EMAIL_FIELDS`)."""
    fields = [
        (label, _shown(getattr(notification, name)))
        for name, label in INCIDENT_EMAIL_FIELDS.items()
    ]
    scheme = (
        "Operation Encompass notification"
        if notification.recipient in _EDUCATION
        else "Domestic abuse incident notification"
    )
    school = f" for school {notification.school_urn}" if notification.school_urn else ""
    return Email(
        subject=_one_line(f"{scheme}{school}: {notification.event_id}"),
        body=_render(
            "incident_notification.txt",
            scheme=scheme,
            recipient_name=_RECIPIENT_NAMES[notification.recipient],
            fields=fields,
        ),
    )


def _timeliness_email(alert: TimelinessAlert, recipient: Recipient, links: Links) -> Email:
    item_url = links.work_item(alert.work_item_id)
    if alert.clock is not ClockKind.DUTY_ALERT_ACKNOWLEDGEMENT:
        state = "Overdue" if alert.status is AlertStatus.OVERDUE else "Cleared"
        return Email(
            subject=f"{state}: {_words(alert.clock)} for work item {alert.work_item_id}",
            body=_render("timeliness_alert.txt", alert=alert, item_url=item_url),
        )
    if alert.status is AlertStatus.CLEARED:
        return Email(
            subject=f"Duty-team alert acknowledged late: work item {alert.work_item_id}",
            body=_render("acknowledged_late.txt", alert=alert, item_url=item_url),
        )
    resent = recipient.code == DUTY_TEAM
    subject = (
        f"URGENT re-sent, not acknowledged: duty-team alert for work item {alert.work_item_id}"
        if resent
        else f"ESCALATION: duty-team alert not acknowledged in time: work item {alert.work_item_id}"
    )
    return Email(
        subject=subject,
        body=_render(
            "not_acknowledged.txt",
            alert=alert,
            resent=resent,
            item_url=item_url,
            acknowledge_url=links.acknowledge_url,
        ),
    )


# The field that says when each kind of message was made: its webhook's timestamp.
_CREATED_AT: Mapping[type[Event], str] = {
    DutyTeamAlert: "raised_at",
    TimelinessAlert: "raised_at",
    InformationRequest: "created_at",
    OutcomeNotification: "decided_at",
    SchoolNotification: "created_at",
    HealthNotification: "created_at",
}


def webhook_body(event: Event) -> bytes:
    """The Standard Webhooks payload of ``event``: its record name, its own time and the event,
    as compact JSON with sorted keys, so that every retry sends (and signs) the same bytes. A
    ``TypeError`` for a kind of event no partner is sent."""
    created_at = _CREATED_AT.get(type(event))
    if created_at is None:
        raise TypeError(f"no webhook is sent for a {type(event).__name__}")
    data = event.model_dump(mode="json")
    payload = {
        "type": type(event).AVRO_NAME.rsplit(".", 1)[-1],
        "timestamp": data[created_at],
        "data": data,
    }
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
