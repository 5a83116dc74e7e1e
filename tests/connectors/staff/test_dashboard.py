"""The dashboard in the staff application: the store gives the figures every event they need, and
the page shows them to team managers and leaders only, for the days asked.

The store is filled through :meth:`QueueStore.apply`, as the feeder fills it, with the hand-made
day of :mod:`tests.streams.decisions.test_figures`, whose figures are known; the store stories run
on SQLite and PostgreSQL. The pages are served on SQLite with a publisher that must never be
called: the dashboard publishes nothing. No broker is needed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from connectors.staff.db import SchoolNotificationRow, engine_for, migrate, sessions
from connectors.staff.security import hash_password
from connectors.staff.store import QueueStore
from connectors.staff.web import EventPublisher, Staff, create_app
from schemas.models import (
    AlertStatus,
    ClockKind,
    Event,
    NextStep,
    Queue,
    SchoolNotification,
    TimelinessAlert,
)
from streams.decisions.clocks import alert_id, clock_id_of
from streams.decisions.figures import DashboardEvents, dashboard, recent_days
from streams.platform.settings import StaffSettings
from tests.connectors.staff.running import (
    ACCOUNTS,
    DUTY_WORKER,
    EARLY_HELP_WORKER,
    LEADER,
    MASH_WORKER,
    PASSWORD,
    SESSION_SECRET,
    TEAM_MANAGER,
    hidden_fields,
)
from tests.connectors.staff.test_store import delivered
from tests.streams.decisions.test_figures import (
    CALENDAR,
    DAY,
    NOW,
    RULES,
    at,
    decision,
    hand_made_day,
    item,
)

CHART_NAMES = {
    "queue-ages",
    "decisions-on-time",
    "strategy-discussions-on-time",
    "strategy-discussion-attendance",
    "police-notifications-complete",
    "re-referrals",
    "early-help-step-downs",
    "duty-alerts-by-hour",
    "school-notifications",
}


def filled(store: QueueStore, events: list[Event]) -> QueueStore:
    """``store`` with ``events`` applied in batches, as the feeder would, one topic's at a time."""
    for kind in sorted({type(event) for event in events}, key=lambda kind: kind.__name__):
        store.apply(delivered(*(event for event in events if type(event) is kind)))
    return store


@pytest.mark.parametrize("days", [1, 2, 7])
def test_the_store_gives_the_figures_every_event_of_the_period(
    store: QueueStore, days: int
) -> None:
    day = hand_made_day()
    filled(store, day)
    period = recent_days(NOW, days, CALENDAR.timezone)

    stored = store.dashboard_events(period.start, period.end)

    expected = dashboard(DashboardEvents.of(day), period, NOW, RULES.decisions, CALENDAR)
    assert dashboard(stored, period, NOW, RULES.decisions, CALENDAR) == expected


def test_the_store_leaves_out_what_no_figure_of_the_period_reads(store: QueueStore) -> None:
    filled(store, hand_made_day())

    stored = store.dashboard_events(DAY.start, DAY.end)

    # Q comes after the period; everything else is received in it, waiting, decided in it or
    # (C, H) discussed in it. Monday 23:30's alert and the notification due tomorrow are out.
    assert "wi-day-q" not in {item.event_id for item in stored.work_items}
    assert "alert-day-p" not in {alert.event_id for alert in stored.duty_alerts}
    assert "sn-day-01" not in {notice.event_id for notice in stored.school_notifications}
    assert {status.message_id for status in stored.deliveries} == {
        "sn-day-04",
        "sn-day-06",
        "sn-day-07",
        "sn-day-08",
    }


def test_a_discussion_overdue_since_last_week_counts_while_its_alert_is_open(
    store: QueueStore,
) -> None:
    # Decided at level 4 last Tuesday, nothing recorded since: outside the period but for the
    # clocks' overdue alert, which is what brings it in.
    last_week = at(1, 10)
    received = last_week - timedelta(hours=1)
    waiting = item("w", Queue.MASH, received, sender="gp.synthetic", source="ct-day-20")
    required = decision(waiting, "w", last_week, NextStep.STRATEGY_DISCUSSION, level=4)
    clock_id = clock_id_of(ClockKind.STRATEGY_DISCUSSION, waiting.event_id)
    overdue = TimelinessAlert(
        event_id=alert_id(clock_id, AlertStatus.OVERDUE),
        clock_id=clock_id,
        clock=ClockKind.STRATEGY_DISCUSSION,
        child_key=waiting.child_key,
        work_item_id=waiting.event_id,
        status=AlertStatus.OVERDUE,
        started_at=last_week,
        due_at=last_week + timedelta(hours=RULES.decisions.strategy_discussion_due_hours),
        raised_at=last_week + timedelta(hours=25),
    )
    filled(store, [waiting, required])

    def overdue_today() -> int:
        events = store.dashboard_events(DAY.start, DAY.end)
        return dashboard(events, DAY, NOW, RULES.decisions, CALENDAR).strategy.overdue

    assert overdue_today() == 0
    store.apply(delivered(overdue))
    assert overdue_today() == 1


def test_school_notifications_are_stored_once_and_rebuilt_from_their_topic(
    store: QueueStore, engine: Engine
) -> None:
    notices = [event for event in hand_made_day() if isinstance(event, SchoolNotification)]
    store.apply(delivered(*notices))
    store.apply(delivered(*notices, offset=40))  # redelivered after a crash: nothing twice

    def stored() -> int:
        with sessions(engine)() as session:
            return session.scalar(select(func.count()).select_from(SchoolNotificationRow)) or 0

    assert stored() == len(notices)
    store.clear_topic_rows()
    assert stored() == 0


class _NoPublishing:
    """The dashboard publishes nothing: a call here fails the test."""

    def publish(self, *_args: object, **_kwargs: object) -> tuple[int, int]:
        raise AssertionError("the dashboard published an event")


def _no_publisher() -> EventPublisher:
    return _NoPublishing()


@pytest.fixture(scope="module")
def hashed() -> str:
    return hash_password(PASSWORD)


@contextmanager
def accounts_store(folder: Path, hashed: str) -> Iterator[QueueStore]:
    """An empty SQLite store in ``folder`` with one account per role (``hashed`` password)."""
    url = f"sqlite:///{folder / 'staff.db'}"
    migrate(url)
    engine = engine_for(url)
    store = QueueStore(engine)
    for username, name, role in ACCOUNTS:
        store.create_user(username, name, role, hashed, NOW)
    try:
        yield store
    finally:
        engine.dispose()


@pytest.fixture
def staff_store(tmp_path: Path, hashed: str) -> Iterator[QueueStore]:
    with accounts_store(tmp_path, hashed) as store:
        yield store


def staff_for(store: QueueStore, *, secure_cookies: bool = False) -> Staff:
    """The application's parts over ``store``, its clock standing at the hand-made day's now."""
    return Staff(
        settings=StaffSettings(secure_cookies=secure_cookies),
        store=store,
        publisher=_no_publisher,
        minimum_rationale_words=RULES.decisions.minimum_rationale_words,
        topic_prefix="test.",
        calendar=CALENDAR,
        decision_rules=RULES.decisions,
        clock=lambda: NOW,
    )


def client_for(store: QueueStore) -> TestClient:
    return TestClient(create_app(staff_for(store), SESSION_SECRET))


def signed_in(store: QueueStore, username: str) -> TestClient:
    client = client_for(store)
    form = hidden_fields(client.get("/sign-in").text)
    response = client.post(
        "/sign-in",
        data={"username": username, "password": PASSWORD, **form},
        follow_redirects=False,
    )
    assert response.status_code == 303
    return client


def charts_of(page: str) -> dict[str, int]:
    """Each chart on the page by name, with how many values it draws."""
    return {
        name: int(points)
        for name, points in re.findall(r'data-chart="([^"]+)" data-points="(\d+)"', page)
    }


@pytest.mark.parametrize("username", [TEAM_MANAGER, LEADER])
def test_team_managers_and_leaders_read_the_dashboard_with_every_chart_drawn(
    staff_store: QueueStore, username: str
) -> None:
    filled(staff_store, hand_made_day())
    with signed_in(staff_store, username) as client:
        page = client.get("/dashboard")

    assert page.status_code == 200
    assert '<a href="/dashboard">Dashboard</a>' in page.text
    charts = charts_of(page.text)
    assert set(charts) == CHART_NAMES
    assert all(points > 0 for points in charts.values()), charts
    # The last 7 days: Wednesday 2 December 00:00 to now.
    assert "Wed 02 Dec 2026 00:00" in page.text
    assert "<strong>7</strong> waiting for a decision" in page.text
    # Nothing on the page to change anything: the only form besides signing out asks for days.
    assert re.findall(r'<form[^>]*method="post"[^>]*>', page.text) == [
        '<form class="who" method="post" action="/sign-out">'
    ]


@pytest.mark.parametrize("username", [MASH_WORKER, EARLY_HELP_WORKER, DUTY_WORKER])
def test_other_roles_get_the_usual_refusal_and_no_link(
    staff_store: QueueStore, username: str
) -> None:
    with signed_in(staff_store, username) as client:
        refused = client.get("/dashboard")
        queue = client.get("/")

    assert refused.status_code == 403
    assert "The dashboard is for team managers and leaders" in refused.text
    assert "data-chart" not in refused.text
    assert 'href="/dashboard"' not in queue.text


def test_the_dashboard_asks_for_a_sign_in_first(staff_store: QueueStore) -> None:
    with client_for(staff_store) as client:
        response = client.get("/dashboard?days=28", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/sign-in?next=/dashboard"


@pytest.mark.parametrize(("days", "start"), [("1", "Tue 08 Dec 2026 00:00"), ("90", "Thu 10 Sep")])
def test_the_days_asked_for_set_the_period(staff_store: QueueStore, days: str, start: str) -> None:
    filled(staff_store, hand_made_day())
    with signed_in(staff_store, TEAM_MANAGER) as client:
        page = client.get(f"/dashboard?days={days}")
    assert page.status_code == 200
    assert start in page.text
    assert f'<strong aria-current="page">{"Today" if days == "1" else days + " days"}' in page.text


@pytest.mark.parametrize("days", ["0", "91", "seven", "", "-3", "7.5", "²"])
def test_a_period_the_dashboard_does_not_show_is_a_clear_error(
    staff_store: QueueStore, days: str
) -> None:
    with signed_in(staff_store, TEAM_MANAGER) as client:
        page = client.get("/dashboard", params={"days": days})
    assert page.status_code == 400
    assert "That is not a period the dashboard shows" in page.text
    assert "from 1 to 90" in page.text


def test_an_empty_store_shows_no_data_rather_than_failing(staff_store: QueueStore) -> None:
    with signed_in(staff_store, LEADER) as client:
        page = client.get("/dashboard?days=1")
    assert page.status_code == 200
    charts = charts_of(page.text)
    assert set(charts) == CHART_NAMES
    assert set(charts.values()) == {0}
    assert page.text.count("No data in this period.") == len(CHART_NAMES)
    assert "<strong>0</strong> waiting for a decision" in page.text
