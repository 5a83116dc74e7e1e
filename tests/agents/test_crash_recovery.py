"""Crash recovery on the real broker: workers killed with ``kill -9`` under load lose no child.

faust-streaming was measured to skip a few offsets after a ``kill -9`` and a restart
(``shared/broker-notes.md``). What a partner and a social worker care about is that it does not
matter: every contact still ends as exactly one work item (outputs carry ids derived from their
inputs, so reprocessing repeats an id rather than adding work), and the reconciliation, which
re-drives what has waited too long, finds nothing left waiting once the flow settles.

Two stories: one worker killed three times while contacts keep arriving, restarted each time; and
two workers sharing the load, one of them killed mid-load, the other carrying on alone.
"""

from __future__ import annotations

import logging
import os
import random
import signal
import subprocess
import threading
import time
import uuid
from collections import defaultdict
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from faker import Faker

from agents.reconcile import Reconciler
from connectors.generator import synthetic_nhs_number
from schemas.errors import UnusableEventError
from schemas.models import AcceptedEvent, Child, ChildEvent, Contact, WorkItem
from schemas.wire import REDRIVE_HEADER, SENDER_HEADER
from streams.decisions.ledger import Stage, Waiting
from streams.platform.app import codec
from streams.platform.publisher import Publisher
from streams.platform.reader import read_topic
from streams.platform.settings import KafkaSettings
from streams.platform.topics import ACCEPTED_EVENTS, CHILD_EVENTS, CONTACTS, QUEUES
from tests.helpers import contact, frontdoor, running_worker

pytestmark = [pytest.mark.integration, pytest.mark.slow]

log = logging.getLogger(__name__)

SENDER = "school.990001"
#: Reconciliation quick enough to matter within a test, slow enough not to misreport: a contact
#: the workers consumed past without an outcome for 5 s is re-driven (harmless, ids repeat), but
#: only one waiting a minute is put to a person.
RECONCILIATION = {
    "FRONTDOOR_RECONCILE_INTERVAL_SECONDS": "2",
    "FRONTDOOR_REDRIVE_AFTER_SECONDS": "5",
    "FRONTDOOR_OUTCOME_BOUND_SECONDS": "60",
}
#: How long the flow may take to settle after the last contact, before the test says it never did.
SETTLE_SECONDS = 180.0


def _env(kafka: KafkaSettings, prefix: str) -> dict[str, str]:
    return {
        "KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
        "FRONTDOOR_TOPIC_PREFIX": prefix,
        "FRONTDOOR_APP_ID": "worker",
        **RECONCILIATION,
    }


def _a_fresh_child_contact(faker: Faker, rng: random.Random) -> Contact:
    """A contact about a child never seen before (synthetic), so each one is routed on its own."""
    child = Child(
        given_name=faker.first_name(),
        family_name=faker.last_name(),
        date_of_birth=faker.date_of_birth(minimum_age=1, maximum_age=16),
        nhs_number=synthetic_nhs_number(rng),
        school_urn="990001",
    )
    return contact(children=[child])


class Partner(threading.Thread):
    """A partner system publishing contacts at a steady rate, whatever the workers are doing."""

    def __init__(self, kafka: KafkaSettings, prefix: str, *, count: int, per_second: float):
        super().__init__(name="partner", daemon=True)
        self._kafka = kafka
        self._topic = CONTACTS.name_under(prefix)
        self._count = count
        self._per_second = per_second
        self._faker = Faker("en_GB")
        self._faker.seed_instance(uuid.uuid4().int)
        self._rng = random.Random()
        self._halt = threading.Event()
        #: The ids of the contacts the broker acknowledged, in order.
        self.published: list[str] = []
        self.failure: BaseException | None = None

    def run(self) -> None:
        try:
            with Publisher(self._kafka, codec) as publisher:
                started = time.monotonic()
                for n in range(self._count):
                    if self._halt.wait(max(0.0, started + n / self._per_second - time.monotonic())):
                        return
                    event = _a_fresh_child_contact(self._faker, self._rng)
                    publisher.publish(self._topic, event, headers={SENDER_HEADER: SENDER})
                    self.published.append(event.event_id)
        except BaseException as failure:  # noqa: BLE001 - handed to the test thread, which fails
            self.failure = failure

    def wait_until_published(self, count: int, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.published) < count and self.is_alive() and time.monotonic() < deadline:
            time.sleep(0.05)

    def finish(self, timeout: float = 120.0) -> list[str]:
        """Wait for the last contact; the ids of all of them."""
        self.join(timeout)
        assert not self.is_alive(), f"partner still publishing after {timeout:.0f}s"
        if self.failure is not None:
            raise AssertionError("the partner could not publish") from self.failure
        return self.published

    def abandon(self) -> None:
        """Stop early (the test failed elsewhere); a no-op once finished or never started."""
        self._halt.set()
        if self.is_alive():
            self.join(30)


@dataclass
class Settled:
    """What the topics say once the flow has settled (or the wait gave up)."""

    #: What the ledger says still waits: event id, stage, reference (never the message).
    waiting: list[str]
    #: The event ids behind ``waiting``.
    waiting_events: list[str]
    #: Published contacts with no work item on any queue.
    without_work_item: list[str]
    #: Contacts with more than one distinct work item (``queue:id``): one child, work twice.
    duplicated: dict[str, set[str]]
    #: Messages the reconciliation published again, by topic name without the prefix.
    redriven: dict[str, int]
    seconds: float

    def story(self) -> str:
        """The diagnostics of a failure: ids, stages and counts only (no personal details)."""
        return (
            f"after {self.seconds:.0f}s: waiting {self.waiting[:20]} ({len(self.waiting)}); "
            f"without a work item {self.without_work_item[:20]} "
            f"({len(self.without_work_item)}); duplicated {dict(list(self.duplicated.items())[:5])}"
            f" ({len(self.duplicated)}); re-driven copies {self.redriven}"
        )


def _event_id_of(waiting: Waiting) -> str:
    """The partner's event id behind a ledger entry, whatever stage it waits at."""
    value = waiting.message.value
    try:
        if waiting.stage is Stage.INTAKE:
            return codec.decode(value, Contact).event_id
        if waiting.stage is Stage.IDENTIFICATION:
            return codec.decode(value, AcceptedEvent).event_id
        return codec.decode(value, ChildEvent).accepted.event_id
    except UnusableEventError:
        return "?"


def _work_items(kafka: KafkaSettings, prefix: str) -> list[WorkItem]:
    return [
        codec.decode(message.value, WorkItem)
        for spec in QUEUES.values()
        for message in read_topic(kafka, spec.name_under(prefix), idle_seconds=0.5)
    ]


def _redriven(kafka: KafkaSettings, prefix: str) -> dict[str, int]:
    return {
        spec.name: sum(
            1
            for message in read_topic(kafka, spec.name_under(prefix), idle_seconds=0.5)
            if REDRIVE_HEADER in message.headers
        )
        for spec in (CONTACTS, ACCEPTED_EVENTS, CHILD_EVENTS)
    }


def _wait_until_settled(kafka: KafkaSettings, prefix: str, published: list[str]) -> Settled:
    """Follow the flow until every contact has its work item and nothing waits, or give up.

    The reconciler here only looks (``act=False``): re-driving is the workers' job, and what the
    test judges is whether they did it.
    """
    reconciler = Reconciler(
        kafka,
        codec,
        prefix=prefix,
        group_id=f"{prefix}worker",
        redrive_after=timedelta(seconds=float(RECONCILIATION["FRONTDOOR_REDRIVE_AFTER_SECONDS"])),
        bound=timedelta(seconds=float(RECONCILIATION["FRONTDOOR_OUTCOME_BOUND_SECONDS"])),
    )
    started = time.monotonic()
    try:
        while True:
            waiting = reconciler.step(datetime.now(UTC), act=False).waiting
            # Redelivery repeats a work item's id, so the same id twice is one piece of work.
            items: dict[str, set[str]] = defaultdict(set)
            for item in _work_items(kafka, prefix):
                items[item.source_event_id].add(f"{item.queue.value}:{item.event_id}")
            without = [event_id for event_id in published if event_id not in items]
            # Both, not either: a follower that has not caught up yet also sees nothing waiting.
            if (not waiting and not without) or time.monotonic() - started > SETTLE_SECONDS:
                break
            time.sleep(2)
    finally:
        reconciler.close()
    return Settled(
        waiting=[
            f"{_event_id_of(w)} at {w.stage.value} ({w.reference}) since {w.since:%H:%M:%S}"
            for w in waiting
        ],
        waiting_events=[_event_id_of(w) for w in waiting],
        without_work_item=without,
        # Each contact names one child, not at immediate risk: one queue, one work item.
        duplicated={source: ids for source, ids in items.items() if len(ids) > 1},
        redriven=_redriven(kafka, prefix),
        seconds=time.monotonic() - started,
    )


def _kill_9(process: subprocess.Popen[bytes]) -> None:
    """``kill -9`` the worker's whole process group, as a power cut would, and make sure it's gone.

    ``running_worker`` then finds the process already ended and leaves it be.
    """
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.killpg(process.pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    raise AssertionError(f"process group {process.pid} survived SIGKILL")


def _log_lines_about(logs: list[Path], event_ids: list[str]) -> str:
    """Worker log lines naming the given events (logs carry ids and codes only)."""
    wanted = set(event_ids[:5])
    lines = [
        f"{path.name}: {line}"
        for path in logs
        for line in path.read_text(errors="replace").splitlines()
        if any(event_id in line for event_id in wanted)
    ]
    return "\n".join(lines[:40])


def _assert_nothing_lost(settled: Settled, logs: list[Path]) -> None:
    assert not settled.without_work_item, (
        f"contacts with no work item: {settled.story()}\n"
        f"{_log_lines_about(logs, settled.without_work_item)}"
    )
    assert not settled.duplicated, f"contacts routed twice: {settled.story()}"
    assert not settled.waiting, (
        f"the reconciliation never settled: {settled.story()}\n"
        f"{_log_lines_about(logs, settled.waiting_events)}"
    )


#: Seconds of load each worker gets before its ``kill -9``: uneven, to land in different phases.
LOAD_BEFORE_KILL = (3.0, 6.0, 4.5)


@pytest.mark.timeout(600)
def test_a_worker_killed_three_times_under_load_loses_and_duplicates_no_child(
    kafka: KafkaSettings, tmp_path: Path
) -> None:
    prefix = f"test-crash-{uuid.uuid4().hex[:8]}."
    frontdoor("topics", env=_env(kafka, prefix))
    # Partners keep sending while the worker dies and comes back. A restart after a kill takes
    # some 12 s (the group waits out the dead member's session), so 40 a second keeps contacts
    # arriving through the first two kills; the third lands on the backlog.
    partner = Partner(kafka, prefix, count=1000, per_second=40)
    partner.start()
    logs = []
    try:
        for round_, load in enumerate(LOAD_BEFORE_KILL, start=1):
            log_name = f"worker-{round_}.log"
            logs.append(tmp_path / log_name)
            with running_worker(
                kafka, prefix, tmp_path, extra_env=RECONCILIATION, log_name=log_name
            ) as worker:
                time.sleep(load)
                _kill_9(worker)
        # The fourth worker is left to run until the flow has settled.
        logs.append(tmp_path / "worker-last.log")
        with running_worker(
            kafka, prefix, tmp_path, extra_env=RECONCILIATION, log_name="worker-last.log"
        ):
            published = partner.finish()
            settled = _wait_until_settled(kafka, prefix, published)
    finally:
        partner.abandon()

    log.info("killed 3 times, %d contacts: %s", len(published), settled.story())
    assert len(published) == 1000
    _assert_nothing_lost(settled, logs)


@pytest.mark.timeout(600)
def test_two_workers_one_killed_mid_load_the_other_carries_on_and_loses_no_child(
    kafka: KafkaSettings, tmp_path: Path
) -> None:
    prefix = f"test-crash-{uuid.uuid4().hex[:8]}."
    frontdoor("topics", env=_env(kafka, prefix))
    partner = Partner(kafka, prefix, count=600, per_second=100)
    logs = [tmp_path / "a" / "worker.log", tmp_path / "b" / "worker.log"]
    for path in logs:
        path.parent.mkdir()
    try:
        # One group (one FRONTDOOR_APP_ID), two machines (two data directories).
        with ExitStack() as workers:
            first = workers.enter_context(
                running_worker(kafka, prefix, logs[0].parent, extra_env=RECONCILIATION)
            )
            workers.enter_context(
                running_worker(kafka, prefix, logs[1].parent, extra_env=RECONCILIATION)
            )
            partner.start()
            partner.wait_until_published(300)
            # The first worker started alone, so it is the likelier group leader, which runs the
            # reconciliation: killing it also proves that duty moves to the survivor.
            _kill_9(first)
            published = partner.finish()
            settled = _wait_until_settled(kafka, prefix, published)
    finally:
        partner.abandon()

    log.info("one of two killed, %d contacts: %s", len(published), settled.story())
    assert len(published) == 600
    _assert_nothing_lost(settled, logs)
