"""The staff application as its users meet it, over HTTP, on the real broker and databases.

Each story runs on SQLite and on PostgreSQL: work items published to the queue topics, fed into
the store by the feeder, worked through the application's pages and forms; what the forms record
is read back from the topics.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from connectors.staff.acknowledge_links import acknowledge_url
from connectors.staff.web import create_app
from schemas.models import (
    AcknowledgedVia,
    Agency,
    AlertStatus,
    ClockKind,
    DeliveryChannel,
    DeliveryState,
    DeliveryStatus,
    DomesticAbuseAgenda,
    DutyTeamAlert,
    MaracFlag,
    MeetingRecord,
    NextStep,
    Queue,
    StaffRole,
    TimelinessAlert,
    WorkItem,
)
from streams.decisions.ids import derived_id
from streams.decisions.routing import duty_team_alert
from streams.platform.broker import free_port
from streams.platform.publisher import Publisher
from streams.platform.reader import read_topic
from streams.platform.settings import KafkaSettings
from streams.platform.topics import MEETING_RECORDS
from tests.connectors.staff.running import (
    CODEC,
    DUTY_WORKER,
    EARLY_HELP_WORKER,
    LEADER,
    MASH_WORKER,
    PASSWORD,
    SESSION_SECRET,
    TEAM_MANAGER,
    RunningStaff,
    hidden_fields,
    start_staff,
)
from tests.connectors.staff.synthetic import work_items
from tests.streams.decisions.test_domestic_abuse import (
    SEVEN_AT_PRIMARY,
    THREE_NO_SETTING,
    incident,
)
from tests.streams.decisions.test_meeting import (
    FRIDAY_MEETING,
    after,
    agenda_at,
    items_of,
    london,
)

pytestmark = pytest.mark.integration

A_RATIONALE = (
    "Second police notification in three months; the child told officers she hides upstairs "
    "when the shouting starts. Mother engaged well with the school. Needs assessment."
)


@pytest.fixture
def running(kafka: KafkaSettings, topic_prefix: str, database_url: str) -> RunningStaff:
    return start_staff(kafka, topic_prefix, database_url, work_items(12))


@pytest.fixture
def app(running: RunningStaff) -> Iterator[TestClient]:
    with TestClient(create_app(running.staff, SESSION_SECRET)) as client:
        yield client


def sign_in(client: TestClient, username: str, password: str = PASSWORD) -> int:
    form = hidden_fields(client.get("/sign-in").text)
    response = client.post(
        "/sign-in",
        data={"username": username, "password": password, **form},
        follow_redirects=False,
    )
    status: int = response.status_code
    return status


def item_links(page: str) -> list[str]:
    return re.findall(r'href="/items/([^"]+)"', page)


def a_mash_item(running: RunningStaff) -> str:
    return running.store.queue(Queue.MASH)[0].event_id


def post_decision(
    app: TestClient,
    item_id: str,
    form: dict[str, str],
    *,
    level: str,
    next_step: str,
    rationale: str = A_RATIONALE,
) -> Response:
    """Submit the item's decision form as a person would, with the page's hidden fields."""
    response: Response = app.post(
        f"/items/{item_id}/decision",
        data={**form, "level": level, "next_step": next_step, "rationale": rationale},
        follow_redirects=False,
    )
    return response


def test_a_page_needs_a_signed_in_user(app: TestClient) -> None:
    response = app.get("/queues/mash", follow_redirects=False)

    assert response.status_code == 303
    assert response.headers["location"] == "/sign-in?next=/queues/mash"


def test_a_mash_worker_lands_on_the_mash_queue_most_urgent_first(
    app: TestClient, running: RunningStaff
) -> None:
    assert sign_in(app, MASH_WORKER) == 303

    page = app.get("/")

    expected = sorted(
        (item for item in running.items if item.queue is Queue.MASH),
        key=lambda item: (
            ["red", "amber", "green"].index(item.priority.value),
            item.decision_due_at,
            item.received_at,
            item.event_id,
        ),
    )
    assert page.status_code == 200
    assert str(page.url).endswith("/queues/mash")
    assert item_links(page.text) == [item.event_id for item in expected]
    assert "due in" in page.text or "overdue by" in page.text


def test_a_worker_cannot_read_a_queue_their_role_does_not_work(app: TestClient) -> None:
    sign_in(app, MASH_WORKER)

    response = app.get("/queues/early_help")

    assert response.status_code == 403
    assert "Your role cannot read the Early Help queue" in response.text


def test_a_decision_posted_through_the_form_is_published_and_the_item_leaves_the_queue(
    app: TestClient, running: RunningStaff
) -> None:
    sign_in(app, MASH_WORKER)
    item_id = a_mash_item(running)
    form = hidden_fields(app.get(f"/items/{item_id}").text)

    response = post_decision(
        app, item_id, form, level="3", next_step=NextStep.CHILD_IN_NEED_ASSESSMENT.value
    )

    assert response.status_code == 303
    assert response.headers["location"] == f"/queues/mash?decided={item_id}"
    [decision] = [d for d in running.decisions() if d.work_item_id == item_id]
    assert decision.event_id == form["decision_id"]
    assert decision.decided_by == MASH_WORKER
    assert decision.decided_by_role is StaffRole.MASH_WORKER
    assert decision.next_step is NextStep.CHILD_IN_NEED_ASSESSMENT
    assert decision.rationale == A_RATIONALE
    assert item_id not in item_links(app.get("/queues/mash").text)
    item = running.store.item(item_id)
    assert item is not None
    [notice] = [n for n in running.notifications() if n.about_event_id == decision.source_event_id]
    assert notice.addressed_to_sender == item.work_item.sender
    assert notice.next_step is NextStep.CHILD_IN_NEED_ASSESSMENT
    assert A_RATIONALE not in notice.model_dump_json()


def test_a_decision_the_broker_does_not_take_is_not_recorded_and_the_text_is_kept(
    app: TestClient, running: RunningStaff
) -> None:
    sign_in(app, MASH_WORKER)
    item_id = a_mash_item(running)
    form = hidden_fields(app.get(f"/items/{item_id}").text)
    nowhere = KafkaSettings(bootstrap_servers=f"127.0.0.1:{free_port()}", embedded=False)
    running.staff.publisher = lambda: Publisher(nowhere, CODEC, timeout=2)

    response = post_decision(
        app, item_id, form, level="3", next_step=NextStep.CHILD_IN_NEED_ASSESSMENT.value
    )

    assert response.status_code == 503
    assert "could not be sent just now, so it is not recorded" in response.text
    assert A_RATIONALE in response.text
    assert not [d for d in running.decisions() if d.work_item_id == item_id]
    assert item_id in item_links(app.get("/queues/mash").text)


def test_a_placeholder_rationale_is_refused_on_the_form_with_the_typed_text_kept(
    app: TestClient, running: RunningStaff
) -> None:
    sign_in(app, MASH_WORKER)
    item_id = a_mash_item(running)
    form = hidden_fields(app.get(f"/items/{item_id}").text)

    response = post_decision(
        app, item_id, form, level="2", next_step="advice_and_signposting", rationale="see notes"
    )

    assert response.status_code == 422
    assert "The decision was not recorded" in response.text
    assert "at least 8 words" in response.text
    kept = '<textarea id="rationale" name="rationale" rows="6">see notes</textarea>'
    assert kept in response.text
    assert '<option value="2" selected>' in response.text
    assert not [d for d in running.decisions() if d.work_item_id == item_id]
    assert item_id in item_links(app.get("/queues/mash").text)


def test_a_mash_worker_cannot_record_a_consent_override(
    app: TestClient, running: RunningStaff
) -> None:
    sign_in(app, MASH_WORKER)
    item_id = a_mash_item(running)
    page = app.get(f"/items/{item_id}").text
    form = hidden_fields(page)

    response = app.post(
        f"/items/{item_id}/consent-override",
        data={
            "csrf_token": form["csrf_token"],
            "override_id": "co-forged",
            "lawful_basis": "safeguarding_of_children",
            "rationale": "Risk of significant harm if the family is told first.",
            "information_shared": "The police notification",
            "shared_with": "School DSL",
        },
    )

    assert "Override consent" not in page
    assert response.status_code == 403
    assert "Only a team manager can override consent" in response.text
    assert running.consent_events() == []


def test_a_team_manager_records_a_consent_override_as_a_consent_event(
    app: TestClient, running: RunningStaff
) -> None:
    sign_in(app, TEAM_MANAGER)
    item_id = a_mash_item(running)
    form = hidden_fields(app.get(f"/items/{item_id}").text)

    response = app.post(
        f"/items/{item_id}/consent-override",
        data={
            "csrf_token": form["csrf_token"],
            "override_id": form["override_id"],
            "lawful_basis": "safeguarding_of_children",
            "rationale": "Telling the family first would put the child at risk of harm.",
            "information_shared": "The police notification and the school's concerns",
            "shared_with": "School DSL, Health visitor",
        },
        follow_redirects=False,
    )

    assert response.status_code == 303
    [event] = running.consent_events()
    assert event.event_id == form["override_id"]
    assert event.action.value == "overridden"
    assert event.shared_with == ["School DSL", "Health visitor"]
    assert event.children[0] == running.store.item(item_id).work_item.child  # type: ignore[union-attr]


def test_the_access_log_has_one_line_per_view_of_a_childs_record(
    app: TestClient, running: RunningStaff
) -> None:
    sign_in(app, MASH_WORKER)
    item = running.store.queue(Queue.MASH)[0]

    app.get(f"/items/{item.event_id}")
    app.get(f"/items/{item.event_id}")
    app.get(f"/children/{item.child_key}")
    app.get("/queues/mash")  # a list of names is not a view of a record

    entries = running.store.access_log(50, child_key=item.child_key)
    assert [(e.username, e.page, e.work_item_id) for e in reversed(entries)] == [
        (MASH_WORKER, "item", item.event_id),
        (MASH_WORKER, "item", item.event_id),
        (MASH_WORKER, "chronology", None),
    ]
    assert app.get("/access-log").status_code == 403
    sign_in(app, TEAM_MANAGER)
    log_page = app.get(f"/access-log?child_key={item.child_key}")
    assert log_page.status_code == 200
    assert log_page.text.count(f"<td>{MASH_WORKER}</td>") == 3


def test_the_chronology_says_the_school_was_told_and_when(
    app: TestClient, running: RunningStaff
) -> None:
    item = running.store.queue(Queue.MASH)[0]
    told = DeliveryStatus(
        event_id=derived_id("delivery", "sn-00001", "school:990002", "email", 1),
        message_id="sn-00001",
        message_type="SchoolNotification",
        child_key=item.child_key,
        recipient="school:990002",
        channel=DeliveryChannel.EMAIL,
        address="dsl@brook-lane-academy.sch.example",
        attempt=1,
        state=DeliveryState.DELIVERED,
        at=london(1, 7, 42, month=7),  # 06:42 UTC
    )
    running.publish_and_store(told)
    sign_in(app, MASH_WORKER)

    page = app.get(f"/children/{item.child_key}").text

    assert "<td>told</td>" in page
    assert (
        "SchoolNotification to school:990002 by email (dsl@brook-lane-academy.sch.example), "
        "delivered 07:42"
    ) in page
    sign_in(app, EARLY_HELP_WORKER)  # reads only the early-help queue
    assert "school:990002" not in app.get(f"/children/{item.child_key}").text


def test_claiming_shows_who_works_an_item_and_only_they_or_a_manager_release_it(
    app: TestClient, running: RunningStaff
) -> None:
    sign_in(app, MASH_WORKER)
    item_id = a_mash_item(running)
    form = hidden_fields(app.get(f"/items/{item_id}").text)

    app.post(f"/items/{item_id}/claim", data={"csrf_token": form["csrf_token"]})

    assert f"Claimed by <strong>{MASH_WORKER}</strong>" in app.get(f"/items/{item_id}").text
    sign_in(app, EARLY_HELP_WORKER)
    form = hidden_fields(app.get("/sign-in").text)
    refused = app.post(f"/items/{item_id}/release", data={"csrf_token": form["csrf_token"]})
    assert refused.status_code == 403
    sign_in(app, TEAM_MANAGER)
    form = hidden_fields(app.get(f"/items/{item_id}").text)
    app.post(f"/items/{item_id}/release", data={"csrf_token": form["csrf_token"]})
    assert "Nobody has claimed this item" in app.get(f"/items/{item_id}").text


def test_a_form_without_its_session_token_records_nothing(
    app: TestClient, running: RunningStaff
) -> None:
    sign_in(app, MASH_WORKER)
    item_id = a_mash_item(running)

    response = app.post(
        f"/items/{item_id}/decision",
        data={
            "csrf_token": "forged",
            "decision_id": "dec-forged",
            "level": "3",
            "next_step": "child_in_need_assessment",
            "rationale": A_RATIONALE,
        },
    )

    assert response.status_code == 403
    assert "This form has expired" in response.text
    assert not [d for d in running.decisions() if d.work_item_id == item_id]


def test_sign_in_is_refused_for_a_while_after_repeated_failures(app: TestClient) -> None:
    codes = [sign_in(app, MASH_WORKER, "wrong password, synthetic") for _ in range(5)]

    assert codes == [401] * 5
    assert sign_in(app, MASH_WORKER) == 429


def test_a_disabled_account_is_signed_out_at_its_next_request(
    app: TestClient, running: RunningStaff
) -> None:
    sign_in(app, MASH_WORKER)
    assert app.get("/queues/mash", follow_redirects=False).status_code == 200

    running.store.disable_user(MASH_WORKER, running.staff.clock())

    assert app.get("/queues/mash", follow_redirects=False).status_code == 303
    assert sign_in(app, MASH_WORKER) == 401


def test_the_session_cookie_is_secure_http_only_and_strict_by_default(
    kafka: KafkaSettings, topic_prefix: str, database_url: str
) -> None:
    running = start_staff(kafka, topic_prefix, database_url, [], secure_cookies=True)
    with TestClient(
        create_app(running.staff, SESSION_SECRET), base_url="https://testserver"
    ) as client:
        sign_in(client, MASH_WORKER)
        cookie = client.get("/sign-in").headers["set-cookie"].lower()

    assert "secure" in cookie
    assert "httponly" in cookie
    assert "samesite=strict" in cookie


def decide_at_level_4(app: TestClient, item_id: str) -> None:
    form = hidden_fields(app.get(f"/items/{item_id}").text)
    response = post_decision(
        app, item_id, form, level="4", next_step=NextStep.STRATEGY_DISCUSSION.value
    )
    assert response.status_code == 303


def test_a_discussion_held_without_health_and_school_is_recorded_and_flagged(
    app: TestClient, running: RunningStaff
) -> None:
    sign_in(app, MASH_WORKER)
    item = next(row for row in running.store.queue(Queue.MASH) if row.child.school_urn)
    decide_at_level_4(app, item.event_id)
    page = app.get(f"/items/{item.event_id}").text
    assert "Record strategy discussion" in page
    form = hidden_fields(page)

    response = app.post(
        f"/items/{item.event_id}/strategy-discussion",
        data={
            "csrf_token": form["csrf_token"],
            "discussion_event_id": form["discussion_event_id"],
            "status": "held",
            "attendees": ["local_authority", "police"],
            "section_47": "no",
            "rationale": "Police shared the incident log; no injury and the father has left, so "
            "a child-in-need assessment rather than an enquiry.",
        },
    )

    assert response.status_code == 200
    assert "Held without health, education." in response.text
    [discussion] = [d for d in running.discussions() if d.work_item_id == item.event_id]
    assert discussion.event_id == form["discussion_event_id"]
    assert [agency.value for agency in discussion.missing_agencies] == ["health", "education"]
    assert discussion.section_47 is False
    running.catch_up()
    page = app.get(f"/items/{item.event_id}").text
    assert "not present: health, education" in page
    assert "Record strategy discussion" not in page


def test_a_mash_worker_cannot_decide_a_discussion_will_not_be_held(
    app: TestClient, running: RunningStaff
) -> None:
    sign_in(app, MASH_WORKER)
    item_id = a_mash_item(running)
    decide_at_level_4(app, item_id)
    form = hidden_fields(app.get(f"/items/{item_id}").text)

    response = app.post(
        f"/items/{item_id}/strategy-discussion",
        data={
            "csrf_token": form["csrf_token"],
            "discussion_event_id": form["discussion_event_id"],
            "status": "not_held",
            "rationale": "The family moved out of the area yesterday and another council leads.",
        },
    )

    assert response.status_code == 422
    assert "Only a team manager" in response.text
    assert "another council leads" in response.text  # what was typed is kept
    assert [d for d in running.discussions() if d.work_item_id == item_id] == []


def test_a_discussion_is_not_asked_for_an_item_decided_below_level_4(
    app: TestClient, running: RunningStaff
) -> None:
    sign_in(app, MASH_WORKER)
    item_id = a_mash_item(running)
    form = hidden_fields(app.get(f"/items/{item_id}").text)
    post_decision(app, item_id, form, level="3", next_step="child_in_need_assessment")

    response = app.post(
        f"/items/{item_id}/strategy-discussion",
        data={"csrf_token": form["csrf_token"], "status": "held"},
    )

    assert "Record strategy discussion" not in app.get(f"/items/{item_id}").text
    assert response.status_code == 409


def test_team_managers_see_overdue_alerts_and_acknowledge_them(
    app: TestClient, running: RunningStaff
) -> None:
    item = running.store.queue(Queue.MASH)[0]
    now = datetime.now(UTC)
    running.publish_and_store(
        TimelinessAlert(
            event_id="ta-synthetic-1",
            clock_id="clock-synthetic-1",
            clock=ClockKind.DECISION,
            child_key=item.child_key,
            work_item_id=item.event_id,
            status=AlertStatus.OVERDUE,
            started_at=item.received_at,
            due_at=now - timedelta(hours=1),
            raised_at=now,
        )
    )
    sign_in(app, MASH_WORKER)
    assert app.get("/alerts").status_code == 403

    sign_in(app, TEAM_MANAGER)
    page = app.get("/alerts").text
    assert "Threshold decision" in page
    assert f'href="/items/{item.event_id}"' in page
    form = hidden_fields(page)
    app.post("/alerts/clock-synthetic-1/acknowledge", data={"csrf_token": form["csrf_token"]})

    [alert] = running.store.timeliness_alerts(open_only=True)
    assert alert.acknowledged_by == TEAM_MANAGER


def test_an_item_that_meets_marac_criteria_says_which_on_its_page(
    app: TestClient, running: RunningStaff
) -> None:
    view = running.store.item(a_mash_item(running))
    assert view is not None
    flagged = view.work_item.model_copy(
        update={
            "event_id": f"{view.work_item.event_id}-marac",
            "marac": [
                MaracFlag(code="dash_score", description="DASH score 16 of 24 (14 or more)"),
                MaracFlag(code="repeat_incidents", description="3rd incident in 12 months"),
            ],
        }
    )
    running.publish_and_store(flagged)
    sign_in(app, MASH_WORKER)

    page = app.get(f"/items/{flagged.event_id}").text

    assert "MARAC criteria met" in page
    assert "DASH score 16 of 24 (14 or more)" in page
    assert "3rd incident in 12 months" in page


def an_agenda() -> DomesticAbuseAgenda:
    """Monday's agenda with one household: Oscar (7, at a primary school) and Isla (3)."""
    items = items_of(incident(SEVEN_AT_PRIMARY, THREE_NO_SETTING, at=london(7, 8)))
    _, agenda = agenda_at(after(FRIDAY_MEETING, items, london(7, 8, 5)), london(7, 9, 30))
    return agenda


def meeting_records(running: RunningStaff) -> list[MeetingRecord]:
    topic = MEETING_RECORDS.name_under(running.prefix)
    return [CODEC.decode(m.value, MeetingRecord) for m in read_topic(running.kafka, topic)]


IMPACT = (
    "Oscar saw the assault from the stairs; his teacher says he has stopped eating lunch and "
    "asks to phone his mother at break."
)


def test_the_daily_meeting_page_shows_each_child_and_refuses_a_record_without_an_action(
    app: TestClient, running: RunningStaff
) -> None:
    agenda = an_agenda()
    running.publish_and_store(agenda)
    oscar, isla = agenda.households[0].children
    sign_in(app, MASH_WORKER)

    page = app.get("/meeting").text
    assert "Oscar" in page
    assert "Isla" in page
    assert "school 990001" in page
    assert "health visiting" in page
    logged = {entry.child_key for entry in running.store.access_log(50) if entry.page == "meeting"}
    assert logged == {oscar.child_key, isla.child_key}

    form = hidden_fields(page)
    refused = app.post(
        f"/meeting/{agenda.event_id}/children/{oscar.child_key}",
        data={"csrf_token": form["csrf_token"], "impact_on_child": IMPACT},
    )
    assert refused.status_code == 422
    assert "at least one action" in refused.text
    assert IMPACT in refused.text  # what was typed is kept
    assert meeting_records(running) == []

    saved = app.post(
        f"/meeting/{agenda.event_id}/children/{oscar.child_key}",
        data={
            "csrf_token": form["csrf_token"],
            "impact_on_child": IMPACT,
            "action_description": ["Learning mentor to check in with Oscar every morning", ""],
            "action_owner": ["education", ""],
            "action_due_on": ["2026-12-11", ""],
        },
        follow_redirects=False,
    )
    assert saved.status_code == 303
    [record] = meeting_records(running)
    assert record.child_key == oscar.child_key
    assert record.work_item_id == oscar.work_item_id
    assert [(a.owner, a.due_on) for a in record.actions] == [(Agency.EDUCATION, date(2026, 12, 11))]
    assert "Learning mentor to check in with Oscar" in app.get("/meeting").text


def test_an_early_help_worker_cannot_open_the_daily_meeting(app: TestClient) -> None:
    sign_in(app, EARLY_HELP_WORKER)

    assert app.get("/meeting").status_code == 403


# -- duty-team alerts: acknowledged by the link in the e-mail or in the application ------------

ON_CALL = "edt:on-call"
ACKNOWLEDGE = "I have seen this alert and I am acting on it"
#: Saturday night and Sunday night of the weekend before Monday 23 November 2026's opening.
SATURDAY_NIGHT = london(21, 2, 10, month=11)
SUNDAY_NIGHT = london(22, 23, 40, month=11)


def duty_alerts(running: RunningStaff, *raised: datetime) -> list[tuple[WorkItem, DutyTeamAlert]]:
    """A duty-team work item and its alert for each time in ``raised``, as routing makes them
    (a MASH item copied onto the duty team's queue), published and stored."""
    made = []
    for index, at in enumerate(raised):
        mash = running.store.queue(Queue.MASH)[index]
        view = running.store.item(mash.event_id)
        assert view is not None
        item = view.work_item.model_copy(
            update={
                "event_id": f"{mash.event_id}-edt",
                "queue": Queue.DUTY_TEAM,
                "decision_due_at": at,
                "out_of_hours": True,
            }
        )
        made.append((item, duty_team_alert(item, at)))
    running.publish_and_store(*(event for pair in made for event in pair))
    return made


def link_path(alert: DutyTeamAlert, recipient: str = ON_CALL) -> str:
    """The path and query of the alert's acknowledge link as the delivery service makes it."""
    return acknowledge_url("", SESSION_SECRET, alert.event_id, recipient)


def test_opening_an_acknowledge_link_shows_the_alert_and_acknowledges_nothing(
    app: TestClient, running: RunningStaff
) -> None:
    [(item, alert)] = duty_alerts(running, SATURDAY_NIGHT)

    for _ in range(2):  # a mail scanner's fetch, then the person's
        page = app.get(link_path(alert))
        assert page.status_code == 200
        assert ACKNOWLEDGE in page.text

    assert alert.reason in page.text
    assert item.event_id in page.text
    assert "Sat 21 Nov 2026 02:10" in page.text
    assert alert.priority.value.upper() in page.text
    for name in (item.child.given_name, item.child.family_name):
        assert not name or name not in page.text
    assert "set-cookie" not in page.headers  # no session started
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["referrer-policy"] == "no-referrer"
    assert running.acknowledgements() == []


def test_the_acknowledge_button_publishes_one_acknowledgement_as_the_links_recipient(
    app: TestClient, running: RunningStaff
) -> None:
    [(item, alert)] = duty_alerts(running, SATURDAY_NIGHT)
    path = link_path(alert)
    token = hidden_token(app.get(path).text)

    for _ in range(2):  # a double press records it once
        done = app.post(path.split("?")[0], data={"token": token})
        assert done.status_code == 200
        assert "Acknowledged: thank you" in done.text
        assert f"by {ON_CALL}" in done.text

    [acknowledgement] = running.acknowledgements()
    assert acknowledgement.event_id == derived_id("alert-acknowledgement", alert.event_id, ON_CALL)
    assert (acknowledgement.alert_id, acknowledgement.work_item_id) == (
        alert.event_id,
        item.event_id,
    )
    assert acknowledgement.child_key == alert.child_key
    assert acknowledgement.acknowledged_by == ON_CALL
    assert acknowledgement.via is AcknowledgedVia.EMAIL_LINK
    again = app.get(path).text
    assert "acknowledged already" in again
    assert ACKNOWLEDGE not in again


def test_a_bad_acknowledge_link_is_refused_with_its_reason_and_records_nothing(
    app: TestClient, running: RunningStaff
) -> None:
    [(_, alert), (_, other)] = duty_alerts(running, SATURDAY_NIGHT, SUNDAY_NIGHT)
    path = link_path(alert)
    token = hidden_token(app.get(path).text)
    action = path.split("?")[0]

    altered = app.get(f"{action}?token={token[:-3]}xyz")
    for_another = app.get(link_path(other).replace(other.event_id, alert.event_id, 1))
    posted = app.post(action, data={"token": token[:-3] + "xyz"})
    without = app.post(action, data={})

    for refused in (altered, for_another, posted, without):
        assert refused.status_code == 403
        assert "This acknowledge link cannot be used" in refused.text
        assert "Nothing was recorded" in refused.text
    assert "changed or cut short" in altered.text
    assert "for another alert" in for_another.text
    assert running.acknowledgements() == []


def test_the_duty_team_acknowledges_an_alert_in_the_staff_application(
    app: TestClient, running: RunningStaff
) -> None:
    [(_, alert)] = duty_alerts(running, SATURDAY_NIGHT)
    sign_in(app, MASH_WORKER)
    assert 'href="/duty-alerts"' not in app.get("/queues/mash").text
    assert app.get("/duty-alerts").status_code == 403

    sign_in(app, LEADER)
    page = app.get("/duty-alerts").text
    assert "NOT ACKNOWLEDGED" in page
    assert "staff-acknowledge" not in page  # a leader reads only
    form = hidden_fields(page)
    refused = app.post(f"/duty-alerts/{alert.event_id}/staff-acknowledge", data=form)
    assert refused.status_code == 403

    sign_in(app, DUTY_WORKER)
    page = app.get("/duty-alerts").text
    assert 'href="/duty-alerts"' in page
    assert "NOT ACKNOWLEDGED" in page
    forged = app.post(f"/duty-alerts/{alert.event_id}/staff-acknowledge", data={})
    assert forged.status_code == 403
    assert running.acknowledgements() == []

    done = app.post(
        f"/duty-alerts/{alert.event_id}/staff-acknowledge",
        data=hidden_fields(page),
        follow_redirects=False,
    )

    assert done.status_code == 303
    page = app.get(done.headers["location"]).text
    assert f"Alert {alert.event_id} acknowledged" in page
    assert DUTY_WORKER in page
    assert "staff application" in page
    assert "NOT ACKNOWLEDGED" not in page
    [acknowledgement] = running.acknowledgements()
    assert acknowledgement.acknowledged_by == DUTY_WORKER
    assert acknowledgement.via is AcknowledgedVia.STAFF_APPLICATION
    assert acknowledgement.event_id == derived_id(
        "alert-acknowledgement", alert.event_id, DUTY_WORKER
    )


def test_the_handover_lists_the_nights_alerts_acknowledged_or_not_with_what_was_done(
    app: TestClient, running: RunningStaff
) -> None:
    after_opening = london(23, 9, 5, month=11)
    [(decided, acknowledged), (_, unacknowledged), (_, later)] = duty_alerts(
        running, SATURDAY_NIGHT, SUNDAY_NIGHT, after_opening
    )
    path = link_path(acknowledged)
    app.post(path.split("?")[0], data={"token": hidden_token(app.get(path).text)})
    sign_in(app, DUTY_WORKER)
    form = hidden_fields(app.get(f"/items/{decided.event_id}").text)
    post_decision(
        app, decided.event_id, form, level="4", next_step=NextStep.STRATEGY_DISCUSSION.value
    )

    sign_in(app, EARLY_HELP_WORKER)
    assert app.get("/handover").status_code == 403
    sign_in(app, MASH_WORKER)
    assert app.get("/handover?at=next-tuesday").status_code == 400
    page = app.get("/handover?at=2026-11-23")

    assert page.status_code == 200
    text = page.text
    assert "Fri 20 Nov 2026 17:00" in text
    assert "Mon 23 Nov 2026 08:30" in text
    rows = re.findall(r"<tr class=.*?</tr>", text, flags=re.DOTALL)
    assert len(rows) == 2
    first, second = rows  # oldest first
    assert acknowledged.child_key in first
    assert f"by {ON_CALL}" in first
    assert "link in the e-mail" in first
    assert "Strategy discussion / section 47 (level 4)" in first
    assert f"by {DUTY_WORKER} (Duty team)" in first
    assert unacknowledged.child_key in second
    assert "NOT ACKNOWLEDGED" in second
    assert "No decision recorded yet" in second
    assert later.event_id not in text
    assert "2 alerts; 1 not acknowledged; 1 with no decision recorded yet." in text
    viewed = {
        (e.child_key, e.work_item_id) for e in running.store.access_log(50) if e.page == "handover"
    }
    assert viewed == {
        (acknowledged.child_key, acknowledged.work_item_id),
        (unacknowledged.child_key, unacknowledged.work_item_id),
    }
    # Any moment until Tuesday's opening shows the same period; the link back shows Friday's.
    assert rows == re.findall(
        r"<tr class=.*?</tr>", app.get("/handover?at=2026-11-24T08:00").text, flags=re.DOTALL
    )
    assert 'href="/handover?at=2026-11-20T16%3A59%3A59%2B00%3A00"' in text


def hidden_token(page: str) -> str:
    """The acknowledge link page's signed token, as its form carries it."""
    match = re.search(r'name="token" value="([^"]+)"', page)
    assert match is not None, "no acknowledge form on the page"
    return match[1]
