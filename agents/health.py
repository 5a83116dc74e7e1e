"""The worker's health: whether it reaches the broker, said within seconds in its log and in a
status file.

While its connection is cut or paused the stream processor says nothing (measured: 30 s without
a log line), so an operator could not tell a stalled worker from an idle one. Every
``FRONTDOOR_HEALTH_INTERVAL_SECONDS`` each worker asks the broker for metadata (3 s timeout). When
it gets no answer it logs an ERROR saying for how long the broker has been unreachable (at once,
then every 30 s), and says when it is back. It writes ``<data dir>/health.json`` after every
check: ``{"broker": "ok" | "unreachable", "since": ..., "checked_at": ...}``, which
``frontdoor health`` prints (exit 1 when unhealthy or stale) for a supervisor or container check.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from streams.platform import metrics
from streams.platform.app import app, kafka_settings, worker_settings
from streams.platform.broker import broker_answers

log = logging.getLogger(__name__)

_REPEAT_EVERY = timedelta(seconds=30)


@dataclass
class BrokerHealth:
    """What the checks found: reachable or not, since when, and when that was last logged."""

    reachable: bool = True
    since: datetime | None = None
    logged_at: datetime | None = None

    def checked(self, reachable: bool, now: datetime) -> None:
        if reachable != self.reachable or self.since is None:
            if reachable and self.since is not None:
                log.info("broker reachable again after %.0fs", (now - self.since).total_seconds())
            self.reachable, self.since, self.logged_at = reachable, now, None
        if not reachable and (self.logged_at is None or now - self.logged_at >= _REPEAT_EVERY):
            self.logged_at = now
            log.error(
                "cannot reach the broker at %s for %.0fs: no event moves until it answers",
                kafka_settings.bootstrap_servers,
                (now - self.since).total_seconds(),
            )

    def write(self, path: Path, now: datetime) -> None:
        status = {
            "broker": "ok" if self.reachable else "unreachable",
            "since": self.since.isoformat() if self.since else None,
            "checked_at": now.isoformat(),
        }
        path.write_text(json.dumps(status), encoding="utf-8")


_health = BrokerHealth()


def _check() -> None:
    now = datetime.now(UTC)
    reachable = broker_answers(kafka_settings)
    _health.checked(reachable, now)
    _health.write(worker_settings.health_file, now)
    metrics.BROKER_REACHABLE.set(1 if reachable else 0)


@app.timer(interval=worker_settings.health_interval_seconds)  # type: ignore[untyped-decorator]
async def check_the_broker() -> None:
    await asyncio.to_thread(_check)
