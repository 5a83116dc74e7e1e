"""``frontdoor demo``: a realistic day through the whole local stack, watched from the terminal.

The stack is ``frontdoor up``'s (broker, topics, workers, local mail catcher and webhook receiver,
delivery, gateway, staff application), with each process's log in ``<data dir>/logs`` instead of
on the terminal. Onto it the demo publishes a seeded synthetic day (:mod:`connectors.demo_day`)
as fast as the broker takes it, with a progress bar, and plays the staff's part as the work comes
out: threshold decisions on the MASH and early-help items (most in time, some late, a few left
for a person), strategy discussions held (some without a partner who should have been there), and
duty-team alerts acknowledged. It waits until the day has settled: every partner event has an
outcome (the reconciliation's :class:`~streams.decisions.ledger.Ledger`), every outbound message
has been delivered, left for its partner to fetch, or put to a person, the topics are quiet, and
the workers and the staff application's feeder have consumed what was published.
Then it prints the day's figures, counted from the topics (:mod:`streams.decisions.tally`).

With ``--exit`` it then stops the stack and exits (0 once settled, 1 if the day did not settle in
time). Without it (``make run``), the terminal keeps a compact live summary while the generator
publishes live traffic, which is left for people to decide in the staff application, until
Ctrl-C.
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.panel import Panel
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from agents.ledger_feed import LedgerFeed
from connectors.delivery.service import OUTBOUND
from connectors.demo_day import (
    DemoDay,
    demo_day,
    duty_alert_acknowledgement,
    staff_decision,
    staff_rng,
    strategy_discussion_events,
)
from connectors.generator import GeneratedEvent
from connectors.staff.consumer import default_codec, feeder_group_id, store_topics
from connectors.staff.service import DemoAccount, demo_accounts, open_store
from connectors.staff.web import STAFF_SENDER
from schemas.errors import ConfigurationError, UnusableEventError
from schemas.models import DeliveryState, DutyTeamAlert, Event, EventType, Priority, WorkItem
from schemas.wire import SENDER_HEADER, InboundMessage
from streams.decisions.figures import DECISION_QUEUES
from streams.decisions.notifications import outcome_notification
from streams.decisions.rules import DEFAULT_RULES_FILE, Rules, load_rules
from streams.decisions.tally import DaySummary, Tally
from streams.platform.admin import committed_offsets
from streams.platform.broker import is_listening
from streams.platform.codec import AvroCodec
from streams.platform.publisher import Publisher
from streams.platform.reader import TopicFollower, holds_messages
from streams.platform.settings import (
    DeliverySettings,
    GatewaySettings,
    KafkaSettings,
    MetricsSettings,
    StaffSettings,
    WorkerSettings,
    load,
)
from streams.platform.supervisor import Supervisor, worker_metrics_ports
from streams.platform.topics import (
    CLOCK_TICKS,
    HISTORY_IMPORTS,
    INTAKE,
    MEETING_TICKS,
    TOPICS,
    destination,
)

log = logging.getLogger(__name__)

#: Topics whose records the demo does not count: the timers' ticks, and imported history (a
#: synthetic day has none).
_NOT_COUNTED = frozenset(spec.name for spec in (MEETING_TICKS, CLOCK_TICKS, HISTORY_IMPORTS))
#: How long the topics must stay quiet, with nothing waiting, for the day to count as settled:
#: a staff decision published a moment ago has outputs still to come.
QUIET_SECONDS = 3.0
#: How often the live summary is printed where it cannot be redrawn (a log, a pipe).
PRINT_EVERY_SECONDS = 60.0


#: The delivery states shown, in their columns' order, with their labels.
_STATE_LABELS = {
    DeliveryState.DELIVERED: "delivered",
    DeliveryState.AVAILABLE: "to fetch",
    DeliveryState.FAILED: "failed",
    DeliveryState.RETRYING: "retrying",
}


def where_to_look(
    staff: StaffSettings,
    gateway: GatewaySettings,
    metrics: MetricsSettings,
    worker: WorkerSettings,
    accounts: Sequence[DemoAccount],
) -> str:
    """The addresses and demo sign-ins a newcomer needs, once the stack is up."""
    endpoints = [
        *(
            f"{metrics.host}:{port}"
            for port in worker_metrics_ports(metrics, worker.workers)
            if port
        ),
        *([f"{metrics.host}:{metrics.delivery_port}"] if metrics.delivery_port else []),
        f"{gateway.host}:{gateway.port}",
        f"{staff.host}:{staff.port}",
    ]
    lines = [
        f"staff application  http://{staff.host}:{staff.port}  (team managers and leaders: "
        "/dashboard)",
        f"partner gateway    http://{gateway.host}:{gateway.port}/docs",
        "metrics            " + ", ".join(f"http://{address}/metrics" for address in endpoints),
        f"logs               {worker.data_dir / 'logs'}/<process>.log",
        f"e-mails sent       {worker.data_dir / 'outbox'}",
        *(
            f"  demo sign-in ({account.role.value}): {account.username} / {account.password}"
            for account in accounts
        ),
    ]
    return "\n".join(lines)


def summary_document(summary: DaySummary) -> dict[str, Any]:
    """The day's figures as JSON-ready data (``frontdoor demo --json``): names as in the tables."""
    decisions = summary.decisions
    return {
        "events_in": {
            agency.value: {kind.value: counts[kind] for kind in EventType}
            for agency, counts in sorted(summary.events_in.items())
        },
        "events_in_total": summary.events_in_total,
        "duplicates_absorbed": summary.duplicates_absorbed,
        "accepted": summary.accepted,
        "work_items": {
            queue.value: dict(sorted(priorities.items()))
            for queue, priorities in sorted(summary.work_items.items())
        },
        "information_requests": {
            agency.value: count for agency, count in sorted(summary.information_requests.items())
        },
        "duty_alerts": summary.duty_alerts,
        "duty_alerts_acknowledged": summary.duty_alerts_acknowledged,
        "overdue_alerts": dict(sorted(summary.timeliness_overdue.items())),
        "notifications": {
            message_type: {state.value: count for state, count in sorted(states.items())}
            for message_type, states in sorted(summary.notifications.items())
        },
        "dead_letters": dict(sorted(summary.dead_letters.items())),
        "mash_tasks": dict(sorted(summary.mash_tasks.items())),
        "decisions": {
            "decided": decisions.decided,
            "on_time": decisions.on_time,
            "undecided": decisions.undecided,
        },
        "strategy_discussions_held": summary.strategy_discussions_held,
        "outcomes": summary.outcomes,
    }


_PRIORITIES = tuple(priority.value for priority in Priority)


@dataclass(frozen=True)
class Progressed:
    """Where a run is: partner events with an outcome; what still waits, and why."""

    with_outcome: int
    waiting_outcome: int
    waiting_delivery: int


class DayWatch:
    """Follows a run's topics into a :class:`Tally` and a ledger, and plays the staff's part.

    Not thread-safe: one thread calls :meth:`step` again and again.
    """

    def __init__(
        self,
        kafka: KafkaSettings,
        codec: AvroCodec,
        *,
        prefix: str,
        rules: Rules,
        day: DemoDay,
        seed: int,
        worker_group: str | None = None,
        staff_store_group: str | None = None,
    ) -> None:
        self.tally = Tally()
        self.staff_playing = True
        self._codec = codec
        self._prefix = prefix
        self._rules = rules
        self._seed = seed
        self._end = day.contents.end
        self._slow = day.contents.slow_acknowledgement_event_ids
        self._feed = LedgerFeed(codec, prefix)
        self._specs = {
            spec.name_under(prefix): spec for spec in TOPICS if spec.name not in _NOT_COUNTED
        }
        self._intake = {spec.name_under(prefix) for spec in INTAKE.values()}
        self._outbound_topics = {spec.name_under(prefix) for spec in OUTBOUND}
        self._outbound: set[str] = set()
        self._answered: set[str] = set()
        self._follower = TopicFollower(kafka, list(self._specs), client_id="frontdoor-demo")
        self._publisher = Publisher(kafka, codec)
        self._quiet_since: float | None = None
        self._kafka = kafka
        #: The partner events of the day not read back from the intake topics yet.
        self._unread = {(generated.sender, generated.event.event_id) for generated in day.events}
        #: The workers, which the day waits for: what they make of the staff's answers comes
        #: after the partner events' outcomes.
        self._worker_group = worker_group
        #: The staff application's feeder, which the day waits for: its dashboard reads the store.
        self._staff_store_group = staff_store_group
        self._staff_store_topics = frozenset(store_topics(prefix))
        self._ends: dict[tuple[str, int], int] = {}

    def step(self) -> int:
        """Read what is new, answer it as the staff would; returns how many messages were read."""
        messages = self._follower.new_messages(idle_seconds=0.5)
        now = datetime.now(UTC)
        for message in messages:
            self._feed.observe(message, now)
            self._count(message)
            position = (message.topic, message.partition)
            self._ends[position] = max(self._ends.get(position, 0), message.offset + 1)
        if messages:
            self._quiet_since = None
        elif self._quiet_since is None:
            self._quiet_since = time.monotonic()
        return len(messages)

    def _count(self, message: InboundMessage) -> None:
        spec = self._specs[message.topic]
        try:
            event = self._codec.decode(message.value, spec.value)
        except UnusableEventError:
            return  # the flow dead-letters it, and the dead letter is counted
        if message.topic in self._intake:
            self.tally.partner_event(event, message.sender)
            self._unread.discard((message.sender, event.event_id))
            return
        self.tally.observe(event)
        if message.topic in self._outbound_topics:
            self._outbound.add(event.event_id)
        if self.staff_playing:
            self._answer(event)

    def _answer(self, event: Event) -> None:
        """The staff's part: what a person would publish on seeing ``event``."""
        if event.event_id in self._answered:
            return
        answers: list[Event] = []
        # A random source per item, so the answers do not depend on the order items come out.
        rng = staff_rng(self._seed, event.event_id)
        if isinstance(event, WorkItem) and event.queue in DECISION_QUEUES:
            decision = staff_decision(event, rng, self._rules, end=self._end)
            if decision is not None:
                # As the staff application publishes them: the referrer is told the outcome.
                answers.extend((decision, outcome_notification(decision, event)))
                answers.extend(
                    strategy_discussion_events(decision, event, rng, self._rules, end=self._end)
                )
        elif isinstance(event, DutyTeamAlert):
            slow = event.source_event_id in self._slow
            answers.append(duty_alert_acknowledgement(event, rng, self._rules, slow=slow))
        self._answered.add(event.event_id)
        for answer in answers:
            spec = destination(answer)
            self._publisher.publish(
                spec.name_under(self._prefix),
                answer,
                key=spec.key_of(answer),
                headers={SENDER_HEADER: STAFF_SENDER},
            )

    def progressed(self) -> Progressed:
        waiting = self._feed.ledger.waiting()
        return Progressed(
            # Roughly: an event of three children waits as three until identified.
            with_outcome=max(0, self.tally.partner_messages - len(waiting)),
            waiting_outcome=len(waiting),
            waiting_delivery=len(self._outbound - self.tally.delivered_message_ids())
            + len(self.tally.undelivered()),
        )

    def settled(self) -> bool:
        """Whether every partner event of the day has been read back and reached its outcome,
        every outbound message has been dealt with, the topics have been quiet a while, and the
        workers and the staff application's feeder have consumed everything read here."""
        progressed = self.progressed()
        return (
            not self._unread
            and progressed.waiting_outcome == 0
            and progressed.waiting_delivery == 0
            and self._quiet_since is not None
            and time.monotonic() - self._quiet_since >= QUIET_SECONDS
            and self._consumed_by(self._worker_group, None)
            and self._consumed_by(self._staff_store_group, self._staff_store_topics)
        )

    def _consumed_by(self, group: str | None, topics: frozenset[str] | None) -> bool:
        """Whether ``group`` has committed past everything read here of ``topics`` (None: of the
        partitions it has committed at all: the workers read some topics, not all)."""
        if group is None:
            return True
        committed = committed_offsets(self._kafka, group)
        return all(
            committed.get(position, 0) >= end
            for position, end in self._ends.items()
            if (position in committed if topics is None else position[0] in topics)
        )

    def close(self) -> None:
        self._follower.close()
        self._publisher.close()


def publish_day(
    publisher: Publisher,
    prefix: str,
    day: Sequence[GeneratedEvent],
    progress: Callable[[int], None],
    stop: Callable[[], bool],
) -> None:
    """Publish ``day``'s partner events in order, each acknowledged, until ``stop()`` says so."""
    for count, generated in enumerate(day, start=1):
        if stop():
            return
        spec = INTAKE[generated.event_type]
        publisher.publish(
            spec.name_under(prefix),
            generated.event,
            key=spec.key_of(generated.event),
            headers={SENDER_HEADER: generated.sender},
        )
        progress(count)


def summary_tables(summary: DaySummary, *, title: str) -> Group:
    """The day's figures as terminal tables."""
    events = Table(title=f"{title}: events in, by agency", title_justify="left")
    kinds = [kind.value.replace("_", " ") + "s" for kind in EventType]
    for column in ("agency", *kinds, "total"):
        events.add_column(column, justify="left" if column == "agency" else "right")
    for agency, counts in sorted(summary.events_in.items()):
        events.add_row(
            agency.value,
            *(str(counts[kind]) for kind in EventType),
            str(sum(counts.values())),
        )
    events.add_row("all", *("" for _ in EventType), str(summary.events_in_total), style="bold")
    events.caption = (
        f"{summary.duplicates_absorbed} duplicate(s) absorbed, {summary.accepted} accepted, "
        f"{sum(summary.dead_letters.values())} dead-lettered"
    )
    items = Table(title="work items, by queue and priority", title_justify="left")
    for column in ("queue", *_PRIORITIES, "total"):
        items.add_column(column, justify="left" if column == "queue" else "right")
    for queue, priorities in sorted(summary.work_items.items()):
        items.add_row(
            queue.value,
            *(str(priorities[priority]) for priority in _PRIORITIES),
            str(sum(priorities.values())),
        )
    items.caption = f"decisions: {_decisions_line(summary)}"
    sent = Table(title="to people and partners", title_justify="left")
    for column in ("message", *_STATE_LABELS.values()):
        sent.add_column(column, justify="left" if column == "message" else "right")
    for message_type, states in sorted(summary.notifications.items()):
        sent.add_row(
            message_type,
            *(str(states[state]) for state in _STATE_LABELS),
        )
    requests = ", ".join(
        f"{agency.value} {count}" for agency, count in sorted(summary.information_requests.items())
    )
    overdue = ", ".join(f"{kind} {n}" for kind, n in sorted(summary.timeliness_overdue.items()))
    letters = ", ".join(f"{code} {n}" for code, n in sorted(summary.dead_letters.items()))
    sent.caption = (
        f"information requests: {requests or 'none'}; duty-team alerts: {summary.duty_alerts} "
        f"({summary.duty_alerts_acknowledged} acknowledged); overdue clocks: {overdue or 'none'}; "
        f"dead letters: {letters or 'none'}"
    )
    return Group(events, items, sent)


def _decisions_line(summary: DaySummary) -> str:
    decisions = summary.decisions
    share = decisions.on_time_share
    return (
        f"{decisions.decided} made, {'-' if share is None else f'{share:.0%}'} within one "
        f"working day, {decisions.undecided} waiting; {summary.strategy_discussions_held} "
        "strategy discussion(s) held"
    )


def compact_summary(summary: DaySummary, *, title: str) -> Panel:
    """The day's figures in a dozen lines, for the live view on a terminal of any size."""
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    kinds = Counter[EventType]()
    for counts in summary.events_in.values():
        kinds.update(counts)
    grid.add_row(
        "events in",
        f"{summary.events_in_total} ("
        + ", ".join(f"{kind.value.replace('_', ' ')}s {kinds[kind]}" for kind in EventType)
        + f"); {summary.duplicates_absorbed} duplicate(s) absorbed",
    )
    for queue, priorities in sorted(summary.work_items.items()):
        grid.add_row(
            queue.value.replace("_", " "),
            f"{sum(priorities.values())} work item(s): "
            + ", ".join(f"{priority} {priorities[priority]}" for priority in _PRIORITIES),
        )
    grid.add_row("decisions", _decisions_line(summary))
    most_asked = summary.information_requests.most_common(4)
    grid.add_row(
        "information requests",
        f"{sum(summary.information_requests.values())} ("
        + (", ".join(f"{agency.value} {n}" for agency, n in most_asked) or "none")
        + ")",
    )
    overdue = sum(summary.timeliness_overdue.values())
    grid.add_row(
        "alerts",
        f"duty team {summary.duty_alerts} ({summary.duty_alerts_acknowledged} acknowledged); "
        f"overdue clocks {overdue}",
    )
    states = Counter[DeliveryState]()
    for counted in summary.notifications.values():
        states.update(counted)
    grid.add_row(
        "sent",
        ", ".join(f"{label} {states[state]}" for state, label in _STATE_LABELS.items()),
    )
    grid.add_row("dead letters", str(sum(summary.dead_letters.values())))
    return Panel(grid, title=title, title_align="left", expand=False)


def replay(
    watch: DayWatch,
    publisher: Publisher,
    day: Sequence[GeneratedEvent],
    *,
    prefix: str,
    settle_timeout_seconds: float,
    console: Console,
    failure: Callable[[], str | None],
) -> str | None:
    """Publish ``day`` and follow it until it has settled (``None``), or the timeout passed or
    the stack failed (what went wrong), with progress bars on ``console``."""
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=False) as progress:
        published = progress.add_task("partner events published", total=len(day))
        outcomes = progress.add_task("partner events with an outcome", total=len(day))
        publish_day(
            publisher,
            prefix,
            day,
            lambda done: progress.update(published, completed=done),
            stop=lambda: failure() is not None,
        )
        deadline = time.monotonic() + settle_timeout_seconds
        while not watch.settled():
            trouble = failure()
            if trouble is None and time.monotonic() > deadline:
                trouble = f"the day did not settle within {settle_timeout_seconds:.0f}s"
            if trouble is not None:
                log.error("%s: the day cannot settle", trouble)
                return trouble
            watch.step()
            progressed = watch.progressed()
            progress.update(
                outcomes,
                completed=min(progressed.with_outcome, len(day)),
                description=f"partner events with an outcome ({progressed.waiting_outcome} "
                f"waiting, {progressed.waiting_delivery} to deliver)",
            )
    return None


def live_summary(
    watch: DayWatch,
    console: Console,
    *,
    stopping: Callable[[], bool],
    failure: Callable[[], str | None],
) -> int:
    """Keep the summary on the terminal, redrawn as the topics change, until asked to stop (a
    log or a pipe, which cannot be redrawn, gets it every :data:`PRINT_EVERY_SECONDS` instead);
    returns 0, or 1 after printing what stopped the stack."""

    def current() -> Panel:
        at = datetime.now(UTC).astimezone()
        return compact_summary(watch.tally.summary(), title=f"since the start, {at:%H:%M:%S}")

    printed_at = time.monotonic()
    with Live(current(), console=console, auto_refresh=False) as live:
        while not stopping():
            trouble = failure()
            if trouble is not None:
                console.print(f"[bold red]{trouble}[/]: stopping the stack (see the logs)")
                return 1
            changed = watch.step() > 0
            if console.is_terminal and changed:
                live.update(current(), refresh=True)
            elif changed and time.monotonic() - printed_at >= PRINT_EVERY_SECONDS:
                console.print(current())
                printed_at = time.monotonic()
    return 0


@dataclass(frozen=True)
class DemoRequest:
    """What ``frontdoor demo`` was asked for."""

    days: int
    seed: int
    end: datetime
    settle_timeout_seconds: float
    exit_when_settled: bool
    json_path: Path | None = None


def run(request: DemoRequest) -> int:
    """Start the stack, replay the day, print its figures; then stop (``exit_when_settled``) or
    keep a live summary until Ctrl-C. 0 when all went well, 1 if the day did not settle."""
    kafka, worker = load(KafkaSettings), load(WorkerSettings)
    staff, gateway, metrics = load(StaffSettings), load(GatewaySettings), load(MetricsSettings)
    console = Console(soft_wrap=True)
    fresh_broker = kafka.embedded and not is_listening(kafka.servers[0])
    _refuse_real_settings(kafka, worker, fresh_broker=fresh_broker)
    # Before the staff application starts, so that its migrations and these never race.
    store = open_store(staff, worker)
    if fresh_broker:
        # A new embedded broker starts empty (it keeps nothing in memory across runs): what the
        # store holds from an earlier run's topics would be counted with this run's.
        store.clear_topic_rows()
    accounts = demo_accounts(store, datetime.now(UTC))
    supervisor = Supervisor(kafka, worker, metrics, log_dir=worker.data_dir / "logs", traffic=False)
    supervisor.handle_signals()

    def failure() -> str | None:
        return "asked to stop" if supervisor.stopping else supervisor.failure()

    console.print(f"starting the front door on {kafka.bootstrap_servers} ...")
    try:
        supervisor.start()
        console.print(
            where_to_look(staff, gateway, metrics, worker, accounts),
            highlight=False,
        )
        rules = load_rules(worker.rules_file or DEFAULT_RULES_FILE)
        day = demo_day(
            request.seed, request.end, days=request.days, calendar=rules.office_calendar()
        )
        codec = default_codec()
        watch = DayWatch(
            kafka,
            codec,
            prefix=worker.topic_prefix,
            rules=rules,
            day=day,
            seed=request.seed,
            worker_group=worker.group_id,
            staff_store_group=feeder_group_id(worker),
        )
        try:
            with Publisher(kafka, codec) as publisher:
                trouble = replay(
                    watch,
                    publisher,
                    day.events,
                    prefix=worker.topic_prefix,
                    settle_timeout_seconds=request.settle_timeout_seconds,
                    console=console,
                    failure=failure,
                )
            _print_summary(console, watch.tally.summary(), request, settled=trouble is None)
            if trouble is not None:
                console.print(
                    f"[bold red]{trouble}[/]: the day did not settle; what happened is in "
                    f"{worker.data_dir / 'logs'}/<process>.log"
                )
                return 1
            if request.exit_when_settled:
                return 0
            watch.staff_playing = False  # live traffic waits for people in the staff application
            supervisor.start_traffic()
            console.print(_live_note(worker.demo_events_per_second))
            return live_summary(
                watch, console, stopping=lambda: supervisor.stopping, failure=failure
            )
        finally:
            watch.close()
    finally:
        console.print("stopping ...")
        supervisor.stop()


def _refuse_real_settings(
    kafka: KafkaSettings, worker: WorkerSettings, *, fresh_broker: bool
) -> None:
    """Refuse to put synthetic children where real ones are: through a configured channel file
    (real schools' addresses), or onto topics that already hold partner events."""
    if load(DeliverySettings).channels_file is not None:
        raise ConfigurationError(
            "frontdoor demo delivers synthetic children: it runs with the shipped demo channel "
            "file only (unset FRONTDOOR_DELIVERY_CHANNELS_FILE)"
        )
    if fresh_broker:
        return
    intake = [spec.name_under(worker.topic_prefix) for spec in INTAKE.values()]
    if holds_messages(kafka, intake):
        raise ConfigurationError(
            f"the intake topics under {worker.topic_prefix!r} on {kafka.bootstrap_servers} hold "
            "partner events already: frontdoor demo replays its day onto empty topics (a new "
            "embedded broker, or another FRONTDOOR_TOPIC_PREFIX)"
        )


def _print_summary(
    console: Console, summary: DaySummary, request: DemoRequest, *, settled: bool
) -> None:
    title = f"{request.days} day(s) replayed" + ("" if settled else " (NOT settled)")
    console.print(summary_tables(summary, title=title))
    if request.json_path is not None:
        request.json_path.write_text(json.dumps(summary_document(summary), indent=2) + "\n")


def _live_note(rate: float) -> str:
    if rate > 0:
        return (
            f"live: synthetic traffic continues at {rate}/s, left for you to decide in the staff "
            "application. Ctrl-C stops it all."
        )
    return (
        "live: the stack runs on (FRONTDOOR_DEMO_EVENTS_PER_SECOND=0: no synthetic traffic). "
        "Ctrl-C stops it all."
    )
