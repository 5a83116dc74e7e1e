"""What follows a domestic-abuse police notification for one child: who is told, and the MARAC
flag. Pure.

Routing calls these for each child of a domestic-abuse notification, beside the child's work
item, so the notifications cost no extra hop and are published before the child's outcome (an
outcome still means everything was sent):

* :func:`incident_notifications`: the Operation Encompass notification to the child's school (or
  to the local authority's education team for a child educated at home or with no school), due
  before the start of the next school day after the police told us; the health visiting (under
  five) or school nursing notification, due by the next office opening; and, when a school
  cannot be told (a school unknown to the directory, closed, or without a safeguarding-lead
  contact, or an age nobody knows), a MASH task saying why. Who is told is decided by
  :func:`streams.decisions.encompass.encompass_decision`; each notification carries only the
  scheme's minimum (:data:`streams.decisions.encompass.ENCOMPASS_FIELDS`). A school that is
  missing, unknown or closed is also asked about: that information request is the one
  identification already sends (a missing school is required information, an unknown or closed
  URN a data-quality problem), so none is added here. No notification ever goes to a school the
  police did not name by a URN the directory knows as open.
* :func:`marac_flags`: each MARAC criterion the incident meets
  (:func:`streams.decisions.marac.marac_criteria`). The repeat-incident count reads the child's
  history, which identity keeps under one child key however the name was spelt; an incident
  counts for each child it named, so a household's incidents reach every child named in them.

Each notification is also the disclosure's record (who was told what, when, under which rule):
it is an event keyed by the child, and the child's chronology lists it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from schemas.models import (
    ChildEvent,
    HealthNotification,
    IncidentType,
    MaracFlag,
    MashTask,
    NotificationChild,
    NotificationRecipient,
    PoliceNotification,
    SchoolNotification,
    TaskKind,
)
from schemas.types import SHORT_TEXT_LENGTH
from streams.decisions.calendar import OfficeCalendar
from streams.decisions.encompass import (
    DirectoryEntry,
    FollowUp,
    Reason,
    ReasonCode,
    Recipient,
    brief_circumstances,
    encompass_decision,
)
from streams.decisions.history import ChildHistory
from streams.decisions.ids import derived_id
from streams.decisions.marac import marac_criteria
from streams.decisions.rules import Rules, load_school_calendar
from streams.decisions.rules.model import DomesticAbuseRules
from streams.decisions.school_calendar import SchoolCalendar
from streams.decisions.schools import (
    DEFAULT_DIRECTORY,
    DEFAULT_SAFEGUARDING_LEADS,
    SchoolDirectory,
    load_directory,
    load_safeguarding_leads,
)

__all__ = [
    "ENVELOPE_FIELDS",
    "Notified",
    "Recipients",
    "domestic_abuse_of",
    "incident_notifications",
    "is_domestic_abuse_notification",
    "load_recipients",
    "marac_flags",
]

Notified = SchoolNotification | HealthNotification | MashTask

#: What a notification says besides the scheme's minimum: which notification, about which child
#: (the front door's own key), to whom, by when and under which rule. Nothing about the family.
ENVELOPE_FIELDS: tuple[str, ...] = (
    "event_id",
    "about_event_id",
    "child_key",
    "recipient",
    "school_urn",
    "due_by",
    "rule",
    "created_at",
)


@dataclass(frozen=True)
class Recipients:
    """Who can be told, and when: the school directory with the safeguarding leads' contacts,
    the school days, the office calendar and the rules file's ``domestic_abuse`` section."""

    directory: SchoolDirectory
    school_calendar: SchoolCalendar
    office_calendar: OfficeCalendar
    rules: DomesticAbuseRules


def load_recipients(
    rules: Rules,
    *,
    directory: Path = DEFAULT_DIRECTORY,
    leads: Path = DEFAULT_SAFEGUARDING_LEADS,
) -> Recipients:
    """The recipients of ``rules``: the school directory and its safeguarding leads from their
    files (the shipped synthetic ones by default) and the school days from the rules' term-dates
    file. A malformed file raises :class:`~schemas.errors.ConfigurationError` naming it."""
    return Recipients(
        directory=load_directory(directory).with_leads(load_safeguarding_leads(leads)),
        school_calendar=load_school_calendar(rules),
        office_calendar=rules.office_calendar(),
        rules=rules.domestic_abuse,
    )


def domestic_abuse_of(child_event: ChildEvent) -> tuple[PoliceNotification, NotificationChild]:
    """The domestic-abuse police notification of ``child_event`` and its child; ``ValueError``
    for any other event (:func:`is_domestic_abuse_notification` says which are)."""
    notification = child_event.accepted.police_notification
    if notification is None or notification.incident_type is not IncidentType.DOMESTIC_ABUSE:
        raise ValueError("not a domestic-abuse police notification")
    return notification, notification.children[child_event.child_index]


def is_domestic_abuse_notification(child_event: ChildEvent) -> bool:
    notification = child_event.accepted.police_notification
    return notification is not None and notification.incident_type is IncidentType.DOMESTIC_ABUSE


def _entry(directory: SchoolDirectory, urn: str | None) -> DirectoryEntry | None:
    if urn is None or (urn not in directory and urn not in directory.closed):
        return None
    return DirectoryEntry(
        urn=urn, is_open=urn in directory, has_safeguarding_lead=urn in directory.leads
    )


def _brief(
    notification: PoliceNotification, child: NotificationChild, rules: DomesticAbuseRules
) -> str:
    """What the scheme calls brief circumstances: the account police wrote to be shared, cut to
    the rules' length; without one, a sentence made from the structured fields. Never the
    police narrative (``circumstances``), which may name the perpetrator."""
    if notification.brief_circumstances:
        return brief_circumstances(
            notification.brief_circumstances, rules.brief_circumstances_characters
        )
    if child.present is None:
        presence = "may have been present"
    else:
        presence = "was present" if child.present else "was not present"
    return f"Police attended a domestic abuse incident; the child {presence}."


def incident_notifications(
    child_event: ChildEvent, recipients: Recipients, *, task_reference: str, now: datetime
) -> list[Notified]:
    """The notifications about this child of a domestic-abuse notification (module docstring),
    and a MASH task (about ``task_reference``, the child's work item) when a school cannot be
    told; nothing for any other event."""
    if not is_domestic_abuse_notification(child_event):
        return []
    notification, child = domestic_abuse_of(child_event)
    rules = recipients.rules
    received = notification.received_at
    incident = notification.occurred_at or received
    zone = ZoneInfo(recipients.office_calendar.timezone)
    decision = encompass_decision(
        date_of_birth=child.date_of_birth,
        incident_date=incident.astimezone(zone).date(),
        school_given=bool(child.school_urn or (child.school_name or "").strip()),
        directory_entry=_entry(recipients.directory, child.school_urn),
        home_educated_or_no_school=child.educated_at_home is True,
        rules=rules,
        unborn=child.date_of_birth is None and child.expected_date_of_delivery is not None,
    )
    accepted = child_event.accepted
    child_key = child_event.match.child_key
    content = {
        "about_event_id": accepted.event_id,
        "child_key": child_key,
        "created_at": now,
        "given_name": child.given_name,
        "family_name": child.family_name,
        "date_of_birth": child.date_of_birth,
        "police_reference": notification.police_reference,
        "occurred_at": notification.occurred_at,
        "incident_location": notification.location,
        "present": child.present,
        "seen_or_spoken_to": child.spoken_to,
        "child_voice": child.child_voice,
        "brief_circumstances": _brief(notification, child, rules),
        "police_contact": notification.force,
    }
    school_due = recipients.school_calendar.next_school_day_start(received)
    health_due = recipients.office_calendar.next_opening(received)
    told: list[Notified] = []
    for recipient in decision.recipients:
        to = NotificationRecipient(recipient.value)
        event_id = derived_id("incident-notice", accepted.sender, accepted.event_id, child_key, to)
        if recipient in (Recipient.SCHOOL, Recipient.LOCAL_AUTHORITY_EDUCATION):
            told.append(
                SchoolNotification(
                    event_id=event_id,
                    recipient=to,
                    school_urn=decision.school_urn if recipient is Recipient.SCHOOL else None,
                    due_by=school_due,
                    rule=recipient.value,
                    **content,
                )
            )
        else:
            told.append(
                HealthNotification(
                    event_id=event_id,
                    recipient=to,
                    due_by=health_due,
                    rule=recipient.value,
                    **content,
                )
            )
    if FollowUp.MASH_TASK in decision.follow_ups:
        told.append(_blocked(child_event, decision.reasons, task_reference, now))
    return told


#: The reasons a person must act on: a school that cannot be told, or an age nobody knows.
_BLOCKING = frozenset(
    {
        ReasonCode.SCHOOL_MISSING,
        ReasonCode.SCHOOL_UNKNOWN,
        ReasonCode.SCHOOL_CLOSED,
        ReasonCode.NO_SAFEGUARDING_LEAD,
        ReasonCode.NO_DATE_OF_BIRTH,
        ReasonCode.DATE_OF_BIRTH_AFTER_INCIDENT,
    }
)


def _blocked(
    child_event: ChildEvent, reasons: tuple[Reason, ...], task_reference: str, now: datetime
) -> MashTask:
    """The task that asks a person to tell whoever could not be told, naming every reason."""
    blocking = [r for r in reasons if r.code in _BLOCKING]
    reason = "; ".join(r.explanation for r in blocking)
    return MashTask(
        event_id=derived_id("incident-notice-task", child_event.event_id),
        kind=TaskKind.NOTIFICATION_BLOCKED,
        title="Domestic abuse: a school or service could not be told",
        sender=child_event.accepted.sender,
        reason=reason[:SHORT_TEXT_LENGTH],
        error_code=blocking[0].code.value if blocking else None,
        reference=task_reference,
        created_at=now,
    )


def marac_flags(
    child_event: ChildEvent, history: ChildHistory, rules: DomesticAbuseRules
) -> list[MaracFlag]:
    """Each MARAC criterion a domestic-abuse notification meets for this child; none for any
    other event. Earlier incidents are the child's own domestic-abuse events in its history."""
    if not is_domestic_abuse_notification(child_event):
        return []
    notification, _ = domestic_abuse_of(child_event)
    accepted = child_event.accepted
    earlier = sorted(
        {
            past.received_at
            for past in history.events
            if past.domestic_abuse
            and not (past.event_id == accepted.event_id and past.sender in (None, accepted.sender))
        }
    )
    criteria = marac_criteria(
        dash_risk_level=notification.dash_risk_level,
        dash_score=notification.dash_score,
        marac_referral_made=notification.marac_referral_made,
        household_incident_times=earlier,
        incident_time=notification.received_at,
        rules=rules,
    )
    return [MaracFlag(code=c.code.value, description=c.description) for c in criteria]
