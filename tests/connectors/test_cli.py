"""The ``frontdoor`` command as an operator uses it: real processes, real broker, real signals."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from connectors.cli import describe_notification
from schemas.models import (
    AcceptedEvent,
    OutcomeNotification,
    Queue,
    SchoolNotification,
    ThresholdDecision,
    WorkItem,
)
from schemas.wire import SENDER_HEADER
from streams.platform.admin import ensure_topics
from streams.platform.app import codec
from streams.platform.broker import free_port, is_listening
from streams.platform.publisher import Publisher
from streams.platform.reader import read_topic
from streams.platform.settings import KafkaSettings
from streams.platform.topics import (
    ACCEPTED_EVENTS,
    CONTACTS,
    DECISIONS,
    OUTCOME_NOTIFICATIONS,
    TOPICS,
    destination,
)
from tests.connectors.staff.synthetic import work_items
from tests.helpers import (
    contact,
    frontdoor,
    police_notification,
    running_worker,
    stop_process_group,
    wait_for_messages,
)
from tests.streams.decisions.test_chronology import (
    CONFERENCE_RATIONALE,
    DECISION_RATIONALE,
    DISCUSSION_RATIONALE,
    OVERRIDE_RATIONALE,
    story,
    through_the_pipeline,
)


def test_config_prints_the_settings_with_secrets_masked() -> None:
    result = frontdoor(
        "config",
        env={
            "FRONTDOOR_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
            "FRONTDOOR_KAFKA_SASL_MECHANISM": "PLAIN",
            "FRONTDOOR_KAFKA_SASL_USERNAME": "frontdoor",
            "FRONTDOOR_KAFKA_SASL_PASSWORD": "synthetic-secret",
        },
    )
    printed = json.loads(result.stdout)
    assert printed["kafka"]["sasl_username"] == "frontdoor"
    assert "synthetic-secret" not in result.stdout


def test_a_bad_setting_is_a_one_line_error_with_its_code_not_a_traceback() -> None:
    result = frontdoor("topics", env={"FRONTDOOR_DEFAULT_PARTITIONS": "0"}, check=False)
    assert result.returncode == 2
    assert "[FD-CONFIG]" in result.stderr
    assert "FRONTDOOR_DEFAULT_PARTITIONS" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_malformed_rules_file_stops_the_worker_at_start_up_naming_the_line(
    tmp_path: Path,
) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text("version: 1\nindicators:\n  - id: x\n    level: 9\n")

    result = frontdoor("worker", env={"FRONTDOOR_RULES_FILE": str(rules)}, check=False)

    assert result.returncode == 2
    assert "[FD-CONFIG]" in result.stderr
    assert f"{rules}:" in result.stderr
    assert "Traceback" not in result.stderr


def _children_of(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture
def stack(
    tmp_path: Path, local_receivers_port: None
) -> Iterator[tuple[subprocess.Popen[str], dict[str, str]]]:
    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{free_port()}",
        "FRONTDOOR_KAFKA_EMBEDDED": "true",
        "FRONTDOOR_DATA_DIR": str(tmp_path),
        "FRONTDOOR_SESSION_TIMEOUT_SECONDS": "6",
        "FRONTDOOR_HEARTBEAT_INTERVAL_SECONDS": "1",
        "FRONTDOOR_DEMO_EVENTS_PER_SECOND": "0",
        "FRONTDOOR_GATEWAY_PORT": str(free_port()),
        "FRONTDOOR_STAFF_PORT": str(free_port()),
        "FRONTDOOR_DELIVERY_SMTP_PORT": str(free_port()),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "connectors.cli", "up"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        yield process, env
    finally:
        stop_process_group(process)  # type: ignore[arg-type]


@pytest.mark.integration
def test_up_brings_the_stack_up_in_one_command_and_ctrl_c_stops_all_of_it(
    stack: tuple[subprocess.Popen[str], dict[str, str]],
) -> None:
    process, env = stack
    assert process.stdout is not None
    lines = []
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        lines.append(line)
        if "front door up" in line or process.poll() is not None:
            break
    assert "front door up" in lines[-1], "".join(lines)[-3000:]
    children = _children_of(process.pid)
    # The embedded broker, one worker, the local receivers, the delivery service, the gateway and
    # the staff application.
    assert len(children) == 6
    staff = f"http://127.0.0.1:{env['FRONTDOOR_STAFF_PORT']}"
    deadline = time.monotonic() + 60
    while not _answers(f"{staff}/health"):
        assert time.monotonic() < deadline, "the staff application did not start"
        time.sleep(0.5)

    shown = frontdoor("topics", env=env).stdout
    for spec in TOPICS:
        assert spec.full_name in shown

    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=60) == 0
    assert not is_listening(env["KAFKA_BOOTSTRAP_SERVERS"])
    assert [pid for pid in children if Path(f"/proc/{pid}").exists()] == []


@pytest.mark.integration
def test_a_dead_letter_is_listed_and_a_corrected_message_resubmitted_lands_once(
    kafka: KafkaSettings, tmp_path: Path
) -> None:
    prefix = f"test-cli-{uuid.uuid4().hex[:8]}."
    env = {"KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers, "FRONTDOOR_TOPIC_PREFIX": prefix}
    intake = CONTACTS.name_under(prefix)
    with running_worker(kafka, prefix, tmp_path), Publisher(kafka, codec) as publisher:
        publisher.publish_raw(intake, b"{not avro}", key="k1", headers={SENDER_HEADER: "gp.x"})
        listing = ""
        for _ in range(60):
            listing = frontdoor("dead-letters", "list", env=env).stdout
            if "FD-DECODE-WIRE-FORMAT" in listing:
                break
            time.sleep(0.5)
        assert "1 dead letter(s)" in listing
        assert "from gp.x" in listing
        dead_letter_id = next(line.split()[0] for line in listing.splitlines() if "dl-" in line)

        corrected = contact()
        corrected_file = tmp_path / "corrected.json"
        corrected_file.write_text(corrected.model_dump_json())
        frontdoor("dead-letters", "resubmit", dead_letter_id, str(corrected_file), env=env)

        onward = wait_for_messages(kafka, ACCEPTED_EVENTS.name_under(prefix), 1)
    accepted = [codec.decode(m.value, AcceptedEvent) for m in onward]
    assert [a.event_id for a in accepted] == [corrected.event_id]
    assert accepted[0].sender == "gp.x"


@pytest.mark.integration
def test_publishing_an_unusable_json_file_names_the_field_and_publishes_nothing(
    kafka: KafkaSettings, tmp_path: Path
) -> None:
    prefix = f"test-cli-{uuid.uuid4().hex[:8]}."
    env = {"KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers, "FRONTDOOR_TOPIC_PREFIX": prefix}
    bad = json.loads(contact().model_dump_json()) | {"children": []}
    file = tmp_path / "bad.json"
    file.write_text(json.dumps(bad))

    result = frontdoor("publish", "contact", str(file), env=env, check=False)

    assert result.returncode == 2
    assert "[FD-VALIDATION]" in result.stderr
    assert "children:" in result.stderr
    assert list(read_topic(kafka, CONTACTS.name_under(prefix), idle_seconds=0.5)) == []


@pytest.mark.integration
def test_a_childs_chronology_is_read_from_the_topics_in_time_order_with_the_rationale(
    kafka: KafkaSettings, topic_prefix: str
) -> None:
    ensure_topics(kafka, TOPICS, prefix=topic_prefix)
    key, records = story()  # a contact, a consent override, routing, decisions; another child
    decision = next(r for r in records if isinstance(r, ThresholdDecision))
    with Publisher(kafka, codec) as publisher:
        for record in [*records, decision]:  # the decision delivered twice
            spec = destination(record)
            publisher.publish(spec.name_under(topic_prefix), record, key=spec.key_of(record))
        publisher.publish_raw(DECISIONS.name_under(topic_prefix), b"{not avro}", key=key)
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
        "FRONTDOOR_TOPIC_PREFIX": topic_prefix,
    }

    result = frontdoor("chronology", key, "--details", env=env)

    steps = [line for line in result.stdout.splitlines() if not line.startswith("    ")]
    assert [line[18:37].strip() for line in steps] == [
        "contact",
        "information request",
        "routed",
        "routed",
        "duty-team alert",
        "consent overridden",
        "timeliness alert",
        "decision",
        "timeliness alert",
        "strategy discussion",
        "strategy discussion",
        "conference",
    ]
    assert steps[0].startswith("2026-11-28 22:00  contact ")  # Europe/London: GMT in November
    assert steps[-2].startswith("2026-12-02 15:00  strategy discussion ")
    assert steps[-1].startswith("2026-12-16 11:00  conference ")
    lines = result.stdout.splitlines()
    decided = lines.index(next(line for line in lines if decision.event_id in line[18:]))
    assert lines[decided + 1] == f"    rationale: {DECISION_RATIONALE}"
    assert f"    rationale: {DISCUSSION_RATIONALE}" in lines
    assert f"    rationale: {OVERRIDE_RATIONALE}" in lines
    assert f"    rationale: {CONFERENCE_RATIONALE}" in lines
    routed = next(r for r in records if isinstance(r, WorkItem) and r.child_key == key)
    for reason in routed.rationale:
        assert f"    {reason.rule}: {reason.description} [{reason.evidence}]" in lines
    assert "decision-oscar" not in result.stdout
    assert "skipped 1 unusable message(s)" in result.stderr

    brief = frontdoor("chronology", key, env=env).stdout
    assert [line for line in brief.splitlines() if not line.startswith("    ")] == steps
    assert DECISION_RATIONALE not in brief
    assert "Amelia" not in brief

    nobody = frontdoor("chronology", "ck-nobody", env=env, check=False)
    assert nobody.returncode == 1
    assert "nothing about child ck-nobody" in nobody.stdout


@pytest.mark.integration
def test_decide_refuses_a_placeholder_rationale_and_records_a_proper_decision(
    kafka: KafkaSettings, topic_prefix: str, tmp_path: Path
) -> None:
    ensure_topics(kafka, TOPICS, prefix=topic_prefix)
    [item] = work_items(4, queue=Queue.MASH)[:1]
    with Publisher(kafka, codec) as publisher:
        spec = destination(item)
        publisher.publish(spec.name_under(topic_prefix), item, key=spec.key_of(item))
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
        "FRONTDOOR_TOPIC_PREFIX": topic_prefix,
    }
    decision = {
        "event_id": "dec-cms-0001",
        "work_item_id": item.event_id,
        "child_key": item.child_key,
        "source_event_id": item.source_event_id,
        "queue": "mash",
        "level": 3,
        "next_step": "child_in_need_assessment",
        "rationale": "see notes",
        "decided_by": "cms.worker",
        "decided_by_role": "mash_worker",
        "decided_at": "2026-11-27T10:00:00+00:00",
    }
    files = {}
    for name, changes in (
        ("placeholder", {}),
        ("unknown-item", {"work_item_id": "wi-unknown", "rationale": PROPER_RATIONALE}),
        ("proper", {"rationale": PROPER_RATIONALE}),
    ):
        files[name] = tmp_path / f"{name}.json"
        files[name].write_text(json.dumps(decision | changes), encoding="utf-8")

    refused = frontdoor("decide", str(files["placeholder"]), env=env, check=False)
    unknown = frontdoor("decide", str(files["unknown-item"]), env=env, check=False)
    recorded = frontdoor("decide", str(files["proper"]), env=env)

    assert refused.returncode == 2
    assert "[FD-RECORD-REFUSED]" in refused.stderr
    assert "rationale: " in refused.stderr
    assert "at least 8 words" in refused.stderr
    assert unknown.returncode == 2
    assert "no work item wi-unknown" in unknown.stderr
    assert "recorded decision dec-cms-0001" in recorded.stdout
    decisions = read_topic(kafka, DECISIONS.name_under(topic_prefix))
    assert [codec.decode(m.value, ThresholdDecision).event_id for m in decisions] == [
        "dec-cms-0001"
    ]
    notices = read_topic(kafka, OUTCOME_NOTIFICATIONS.name_under(topic_prefix))
    [notice] = [codec.decode(m.value, OutcomeNotification) for m in notices]
    assert notice.addressed_to_sender == item.sender
    assert notice.next_step.value == "child_in_need_assessment"


PROPER_RATIONALE = (
    "Neglect concerns from school and health visitor over six months; parents accept help; "
    "an assessment will show what the family needs."
)


def _users(env: dict[str, str], *args: str, password: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "connectors.cli", "users", *args],
        env={**os.environ, **env},
        input=password + "\n",
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_staff_accounts_are_created_listed_and_disabled_with_hashed_passwords(
    tmp_path: Path,
) -> None:
    env = {"FRONTDOOR_DATA_DIR": str(tmp_path)}
    create = ("create", "mw.okafor", "--role", "mash_worker", "--name", "Ada Okafor")

    created = _users(env, *create, "--password-stdin", password="a long synthetic passphrase")
    again = _users(env, *create, "--password-stdin", password="a long synthetic passphrase")
    short = _users(
        env,
        "create",
        "x.y",
        "--role",
        "mash_worker",
        "--name",
        "X",
        "--password-stdin",
        password="short",
    )
    unknown_role = _users(env, "create", "x.z", "--role", "chief", "--name", "Z")
    disabled = _users(env, "disable", "mw.okafor")
    listed = _users(env, "list")

    assert created.returncode == 0, created.stderr
    assert "created mw.okafor (mash_worker)" in created.stdout
    assert again.returncode == 2
    assert "exists already" in again.stderr
    assert short.returncode == 2
    assert "at least 12 characters" in short.stderr
    assert unknown_role.returncode == 2
    assert "unknown role 'chief'" in unknown_role.stderr
    assert disabled.returncode == 0
    assert "mw.okafor  mash_worker  Ada Okafor" in listed.stdout
    assert "disabled " in listed.stdout
    assert "x.y" not in listed.stdout
    # The database with its write-ahead log, wherever SQLite has the rows just now.
    stored = b"".join(path.read_bytes() for path in tmp_path.glob("staff.db*"))
    assert b"synthetic passphrase" not in stored
    assert b"$argon2id$" in stored


def test_a_school_notification_is_tailed_with_ids_and_due_time_and_names_only_on_request() -> None:
    notification = police_notification(received_at=datetime(2026, 12, 4, 23, 10, tzinfo=UTC))
    [notice] = [
        output
        for output in through_the_pipeline(notification, "police.synth")[1]
        if isinstance(output, SchoolNotification)
    ]

    brief = describe_notification(notice, details=False)
    full = describe_notification(notice, details=True)

    assert "to school 990001  due Mon 07 Dec 08:30  rule school" in brief
    assert "Oscar" not in brief
    assert "child: Oscar Pembleton, born 2018-07-02" in full
