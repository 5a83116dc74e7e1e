"""After a domestic-abuse police notification: who is told of each child, by when, with what,
and when the household meets a MARAC criterion.

The stories are issue 11's acceptance, run through the routing step itself (the pure function the
routing agent calls), with the shipped rules, school directory, safeguarding leads and term dates.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from schemas.models import (
    AcceptedEvent,
    ChildEvent,
    ChildMatch,
    EventType,
    HealthNotification,
    InformationRequest,
    MashTask,
    MatchKind,
    NotificationChild,
    NotificationRecipient,
    PoliceNotification,
    SchoolNotification,
    SourcePosition,
    TaskKind,
    WorkItem,
)
from streams.decisions.domestic_abuse import ENVELOPE_FIELDS, load_recipients
from streams.decisions.encompass import ENCOMPASS_FIELDS
from streams.decisions.history import ChildHistory
from streams.decisions.identification import identify
from streams.decisions.routing import Routed, route_child_event
from streams.decisions.rules import load_rules
from tests.helpers import police_notification

LONDON = ZoneInfo("Europe/London")
RULES = load_rules()
CALENDAR = RULES.office_calendar()
RECIPIENTS = load_recipients(RULES)
FRIDAY_2310 = datetime(2026, 12, 4, 23, 10, tzinfo=LONDON)
MONDAY_0830 = datetime(2026, 12, 7, 8, 30, tzinfo=LONDON)
NARRATIVE = (
    "Officers attended after a 999 call. Darren Kettering had punched the kitchen door and "
    "threatened the victim in front of the children; he left before police arrived."
)


def a_child(**fields: object) -> NotificationChild:
    given = {"given_name": "Amelia", "family_name": "Thornbury", "present": True}
    return NotificationChild.model_validate(given | fields)


def incident(
    *children: NotificationChild, at: datetime = FRIDAY_2310, **changes: object
) -> PoliceNotification:
    return police_notification(
        children=list(children),
        occurred_at=at,
        received_at=at,
        circumstances=NARRATIVE,
        **changes,
    )


def child_event(notification: PoliceNotification, index: int, child_key: str) -> ChildEvent:
    accepted = AcceptedEvent.model_validate(
        {
            "event_id": notification.event_id,
            "event_type": EventType.POLICE_NOTIFICATION,
            "sender": "police.synthetic",
            "source": SourcePosition(topic="t", partition=0, offset=1),
            "accepted_at": notification.received_at,
            "police_notification": notification,
        }
    )
    return ChildEvent(
        event_id=f"ce-{notification.event_id}-{index}",
        accepted=accepted,
        child_index=index,
        match=ChildMatch(child_key=child_key, kind=MatchKind.NEW, score=1.0, reason="synthetic"),
    )


def routed(
    notification: PoliceNotification, index: int = 0, history: ChildHistory | None = None
) -> Routed:
    key = history.child_key if history else f"ck-{index}"
    return route_child_event(
        child_event(notification, index, key),
        history or ChildHistory(child_key=key),
        RULES,
        CALENDAR,
        notification.received_at,
        recipients=RECIPIENTS,
    )


def told(notification: PoliceNotification) -> list[SchoolNotification | HealthNotification]:
    """Every school and health notification about every child of ``notification``."""
    return [
        output
        for index in range(len(notification.children))
        for output in routed(notification, index).outputs
        if isinstance(output, SchoolNotification | HealthNotification)
    ]


def tasks(notification: PoliceNotification, index: int = 0) -> list[MashTask]:
    return [o for o in routed(notification, index).outputs if isinstance(o, MashTask)]


SEVEN_AT_PRIMARY = a_child(given_name="Oscar", date_of_birth=date(2019, 3, 10), school_urn="990001")
THREE_NO_SETTING = a_child(given_name="Isla", date_of_birth=date(2023, 5, 1))
SIXTEEN_AT_COLLEGE = a_child(given_name="Ruby", date_of_birth=date(2010, 6, 1), school_urn="990021")


def test_a_friday_night_incident_tells_two_schools_before_monday_and_health_of_the_toddler() -> (
    None
):
    notices = told(incident(SEVEN_AT_PRIMARY, THREE_NO_SETTING, SIXTEEN_AT_COLLEGE))

    schools = [n for n in notices if isinstance(n, SchoolNotification)]
    health = [n for n in notices if isinstance(n, HealthNotification)]
    assert [(n.given_name, n.school_urn) for n in schools] == [
        ("Oscar", "990001"),
        ("Ruby", "990021"),
    ]
    assert {n.due_by for n in schools} == {MONDAY_0830}
    assert [(n.given_name, n.recipient) for n in health] == [
        ("Isla", NotificationRecipient.HEALTH_VISITING)
    ]


def test_when_monday_is_a_bank_holiday_the_schools_are_due_on_tuesday() -> None:
    friday = datetime(2027, 4, 30, 23, 10, tzinfo=LONDON)  # Monday 3 May 2027: early May

    notices = told(incident(SEVEN_AT_PRIMARY, SIXTEEN_AT_COLLEGE, at=friday))

    assert {n.due_by for n in notices} == {datetime(2027, 5, 4, 8, 30, tzinfo=LONDON)}


def test_a_reception_child_is_told_to_school_and_health_visiting() -> None:
    four = a_child(date_of_birth=date(2022, 1, 15), school_urn="990001")

    notices = told(incident(four))

    assert sorted(n.recipient for n in notices) == [
        NotificationRecipient.HEALTH_VISITING,
        NotificationRecipient.SCHOOL,
    ]


def test_a_child_educated_at_home_is_told_to_the_education_team_and_no_school() -> None:
    ten = a_child(date_of_birth=date(2016, 2, 2), educated_at_home=True)

    [notice] = told(incident(ten))

    assert isinstance(notice, SchoolNotification)
    assert notice.recipient is NotificationRecipient.LOCAL_AUTHORITY_EDUCATION
    assert notice.school_urn is None


def test_an_eighteen_year_old_is_told_to_nobody() -> None:
    assert told(incident(a_child(date_of_birth=date(2008, 1, 1), school_urn="990021"))) == []


def test_a_missing_school_is_asked_of_the_police_and_no_school_is_told() -> None:
    no_school = incident(a_child(date_of_birth=date(2019, 3, 10)))

    assert told(no_school) == []
    accepted = child_event(no_school, 0, "ck-0").accepted
    requests = [
        o
        for o in identify(accepted, {}, RULES, FRIDAY_2310).outputs
        if isinstance(o, InformationRequest)
    ]
    assert "MI-SCHOOL-OR-SETTING" in [item.code for request in requests for item in request.items]


def test_an_unknown_or_closed_school_is_a_mash_task_and_no_notification() -> None:
    for urn, code in (("990999", "school_unknown"), ("990018", "school_closed")):
        notification = incident(a_child(date_of_birth=date(2019, 3, 10), school_urn=urn))

        assert told(notification) == []
        [task] = tasks(notification)
        assert task.kind is TaskKind.NOTIFICATION_BLOCKED
        assert task.error_code == code
        item = next(o for o in routed(notification).outputs if isinstance(o, WorkItem))
        assert task.reference == item.event_id


def test_a_school_without_a_safeguarding_lead_is_a_mash_task() -> None:
    notification = incident(a_child(date_of_birth=date(2022, 1, 15), school_urn="990019"))

    [task] = tasks(notification)

    assert task.error_code == "no_safeguarding_lead"
    assert [n.recipient for n in told(notification)] == [NotificationRecipient.HEALTH_VISITING]


def test_a_notification_carries_exactly_the_minimised_fields_and_never_the_narrative() -> None:
    notices = told(incident(SEVEN_AT_PRIMARY, THREE_NO_SETTING))

    for model in (SchoolNotification, HealthNotification):
        assert set(model.model_fields) == set(ENVELOPE_FIELDS) | set(ENCOMPASS_FIELDS)
    for notice in notices:
        text = json.dumps(notice.model_dump(mode="json"))
        assert "Kettering" not in text
        assert "999 call" not in text
        assert notice.brief_circumstances == (
            "Police attended a domestic abuse incident; the child was present."
        )


def test_what_police_wrote_for_schools_is_shared_cut_to_the_rules_length() -> None:
    summary = "Verbal argument between adults at home; the child was upset but not hurt. " * 10

    [notice] = told(incident(SEVEN_AT_PRIMARY, brief_circumstances=summary[:500]))

    assert notice.brief_circumstances is not None
    limit = RULES.domestic_abuse.brief_circumstances_characters
    assert len(notice.brief_circumstances) <= limit
    assert notice.brief_circumstances.startswith("Verbal argument between adults at home")


def test_a_redelivered_notification_tells_each_recipient_under_the_same_id() -> None:
    notification = incident(SEVEN_AT_PRIMARY)

    assert [n.event_id for n in told(notification)] == [n.event_id for n in told(notification)]


def test_the_fourth_incident_for_the_household_in_12_months_flags_marac_naming_it() -> None:
    history = ChildHistory(child_key="ck-household")
    flags: list[list[str]] = []
    for month in (1, 4, 7, 11):
        at = datetime(2026, month, 9, 21, 0, tzinfo=UTC)
        step = routed(incident(SEVEN_AT_PRIMARY, at=at), history=history)
        assert step.history is not None
        history = step.history
        item = next(o for o in step.outputs if isinstance(o, WorkItem))
        flags.append([flag.code for flag in item.marac])

    assert flags == [[], [], ["repeat_incidents"], ["repeat_incidents"]]
    last = next(o for o in step.outputs if isinstance(o, WorkItem))
    assert last.marac[0].description.startswith("4th incident")
    assert last.history.marac_flagged_12m == 1  # the third, flagged before it
    assert [past.marac for past in history.events] == [
        [],
        [],
        ["repeat_incidents"],
        ["repeat_incidents"],
    ]


def test_a_high_dash_score_or_a_police_referral_flags_marac_each_named() -> None:
    notification = incident(SEVEN_AT_PRIMARY, dash_score=16, marac_referral_made=True)

    item = next(o for o in routed(notification).outputs if isinstance(o, WorkItem))

    assert [flag.code for flag in item.marac] == ["dash_score", "police_referral"]


def test_other_events_are_told_to_nobody_and_flag_nothing() -> None:
    other = incident(SEVEN_AT_PRIMARY, incident_type="missing_child")

    outputs = routed(other).outputs

    assert not [o for o in outputs if isinstance(o, SchoolNotification | HealthNotification)]
    assert all(not o.marac for o in outputs if isinstance(o, WorkItem))
