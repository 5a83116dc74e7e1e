"""Publish-to-work-item latency and burst throughput of the whole pipeline, on a real worker.

Starts an embedded broker (or uses ``KAFKA_BOOTSTRAP_SERVERS``), creates the topics under a fresh
prefix, starts one ``frontdoor worker``, then:

* publishes contacts at a steady rate and reports publish-to-work-item latency (p50/p95/p99),
  measured between the broker timestamps of the intake message and of its work item;
* publishes a burst and reports how many events a second reach the queues.

    .venv/bin/python bench/latency.py [--rate 20] [--seconds 15] [--burst 2000]

Set ``FRONTDOOR_CONSUMER_FETCH_WAIT_MS`` to compare fetch waits (1500 was Faust's fixed value).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import ExitStack
from pathlib import Path

from connectors.generator import Generator
from schemas.models import Contact, WorkItem
from schemas.wire import SENDER_HEADER, InboundMessage
from streams.platform.app import codec
from streams.platform.broker import EmbeddedBroker, free_port, wait_until_ready
from streams.platform.publisher import Publisher
from streams.platform.reader import read_topic
from streams.platform.settings import KafkaSettings
from streams.platform.topics import CONTACTS, QUEUES


def _contacts(count: int) -> list[Contact]:
    found: list[Contact] = []
    for generated in Generator(seed=11):
        if isinstance(generated.event, Contact):
            found.append(generated.event.model_copy(update={"event_id": f"bench-{uuid.uuid4()}"}))
        if len(found) == count:
            return found
    return found


def _work_items(kafka: KafkaSettings, prefix: str) -> list[InboundMessage]:
    return [
        message
        for spec in QUEUES.values()
        for message in read_topic(kafka, spec.name_under(prefix), idle_seconds=0.5)
    ]


def _wait_for(
    kafka: KafkaSettings, prefix: str, wanted: set[str], timeout: float
) -> dict[str, int]:
    """Work item timestamps (ms) by source event id, once every wanted event has one."""
    deadline = time.monotonic() + timeout
    seen: dict[str, int] = {}
    while time.monotonic() < deadline:
        for message in _work_items(kafka, prefix):
            item = codec.decode(message.value, WorkItem)
            if item.source_event_id in wanted and message.timestamp_ms is not None:
                seen.setdefault(item.source_event_id, message.timestamp_ms)
        if wanted <= seen.keys():
            break
        time.sleep(0.5)
    return seen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rate", type=float, default=20.0, help="steady events a second")
    parser.add_argument("--seconds", type=float, default=15.0, help="length of the steady run")
    parser.add_argument("--burst", type=int, default=2000, help="events published at once")
    args = parser.parse_args()
    with ExitStack() as stack:
        data = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        address = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
        if not address:
            address = f"127.0.0.1:{free_port()}"
            stack.enter_context(EmbeddedBroker(address, log_file=data / "tansu.log"))
        kafka = KafkaSettings(bootstrap_servers=address, embedded=False)
        wait_until_ready(kafka)
        prefix = f"bench-{uuid.uuid4().hex[:8]}."
        env = {
            **os.environ,
            "KAFKA_BOOTSTRAP_SERVERS": address,
            "FRONTDOOR_TOPIC_PREFIX": prefix,
            "FRONTDOOR_DATA_DIR": str(data),
            "FRONTDOOR_LOG_LEVEL": "warning",
        }
        command = [sys.executable, "-m", "connectors.cli"]
        subprocess.run([*command, "topics"], env=env, check=True, capture_output=True)
        worker = subprocess.Popen(
            [*command, "worker"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        stack.callback(worker.wait, 60)
        stack.callback(worker.terminate)
        publisher = stack.enter_context(Publisher(kafka, codec))
        topic = CONTACTS.name_under(prefix)
        warm = _contacts(1)[0]
        publisher.publish(topic, warm, headers={SENDER_HEADER: "bench.partner"})
        _wait_for(kafka, prefix, {warm.event_id}, timeout=120)

        steady = _contacts(int(args.rate * args.seconds))
        published: dict[str, float] = {}
        for event in steady:
            started = time.monotonic()
            publisher.publish(topic, event, headers={SENDER_HEADER: "bench.partner"})
            published[event.event_id] = time.time() * 1000
            time.sleep(max(0.0, 1 / args.rate - (time.monotonic() - started)))
        routed = _wait_for(kafka, prefix, set(published), timeout=120)
        latencies = sorted(routed[event_id] - published[event_id] for event_id in routed)
        cuts = statistics.quantiles(latencies, n=100)
        print(
            f"steady {args.rate:.0f}/s x {len(steady)}: publish-to-work-item ms "
            f"p50 {cuts[49]:.0f}  p95 {cuts[94]:.0f}  p99 {cuts[98]:.0f}  "
            f"({len(routed)}/{len(steady)} routed)"
        )

        burst = _contacts(args.burst)
        started = time.monotonic()
        for event in burst:
            publisher.publish(topic, event, headers={SENDER_HEADER: "bench.partner"})
        done = _wait_for(kafka, prefix, {event.event_id for event in burst}, timeout=600)
        elapsed = time.monotonic() - started
        print(
            f"burst of {len(burst)}: {len(done) / elapsed:.0f} events/s to the queues "
            f"({len(done)}/{len(burst)} in {elapsed:.1f}s, publishing included)"
        )


if __name__ == "__main__":
    main()
