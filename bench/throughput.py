"""Throughput on one worker and one broker, in one run: raw aiokafka, a bare Faust agent, the
pipeline.

``--events`` generated contacts (Avro, as partners send them) are loaded on the input topics
before anything consumes them, then three consumers take them one after the other:

* **raw aiokafka passthrough**: a plain ``AIOKafkaConsumer`` in a consumer group and an
  ``AIOKafkaProducer`` copy each message's bytes to an output topic (in this process);
* **bare Faust passthrough**: a separate small Faust app (a subprocess) with one agent, ``async
  for`` over the topic and ``topic.send`` of each message, on the project's ``frontdoor-kafka://``
  transport, so its fetch wait is the project's setting;
* **the pipeline**: one ``frontdoor worker`` takes the contacts from the contacts intake topic
  through intake, identification and routing; an event counts when its first work item is on a
  queue topic.

Every figure is measured the same way: events divided by the time from the first output message
to the last, both broker timestamps (the time the producer sent them). Start-up and the group join
are therefore left out, for all three. A path that has not delivered every event within
``--timeout`` seconds, or that stops delivering for a minute, is reported as incomplete.

For the two paths in a process of their own (bare Faust, the pipeline) the table also gives the
process's CPU time per event, every thread counted, from its first output to its last (read from
``/proc`` as outputs arrive). On a machine shared with other work it moves far less than events a
second do, so it is the figure to compare two versions by.

Last, it counts the messages the pipeline left on every topic, per contact: what one partner
event costs the worker in consumes and sends, where the bare agent does one of each.

    .venv/bin/python bench/throughput.py [--events 5000] [--timeout 600]
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer
from kafka import KafkaAdminClient
from kafka.admin import NewTopic
from latency import (
    HEARTBEAT_INTERVAL_SECONDS,
    SESSION_TIMEOUT_SECONDS,
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
from rich.table import Table

from schemas.models import WorkItem
from streams.platform.settings import KafkaSettings, WorkerSettings, load
from streams.platform.topics import CONTACTS, QUEUES
from streams.platform.transport import SCHEME, fetch_wait_ms

PARTITIONS = 4  # as the pipeline's intake topics
QUIET_SECONDS = 60.0


@dataclass(frozen=True)
class Result:
    """What one path delivered: how many events, and the broker timestamps of first and last."""

    path: str
    delivered: int
    expected: int
    first_ms: int | None
    last_ms: int | None
    waited_seconds: float
    #: The consuming process's CPU seconds per event over the measured span, where known.
    cpu_per_event: float | None = None

    @property
    def complete(self) -> bool:
        return self.delivered >= self.expected

    @property
    def per_second(self) -> float | None:
        """Events a second from the first output to the last; None when incomplete."""
        if not self.complete or self.first_ms is None or self.last_ms is None:
            return None
        # A run shorter than the timestamps' resolution counts as one millisecond.
        return self.delivered / (max(self.last_ms - self.first_ms, 1) / 1000)


def cpu_seconds(pid: int) -> float | None:
    """CPU seconds (user and system, all threads) a process has used so far; None off Linux."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    # Fields 14 and 15 of proc(5), utime and stime, in clock ticks; the split dropped two.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class OutputCount:
    """Counts the events among output messages, the first and last broker timestamp, and (given
    a ``cpu`` reading) the CPU time spent between the first and the last."""

    def __init__(
        self,
        event_of: Callable[[Any], object] | None = None,
        cpu: Callable[[], float | None] | None = None,
    ) -> None:
        #: The event an output message is about; None when every message is one event.
        self._event_of = event_of
        self._cpu = cpu
        self.events: set[object] = set()
        self.first_ms: int | None = None
        self.last_ms: int | None = None
        self._cpu_at_first: tuple[float, int] | None = None
        self._cpu_at_last: tuple[float, int] | None = None

    def record(self, record: Any) -> None:
        event = self._event_of(record) if self._event_of else (record.partition, record.offset)
        new = event not in self.events
        self.events.add(event)
        stamp: int = record.timestamp
        self.first_ms = stamp if self.first_ms is None else min(self.first_ms, stamp)
        self.last_ms = stamp if self.last_ms is None else max(self.last_ms, stamp)
        if new and self._cpu is not None:
            used = self._cpu()
            if used is not None:
                reading = (used, len(self.events))
                self._cpu_at_first = self._cpu_at_first or reading
                self._cpu_at_last = reading

    @property
    def cpu_per_event(self) -> float | None:
        """CPU seconds per event between the first output and the last; None when unknown."""
        if self._cpu_at_first is None or self._cpu_at_last is None:
            return None
        (first, events_then), (last, events_now) = self._cpu_at_first, self._cpu_at_last
        return (last - first) / (events_now - events_then) if events_now > events_then else None


async def _count_outputs(
    bench: Bench,
    path: str,
    topics: list[str],
    *,
    expected: int,
    timeout: float,
    event_of: Callable[[Any], object] | None = None,
    process: subprocess.Popen[bytes] | None = None,
) -> Result:
    """Follow the output topics until ``expected`` events are there, or the wait is over."""
    started = time.monotonic()
    count = OutputCount(
        event_of, functools.partial(cpu_seconds, process.pid) if process is not None else None
    )
    async with TopicReader(bench.address, topics) as reader:
        await reader.follow(
            count.record,
            lambda: len(count.events) >= expected,
            timeout=timeout,
            quiet=QUIET_SECONDS,
        )
    return Result(
        path,
        len(count.events),
        expected,
        count.first_ms,
        count.last_ms,
        time.monotonic() - started,
        count.cpu_per_event,
    )


async def _raw_passthrough(
    bench: Bench, source: str, destination: str, expected: int, timeout: float
) -> Result:
    consumer = AIOKafkaConsumer(
        source,
        bootstrap_servers=bench.address,
        group_id=f"{bench.prefix}raw-passthrough",
        auto_offset_reset="earliest",
        session_timeout_ms=SESSION_TIMEOUT_SECONDS * 1000,
        heartbeat_interval_ms=HEARTBEAT_INTERVAL_SECONDS * 1000,
        # The worker's fetch wait, so that all three paths fetch alike.
        fetch_max_wait_ms=fetch_wait_ms(load(WorkerSettings), load(KafkaSettings)),
    )
    producer = new_producer(bench.address)
    await consumer.start()
    await producer.start()

    async def copy() -> None:
        copied = 0
        while copied < expected:
            for records in (await consumer.getmany(timeout_ms=100)).values():
                for record in records:
                    await producer.send(
                        destination, record.value, key=record.key, headers=list(record.headers)
                    )
                copied += len(records)
        await producer.flush()

    try:
        await asyncio.wait_for(copy(), timeout)
    except TimeoutError:
        pass  # what was copied is counted below, and reported as incomplete
    finally:
        await producer.stop()
        await consumer.stop()
    # Copying has finished (or timed out): reading what it wrote takes moments.
    return await _count_outputs(
        bench, "raw aiokafka passthrough", [destination], expected=expected, timeout=30
    )


def _bare_faust_passthrough(source: str, destination: str) -> None:
    """Run the bare Faust app (in the subprocess this script starts for it) until terminated."""
    import faust  # noqa: PLC0415 - only this subprocess needs Faust

    worker = load(WorkerSettings)
    app = faust.App(
        f"{worker.topic_prefix}bare-passthrough",
        broker=[f"{SCHEME}://{server}" for server in load(KafkaSettings).servers],
        broker_session_timeout=worker.session_timeout_seconds,
        broker_heartbeat_interval=worker.heartbeat_interval_seconds,
        producer_acks=-1,
        key_serializer="raw",
        value_serializer="raw",
        topic_partitions=PARTITIONS,
        datadir=str(worker.data_dir / "bare-faust"),
        web_enabled=False,
        autodiscover=False,
    )
    inbound = app.topic(source, key_type=bytes, value_type=bytes)
    outbound = app.topic(destination, key_type=bytes, value_type=bytes)

    @app.agent(inbound)
    async def passthrough(stream: faust.StreamT[bytes]) -> None:
        async for key, value in stream.items():
            await outbound.send(key=key, value=value)

    worker = faust.Worker(app, loglevel="warning")
    worker.spinner = None  # as the project's worker does (connectors/cli.py): no DEBUG records
    worker.execute_from_commandline()


async def _faust_passthrough(
    bench: Bench, source: str, destination: str, expected: int, timeout: float
) -> Result:
    process = subprocess.Popen(
        [sys.executable, __file__, "--bare-faust-passthrough", source, destination],
        env=bench.worker_environment(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        return await _count_outputs(
            bench,
            "bare Faust passthrough",
            [destination],
            expected=expected,
            timeout=timeout,
            process=process,
        )
    finally:
        stop_worker(process)


async def _pipeline(bench: Bench, expected: int, timeout: float) -> Result:
    worker = start_worker(bench.worker_environment())

    def source_event(record: Any) -> str:
        return str(codec.decode_record(record.value, WorkItem)["source_event_id"])

    queues = [spec.name_under(bench.prefix) for spec in QUEUES.values()]
    try:
        return await _count_outputs(
            bench,
            "pipeline (one frontdoor worker)",
            queues,
            expected=expected,
            timeout=timeout,
            event_of=source_event,
            process=worker,
        )
    finally:
        stop_worker(worker)


def _create_topics(bench: Bench, names: list[str]) -> None:
    admin = KafkaAdminClient(bootstrap_servers=bench.address, client_id="frontdoor-bench")
    try:
        admin.create_topics([NewTopic(name, PARTITIONS, 1) for name in names])
    finally:
        admin.close()


async def _messages_by_topic(bench: Bench, excluded: set[str]) -> dict[str, int]:
    """How many messages each of the run's topics holds (the passthrough ones ``excluded``)."""
    admin = KafkaAdminClient(bootstrap_servers=bench.address, client_id="frontdoor-bench")
    try:
        topics = [
            topic
            for topic in admin.list_topics()
            if topic.startswith(bench.prefix) and topic not in excluded
        ]
    finally:
        admin.close()
    counts: dict[str, int] = dict.fromkeys(topics, 0)

    def count(record: Any) -> None:
        counts[record.topic] += 1

    async with TopicReader(bench.address, topics) as reader:
        # Everything is written already: read until nothing new has come for a few seconds.
        await reader.follow(count, lambda: False, timeout=120, quiet=3)
    return {topic.removeprefix(bench.prefix): found for topic, found in counts.items() if found}


async def _measure(
    bench: Bench, events: int, timeout: float
) -> tuple[list[Result], dict[str, int]]:
    passthrough_in = f"{bench.prefix}bench.passthrough-in"
    raw_out = f"{bench.prefix}bench.raw-out"
    faust_out = f"{bench.prefix}bench.faust-out"
    _create_topics(bench, [passthrough_in, raw_out, faust_out])
    contacts = synthetic_contacts(events)
    messages = [intake_message(contact, sender) for contact, sender in contacts]
    producer = new_producer(bench.address)
    await producer.start()
    try:
        await publish_all(producer, passthrough_in, messages)
        await publish_all(producer, CONTACTS.name_under(bench.prefix), messages)
    finally:
        await producer.stop()
    # One after the other, so that no path shares the machine with another.
    results = [
        await _raw_passthrough(bench, passthrough_in, raw_out, events, timeout),
        await _faust_passthrough(bench, passthrough_in, faust_out, events, timeout),
        await _pipeline(bench, events, timeout),
    ]
    messages = await _messages_by_topic(bench, {passthrough_in, raw_out, faust_out})
    return results, messages


def _ratio(result: Result, baseline: Result) -> str:
    if result.per_second is None or baseline.per_second is None:
        return "-"
    return f"{result.per_second / baseline.per_second:.3g}x"


def _report_messages(messages: dict[str, int], events: int, console: Console) -> None:
    table = Table(title=f"Messages on each topic after the pipeline took {events:,} contacts")
    for column in ("topic", "messages", "a contact"):
        table.add_column(column, justify="left" if column == "topic" else "right")
    for topic, found in sorted(messages.items(), key=lambda item: -item[1]):
        table.add_row(topic, f"{found:,}", f"{found / events:.2f}")
    total = sum(messages.values())
    table.add_row("all topics", f"{total:,}", f"{total / events:.2f}", style="bold")
    console.print(table)


def _report(results: list[Result], console: Console) -> None:
    raw, bare, _ = results
    table = Table(title="Throughput, first output to last output (broker timestamps)")
    columns = (
        "path",
        "events",
        "first to last output",
        "events/s",
        "/ bare Faust",
        "/ raw",
        "CPU an event",
    )
    for column in columns:
        table.add_column(column, justify="left" if column == "path" else "right")
    for result in results:
        if result.per_second is None:
            rate = (
                f"incomplete: {result.delivered} of {result.expected} "
                f"in {result.waited_seconds:.0f} s"
            )
        else:
            rate = f"{result.per_second:,.0f}"
        span = (
            f"{(result.last_ms - result.first_ms) / 1000:.3f} s"
            if result.first_ms is not None and result.last_ms is not None
            else "-"
        )
        table.add_row(
            result.path,
            f"{result.delivered:,}",
            span,
            rate,
            _ratio(result, bare),
            _ratio(result, raw),
            f"{result.cpu_per_event * 1e6:,.0f} us" if result.cpu_per_event is not None else "-",
        )
    console.print(table)
    pipeline = results[-1]
    console.print(
        f"pipeline/bare Faust {_ratio(pipeline, bare)}, pipeline/raw {_ratio(pipeline, raw)}",
        soft_wrap=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=5000, help="contacts loaded beforehand")
    parser.add_argument(
        "--timeout", type=float, default=600.0, help="seconds each path may take at most"
    )
    parser.add_argument(
        "--bare-faust-passthrough",
        nargs=2,
        metavar=("SOURCE", "DESTINATION"),
        help="(internal) run the bare Faust passthrough app; this script starts it",
    )
    args = parser.parse_args()
    if args.bare_faust_passthrough:
        _bare_faust_passthrough(*args.bare_faust_passthrough)
        return
    # Wide enough for the table whether or not the output is a terminal.
    console = Console(width=max(Console().width, 120), highlight=False)
    with bench_setup() as bench:
        console.print(describe_run(bench), soft_wrap=True)
        console.print(
            f"{args.events:,} generated contacts loaded before each path starts", soft_wrap=True
        )
        results, messages = asyncio.run(_measure(bench, args.events, args.timeout))
    _report(results, console)
    _report_messages(messages, args.events, console)
    if not all(result.complete for result in results):
        console.print(
            f"(incomplete: a path delivered fewer than {args.events:,} within the wait)",
            soft_wrap=True,
        )


if __name__ == "__main__":
    main()
