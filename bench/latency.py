"""Publish-to-work-item and publish-to-duty-team-alert latency at steady rates, and burst
throughput, of the whole pipeline on one real worker.

Starts an embedded broker (or uses ``KAFKA_BOOTSTRAP_SERVERS``), creates the topics under a fresh
prefix, starts one ``frontdoor worker``, routes one contact to warm it up, then for each rate:

* publishes generated contacts at that steady rate for ``--seconds``, on an open-loop schedule (a
  send that is late is caught up, never skipped), and says when the publisher itself could not
  keep the rate;
* prints publish-to-work-item latency p50/p95/p99 over every contact published: from the broker
  timestamp of the intake message (the time the publisher sent it) to that of the contact's first
  work item (the time the worker sent it). A contact not routed within the wait counts as slower
  than every routed one, so a percentile it reaches prints as "none within the wait";
* makes every 20th contact one about a child at immediate risk, received out of hours, which the
  default rules send to the Emergency Duty Team, and prints publish-to-duty-team-alert latency
  the same way. The office calendar reads the event's own receipt time (``received_at``), not the
  worker's clock, so these contacts carry the latest closed hour before now, like a partner
  reporting last night's incident.

Then it publishes a burst at once and prints how many events a second reach the queues, from the
first publish to the last first work item (publishing included).

    .venv/bin/python bench/latency.py [--rates 200,1000] [--seconds 15] [--burst 2000]

Set ``FRONTDOOR_CONSUMER_FETCH_WAIT_MS`` to compare fetch waits (1500 was Faust's fixed value).

The set-up (a broker, a topic namespace, workers, reading topics as they grow, synthetic contacts)
is shared with ``bench/throughput.py`` and ``bench/replay.py``, which import it from here.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import math
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from importlib.metadata import version
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Self

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from kafka import KafkaAdminClient

from connectors.generator import Generator
from schemas.models import Contact, DutyTeamAlert, WorkItem
from schemas.wire import SENDER_HEADER
from streams.decisions.rules import DEFAULT_RULES_FILE, load_rules
from streams.platform.broker import EmbeddedBroker, free_port, wait_until_ready
from streams.platform.codec import AvroCodec
from streams.platform.registry import registry_from
from streams.platform.settings import KafkaSettings, SchemaRegistrySettings, WorkerSettings, load
from streams.platform.topics import CONTACTS, DUTY_TEAM_ALERTS, QUEUES
from streams.platform.transport import fetch_wait_ms

FRONTDOOR = [sys.executable, "-m", "connectors.cli"]
REPOSITORY = Path(__file__).resolve().parent.parent
# Tansu makes a group join wait half the session timeout (broker notes): the short local timing.
SESSION_TIMEOUT_SECONDS = 6
HEARTBEAT_INTERVAL_SECONDS = 1
CONTACTS_PER_SEED = 1_000
ALERT_EVERY = 20

codec = AvroCodec(registry_from(load(SchemaRegistrySettings)))


# -- set-up shared by the benchmarks -------------------------------------------------------------


@dataclass(frozen=True)
class Bench:
    """One benchmark run's broker, topic namespace and the environment its workers get."""

    address: str
    prefix: str
    #: The embedded broker's process when this run started it (None: an external broker).
    broker_pid: int | None
    environment: dict[str, str]

    def worker_environment(self, *, log_level: str = "warning") -> dict[str, str]:
        return {**self.environment, "FRONTDOOR_LOG_LEVEL": log_level}


@contextmanager
def bench_setup() -> Iterator[Bench]:
    """A broker (embedded unless ``KAFKA_BOOTSTRAP_SERVERS`` is set) and every topic under a
    fresh prefix; the embedded broker and the data directory are removed afterwards."""
    # SIGTERM (a `timeout`, a CI job cancelled) unwinds like Ctrl-C, so the memory-only broker,
    # which runs in a session of its own, is stopped rather than left holding every topic.
    signal.signal(signal.SIGTERM, _interrupt)
    with ExitStack() as stack:
        data = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="frontdoor-bench-")))
        address = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
        broker_pid = None
        if address:
            wait_until_ready(KafkaSettings(bootstrap_servers=address, embedded=False))
        else:
            address = f"127.0.0.1:{free_port()}"
            broker = stack.enter_context(EmbeddedBroker(address, log_file=data / "tansu.log"))
            broker_pid = broker.pid
        prefix = f"bench-{uuid.uuid4().hex[:8]}."
        environment = {
            **os.environ,
            "KAFKA_BOOTSTRAP_SERVERS": address,
            "FRONTDOOR_TOPIC_PREFIX": prefix,
            "FRONTDOOR_DATA_DIR": str(data),
            "FRONTDOOR_SESSION_TIMEOUT_SECONDS": str(SESSION_TIMEOUT_SECONDS),
            "FRONTDOOR_HEARTBEAT_INTERVAL_SECONDS": str(HEARTBEAT_INTERVAL_SECONDS),
            # No metrics endpoint: a benchmark's worker must not take, or find taken, the
            # operators' port.
            "FRONTDOOR_METRICS_WORKER_PORT": "0",
        }
        subprocess.run([*FRONTDOOR, "topics"], env=environment, check=True, capture_output=True)
        yield Bench(address, prefix, broker_pid, environment)


def _interrupt(_signal: int, _frame: object) -> None:
    raise KeyboardInterrupt


def describe_machine() -> str:
    """When, at which commit and on what the figures were taken: every benchmark's heading."""
    try:
        commit = subprocess.run(
            ["git", "describe", "--always", "--dirty"],  # noqa: S607 - read-only, any git on PATH
            cwd=REPOSITORY,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown"
    return (
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, commit {commit}, {platform.machine()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}"
    )


def describe_run(bench: Bench) -> str:
    """One line naming what the figures depend on: when, where, which versions and settings."""
    broker = "embedded Tansu" if bench.broker_pid else f"external broker at {bench.address}"
    fetch_wait = fetch_wait_ms(load(WorkerSettings), load(KafkaSettings))
    return (
        f"{describe_machine()}, faust-streaming {version('faust-streaming')}, aiokafka "
        f"{version('aiokafka')}; {broker}; fetch wait {fetch_wait} ms, session "
        f"{SESSION_TIMEOUT_SECONDS} s / heartbeat {HEARTBEAT_INTERVAL_SECONDS} s"
    )


def start_worker(
    environment: dict[str, str], *, stderr: int | IO[bytes] = subprocess.DEVNULL
) -> subprocess.Popen[bytes]:
    """One ``frontdoor worker`` process, the way an operator starts it."""
    return subprocess.Popen(
        [*FRONTDOOR, "worker"], env=environment, stdout=subprocess.DEVNULL, stderr=stderr
    )


def stop_worker(worker: subprocess.Popen[bytes], timeout: float = 60.0) -> float:
    """SIGTERM, then SIGKILL if it has not exited within ``timeout``; the seconds it took."""
    started = time.monotonic()
    if worker.poll() is None:
        worker.terminate()
        try:
            worker.wait(timeout)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait(timeout)
    return time.monotonic() - started


def new_producer(address: str) -> AIOKafkaProducer:
    """A producer that batches, every write acknowledged by all replicas (as the agents')."""
    return AIOKafkaProducer(
        bootstrap_servers=address, acks="all", linger_ms=5, max_batch_size=256 * 1024
    )


@dataclass(frozen=True)
class Message:
    key: bytes
    value: bytes
    headers: list[tuple[str, bytes]]


def intake_message(contact: Contact, sender: str) -> Message:
    """A contact as a partner's Kafka client publishes it: Avro, keyed by id, sender header."""
    return Message(
        contact.event_id.encode(), codec.encode(contact), [(SENDER_HEADER, sender.encode())]
    )


async def publish_all(producer: AIOKafkaProducer, topic: str, messages: Sequence[Message]) -> None:
    """Send every message at once and wait until all are acknowledged."""
    for message in messages:
        await producer.send(topic, message.value, key=message.key, headers=message.headers)
    await producer.flush()


# Generator seeds, each used once per run: see synthetic_contacts.
_seeds = itertools.count(11)


def synthetic_contacts(count: int) -> list[tuple[Contact, str]]:
    """``count`` contacts from the project's generator, with fresh event ids, and their senders.

    The generator draws children from a pool of 150, so in a long run one seed's children would
    each pile up hundreds of past events, and routing would measure that pile. A new seed every
    1,000 contacts, never one used before in the run, keeps a child's history near ten events
    whatever the run's length.
    """
    found: list[tuple[Contact, str]] = []
    while len(found) < count:
        from_this_seed = 0
        for generated in Generator(seed=next(_seeds)):
            if isinstance(generated.event, Contact):
                fresh = generated.event.model_copy(update={"event_id": f"bench-{uuid.uuid4()}"})
                found.append((fresh, generated.sender))
                from_this_seed += 1
            if len(found) == count or from_this_seed == CONTACTS_PER_SEED:
                break
    return found


class TopicReader:
    """Reads topics from their beginning as they grow: no consumer group, nothing committed."""

    def __init__(self, address: str, topics: Sequence[str]) -> None:
        self._topics = topics
        self._address = address
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=address, enable_auto_commit=False, max_poll_records=10_000
        )

    async def __aenter__(self) -> Self:
        await self._consumer.start()
        # A table's changelog topic appears only once the worker has started: wait for it.
        deadline = time.monotonic() + 120
        while not (partitions := self._partitions()):
            if time.monotonic() > deadline:
                await self._consumer.stop()
                raise TimeoutError(f"topics {', '.join(self._topics)} did not appear in 120 s")
            await asyncio.sleep(0.5)
        self._consumer.assign(partitions)
        await self._consumer.seek_to_beginning(*partitions)
        return self

    def _partitions(self) -> list[TopicPartition]:
        """Every partition of the topics, or none while one of them does not exist yet."""
        # The consumer's own metadata knows only the topics that existed when it started.
        admin = KafkaAdminClient(bootstrap_servers=self._address, client_id="frontdoor-bench")
        try:
            if not set(self._topics) <= set(admin.list_topics()):
                return []
            described = admin.describe_topics(list(self._topics))
        finally:
            admin.close()
        return [
            TopicPartition(topic["name"], partition["partition_index"])
            for topic in described
            for partition in topic["partitions"]
        ]

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self._consumer.stop()

    async def follow(
        self,
        handle: Callable[[Any], None],
        done: Callable[[], bool],
        *,
        timeout: float,
        quiet: float | None = None,
    ) -> bool:
        """Hand every new record to ``handle`` until ``done()``.

        False when ``timeout`` seconds passed, or ``quiet`` seconds went by without a new record
        after the first one (the worker stalled, or lost what ``done`` waits for).
        """
        deadline = time.monotonic() + timeout
        last_record: float | None = None
        while not done():
            now = time.monotonic()
            if now > deadline or (quiet and last_record and now - last_record > quiet):
                return False
            batches = await self._consumer.getmany(timeout_ms=500)
            for records in batches.values():
                for record in records:
                    handle(record)
                last_record = time.monotonic()
        return True


def percentile(ascending: Sequence[float], share: float) -> float:
    """The nearest-rank percentile of values sorted ascending (``share`` 0.99 for p99)."""
    return ascending[max(1, math.ceil(share * len(ascending))) - 1]


def _milliseconds(value: float) -> str:
    return "none within the wait" if math.isinf(value) else f"{value:,.0f}"


def _percentiles(latencies: Sequence[float]) -> str:
    ascending = sorted(latencies)
    return "  ".join(
        f"{name} {_milliseconds(percentile(ascending, share))}"
        for name, share in (("p50", 0.50), ("p95", 0.95), ("p99", 0.99))
    )


# -- the latency benchmark -----------------------------------------------------------------------


class Arrivals:
    """When each source event's first work item, and first duty-team alert, were sent (ms)."""

    def __init__(self, prefix: str) -> None:
        self.work_items: dict[str, int] = {}
        self.alerts: dict[str, int] = {}
        self._alert_topic = DUTY_TEAM_ALERTS.name_under(prefix)
        self.topics = [spec.name_under(prefix) for spec in QUEUES.values()] + [self._alert_topic]

    def record(self, record: Any) -> None:
        is_alert = record.topic == self._alert_topic
        found = self.alerts if is_alert else self.work_items
        # Only the source event's id is needed: an unvalidated decode is enough, and cheap.
        source = codec.decode_record(record.value, DutyTeamAlert if is_alert else WorkItem)
        event_id = str(source["source_event_id"])
        found[event_id] = min(found.get(event_id, record.timestamp), record.timestamp)


def latest_closed_hour(now: datetime) -> datetime:
    """The latest whole hour at or before ``now`` when the rules' office calendar is closed."""
    calendar = load_rules(load(WorkerSettings).rules_file or DEFAULT_RULES_FILE).office_calendar()
    moment = now.replace(minute=0, second=0, microsecond=0)
    while not calendar.out_of_hours(moment):
        moment -= timedelta(hours=1)
    return moment


def _routing_wait(count: int) -> float:
    # Generous: as long as the pipeline routes at least 50 events a second, plus start-up.
    return 120 + count / 50


async def _steady(
    producer: AIOKafkaProducer,
    reader: TopicReader,
    arrivals: Arrivals,
    topic: str,
    *,
    rate: float,
    seconds: float,
) -> None:
    contacts = synthetic_contacts(max(2, round(rate * seconds)))
    closed_hour = latest_closed_hour(datetime.now(UTC))
    urgent = {"immediate_risk": True, "received_at": closed_hour}
    contacts = [
        (contact.model_copy(update=urgent) if index % ALERT_EVERY == 0 else contact, sender)
        for index, (contact, sender) in enumerate(contacts)
    ]
    # Encoded before the clock starts, so the schedule measures the pipeline, not our codec.
    messages = [intake_message(contact, sender) for contact, sender in contacts]
    sent_at: dict[str, int] = {}
    started = time.monotonic()
    pending = []
    for index, ((contact, _), message) in enumerate(zip(contacts, messages, strict=True)):
        delay = started + index / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        stamp = int(time.time() * 1000)
        sent_at[contact.event_id] = stamp
        pending.append(
            await producer.send(
                topic, message.value, key=message.key, headers=message.headers, timestamp_ms=stamp
            )
        )
    await asyncio.gather(*pending)
    stamps = sorted(sent_at.values())
    achieved = (len(stamps) - 1) / max(stamps[-1] - stamps[0], 1) * 1000
    alerting = {contact.event_id for contact, _ in contacts[::ALERT_EVERY]}

    def everything_arrived() -> bool:
        return sent_at.keys() <= arrivals.work_items.keys() and alerting <= arrivals.alerts.keys()

    wait = _routing_wait(len(contacts))
    await reader.follow(arrivals.record, everything_arrived, timeout=wait, quiet=60)
    routed = [
        arrivals.work_items[event_id] - stamp if event_id in arrivals.work_items else math.inf
        for event_id, stamp in sent_at.items()
    ]
    alerted = [
        arrivals.alerts[event_id] - sent_at[event_id] if event_id in arrivals.alerts else math.inf
        for event_id in alerting
    ]
    kept_rate = (
        ""
        if achieved >= 0.95 * rate
        else f"; the publisher could not keep the rate: {achieved:,.0f}/s achieved"
    )
    count_routed = sum(1 for latency in routed if not math.isinf(latency))
    count_alerted = sum(1 for latency in alerted if not math.isinf(latency))
    print(
        f"steady {rate:,.0f}/s x {len(contacts)} (publisher achieved {achieved:,.0f}/s"
        f"{kept_rate}): publish-to-work-item ms {_percentiles(routed)}  "
        f"({count_routed}/{len(contacts)} routed"
        f"{'' if count_routed == len(contacts) else f' within {wait:.0f}s'})",
        flush=True,
    )
    print(
        f"  {len(alerting)} at immediate risk, received {closed_hour:%a %H:%M} UTC (office "
        f"closed): publish-to-duty-team-alert ms {_percentiles(alerted)}  "
        f"({count_alerted}/{len(alerting)} alerted)",
        flush=True,
    )


async def _burst(
    producer: AIOKafkaProducer, reader: TopicReader, arrivals: Arrivals, topic: str, size: int
) -> None:
    contacts = synthetic_contacts(size)
    messages = [intake_message(contact, sender) for contact, sender in contacts]
    wanted = {contact.event_id for contact, _ in contacts}
    first_publish = int(time.time() * 1000)
    started = time.monotonic()
    await publish_all(producer, topic, messages)

    def all_routed() -> bool:
        return wanted <= arrivals.work_items.keys()

    await reader.follow(arrivals.record, all_routed, timeout=_routing_wait(size), quiet=60)
    routed = [arrivals.work_items[event_id] for event_id in wanted & arrivals.work_items.keys()]
    waited = time.monotonic() - started
    if len(routed) < size:
        print(f"burst of {size}: incomplete: {len(routed)} of {size} in {waited:.0f} s", flush=True)
        return
    span = max(max(routed) - first_publish, 1) / 1000
    print(
        f"burst of {size}: {size / span:,.0f} events/s to the queues ({size} in {span:.1f}s from "
        f"the first publish to the last event's first work item, publishing included)",
        flush=True,
    )


async def _measure(bench: Bench, rates: list[float], seconds: float, burst: int) -> None:
    topic = CONTACTS.name_under(bench.prefix)
    arrivals = Arrivals(bench.prefix)
    producer = new_producer(bench.address)
    await producer.start()
    try:
        async with TopicReader(bench.address, arrivals.topics) as reader:
            warm, sender = synthetic_contacts(1)[0]
            await publish_all(producer, topic, [intake_message(warm, sender)])
            warmed = await reader.follow(
                arrivals.record, lambda: warm.event_id in arrivals.work_items, timeout=180
            )
            if not warmed:
                print("the worker routed nothing within 180 s; no figures", flush=True)
                return
            for rate in rates:
                await _steady(producer, reader, arrivals, topic, rate=rate, seconds=seconds)
            if burst:
                await _burst(producer, reader, arrivals, topic, burst)
    finally:
        await producer.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--rates",
        "--rate",
        default="20",
        help="steady events a second, comma-separated for several runs (200,1000)",
    )
    parser.add_argument("--seconds", type=float, default=15.0, help="length of each steady run")
    parser.add_argument("--burst", type=int, default=2000, help="events published at once")
    args = parser.parse_args()
    rates = [float(rate) for rate in args.rates.split(",")]
    with bench_setup() as bench:
        print(describe_run(bench), flush=True)
        worker = start_worker(bench.worker_environment())
        try:
            asyncio.run(_measure(bench, rates, args.seconds, args.burst))
        finally:
            stop_worker(worker)


if __name__ == "__main__":
    main()
