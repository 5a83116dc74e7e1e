"""The benchmark scripts still run: a tiny-size run of each, so they cannot rot. No timing is
asserted here; figures belong in docs/benchmarks.md."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from streams.platform.settings import KafkaSettings

BENCH = Path(__file__).resolve().parent.parent / "bench"


def _run(kafka: KafkaSettings | None, script: str, *arguments: str) -> str:
    """The script's output, after checking it exited cleanly (on ``kafka``'s broker, if any)."""
    broker = {"KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers} if kafka else {}
    result = subprocess.run(
        [sys.executable, str(BENCH / script), *arguments],
        env={"PATH": "/usr/bin:/bin", **broker},
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def test_the_steps_benchmark_runs_and_prints_its_figures() -> None:
    # The pure steps alone: no broker.
    output = _run(None, "steps.py", "--contacts", "20", "--rounds", "1")

    assert "identify, index growing from empty" in output
    assert "route_child_event, empty history" in output
    assert "route_child_event, earlier history" in output


@pytest.mark.integration
def test_the_latency_benchmark_runs_and_prints_its_figures(kafka: KafkaSettings) -> None:
    output = _run(kafka, "latency.py", "--rates", "5,10", "--seconds", "1", "--burst", "10")

    assert "steady 5/s x 5" in output
    assert "steady 10/s x 10" in output
    assert "publish-to-work-item ms p50" in output
    assert "(5/5 routed)" in output
    assert "publish-to-duty-team-alert ms p50" in output
    assert "burst of 10:" in output


@pytest.mark.integration
def test_the_throughput_benchmark_runs_and_prints_its_figures(kafka: KafkaSettings) -> None:
    output = _run(kafka, "throughput.py", "--events", "20", "--timeout", "60")

    for label in (
        "raw aiokafka passthrough",
        "bare Faust passthrough",
        "pipeline (one frontdoor worker)",
        "pipeline/bare Faust",
        "pipeline/raw",
        "CPU an event",
        "Messages on each topic",
        "accepted-events",
    ):
        assert label in output


@pytest.mark.integration
def test_the_replay_benchmark_runs_and_prints_its_figures(kafka: KafkaSettings) -> None:
    output = _run(kafka, "replay.py", "--rows", "200", "--timeout", "30")

    assert "export of 200 rows written, parsed and published" in output
    assert "replay of 200 rows" in output
    assert "rows/s" in output
    assert "worker memory: peak" in output
    assert "restart (SIGTERM, start again)" in output


def test_the_identification_benchmark_runs_without_a_broker() -> None:
    result = subprocess.run(
        [sys.executable, str(BENCH / "identify.py"), "--rows", "400", "--every", "100"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stderr[-3000:]
    assert "rows 0-100 (new children)" in result.stdout
    assert "rows 100-200 (known children)" in result.stdout


@pytest.mark.integration
def test_the_delivery_benchmark_runs_and_prints_its_figures(kafka: KafkaSettings) -> None:
    output = _run(kafka, "delivery.py", "--count", "3", "--rate", "10", "--timeout", "120")

    assert "3 police notifications at 10.0/s" in output
    assert "publish-to-school-email s p50" in output
    assert "(3/3 e-mailed; goal p99 under 60 s)" in output


@pytest.mark.integration
def test_the_delivery_benchmark_drains_a_backlog_and_prints_its_figures(
    kafka: KafkaSettings,
) -> None:
    output = _run(
        kafka, "delivery.py", "--count", "3", "--rate", "10", "--timeout", "120", "--backlog"
    )

    assert "the delivery service down until all are routed" in output
    assert "3 school notifications waiting; starting the delivery service" in output
    assert "(3/3 schools e-mailed)" in output
