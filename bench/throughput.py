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

    .venv/bin/python bench/throughput.py [--events 5000] [--timeout 600]
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
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


class OutputCount:
    """Counts the events among output messages, and the first and last broker timestamp."""

    def __init__(self, event_of: Callable[[Any], object] | None = None) -> None:
        #: The event an output message is about; None when every message is one event.
        self._event_of = event_of
        self.events: set[object] = set()
        self.first_ms: int | None = None
        self.last_ms: int | None = None

    def record(self, record: Any) -> None:
        self.events.add(
            self._event_of(record) if self._event_of else (record.partition, record.offset)
        )
        stamp: int = record.timestamp
        self.first_ms = stamp if self.first_ms is None else min(self.first_ms, stamp)
        self.last_ms = stamp if self.last_ms is None else max(self.last_ms, stamp)


async def _count_outputs(
    bench: Bench,
    path: str,
    topics: list[str],
    *,
    expected: int,
    timeout: float,
    event_of: Callable[[Any], object] | None = None,
) -> Result:
    """Follow the output topics until ``expected`` events are there, or the wait is over."""
    started = time.monotonic()
    count = OutputCount(event_of)
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
            bench, "bare Faust passthrough", [destination], expected=expected, timeout=timeout
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
        )
    finally:
        stop_worker(worker)


def _create_topics(bench: Bench, names: list[str]) -> None:
    admin = KafkaAdminClient(bootstrap_servers=bench.address, client_id="frontdoor-bench")
    try:
        admin.create_topics([NewTopic(name, PARTITIONS, 1) for name in names])
    finally:
        admin.close()


async def _measure(bench: Bench, events: int, timeout: float) -> list[Result]:
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
    return [
        await _raw_passthrough(bench, passthrough_in, raw_out, events, timeout),
        await _faust_passthrough(bench, passthrough_in, faust_out, events, timeout),
        await _pipeline(bench, events, timeout),
    ]


def _ratio(result: Result, baseline: Result) -> str:
    if result.per_second is None or baseline.per_second is None:
        return "-"
    return f"{result.per_second / baseline.per_second:.3g}x"


def _report(results: list[Result], console: Console) -> None:
    raw, bare, _ = results
    table = Table(title="Throughput, first output to last output (broker timestamps)")
    for column in ("path", "events", "first to last output", "events/s", "/ bare Faust", "/ raw"):
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
        results = asyncio.run(_measure(bench, args.events, args.timeout))
    _report(results, console)
    if not all(result.complete for result in results):
        console.print(
            f"(incomplete: a path delivered fewer than {args.events:,} within the wait)",
            soft_wrap=True,
        )


if __name__ == "__main__":
    main()
