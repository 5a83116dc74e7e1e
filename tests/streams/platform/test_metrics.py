"""Metrics: the documented table and the dashboard match the code, and the helpers serve them.

The endpoints of the real processes (worker, delivery service, gateway, staff application) are
tested where those run: ``tests/agents/test_intake_agent.py``,
``tests/connectors/delivery/test_service.py``, ``tests/connectors/test_gateway.py`` and
``tests/connectors/staff/test_service.py``.
"""

from __future__ import annotations

import json
import logging
import re
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.metrics import MetricWrapperBase
from prometheus_client.parser import text_string_to_metric_families
from starlette.testclient import TestClient

from streams.platform import metrics
from streams.platform.broker import free_port
from streams.platform.settings import MetricsSettings

ROOT = Path(__file__).resolve().parents[3]
DOCUMENT = (ROOT / "docs" / "metrics.md").read_text(encoding="utf-8")
DASHBOARD = ROOT / "docs" / "grafana-dashboard.json"
_ROW = re.compile(
    r"^\| `(?P<name>frontdoor_\w+)` \| (?P<type>\w+) \|(?P<labels>[^|]*)\| [^|]+ \| "
    r"(?P<process>\w+) \|$",
    re.MULTILINE,
)


def _declared() -> set[tuple[str, str, tuple[str, ...], str]]:
    """(exposed name, type, labels, process) of every metric in every registry of the module."""
    by_name = {
        next(iter(collector.describe())).name: collector
        for collector in vars(metrics).values()
        if isinstance(collector, MetricWrapperBase)
    }
    declared = set()
    for process, registry in metrics.REGISTRIES.items():
        for family in registry.collect():
            if not family.name.startswith("frontdoor_"):
                continue  # the Prometheus client's process_* and python_* metrics
            exposed = f"{family.name}_total" if family.type == "counter" else family.name
            # The label names are only kept privately by the pinned client.
            labels = tuple(by_name[family.name]._labelnames)
            declared.add((exposed, family.type, labels, process))
    return declared


def _documented() -> set[tuple[str, str, tuple[str, ...], str]]:
    return {
        (
            row["name"],
            row["type"],
            tuple(re.findall(r"`(\w+)`", row["labels"])),
            row["process"],
        )
        for row in _ROW.finditer(DOCUMENT)
    }


class Samples:
    """The samples of a Prometheus text exposition, for the endpoint tests."""

    def __init__(self, text: str) -> None:
        self._samples = [
            sample for family in text_string_to_metric_families(text) for sample in family.samples
        ]

    def value(self, metric: str, **labels: str) -> float:
        """The sample of ``metric`` with exactly ``labels``; 0 when there is none (yet)."""
        return next(
            (s.value for s in self._samples if s.name == metric and s.labels == labels), 0.0
        )

    def labels_of(self, metric: str) -> list[dict[str, str]]:
        """The label sets of ``metric``'s samples."""
        return [sample.labels for sample in self._samples if sample.name == metric]


def documented_names(process: str) -> set[str]:
    """The names docs/metrics.md says ``process`` serves (for the endpoint tests)."""
    return {name for name, _kind, _labels, served_by in _documented() if served_by == process}


def test_the_table_documents_every_metric_its_type_labels_and_process_and_no_other() -> None:
    declared = _declared()
    assert len(declared) >= 18
    assert _documented() == declared


def test_every_metric_is_a_frontdoor_metric_with_its_unit_in_its_name() -> None:
    for name, kind, _labels, _process in _declared():
        assert name.startswith("frontdoor_")
        if kind == "counter":
            assert name.endswith("_total")
        if kind == "histogram":
            assert name.endswith("_seconds")


def _dashboard_queries() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    return [target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])]


def test_the_grafana_dashboard_parses_and_queries_only_declared_metrics() -> None:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    variables = dashboard["templating"]["list"]
    assert {"name": "datasource", "type": "datasource", "query": "prometheus"}.items() <= (
        variables[0].items()
    )
    declared = {name for name, _kind, _labels, _process in _declared()}
    queried = {
        re.sub(r"_(bucket|sum|count)$", "", name)
        for expr in _dashboard_queries()
        for name in re.findall(r"\bfrontdoor_\w+", expr)
    }
    assert queried
    assert queried - declared == set()
    # Every process's metrics have a panel.
    processes = {process for name, _k, _l, process in _declared() if name in queried}
    assert processes == set(metrics.REGISTRIES)
    for panel in dashboard["panels"]:
        if panel["type"] != "row":
            assert panel["datasource"]["uid"] == "${datasource}"


def test_the_settings_default_to_local_ports_and_read_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir("/")  # no stray .env
    defaults = MetricsSettings()
    assert (defaults.host, defaults.worker_port, defaults.delivery_port) == (
        "127.0.0.1",
        9101,
        9102,
    )
    monkeypatch.setenv("FRONTDOOR_METRICS_WORKER_PORT", "9111")
    monkeypatch.setenv("FRONTDOOR_METRICS_DELIVERY_PORT", "0")
    configured = MetricsSettings()
    assert (configured.worker_port, configured.delivery_port) == (9111, 0)


def test_served_metrics_are_prometheus_text_at_their_address() -> None:
    port = free_port()
    assert metrics.serve(metrics.WORKER, host="127.0.0.1", port=port, what="test")
    assert metrics.serve(metrics.WORKER, host="127.0.0.1", port=port, what="test")  # a no-op

    answer = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10)

    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    assert "# TYPE frontdoor_events_processed_total counter" in answer.text
    assert "process_cpu_seconds_total" in answer.text


def test_port_zero_serves_nothing() -> None:
    assert not metrics.serve(metrics.WORKER, host="127.0.0.1", port=0, what="test")


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield listener.getsockname()[1]


def test_a_port_already_taken_is_a_warning_and_the_process_goes_on(
    taken_port: int, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger=metrics.__name__):
        served = metrics.serve(metrics.WORKER, host="127.0.0.1", port=taken_port, what="worker")

    assert not served
    (record,) = caplog.records
    assert record.levelno == logging.WARNING
    assert f"worker metrics not served: cannot listen on 127.0.0.1:{taken_port}" in (
        record.getMessage()
    )


def test_an_agents_events_are_counted_by_topic_and_outcome_and_timed() -> None:
    measured = metrics.AgentMetrics("test.agent")
    labels = {"agent": "test.agent", "topic": "test.topic"}
    before = metrics.WORKER.get_sample_value(
        "frontdoor_event_processing_seconds_count", {"agent": "test.agent"}
    )

    measured.processed("test.topic", dead_lettered=False, received_at=time.monotonic() - 0.2)
    measured.processed("test.topic", dead_lettered=False, received_at=None)
    measured.processed("test.topic", dead_lettered=True, received_at=time.monotonic())

    sample = metrics.WORKER.get_sample_value
    assert sample("frontdoor_events_processed_total", {**labels, "outcome": "ok"}) == 2
    assert sample("frontdoor_events_processed_total", {**labels, "outcome": "dead_lettered"}) == 1
    timed = sample("frontdoor_event_processing_seconds_count", {"agent": "test.agent"})
    assert timed == (before or 0) + 2
    assert sample("frontdoor_event_processing_seconds_bucket", {"agent": "test.agent", "le": "0.1"})


def test_the_lag_of_a_partition_taken_away_is_no_longer_shown() -> None:
    metrics.set_consumer_lag({("t.a", 0): 5, ("t.a", 1): 0})
    metrics.set_consumer_lag({("t.a", 1): 3})

    sample = metrics.WORKER.get_sample_value
    assert sample("frontdoor_consumer_lag_messages", {"topic": "t.a", "partition": "1"}) == 3
    assert sample("frontdoor_consumer_lag_messages", {"topic": "t.a", "partition": "0"}) is None
    metrics.set_consumer_lag({})


def test_the_staff_feeder_counts_what_it_stored_by_topic() -> None:
    sample = metrics.STAFF.get_sample_value
    labels = {"topic": "test.queue"}
    before = sample("frontdoor_staff_messages_stored_total", labels) or 0

    metrics.count_staff_messages_stored(["test.queue", "test.queue"])

    assert sample("frontdoor_staff_messages_stored_total", labels) == before + 2


@pytest.fixture
def instrumented(tmp_path: Path) -> tuple[TestClient, CollectorRegistry]:
    """A small application with the middleware over a registry of the test's own."""
    registry = CollectorRegistry()
    requests = Counter("t_requests_total", "t", ["method", "route", "status"], registry=registry)
    seconds = Histogram("t_request_duration_seconds", "t", ["route"], registry=registry)
    app = FastAPI()

    @app.get("/items/{item_id}")
    def item(item_id: str) -> dict[str, str]:
        return {"item": item_id}

    @app.get("/broken")
    def broken() -> None:
        raise RuntimeError("a bug")

    (tmp_path / "staff.css").write_text("body {}")
    app.mount("/static", StaticFiles(directory=tmp_path), name="static")
    app.add_middleware(metrics.HttpMetrics, requests=requests, seconds=seconds)
    return TestClient(app, raise_server_exceptions=False), registry


def test_requests_are_counted_by_route_template_never_by_path(
    instrumented: tuple[TestClient, CollectorRegistry],
) -> None:
    client, registry = instrumented

    client.get("/items/child-key-1")
    client.get("/items/child-key-2")
    client.post("/items/child-key-3")
    client.get("/static/staff.css")
    client.get("/nothing/here")
    client.request("BREW", "/items/child-key-4")
    client.get("/broken")

    def count(method: str, route: str, status: str) -> float | None:
        labels = {"method": method, "route": route, "status": status}
        return registry.get_sample_value("t_requests_total", labels)

    assert count("GET", "/items/{item_id}", "200") == 2
    assert count("POST", "/items/{item_id}", "405") == 1
    assert count("GET", "/static", "200") == 1
    assert count("GET", metrics.UNMATCHED_ROUTE, "404") == 1
    assert count("other", "/items/{item_id}", "405") == 1
    assert count("GET", "/broken", "500") == 1
    timed = registry.get_sample_value(
        "t_request_duration_seconds_count", {"route": "/items/{item_id}"}
    )
    assert timed == 4
    families = {family.name: family for family in registry.collect()}
    routes = {sample.labels["route"] for sample in families["t_requests"].samples}
    assert not any("child-key" in route for route in routes)
