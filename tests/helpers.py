"""Test helpers: synthetic events, a worker subprocess, and waiting for messages on a topic.

All personal data here is synthetic (Faker-style invented names and the NHS test number range).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

import psycopg
import pytest
import uvicorn

from schemas.models import (
    AcceptedEvent,
    Address,
    Adult,
    AdultRole,
    Agency,
    Child,
    ConcernCategory,
    ConsentAction,
    ConsentEvent,
    ConsentPosition,
    Contact,
    DashRiskLevel,
    DataQualityIssue,
    DeadLetter,
    DeciderRole,
    Event,
    EventType,
    IncidentType,
    InformationRequest,
    LawfulBasis,
    MashTask,
    NotificationChild,
    PoliceNotification,
    Queue,
    Referrer,
    RequestedItem,
    RequestReason,
    ServiceRequested,
    SourcePosition,
    TaskKind,
    WorkItem,
)
from schemas.wire import InboundMessage
from streams.decisions.ledger import Waiting
from streams.platform.app import codec
from streams.platform.broker import free_port
from streams.platform.reader import read_topic
from streams.platform.settings import KafkaSettings
from streams.platform.topics import QUEUES

EventT = TypeVar("EventT", bound=Event)

VALID_NHS_NUMBER = "9434765919"
INVALID_NHS_NUMBER = "9434765918"
RECEIVED = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


def new_id(prefix: str = "evt") -> str:
    return f"{prefix}-{uuid.uuid4().hex}"


def contact(**changes: object) -> Contact:
    """A usable contact about one child, with consent; override any field."""
    fields: dict[str, object] = {
        "event_id": new_id(),
        "received_at": RECEIVED,
        "referrer": Referrer(
            name="Priya Hartley", agency=Agency.EDUCATION, email="dsl@school.example"
        ),
        "children": [
            Child(
                given_name="Amelia",
                family_name="Thornbury",
                date_of_birth=date(2016, 3, 14),
                nhs_number=VALID_NHS_NUMBER,
                school_urn="990001",
            )
        ],
        "concern_categories": [ConcernCategory.NEGLECT],
        "description": "Synthetic description of a worry.",
        "consent": ConsentPosition.GIVEN,
    }
    fields.update(changes)
    return Contact.model_validate(fields)


def police_notification(**changes: object) -> PoliceNotification:
    """A complete domestic-abuse notification about two children; override any field."""
    fields: dict[str, object] = {
        "event_id": new_id(),
        "received_at": RECEIVED,
        "police_reference": "NP-2026-000123",
        "force": "Synthetic Constabulary",
        "occurred_at": datetime(2026, 11, 23, 22, 15, tzinfo=UTC),
        "incident_type": IncidentType.DOMESTIC_ABUSE,
        "dash_risk_level": DashRiskLevel.MEDIUM,
        "dash_score": 9,
        "location": Address(line1="1 Synthetic Road", town="Synthton", postcode="ZZ1 1ZZ"),
        "children": [
            NotificationChild(
                given_name="Oscar",
                family_name="Pembleton",
                date_of_birth=date(2018, 7, 2),
                school_urn="990001",
                present=True,
                present_location="living room",
                spoken_to=True,
                child_voice="Synthetic words of the child.",
            ),
            NotificationChild(
                given_name="Isla",
                family_name="Pembleton",
                date_of_birth=date(2023, 1, 9),
                school_name="Synthetic Little Acorns Nursery",
                present=False,
                spoken_to=False,
            ),
        ],
        "circumstances": "Synthetic circumstances.",
        "marac_referral_made": False,
    }
    fields.update(changes)
    return PoliceNotification.model_validate(fields)


def wait_for_messages(
    settings: KafkaSettings, topic: str, count: int, *, timeout: float = 60.0
) -> list[InboundMessage]:
    """Read ``topic`` until it holds at least ``count`` messages; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    messages: list[InboundMessage] = []
    while time.monotonic() < deadline:
        messages = list(read_topic(settings, topic, idle_seconds=0.5))
        if len(messages) >= count:
            return messages
        time.sleep(0.5)
    raise AssertionError(f"{topic}: {len(messages)} of {count} messages after {timeout:.0f}s")


@contextmanager
def running_worker(
    settings: KafkaSettings,
    topic_prefix: str,
    data_dir: Path,
    *,
    timeout: float = 90.0,
    extra_env: dict[str, str] | None = None,
    log_name: str = "worker.log",
) -> Iterator[subprocess.Popen[bytes]]:
    """A real ``frontdoor worker`` process on the test broker, under its own topic namespace."""
    log_path = data_dir / log_name
    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": settings.bootstrap_servers,
        "FRONTDOOR_TOPIC_PREFIX": topic_prefix,
        "FRONTDOOR_APP_ID": "worker",
        "FRONTDOOR_DATA_DIR": str(data_dir),
        "FRONTDOOR_SESSION_TIMEOUT_SECONDS": "6",
        "FRONTDOOR_HEARTBEAT_INTERVAL_SECONDS": "1",
        # No metrics endpoint unless a test asks for one: every worker would want 9101.
        "FRONTDOOR_METRICS_WORKER_PORT": "0",
        **(extra_env or {}),
    }
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "connectors.cli", "worker"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        _wait_for_line(process, log_path, "Worker]: Ready", timeout)
        yield process
    finally:
        stop_process_group(process)


def _wait_for_line(
    process: subprocess.Popen[bytes], log_path: Path, needle: str, timeout: float
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if needle in log_path.read_text(errors="replace"):
            return
        if process.poll() is not None:
            break
        time.sleep(0.2)
    tail = log_path.read_text(errors="replace")[-3000:]
    raise AssertionError(f"worker not ready (exit {process.poll()}):\n{tail}")


def stop_process_group(process: subprocess.Popen[bytes], grace: float = 30.0) -> None:
    """SIGTERM the process's group, then SIGKILL if it lingers: tests leave nothing behind."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def consent_override(**changes: object) -> ConsentEvent:
    """A team manager's recorded override of consent; override any field."""
    fields: dict[str, object] = {
        "event_id": new_id(),
        "received_at": RECEIVED,
        "action": ConsentAction.OVERRIDDEN,
        "decided_at": datetime(2026, 11, 24, 9, 30, tzinfo=UTC),
        "decided_by": "Morgan Ellery",
        "decided_by_role": DeciderRole.TEAM_MANAGER,
        "contact_event_id": new_id(),
        "children": [Child(given_name="Amelia", family_name="Thornbury")],
        "lawful_basis": LawfulBasis.SAFEGUARDING_OF_CHILDREN,
        "rationale": "Seeking consent would place the child at risk of significant harm.",
        "information_shared": "Police and health records of the last 12 months.",
        "shared_with": ["police", "health"],
    }
    fields.update(changes)
    return ConsentEvent.model_validate(fields)


def one_of_every_event() -> list[Event]:
    """A filled-in instance of every top-level event model, for round-trip tests."""
    source = SourcePosition(topic="frontdoor.intake.contacts", partition=2, offset=41)
    a_contact = contact(
        adults=[Adult(given_name="Dana", family_name="Thornbury", role=AdultRole.MOTHER)],
        child_voice="Synthetic words.",
        immediate_risk=True,
        service_requested=ServiceRequested.EARLY_HELP,
    )
    issue = DataQualityIssue(field="children.0.nhs_number", code="DQ-NHS-NUMBER", message="bad")
    return [
        a_contact,
        police_notification(),
        consent_override(),
        AcceptedEvent(
            event_id=a_contact.event_id,
            event_type=EventType.CONTACT,
            sender="school.990001",
            source=source,
            accepted_at=RECEIVED,
            data_quality_issues=[issue],
            contact=a_contact,
        ),
        InformationRequest(
            event_id=new_id("ir"),
            about_event_id=a_contact.event_id,
            about_event_type=EventType.CONTACT,
            addressed_to_agency=Agency.EDUCATION,
            addressed_to_sender="school.990001",
            reason=RequestReason.DATA_QUALITY,
            items=[RequestedItem(field=issue.field, code=issue.code, message=issue.message)],
            created_at=RECEIVED,
        ),
        DeadLetter(
            event_id=new_id("dl"),
            source=source,
            original_key=b"key",
            original_value=b"\x00\x01garbage",
            original_headers={"frontdoor-sender": b"gp.synth"},
            sender="gp.synth",
            error_code="FD-DECODE-MALFORMED",
            error_field=None,
            reason="the Avro body does not match",
            original_event_id=None,
            dead_lettered_at=RECEIVED,
        ),
        MashTask(
            event_id=new_id("task"),
            kind=TaskKind.DEAD_LETTER_REVIEW,
            title="Unusable message from gp.synth",
            sender="gp.synth",
            reason="the Avro body does not match",
            error_code="FD-DECODE-MALFORMED",
            reference="dl-1",
            created_at=RECEIVED,
        ),
    ]


def wait_for_matching(
    settings: KafkaSettings,
    topic: str,
    model: type[EventT],
    wanted: Callable[[EventT], bool],
    count: int = 1,
    *,
    timeout: float = 60.0,
) -> list[EventT]:
    """The events on ``topic`` that ``wanted`` accepts, once there are at least ``count``.

    Tests sharing a topic namespace see each other's events, so they wait for their own.
    """
    deadline = time.monotonic() + timeout
    found: list[EventT] = []
    while time.monotonic() < deadline:
        decoded = (
            codec.decode(m.value, model) for m in read_topic(settings, topic, idle_seconds=0.5)
        )
        found = [event for event in decoded if wanted(event)]
        if len(found) >= count:
            return found
        time.sleep(0.5)
    raise AssertionError(
        f"{topic}: {len(found)} of {count} matching {model.__name__} after {timeout:.0f}s"
    )


def wait_for_event(
    settings: KafkaSettings,
    topic: str,
    model: type[EventT],
    wanted: Callable[[EventT], bool],
    *,
    timeout: float = 60.0,
) -> EventT:
    """The first event on ``topic`` that ``wanted`` accepts; fail after ``timeout``."""
    return wait_for_matching(settings, topic, model, wanted, timeout=timeout)[0]


def frontdoor(
    *args: str, env: dict[str, str], check: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run the ``frontdoor`` command with ``env`` added; by default it must succeed."""
    result = subprocess.run(
        [sys.executable, "-m", "connectors.cli", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if check:
        assert result.returncode == 0, result.stderr[-3000:]
    return result


def waiting_once_settled(kafka: KafkaSettings, prefix: str, *, within: float) -> list[Waiting]:
    """What the reconciliation still finds without an outcome, once the flow has settled (or
    ``within`` seconds have passed); it only reports, it re-drives nothing."""
    from agents.reconcile import Reconciler  # noqa: PLC0415 - loads the worker's app

    reconciler = Reconciler(
        kafka,
        codec,
        prefix=prefix,
        group_id=f"{prefix}worker",  # the app id running_worker gives its workers
        redrive_after=timedelta(minutes=1),
        bound=timedelta(minutes=5),
    )
    try:
        deadline = time.monotonic() + within
        report = reconciler.step(datetime.now(UTC), act=False)
        while report.waiting and time.monotonic() < deadline:
            time.sleep(2)
            report = reconciler.step(datetime.now(UTC), act=False)
        return report.waiting
    finally:
        reconciler.close()


@contextmanager
def serving(app: Any, *, log_level: str = "warning", **config: Any) -> Iterator[str]:
    """Serve an ASGI ``app`` with uvicorn on a free port in a thread; yields its base URL.

    ``config`` goes to ``uvicorn.Config`` (e.g. ``log_config=None`` to keep uvicorn's records
    flowing to the test's own logging handlers).
    """
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level=log_level, **config)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def work_item_in(
    kafka: KafkaSettings, prefix: str, queue: Queue, event_id: str, *, timeout: float = 90
) -> WorkItem:
    """The work item that ``event_id`` produced on ``queue``, once there is one."""
    return wait_for_event(
        kafka,
        QUEUES[queue].name_under(prefix),
        WorkItem,
        lambda item: item.source_event_id == event_id,
        timeout=timeout,
    )


#: The real PostgreSQL the store tests use (``.ci/run`` starts the machine's cluster).
POSTGRES_URL = os.environ.get(
    "FRONTDOOR_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)


def postgres_schema_url(prefix: str) -> Iterator[str]:
    """The URL of an empty PostgreSQL schema of the test's own (``prefix`` and a random part),
    dropped afterwards, so runs and tests never see each other's rows."""
    schema = f"{prefix}_{uuid.uuid4().hex}"
    try:
        admin = psycopg.connect(POSTGRES_URL, autocommit=True)
    except psycopg.OperationalError as exc:
        # Integration tests talk to the real database: its absence is a failure, never a skip.
        pytest.fail(f"no PostgreSQL at {POSTGRES_URL}: {exc}")
    with admin:
        admin.execute(f"CREATE SCHEMA {schema}")
        try:
            separator = "&" if "?" in POSTGRES_URL else "?"
            yield f"{POSTGRES_URL}{separator}options={quote(f'-csearch_path={schema}')}"
        finally:
            admin.execute(f"DROP SCHEMA {schema} CASCADE")
