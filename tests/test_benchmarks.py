"""The benchmark scripts still run: a tiny-size run of each, so they cannot rot. No timing is
asserted here; figures belong in docs/benchmarks.md."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from streams.platform.settings import KafkaSettings

BENCH = Path(__file__).resolve().parent.parent / "bench"


@pytest.mark.integration
def test_the_latency_benchmark_runs_and_prints_its_figures(kafka: KafkaSettings) -> None:
    result = subprocess.run(
        [
            sys.executable,
            str(BENCH / "latency.py"),
            "--rate",
            "5",
            "--seconds",
            "1",
            "--burst",
            "10",
        ],
        env={"PATH": "/usr/bin:/bin", "KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers},
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "publish-to-work-item ms p50" in result.stdout
    assert "(5/5 routed)" in result.stdout
    assert "burst of 10:" in result.stdout
