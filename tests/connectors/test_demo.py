"""``frontdoor demo --exit``: a synthetic day through the whole stack, then its figures.

One story, on the test broker under the test's own namespace: the command starts the stack (the
workers, the local mail catcher and webhook receiver, delivery, gateway, staff application), replays
a day whose contents are known by construction (:mod:`connectors.demo_day`), plays the staff's part,
waits for every outcome and exits 0. Its figures must agree with the day's known answers and with
the topics, counted here independently; then a team manager opens the dashboard on the store the
run filled, and every chart has data.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from rich.console import Console

from connectors.demo import compact_summary, summary_document, summary_tables
from connectors.demo_day import demo_day
from connectors.staff.db import engine_for
from connectors.staff.security import hash_password
from connectors.staff.store import QueueStore
from connectors.staff.web import MOST_DASHBOARD_DAYS, create_app
from schemas.models import (
    DeadLetter,
    DeliveryState,
    DeliveryStatus,
    EventType,
    Queue,
    StaffRole,
    WorkItem,
)
from streams.decisions.rules import load_rules, load_school_calendar
from streams.decisions.tally import Tally
from streams.platform.broker import free_port
from streams.platform.codec import AvroCodec
from streams.platform.reader import read_topic
from streams.platform.registry import EmbeddedSchemaRegistry
from streams.platform.settings import KafkaSettings
from streams.platform.topics import DEAD_LETTERS, DELIVERY_STATUSES, QUEUES
from tests.connectors.browser import dashboard_charts, screenshot
from tests.connectors.staff.synthetic import work_items
from tests.connectors.staff.test_dashboard import CHART_NAMES, staff_for
from tests.helpers import frontdoor, serving

SEED = 5
PASSWORD = "correct horse battery staple"
CODEC = AvroCodec(EmbeddedSchemaRegistry())


def _demo(
    kafka: KafkaSettings, prefix: str, data_dir: Path, end: datetime, out: Path
) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
        # As on a laptop (the local receivers start), on the test's broker, which listens already.
        "FRONTDOOR_KAFKA_EMBEDDED": "true",
        "FRONTDOOR_TOPIC_PREFIX": prefix,
        "FRONTDOOR_DATA_DIR": str(data_dir),
        "FRONTDOOR_SESSION_TIMEOUT_SECONDS": "6",
        "FRONTDOOR_HEARTBEAT_INTERVAL_SECONDS": "1",
        "FRONTDOOR_GATEWAY_PORT": str(free_port()),
        "FRONTDOOR_STAFF_PORT": str(free_port()),
        "FRONTDOOR_DELIVERY_SMTP_PORT": str(free_port()),
        "FRONTDOOR_METRICS_WORKER_PORT": str(free_port()),
        "FRONTDOOR_METRICS_DELIVERY_PORT": str(free_port()),
    }
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "connectors.cli",
            "demo",
            "--exit",
            "--seed",
            str(SEED),
            "--end",
            end.isoformat(),
            "--json",
            str(out),
            "--timeout",
            "240",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _dashboard_after_the_day(store_file: Path, end: datetime, page: Page) -> dict[str, int]:
    """A team manager's dashboard over the demo's store: the points each chart drew.

    The application's parts are the hand-made day's tests', on the wall clock, but read after
    the day's last school notification fell due: the start of the next school day, which on a
    weekend or in a school holiday is days or weeks away and outside a week's figures. So the
    dashboard is read then, over its longest period.
    """
    store = QueueStore(engine_for(f"sqlite:///{store_file}"))
    store.create_user(
        "tm.demo", "Demo reader", StaffRole.TEAM_MANAGER, hash_password(PASSWORD), end
    )
    last_due = load_school_calendar(load_rules()).next_school_day_start(end).astimezone(UTC)
    ahead = max(last_due + timedelta(minutes=1) - datetime.now(UTC), timedelta(0))
    staff = dataclasses.replace(
        staff_for(store, secure_cookies=True), clock=lambda: datetime.now(UTC) + ahead
    )
    app = create_app(staff, "a session secret for this test only")
    with serving(app) as url:
        page.goto(f"{url}/dashboard")
        page.get_by_label("Username").fill("tm.demo")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        expect(page).to_have_url(f"{url}/dashboard")
        page.goto(f"{url}/dashboard?days={MOST_DASHBOARD_DAYS}")
        drawn = dashboard_charts(page, CHART_NAMES)
        screenshot(page, "13-dashboard-after-a-demo-day")
    return drawn


def _decoded(kafka: KafkaSettings, topic: str, model: type[Any]) -> list[Any]:
    return [CODEC.decode(message.value, model) for message in read_topic(kafka, topic)]


@pytest.mark.integration
@pytest.mark.slow
@pytest.mark.usefixtures("local_receivers_port")
def test_a_demo_day_settles_its_figures_agree_with_the_topics_and_the_dashboard_draws_them(
    kafka: KafkaSettings,
    topic_prefix: str,
    data_dir: Path,
    tmp_path: Path,
    page: Page,
) -> None:
    end = datetime.now(UTC).replace(microsecond=0)
    out = tmp_path / "figures.json"

    result = _demo(kafka, topic_prefix, data_dir, end, out)

    log = (data_dir / "logs" / "demo.log").read_text(errors="replace")
    assert result.returncode == 0, result.stdout[-3000:] + log[-3000:]
    printed = result.stdout
    figures = json.loads(out.read_text())
    assert "events in, by agency" in printed
    assert "work items, by queue and priority" in printed
    # The day's known answers, by construction.
    rules = load_rules()
    known = demo_day(SEED, end, calendar=rules.office_calendar()).contents
    assert figures["events_in"] == {
        agency.value: {kind.value: counts[kind] for kind in EventType}
        for agency, counts in known.events_in.items()
    }
    assert figures["duplicates_absorbed"] == len(known.duplicated_event_ids)
    assert figures["duty_alerts"] == known.duty_team_alerts_expected
    assert figures["duty_alerts_acknowledged"] == known.duty_team_alerts_expected
    assert figures["information_requests"] == {
        agency.value: count for agency, count in known.information_requests.items()
    }
    assert figures["dead_letters"] == {}
    # And what the topics hold, counted here without the demo's code.
    work_items: dict[str, Counter[str]] = {}
    for queue, spec in QUEUES.items():
        items = {
            item.event_id: item for item in _decoded(kafka, spec.name_under(topic_prefix), WorkItem)
        }
        if items:
            work_items[queue.value] = Counter(item.priority.value for item in items.values())
    assert figures["work_items"] == {queue: dict(counts) for queue, counts in work_items.items()}
    assert (
        sum(figures["work_items"]["mash"].values())
        + sum(figures["work_items"]["early_help"].values())
        == known.children_routed
    )
    last_state: dict[tuple[str, str], DeliveryStatus] = {}
    for status in _decoded(kafka, DELIVERY_STATUSES.name_under(topic_prefix), DeliveryStatus):
        key = (status.message_id, status.recipient)
        if key not in last_state or status.state is not DeliveryState.RETRYING:
            last_state[key] = status
    delivered = Counter(
        status.message_type
        for status in last_state.values()
        if status.state is DeliveryState.DELIVERED
    )
    assert {
        kind: states.get("delivered", 0) for kind, states in figures["notifications"].items()
    } == ({kind: delivered[kind] for kind in figures["notifications"]})
    assert delivered["SchoolNotification"] > 0
    assert not _decoded(kafka, DEAD_LETTERS.name_under(topic_prefix), DeadLetter)

    # The store the run's staff application filled, read on the dashboard by a team manager.
    drawn = _dashboard_after_the_day(data_dir / "staff.db", end, page)
    assert all(points > 0 for points in drawn.values()), drawn

    # A second replay onto the same topics would count both days as one: refused, before
    # anything starts.
    again = _demo(kafka, topic_prefix, tmp_path / "again", end, tmp_path / "again.json")
    assert again.returncode == 2
    assert "[FD-CONFIG]" in again.stderr
    assert "hold" in again.stderr


@pytest.mark.integration
def test_synthetic_children_never_go_through_a_configured_channel_file(tmp_path: Path) -> None:
    channels = tmp_path / "channels.yaml"
    channels.write_text("# the county's real schools would be here\n")

    result = frontdoor(
        "demo",
        "--exit",
        env={
            "FRONTDOOR_DELIVERY_CHANNELS_FILE": str(channels),
            "FRONTDOOR_DATA_DIR": str(tmp_path),
        },
        check=False,
    )

    assert result.returncode == 2
    assert "[FD-CONFIG]" in result.stderr
    assert "FRONTDOOR_DELIVERY_CHANNELS_FILE" in result.stderr


def test_the_figures_read_the_same_on_the_terminal_and_in_json() -> None:
    tally = Tally()
    item = work_items(1, queue=Queue.MASH)[0]
    tally.observe(item)
    console = Console(record=True, width=100)

    console.print(summary_tables(tally.summary(), title="a day"))
    console.print(compact_summary(tally.summary(), title="live"))

    printed = console.export_text()
    assert "1 work item(s)" in printed
    assert "0 made, - within one working day, 1 waiting" in printed
    document = summary_document(tally.summary())
    assert document["work_items"] == {"mash": {item.priority.value: 1}}
    assert document["decisions"] == {"decided": 0, "on_time": 0, "undecided": 1}
    assert json.loads(json.dumps(document)) == document
