"""Police notification published to the school's e-mail accepted by the mail server, office closed.

Today's practice is a phone call the next morning; the issue's goal is p99 under 60 seconds. The
whole path runs for real on this machine: an embedded broker (or ``KAFKA_BOOTSTRAP_SERVERS``),
one ``frontdoor worker`` (intake, identification, routing: Operation Encompass), one ``frontdoor
delivery`` with the shipped demo channel file, and in this process a local SMTP server (aiosmtpd,
the mail catcher ``make run`` uses) and the demo police force's webhook receiver (the
notifications' information requests go there).

Once one notification has gone all the way (the worker and the delivery service have joined
their groups), it publishes ``--count`` domestic-abuse police notifications at ``--rate`` a
second, each about one school-age child at a school whose safeguarding lead is in the shipped
leads file, received at the latest hour the office was closed (a Friday-night incident).
Latency is from the moment the notification was handed to the producer to the moment the mail
server accepted the school's e-mail (both on this machine's clock); the e-mail is matched to its
notification through the school notification on ``notifications.schools``.

With ``--backlog`` the delivery service is down while the notifications come (a night's outage,
say): it starts only once the worker has routed them all, and the figures are how long it took to
work through what waited, from its start to the last school's e-mail, and the e-mails a second.

    .venv/bin/python bench/delivery.py [--count 200] [--rate 5] [--backlog]
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from contextlib import ExitStack
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from latency import (
    FRONTDOOR,
    Bench,
    TopicReader,
    bench_setup,
    codec,
    describe_run,
    latest_closed_hour,
    new_producer,
    percentile,
    start_worker,
    stop_worker,
)

from connectors.cli import DEMO_WEBHOOK_PORT
from connectors.delivery.channels import DEFAULT_CHANNELS_FILE
from connectors.delivery.local import CaughtMail, MailCatcher, WebhookReceiver
from connectors.delivery.signing import new_secret
from schemas.models import (
    Address,
    DashRiskLevel,
    IncidentType,
    NotificationChild,
    PoliceNotification,
    SchoolNotification,
)
from schemas.wire import SENDER_HEADER
from streams.platform.broker import free_port
from streams.platform.topics import POLICE_NOTIFICATIONS, SCHOOL_NOTIFICATIONS

#: Schools of the shipped directory with a safeguarding lead in the shipped leads file.
SCHOOLS = ("990001", "990002", "990004")
GOAL_SECONDS = 60.0


def notification(received_at: datetime, number: int) -> PoliceNotification:
    """A domestic-abuse notification about one primary-school child (synthetic)."""
    return PoliceNotification(
        event_id=f"bench-{uuid.uuid4()}",
        received_at=received_at,
        police_reference=f"BENCH-{number:06d}",
        force="Synthetic Constabulary",
        occurred_at=received_at,
        incident_type=IncidentType.DOMESTIC_ABUSE,
        dash_risk_level=DashRiskLevel.STANDARD,
        dash_score=4,
        location=Address(line1=f"{number} Synthetic Road", town="Synthton", postcode="ZZ1 1ZZ"),
        children=[
            NotificationChild(
                given_name="Synthetic",
                family_name=f"Child{number}",
                date_of_birth=date(2017, 1 + number % 12, 1 + number % 28),
                school_urn=SCHOOLS[number % len(SCHOOLS)],
                present=True,
                spoken_to=False,
            )
        ],
        circumstances="Synthetic circumstances.",
        marac_referral_made=False,
    )


def start_delivery(
    environment: dict[str, str], smtp_port: int, webhook_url: str, secret: str, log: Path
) -> subprocess.Popen[bytes]:
    """One ``frontdoor delivery`` process with the demo channel file, mailing the catcher and
    posting to ``webhook_url`` (the demo file's address moved there, so that a ``make run`` on
    the same machine is no obstacle)."""
    channels = log.with_name("channels.yaml")
    demo_address = f"http://127.0.0.1:{DEMO_WEBHOOK_PORT}/webhooks/frontdoor"
    text = DEFAULT_CHANNELS_FILE.read_text(encoding="utf-8")
    if demo_address not in text:
        raise SystemExit(f"the demo channel file no longer posts to {demo_address}")
    channels.write_text(text.replace(demo_address, webhook_url), encoding="utf-8")
    env = {
        **environment,
        "FRONTDOOR_DELIVERY_CHANNELS_FILE": str(channels),
        "FRONTDOOR_DELIVERY_SMTP_PORT": str(smtp_port),
        "FRONTDOOR_DEMO_WEBHOOK_SECRET": secret,
    }
    with log.open("wb") as output:
        return subprocess.Popen(
            [*FRONTDOOR, "delivery"], env=env, stdout=output, stderr=subprocess.STDOUT
        )


async def _publish(
    bench: Bench, notices: list[PoliceNotification], rate: float
) -> dict[str, float]:
    """Publish at a steady rate; when each was handed to the producer (epoch seconds), by id."""
    producer = new_producer(bench.address)
    await producer.start()
    sent: dict[str, float] = {}
    topic = POLICE_NOTIFICATIONS.name_under(bench.prefix)
    started = time.monotonic()
    try:
        for index, notice in enumerate(notices):
            delay = started + index / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            sent[notice.event_id] = time.time()
            await producer.send_and_wait(
                topic,
                codec.encode(notice),
                key=notice.event_id.encode(),
                headers=[(SENDER_HEADER, b"police.synthetic")],
            )
    finally:
        await producer.stop()
    return sent


async def _school_notifications(bench: Bench, expected: int, timeout: float) -> dict[str, str]:
    """School notification id -> the police notification it came from, once all are there."""
    found: dict[str, str] = {}

    def record(message: Any) -> None:
        fields = codec.decode_record(message.value, SchoolNotification)
        found[str(fields["event_id"])] = str(fields["about_event_id"])

    async with TopicReader(
        bench.address, [SCHOOL_NOTIFICATIONS.name_under(bench.prefix)]
    ) as reader:
        await reader.follow(record, lambda: len(found) >= expected, timeout=timeout)
    return found


def _latencies(
    mails: list[CaughtMail], about: dict[str, str], sent: dict[str, float]
) -> list[float]:
    """Seconds from publish to the first accepted e-mail of each notification."""
    first: dict[str, float] = {}
    for mail in mails:
        notice = mail.message.get("X-Frontdoor-Event-Id")
        police = about.get(str(notice).strip()) if notice else None
        if police in sent:
            accepted = mail.received_at.timestamp() - sent[police]
            first[police] = min(first.get(police, accepted), accepted)
    return sorted(first.values())


async def _all_mailed(
    catcher: MailCatcher, about: dict[str, str], sent: dict[str, float], timeout: float
) -> list[float]:
    """The latencies of the e-mails of ``sent``, once each has one or ``timeout`` has passed."""
    deadline = time.monotonic() + timeout
    while len(latencies := _latencies(catcher.mails, about, sent)) < len(sent):
        if time.monotonic() > deadline:
            break
        await asyncio.sleep(0.2)
    return latencies


async def _run(
    count: int, rate: float, timeout: float, *, partner_down: bool, backlog: bool
) -> int:
    received_at = latest_closed_hour(datetime.now(UTC))
    notices = [notification(received_at, number) for number in range(count)]
    secret = new_secret()
    with ExitStack() as stack:
        bench = stack.enter_context(bench_setup())
        catcher = stack.enter_context(MailCatcher(port=free_port()))
        # The demo police force's system, which receives the information requests (or, down,
        # refuses every connection: its port is free and nothing listens).
        webhook = WebhookReceiver(secret, port=free_port())
        if not partner_down:
            stack.enter_context(webhook)
        print(describe_run(bench), flush=True)
        print(
            f"{count} police notifications at {rate}/s, received {received_at:%a %H:%M} UTC "
            "(office closed); one worker, one delivery service, a local SMTP server; the police "
            f"force's webhook {'DOWN' if partner_down else 'up'}"
            + ("; the delivery service down until all are routed" if backlog else ""),
            flush=True,
        )
        log = Path(bench.environment["FRONTDOOR_DATA_DIR"]) / "delivery.log"
        start = functools.partial(
            start_delivery, bench.worker_environment(), catcher.port, webhook.url, secret, log
        )
        worker = start_worker(bench.worker_environment())
        if backlog:
            try:
                return await _drain_backlog(
                    bench, catcher, notices, start=start, rate=rate, timeout=timeout
                )
            finally:
                stop_worker(worker)
        delivery = start()
        try:
            # Warm-up: the worker and the delivery service join their groups (seconds on this
            # broker); the measurement starts once one notification has gone all the way.
            warm_up = notification(received_at, count)
            await _publish(bench, [warm_up], rate)
            ready_by = time.monotonic() + timeout
            while not catcher.mails:
                if time.monotonic() > ready_by:
                    print("the warm-up notification was never e-mailed", flush=True)
                    return 1
                await asyncio.sleep(0.2)
            sent = await _publish(bench, notices, rate)
            about = await _school_notifications(bench, count + 1, timeout)
            latencies = await _all_mailed(catcher, about, sent, timeout)
        finally:
            stop_worker(delivery)
            stop_worker(worker)
    if not latencies:
        print("no school e-mail arrived within the wait", flush=True)
        return 1
    shares = (("p50", 0.50), ("p95", 0.95), ("p99", 0.99))
    figures = "  ".join(f"{name} {percentile(latencies, share):.2f}" for name, share in shares)
    print(
        f"publish-to-school-email s {figures}  max {latencies[-1]:.2f} "
        f"({len(latencies)}/{count} e-mailed; goal p99 under {GOAL_SECONDS:.0f} s)",
        flush=True,
    )
    return 0 if len(latencies) == count else 1


async def _drain_backlog(
    bench: Bench,
    catcher: MailCatcher,
    notices: list[PoliceNotification],
    *,
    start: Callable[[], subprocess.Popen[bytes]],
    rate: float,
    timeout: float,
) -> int:
    """Route every notification with no delivery service, then ``start`` it and time the drain."""
    count = len(notices)
    sent = await _publish(bench, notices, rate)
    about = await _school_notifications(bench, count, timeout)
    print(f"{count} school notifications waiting; starting the delivery service", flush=True)
    started = time.time()
    delivery = start()
    try:
        mailed = len(await _all_mailed(catcher, about, sent, timeout))
    finally:
        stop_worker(delivery)
    accepted = sorted(mail.received_at.timestamp() for mail in catcher.mails)
    if not accepted:
        print("no school e-mail arrived within the wait", flush=True)
        return 1
    first, last = accepted[0] - started, accepted[-1] - started
    # The e-mails after the first, over the time after it: the pace once the group has joined.
    pace = f"{(len(accepted) - 1) / (last - first):,.0f}" if last > first else "-"
    print(
        f"backlog of {count}: first e-mail {first:.2f} s after the delivery service started, "
        f"last {last:.2f} s; {pace} e-mails/s between them ({mailed}/{count} schools e-mailed)",
        flush=True,
    )
    return 0 if mailed == count else 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--rate", type=float, default=5.0, help="notifications a second")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for all")
    parser.add_argument(
        "--partner-down",
        action="store_true",
        help="no webhook receiver: the police force's information requests keep failing",
    )
    parser.add_argument(
        "--backlog",
        action="store_true",
        help="start the delivery service only once every notification is routed, and time the "
        "drain",
    )
    arguments = parser.parse_args()
    sys.exit(
        asyncio.run(
            _run(
                arguments.count,
                arguments.rate,
                arguments.timeout,
                partner_down=arguments.partner_down,
                backlog=arguments.backlog,
            )
        )
    )


if __name__ == "__main__":
    main()
