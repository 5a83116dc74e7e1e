"""The staff application as ``frontdoor staff`` serves it: the pages with their metrics.

Prometheus has no account: ``GET /metrics`` must answer without a sign-in, a CSRF token or a
session, while every page's request is counted by its route template (never its path: an item id
or a child key in a label would be personal data kept for ever). A real server over HTTP; the
store is SQLite and no broker is needed (nothing is published).
"""

from __future__ import annotations

from pathlib import Path

import httpx
from fastapi import FastAPI

from connectors.staff.db import engine_for, migrate
from connectors.staff.service import web_application
from connectors.staff.store import QueueStore
from connectors.staff.web import EventPublisher, Staff
from schemas.errors import BrokerUnavailableError
from streams.decisions.rules import load_rules
from streams.platform.settings import StaffSettings
from tests.helpers import serving
from tests.streams.platform.test_metrics import Samples, documented_names


def _no_broker() -> EventPublisher:
    raise BrokerUnavailableError("no broker in this test: nothing is published")


def _application(tmp_path: Path) -> FastAPI:
    url = f"sqlite:///{tmp_path / 'staff.db'}"
    migrate(url)
    rules = load_rules()
    staff = Staff(
        settings=StaffSettings(secure_cookies=False),
        store=QueueStore(engine_for(url)),
        publisher=_no_broker,
        minimum_rationale_words=rules.decisions.minimum_rationale_words,
        topic_prefix="test-staff-metrics.",
        calendar=rules.office_calendar(),
    )
    return web_application(staff, "synthetic-session-secret-for-tests-only")


def test_metrics_need_no_sign_in_and_count_pages_by_route_template(tmp_path: Path) -> None:
    with serving(_application(tmp_path)) as url:
        before = Samples(httpx.get(f"{url}/metrics", timeout=10).text)
        signed_out = httpx.get(f"{url}/items/work-item-0001", timeout=10)
        sign_in = httpx.get(f"{url}/sign-in", timeout=10)
        answer = httpx.get(f"{url}/metrics", timeout=10)

    assert signed_out.status_code == 303  # the pages still ask for a sign-in
    assert sign_in.status_code == 200
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    assert "set-cookie" not in answer.headers  # no session started for a scraper
    for metric in documented_names("staff"):
        assert f"# TYPE {metric} " in answer.text
    after = Samples(answer.text)

    def grew(metric: str, **labels: str) -> float:
        return after.value(metric, **labels) - before.value(metric, **labels)

    requests = "frontdoor_staff_requests_total"
    assert grew(requests, method="GET", route="/items/{item_id}", status="303") == 1
    assert grew(requests, method="GET", route="/sign-in", status="200") == 1
    assert grew("frontdoor_staff_request_duration_seconds_count", route="/sign-in") == 1
    assert "work-item-0001" not in answer.text
