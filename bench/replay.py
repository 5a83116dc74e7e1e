"""History replay: a case-management export imported into one worker's child-history table, its
rate, the worker's peak memory, and how long the table takes to recover after a restart.

1. Writes a synthetic export (``--rows`` rows, four records a child; names and postcodes from
   Faker en_GB, NHS numbers from the 999 test range) through the project's import path,
   :func:`connectors.history_import.parse_export`, and publishes the rows to the history-import
   topic as the command line does, ``ROWS_PER_BATCH`` (100) rows a message (``in_batches``), but
   as fast as the broker takes them (the command line paces itself behind the worker), before any
   worker runs.
2. Starts one ``frontdoor worker``. Identification and routing turn every row into a write to the
   ``child-history`` table, and each write is a record on the table's changelog topic. The
   changelog is followed until the table holds every row. Two rows/s figures are printed: from the
   worker's start to the last changelog record (the one to read), and from the first record to
   the last (broker timestamps, the time the worker sent them), which leaves out the time
   identification works before routing's first write. The worker's
   peak resident memory (``VmHWM``) is read then, next to the size of the table's content (each
   child's latest JSON document) and of the identity index, the worker's other table.
3. Stops the worker (SIGTERM), publishes one contact for each of two imported children (the
   first and the last of the export), and starts the worker again. Recovery is reported from the
   start of the process: to Faust's log lines "Restoring state from changelog topics" and
   "Recovery complete", and to the first work item for those children; the history summary on
   that work item is checked against the export, so a table that came back empty shows.

    .venv/bin/python bench/replay.py [--rows 1000000] [--timeout 1800]
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import json
import random
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import IO, Any

from faker import Faker
from latency import (
    Bench,
    TopicReader,
    bench_setup,
    codec,
    describe_run,
    intake_message,
    new_producer,
    publish_all,
    start_worker,
    stop_worker,
    synthetic_contacts,
)
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from connectors.history_import import ROWS_PER_BATCH, in_batches, parse_export
from schemas.models import Address, Child, HistoryRecordType, WorkItem
from schemas.quality import nhs_check_digit
from schemas.wire import SENDER_HEADER
from streams.platform.settings import WorkerSettings, load
from streams.platform.topics import CONTACTS, HISTORY_IMPORTS, QUEUES

RECORDS_PER_CHILD = 4
ROWS_PER_CHUNK = 10_000
SOURCE_SYSTEM = "bench-case-management"
QUIET_SECONDS = 60.0
COLUMNS = (
    "source_record_id",
    "record_type",
    "started_on",
    "ended_on",
    "outcome",
    "nhs_number",
    "given_name",
    "family_name",
    "date_of_birth",
    "postcode",
)
# Roughly a children's services system's mix: mostly contacts, then plans and referrals.
RECORD_WEIGHTS = {
    HistoryRecordType.CONTACT: 40,
    HistoryRecordType.REFERRAL: 15,
    HistoryRecordType.DOMESTIC_ABUSE_INCIDENT: 15,
    HistoryRecordType.CHILD_IN_NEED_PLAN: 8,
    HistoryRecordType.CHILD_PROTECTION_PLAN: 5,
    HistoryRecordType.LOOKED_AFTER: 3,
    HistoryRecordType.EARLY_HELP: 9,
    HistoryRecordType.STRATEGY_DISCUSSION: 5,
}
PLANS = frozenset(
    {
        HistoryRecordType.CHILD_IN_NEED_PLAN,
        HistoryRecordType.CHILD_PROTECTION_PLAN,
        HistoryRecordType.LOOKED_AFTER,
        HistoryRecordType.EARLY_HELP,
    }
)
OUTCOME_CODES = ("", "NFA", "S17", "S47", "EH", "SIGNPOST")
# What Faust logs while a worker rebuilds its tables (faust/tables/recovery.py, INFO).
RESTORING = "Restoring state from changelog topics"
RECOVERED = "Recovery complete"


# -- the synthetic export ------------------------------------------------------------------------


@dataclass(frozen=True)
class SyntheticChild:
    nhs_number: str
    given_name: str
    family_name: str
    date_of_birth: date
    postcode: str


@dataclass
class Expected:
    """What the export says of one child, in the terms of a work item's history summary."""

    child: SyntheticChild
    past_events: int = 0
    open_plans: set[str] = field(default_factory=set)


class Export:
    """A synthetic case-management export of ``rows`` rows about ``rows / 4`` children.

    Row ``i`` is about child ``i mod children``, so every child's history grows through the whole
    import, as when an export is sorted by record rather than by child. A child's records fall in
    distinct quarters of its life, never today, so none is a duplicate of another and each is in
    the past of a contact received now.
    """

    def __init__(self, rows: int, seed: int = 7) -> None:
        self.rows = rows
        faker = Faker("en_GB")
        faker.seed_instance(seed)
        self._rng = random.Random(seed)
        # Pools, not a Faker call a child: a million rows would otherwise take minutes to invent.
        given_names = [faker.first_name() for _ in range(600)]
        family_names = [faker.last_name() for _ in range(600)]
        postcodes = [faker.postcode() for _ in range(600)]
        today = datetime.now(UTC).date()
        numbers = _nhs_test_numbers()
        self.children = [
            SyntheticChild(
                nhs_number=next(numbers),
                given_name=self._rng.choice(given_names),
                family_name=self._rng.choice(family_names),
                date_of_birth=today - timedelta(days=self._rng.randrange(60, 17 * 365)),
                postcode=self._rng.choice(postcodes),
            )
            for _ in range(-(-rows // RECORDS_PER_CHILD))
        ]
        #: The first and the last child of the export, whose history a restart must bring back.
        self.probes = {0: Expected(self.children[0]), -1: Expected(self.children[-1])}
        self._today = today

    def chunks(self) -> Iterator[str]:
        """The export as CSV text, ``ROWS_PER_CHUNK`` rows (and the header) at a time."""
        for start in range(0, self.rows, ROWS_PER_CHUNK):
            text = io.StringIO()
            writer = csv.writer(text)
            writer.writerow(COLUMNS)
            writer.writerows(
                self._row(index) for index in range(start, min(start + ROWS_PER_CHUNK, self.rows))
            )
            yield text.getvalue()

    def _row(self, index: int) -> tuple[str, ...]:
        child_number = index % len(self.children)
        child = self.children[child_number]
        quarter = index // len(self.children)
        life = (self._today - child.date_of_birth).days
        width = max(1, life // RECORDS_PER_CHILD)
        started = self._today - timedelta(days=1 + quarter * width + self._rng.randrange(width))
        kind = self._rng.choices(list(RECORD_WEIGHTS), weights=list(RECORD_WEIGHTS.values()))[0]
        ended = None
        if kind in PLANS and self._rng.random() < 0.5:
            ended = min(started + timedelta(days=self._rng.randrange(30, 400)), self._today)
        for position, expected in self.probes.items():
            if child_number == position % len(self.children):
                # A plan's end date is its last day: one that ends today is still open
                # (streams/decisions/history.py).
                if kind in PLANS and (ended is None or ended >= self._today):
                    expected.open_plans.add(kind.value.removesuffix("_plan"))
                elif kind not in PLANS and kind is not HistoryRecordType.STRATEGY_DISCUSSION:
                    expected.past_events += 1
        return (
            f"rec-{index}",
            kind.value,
            started.isoformat(),
            ended.isoformat() if ended else "",
            self._rng.choice(OUTCOME_CODES),
            child.nhs_number,
            child.given_name,
            child.family_name,
            child.date_of_birth.isoformat(),
            child.postcode,
        )


def _nhs_test_numbers() -> Iterator[str]:
    """Every valid NHS number of the 999 range the NHS reserves for testing, in order."""
    for serial in range(10**6):
        first_nine = f"999{serial:06d}"
        check = nhs_check_digit(first_nine)
        if check is not None:
            yield f"{first_nine}{check}"


async def _publish_export(bench: Bench, export: Export, console: Console) -> tuple[int, int]:
    """Every usable row on the history-import topic, in batches; (published, rejected rows).

    Whole record batches are handed to the producer, and acknowledgements are awaited once a
    chunk of the export, not once a message: publishing must not be what the replay measures.
    """
    topic = HISTORY_IMPORTS.name_under(bench.prefix)
    headers = [(SENDER_HEADER, SOURCE_SYSTEM.encode())]
    imported_at = datetime.now(UTC)
    published = rejected = 0
    producer = new_producer(bench.address)
    await producer.start()
    progress = Progress(
        TextColumn("publishing the export"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        disable=not console.is_terminal,
    )
    try:
        with progress:
            task = progress.add_task("rows", total=export.rows)
            for text in export.chunks():
                events, problems = parse_export(text, SOURCE_SYSTEM, imported_at)
                acknowledgements = []
                batch = producer.create_batch()
                for message in in_batches(events, SOURCE_SYSTEM, ROWS_PER_BATCH):
                    value, key = codec.encode(message), message.event_id.encode()
                    if batch.append(key=key, value=value, timestamp=None, headers=headers) is None:
                        # Full: send it; the topic has one partition (one identity index).
                        acknowledgements.append(
                            await producer.send_batch(batch, topic, partition=0)
                        )
                        batch = producer.create_batch()
                        batch.append(key=key, value=value, timestamp=None, headers=headers)
                acknowledgements.append(await producer.send_batch(batch, topic, partition=0))
                await asyncio.gather(*acknowledgements)
                published += len(events)
                rejected += len(problems)
                progress.advance(task, len(events) + len(problems))
    finally:
        await producer.stop()
    return published, rejected


# -- following the table ------------------------------------------------------------------------


class TableContent:
    """A table's content as its changelog tells it: each key's latest value, and the writes."""

    def __init__(self, *, count_records: bool = False) -> None:
        self._count_records = count_records
        self.sizes: dict[bytes, int] = {}
        self._records: dict[bytes, int] = {}
        #: Imported records the child-history documents hold, kept up to date as they change.
        self.records = 0
        self.writes = 0
        self.first_ms: int | None = None
        self.last_ms: int | None = None

    def record(self, message: Any) -> None:
        self.writes += 1
        stamp: int = message.timestamp
        self.first_ms = stamp if self.first_ms is None else min(self.first_ms, stamp)
        self.last_ms = stamp if self.last_ms is None else max(self.last_ms, stamp)
        key: bytes = message.key
        self.sizes[key] = len(key) + len(message.value or b"")
        if self._count_records:
            document = json.loads(message.value) if message.value else {}
            held = sum(
                len(document.get(part, ())) for part in ("events", "plans", "strategy_discussions")
            )
            self.records += held - self._records.get(key, 0)
            self._records[key] = held

    @property
    def size_bytes(self) -> int:
        return sum(self.sizes.values())


def changelog(bench: Bench, table: str) -> str:
    """The changelog topic Faust gives a table of the worker: ``<app id>-<table>-changelog``."""
    app_id = load(WorkerSettings).app_id
    return f"{bench.prefix}{app_id}-{table}-changelog"


def _memory_kib(pid: int, field_name: str) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{field_name}:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def _mib(kib: int | None) -> str:
    return "unknown" if kib is None else f"{kib / 1024:,.0f} MiB"


async def _replay(
    bench: Bench, export: Export, published: int, timeout: float, console: Console
) -> None:
    worker = start_worker(bench.worker_environment())
    started = time.time() * 1000
    history = TableContent(count_records=True)
    try:
        async with TopicReader(bench.address, [changelog(bench, "child-history")]) as reader:
            complete = await reader.follow(
                history.record,
                lambda: history.records >= published,
                timeout=timeout,
                quiet=QUIET_SECONDS,
            )
        waited = time.time() - started / 1000
        peak = _memory_kib(worker.pid, "VmHWM")
        resident = _memory_kib(worker.pid, "VmRSS")
    finally:
        stopped_in = stop_worker(worker)
    index = TableContent()
    async with TopicReader(bench.address, [changelog(bench, "identity-index")]) as reader:
        # Nothing writes any more: read until a few quiet seconds say the end was reached.
        await reader.follow(index.record, lambda: False, timeout=600, quiet=3)
    if history.first_ms is None or history.last_ms is None:
        console.print(f"replay: incomplete: nothing reached the table in {waited:.0f} s")
        return
    span = max(history.last_ms - history.first_ms, 1) / 1000
    outcome = (
        f"{history.records / span:,.0f} rows/s"
        if complete
        else f"incomplete: {history.records:,} of {published:,} in {waited:.0f} s"
    )
    console.print(
        f"replay of {published:,} rows ({len(export.children):,} children) into the child-history "
        f"table: {outcome}, first to last table write {span:.1f} s (changelog broker timestamps); "
        f"{history.writes:,} table writes; the first {(history.first_ms - started) / 1000:.1f} s "
        f"after the worker started; from the worker's start to the last write "
        f"{history.records / (max(history.last_ms - started, 1) / 1000):,.0f} rows/s",
        soft_wrap=True,
    )
    console.print(
        f"worker memory: peak {_mib(peak)} (VmHWM), {_mib(resident)} resident at the end; table "
        f"content: child-history {len(history.sizes):,} keys, {history.size_bytes / 2**20:,.1f} "
        f"MiB of JSON; identity-index {len(index.sizes):,} keys, "
        f"{index.size_bytes / 2**20:,.1f} MiB",
        soft_wrap=True,
    )
    if bench.broker_pid:
        broker = _memory_kib(bench.broker_pid, "VmRSS")
        console.print(f"embedded broker resident memory: {_mib(broker)}", soft_wrap=True)
    console.print(f"worker stopped {stopped_in:.1f} s after SIGTERM", soft_wrap=True)


# -- the restart ---------------------------------------------------------------------------------


class LogMarks:
    """Reads a worker's log as it is written and notes when given lines first appear (ms)."""

    def __init__(self, stream: IO[bytes], marks: tuple[str, ...]) -> None:
        self.seen: dict[str, int] = {}
        self._marks = marks
        threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    def _read(self, stream: IO[bytes]) -> None:
        # Only the time of a line is kept, never its text: the log is the worker's business.
        for line in stream:
            for mark in self._marks:
                if mark.encode() in line and mark not in self.seen:
                    self.seen[mark] = int(time.time() * 1000)


async def _restart(bench: Bench, export: Export, timeout: float, console: Console) -> None:
    probes: dict[str, Expected] = {}
    messages = []
    for (contact, sender), expected in zip(
        synthetic_contacts(len(export.probes)), export.probes.values(), strict=True
    ):
        known = expected.child
        child = Child(
            given_name=known.given_name,
            family_name=known.family_name,
            date_of_birth=known.date_of_birth,
            nhs_number=known.nhs_number,
            address=Address(postcode=known.postcode),
        )
        probe = contact.model_copy(update={"children": [child], "received_at": datetime.now(UTC)})
        probes[probe.event_id] = expected
        messages.append(intake_message(probe, sender))
    producer = new_producer(bench.address)
    await producer.start()
    try:
        await publish_all(producer, CONTACTS.name_under(bench.prefix), messages)
    finally:
        await producer.stop()

    worker = start_worker(bench.worker_environment(log_level="info"), stderr=subprocess.PIPE)
    started = time.time() * 1000
    assert worker.stderr is not None  # noqa: S101 - asked for above
    marks = LogMarks(worker.stderr, (RESTORING, RECOVERED))
    routed: dict[str, tuple[int, WorkItem]] = {}

    def record(message: Any) -> None:
        item = codec.decode(message.value, WorkItem)
        if item.source_event_id in probes and item.source_event_id not in routed:
            routed[item.source_event_id] = (message.timestamp, item)

    queues = [spec.name_under(bench.prefix) for spec in QUEUES.values()]
    try:
        async with TopicReader(bench.address, queues) as reader:
            await reader.follow(record, lambda: routed.keys() >= probes.keys(), timeout=timeout)
    finally:
        stop_worker(worker)

    def since_start(moment: int | None) -> str:
        return (
            f"not within {timeout:.0f} s"
            if moment is None
            else f"at {(moment - started) / 1000:.1f} s"
        )

    first_routed = min((stamp for stamp, _ in routed.values()), default=None)
    console.print(
        f"restart (SIGTERM, start again): from the worker's start, Faust began restoring the "
        f"tables {since_start(marks.seen.get(RESTORING))}, logged '{RECOVERED}' "
        f"{since_start(marks.seen.get(RECOVERED))}, routed the first new contact for a known "
        f"child {since_start(first_routed)} ({len(routed)}/{len(probes)} routed)",
        soft_wrap=True,
    )
    for name, (event_id, expected) in zip(("first", "last"), probes.items(), strict=True):
        if event_id not in routed:
            console.print(f"  {name} imported child: no work item within {timeout:.0f} s")
            continue
        summary = routed[event_id][1].history
        recovered = (
            summary.previous_events == expected.past_events
            and {plan.value for plan in summary.open_plans} == expected.open_plans
        )
        console.print(
            f"  {name} imported child: the work item's history shows "
            f"{summary.previous_events} past events and {len(summary.open_plans)} open plans; "
            f"the export holds {expected.past_events} and {len(expected.open_plans)}: "
            f"{'recovered' if recovered else 'NOT recovered'}",
            soft_wrap=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of the export")
    parser.add_argument(
        "--timeout", type=float, default=1800.0, help="seconds the import may take at most"
    )
    args = parser.parse_args()
    console = Console(highlight=False)
    progress_console = Console(stderr=True, highlight=False)
    with bench_setup() as bench:
        console.print(describe_run(bench), soft_wrap=True)
        started = time.monotonic()
        export = Export(args.rows)
        published, rejected = asyncio.run(_publish_export(bench, export, progress_console))
        elapsed = time.monotonic() - started
        console.print(
            f"export of {args.rows:,} rows written, parsed and published in {elapsed:.1f} s "
            f"({published / elapsed:,.0f} rows/s; {rejected} rejected)",
            soft_wrap=True,
        )
        asyncio.run(_replay(bench, export, published, args.timeout, console))
        asyncio.run(_restart(bench, export, min(args.timeout, 600), console))


if __name__ == "__main__":
    main()
