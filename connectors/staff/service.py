"""Running the staff application: its database, the feeder that fills it, and the web server.

Lifecycle of ``frontdoor staff``: migrate the database to the current schema, start the
:class:`~connectors.staff.consumer.StoreFeeder` in a thread (queues, tasks, alerts and decisions
into the store), serve the web application until stopped, then stop the feeder, which commits
nothing it has not stored. The publisher of decisions connects on first use, so the application
starts, and shows the queues it has, while the broker is down (a decision then gets a clear 503).

The application served is :func:`web_application`: the pages, every request counted by route
template and status, and ``GET /metrics`` for Prometheus (``docs/metrics.md``).
"""

from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from fastapi import FastAPI

from connectors.staff.consumer import configured_feeder, default_codec
from connectors.staff.db import engine_for, migrate
from connectors.staff.security import hash_password
from connectors.staff.store import QueueStore
from connectors.staff.web import Staff, create_app
from schemas.models import StaffRole
from streams.decisions.rules import DEFAULT_RULES_FILE, load_rules
from streams.platform import metrics
from streams.platform.publisher import Publisher
from streams.platform.settings import (
    KafkaSettings,
    StaffSettings,
    WorkerSettings,
    load,
    staff_database_url,
    staff_session_secret,
)

log = logging.getLogger(__name__)

#: The demo accounts ``make run`` creates, one per role a newcomer would try.
DEMO_USERS: tuple[tuple[str, str, StaffRole], ...] = (
    ("demo.mash", "Demo MASH worker", StaffRole.MASH_WORKER),
    ("demo.manager", "Demo team manager", StaffRole.TEAM_MANAGER),
    ("demo.earlyhelp", "Demo early-help worker", StaffRole.EARLY_HELP_WORKER),
    ("demo.duty", "Demo duty team", StaffRole.DUTY_TEAM),
    ("demo.leader", "Demo leader", StaffRole.LEADER),
)


def open_store(settings: StaffSettings, worker: WorkerSettings) -> QueueStore:
    """The staff store, migrated to the current schema first."""
    url = staff_database_url(settings, worker)
    migrate(url)
    return QueueStore(engine_for(url))


def web_application(staff: Staff, session_secret: str) -> FastAPI:
    """The staff application's pages with its metrics.

    ``GET /metrics`` needs no sign-in: Prometheus has no account, and the metrics are counts by
    route template, never a child's details. It is outside the pages' sign-in and CSRF checks
    (route by route in :mod:`connectors.staff.web`), and the session middleware sets no cookie
    on a request that brings none.
    """
    app = create_app(staff, session_secret)
    app.add_middleware(
        metrics.HttpMetrics, requests=metrics.STAFF_REQUESTS, seconds=metrics.STAFF_REQUEST_SECONDS
    )
    metrics.add_endpoint(app, metrics.STAFF)
    return app


@dataclass(frozen=True)
class DemoAccount:
    username: str
    password: str
    role: StaffRole


def demo_accounts(store: QueueStore, now: datetime) -> list[DemoAccount]:
    """Create the demo accounts, or give them new passwords: printed once, never stored plainly.

    Only for a local demo on synthetic data (``make run``); a real deployment creates its users
    with ``frontdoor users create``.
    """
    accounts = []
    for username, display_name, role in DEMO_USERS:
        password = secrets.token_urlsafe(12)
        hashed = hash_password(password)
        if not store.create_user(username, display_name, role, hashed, now):
            store.set_password_hash(username, hashed)
        accounts.append(DemoAccount(username, password, role))
    return accounts


def serve(*, demo: bool = False, say: Callable[[str], None] = print) -> int:
    """Run the staff application with its feeder until interrupted."""
    import uvicorn  # noqa: PLC0415 - the server, only when serving

    settings, worker, kafka = load(StaffSettings), load(WorkerSettings), load(KafkaSettings)
    store = open_store(settings, worker)
    codec = default_codec()
    publisher: list[Publisher] = []

    def connected() -> Publisher:
        if not publisher:
            publisher.append(Publisher(kafka, codec))
        return publisher[0]

    rules = load_rules(worker.rules_file or DEFAULT_RULES_FILE)
    staff = Staff(
        settings=settings,
        store=store,
        publisher=connected,
        minimum_rationale_words=rules.decisions.minimum_rationale_words,
        topic_prefix=worker.topic_prefix,
        calendar=rules.office_calendar(),
        decision_rules=rules.decisions,
    )
    app = web_application(staff, staff_session_secret(settings, worker))
    stop = threading.Event()
    feeder = threading.Thread(
        target=configured_feeder(store).run, args=(stop,), name="staff-store-feeder", daemon=True
    )
    feeder.start()
    url = f"http://{settings.host}:{settings.port}"
    say(f"staff application: {url}")
    if demo:
        for account in demo_accounts(store, datetime.now(UTC)):
            say(f"  demo sign-in ({account.role.value}): {account.username} / {account.password}")
    try:
        uvicorn.run(app, host=settings.host, port=settings.port, log_level="warning")
    finally:
        stop.set()
        feeder.join(timeout=30)
        if publisher:
            publisher[0].close()
    return 0
