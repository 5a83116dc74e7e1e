"""Staff in a real browser: a MASH worker decides an item; a team manager records a discussion
and runs the daily domestic-abuse meeting; the duty team acknowledges an alert from the link in
its e-mail, on a phone, and the MASH reads the out-of-hours handover; a team manager reads the
dashboard, every chart drawn.

Chromium (the system's, ``/usr/bin/chromium``; Playwright's own download does not work here)
drives the application served by uvicorn over HTTP, with the session cookie Secure as in
production (a browser keeps Secure cookies for 127.0.0.1). The story saves screenshots of what the
worker sees to ``test-artifacts/screenshots/`` (or ``FRONTDOOR_SCREENSHOTS_DIR``) for review.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from connectors.staff.acknowledge_links import acknowledge_url
from connectors.staff.security import hash_password
from connectors.staff.web import create_app
from schemas.models import NextStep, Queue, StaffRole, ThresholdDecision
from streams.platform.settings import KafkaSettings
from tests.connectors.browser import dashboard_charts, screenshot
from tests.connectors.staff.running import (
    DUTY_WORKER,
    MASH_WORKER,
    PASSWORD,
    SESSION_SECRET,
    TEAM_MANAGER,
    RunningStaff,
    start_staff,
)
from tests.connectors.staff.synthetic import work_items
from tests.connectors.staff.test_dashboard import CHART_NAMES, accounts_store, filled, staff_for
from tests.connectors.staff.test_web import (
    ACKNOWLEDGE,
    IMPACT,
    ON_CALL,
    SATURDAY_NIGHT,
    SUNDAY_NIGHT,
    an_agenda,
    duty_alerts,
)
from tests.helpers import serving
from tests.streams.decisions.test_figures import hand_made_day
from tests.streams.decisions.test_meeting import london

pytestmark = pytest.mark.integration

A_RATIONALE = (
    "Third domestic abuse notification this year; the children were present and the younger "
    "one was upset when officers arrived. A child-in-need assessment is proportionate."
)


@pytest.fixture
def running(kafka: KafkaSettings, topic_prefix: str, tmp_path: Path) -> RunningStaff:
    url = f"sqlite:///{tmp_path / 'staff.db'}"
    return start_staff(kafka, topic_prefix, url, work_items(12), secure_cookies=True)


def test_a_mash_worker_decides_an_item_and_sees_it_leave_the_queue(
    page: Page, running: RunningStaff
) -> None:
    item = running.store.queue(Queue.MASH)[0]
    with serving(create_app(running.staff, SESSION_SECRET)) as url:
        page.goto(f"{url}/queues/mash")
        expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
        page.get_by_label("Username").fill(MASH_WORKER)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()

        expect(page.get_by_role("heading", name="MASH queue")).to_be_visible()
        rows = page.locator("table.queue tbody tr")
        expect(rows.first).to_contain_text(item.priority.value.upper())
        screenshot(page, "01-mash-queue")

        page.locator(f'a[href="/items/{item.event_id}"]').click()
        expect(page.get_by_role("heading", name="Why it is here")).to_be_visible()
        expect(page.get_by_role("heading", name="Record the threshold decision")).to_be_visible()
        screenshot(page, "02-item")

        page.get_by_label("Level of need").select_option("3")
        page.get_by_label("Next step").select_option("child_in_need_assessment")
        page.get_by_label("Rationale").fill("as above")
        page.get_by_role("button", name="Record decision").click()

        expect(page.get_by_role("alert")).to_contain_text("The decision was not recorded")
        expect(page.get_by_role("alert")).to_contain_text("at least 8 words")
        expect(page.get_by_label("Rationale")).to_have_value("as above")
        expect(page.get_by_label("Level of need")).to_have_value("3")
        screenshot(page, "03-rationale-refused")

        page.get_by_label("Rationale").fill(A_RATIONALE)
        page.get_by_role("button", name="Record decision").click()

        expect(page.get_by_role("status")).to_contain_text("Decision recorded")
        expect(page.locator(f'a[href="/items/{item.event_id}"]')).to_have_count(0)
        screenshot(page, "04-queue-after-decision")

    [decision] = [d for d in running.decisions() if d.work_item_id == item.event_id]
    assert decision.rationale == A_RATIONALE


def test_a_team_manager_records_a_strategy_discussion_and_sees_who_was_missing(
    page: Page, running: RunningStaff
) -> None:
    item = next(row for row in running.store.queue(Queue.MASH) if row.child.school_urn)
    with serving(create_app(running.staff, SESSION_SECRET)) as url:
        page.goto(f"{url}/items/{item.event_id}")
        page.get_by_label("Username").fill(TEAM_MANAGER)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()

        page.get_by_label("Level of need").select_option("4")
        page.get_by_label("Next step").select_option("strategy_discussion")
        page.get_by_label("Rationale").fill(A_RATIONALE)
        page.get_by_role("button", name="Record decision").click()
        expect(page.get_by_role("status")).to_contain_text("Decision recorded")

        page.goto(f"{url}/items/{item.event_id}")
        discussion = page.locator("#strategy-discussion")
        discussion.get_by_role("radio", name="Held", exact=True).check()
        attended = discussion.get_by_role("group", name="Attended (held)")
        attended.get_by_role("checkbox", name="local authority", exact=True).check()
        attended.get_by_role("checkbox", name="police", exact=True).check()
        discussion.get_by_role("radio", name="No", exact=True).check()
        discussion.get_by_role("textbox", name="Reasons").fill(
            "Police shared the incident log and the hospital's view; the bruising has an "
            "explanation the paediatrician accepts, so no section 47 enquiry."
        )
        discussion.get_by_role("button", name="Record strategy discussion").click()

        expect(page.get_by_role("note").last).to_contain_text("Held without health, education")
        screenshot(page, "05-strategy-discussion-flagged")


def test_a_team_manager_runs_the_daily_meeting_recording_the_impact_and_an_action(
    page: Page, running: RunningStaff
) -> None:
    agenda = an_agenda()
    running.publish_and_store(agenda)
    oscar = agenda.households[0].children[0]
    with serving(create_app(running.staff, SESSION_SECRET)) as url:
        page.goto(f"{url}/meeting")
        page.get_by_label("Username").fill(TEAM_MANAGER)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()

        expect(page.get_by_role("heading", name="Daily domestic-abuse meeting")).to_be_visible()
        child = page.locator(f'article[id="{oscar.child_key}"]')
        expect(child).to_contain_text("Oscar")
        expect(child).to_contain_text("school 990001")
        screenshot(page, "06-daily-meeting-agenda")

        child.get_by_label("Impact of the incident on this child").fill(IMPACT)
        child.get_by_role("button", name="Save the record for Oscar").click()
        expect(page.get_by_role("alert")).to_contain_text("at least one action")
        screenshot(page, "07-daily-meeting-record-refused")

        child = page.locator(f'article[id="{oscar.child_key}"]')
        child.get_by_label("What will be done").first.fill(
            "Learning mentor to check in with Oscar every morning"
        )
        child.get_by_label("Owner").first.select_option("education")
        child.get_by_label("Due").first.fill("2026-12-11")
        child.get_by_role("button", name="Save the record for Oscar").click()

        expect(page.get_by_role("status")).to_contain_text("Record saved")
        expect(page.locator(f'article[id="{oscar.child_key}"]')).to_contain_text(
            "Learning mentor to check in with Oscar every morning"
        )
        screenshot(page, "08-daily-meeting-recorded")


def test_the_duty_team_acknowledges_from_the_emails_link_and_the_mash_reads_the_handover(
    browser: Browser, page: Page, running: RunningStaff
) -> None:
    [(decided, acknowledged), (_, unacknowledged)] = duty_alerts(
        running, SATURDAY_NIGHT, SUNDAY_NIGHT
    )
    running.publish_and_store(
        ThresholdDecision(
            event_id="dec-edt-synthetic-1",
            work_item_id=decided.event_id,
            child_key=decided.child_key,
            source_event_id=decided.source_event_id,
            queue=decided.queue,
            level=4,
            next_step=NextStep.STRATEGY_DISCUSSION,
            rationale=A_RATIONALE,
            decided_by=DUTY_WORKER,
            decided_by_role=StaffRole.DUTY_TEAM,
            decided_at=london(21, 3, 5, month=11),
        )
    )
    with serving(create_app(running.staff, SESSION_SECRET)) as url:
        phone = browser.new_context(
            viewport={"width": 390, "height": 844}, locale="en-GB", is_mobile=True
        )
        try:
            on_phone = phone.new_page()
            on_phone.goto(acknowledge_url(url, SESSION_SECRET, acknowledged.event_id, ON_CALL))
            expect(on_phone.get_by_role("heading", name="Duty-team alert")).to_be_visible()
            expect(on_phone.get_by_text("Not yet")).to_be_visible()
            screenshot(on_phone, "09-duty-alert-acknowledge-link")

            on_phone.get_by_role("button", name=ACKNOWLEDGE).click()
            expect(on_phone.get_by_role("status")).to_contain_text("Acknowledged: thank you")
            expect(on_phone.get_by_text(f"by {ON_CALL}")).to_be_visible()
            screenshot(on_phone, "10-duty-alert-acknowledged")
        finally:
            phone.close()

        page.goto(f"{url}/handover")
        page.get_by_label("Username").fill(MASH_WORKER)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("heading", name="Out-of-hours handover")).to_be_visible()
        page.get_by_label("Handover for the opening on").fill("2026-11-23")
        page.get_by_role("button", name="Show").click()

        rows = page.locator("table.queue tbody tr")
        expect(rows).to_have_count(2)
        expect(rows.first).to_contain_text(acknowledged.child_key)
        expect(rows.first).to_contain_text(f"by {ON_CALL}")
        expect(rows.first).to_contain_text("Strategy discussion / section 47 (level 4)")
        expect(rows.nth(1)).to_contain_text(unacknowledged.child_key)
        expect(rows.nth(1)).to_contain_text("NOT ACKNOWLEDGED")
        expect(rows.nth(1)).to_contain_text("No decision recorded yet")
        screenshot(page, "11-out-of-hours-handover")

    [acknowledgement] = running.acknowledgements()
    assert acknowledgement.acknowledged_by == ON_CALL


def test_a_team_manager_opens_the_dashboard_and_every_chart_has_data(
    page: Page, tmp_path: Path
) -> None:
    """The hand-made day of the figures' tests, applied to the store as the feeder would (no
    broker), read at that Tuesday evening; every request the page makes is to the application
    itself: nothing from another site."""
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    with accounts_store(tmp_path, hash_password(PASSWORD)) as store:
        filled(store, hand_made_day())
        app = create_app(staff_for(store, secure_cookies=True), SESSION_SECRET)
        with serving(app) as url:
            page.goto(f"{url}/queues/mash")
            page.get_by_label("Username").fill(TEAM_MANAGER)
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            main = page.get_by_role("navigation", name="Main")
            main.get_by_role("link", name="Dashboard").click()

            drawn = dashboard_charts(page, CHART_NAMES)
            assert all(points > 0 for points in drawn.values()), drawn
            screenshot(page, "12-dashboard")

            # The figures behind a chart, for whoever would rather read than look.
            police = page.locator('figure[data-chart="police-notifications-complete"]')
            police.get_by_text("the figures").click()
            expect(police.get_by_role("table")).to_contain_text("police.thames")

    assert requested
    assert all(address.startswith(url) for address in requested), requested
