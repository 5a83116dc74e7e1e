"""``frontdoor up``: the whole local stack in one process tree, stopped cleanly by Ctrl-C/SIGTERM.

Start order: embedded broker (when configured and nothing listens yet), topics, workers, the local
mail catcher and webhook receiver (with the embedded broker: a laptop), the delivery service, the
gateway, the staff application, the generator. Stop order is the reverse, and the broker goes
last: Tansu is memory-only and clients connected across a broker restart never recover (broker
notes). Children run in process groups of their own so a
terminal's Ctrl-C reaches only this supervisor, which then stops them in order; a child that dies
on its own takes the whole stack down loudly rather than leaving it half-running.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import IO

from streams.platform.broker import EmbeddedBroker, is_listening, wait_until_ready
from streams.platform.settings import KafkaSettings, MetricsSettings, WorkerSettings
from streams.platform.topics import TOPICS

log = logging.getLogger(__name__)

STOP_GRACE_SECONDS = 30.0


@dataclass
class Child:
    name: str
    process: subprocess.Popen[bytes]


@dataclass
class Supervisor:
    """Starts, watches and stops the local stack.

    ``log_dir`` sends each child's output to ``<name>.log`` there instead of the terminal
    (``frontdoor demo`` keeps the terminal for its summary); ``traffic`` starts the generator of
    synthetic partner events at ``demo_events_per_second`` with the rest (``frontdoor demo``
    publishes its own day first, then calls :meth:`start_traffic`).
    """

    kafka: KafkaSettings
    worker: WorkerSettings
    metrics: MetricsSettings
    log_dir: Path | None = None
    traffic: bool = True
    children: list[Child] = field(default_factory=list)
    broker: EmbeddedBroker | None = None
    _stopping: bool = False

    def run(self) -> int:
        self.handle_signals()
        try:
            self.start()
            print(  # noqa: T201 - the command's own output
                f"front door up: broker {self.kafka.bootstrap_servers}, "
                f"{self.worker.workers} worker(s), the partner gateway, the delivery service, the "
                "staff application (its address and demo sign-ins are printed above), synthetic "
                "events at "
                f"{self.worker.demo_events_per_second}/s. E-mails and webhooks the delivery "
                f"service sends are printed as they arrive (kept in {self.worker.data_dir}/outbox "
                "when the local catcher runs). Or watch a queue with "
                "`.venv/bin/frontdoor tail mash --follow`. Ctrl-C stops everything.",
                flush=True,
            )
            return self._watch()
        except KeyboardInterrupt:
            return 0
        finally:
            self.stop()

    def start(self) -> None:
        """Start the broker (embedded, if nothing listens), the topics and every child."""
        from streams.platform.admin import ensure_topics, format_reports  # noqa: PLC0415 - the Kafka client, only when starting

        self.worker.data_dir.mkdir(parents=True, exist_ok=True)
        address = self.kafka.servers[0]
        if self.kafka.embedded and not is_listening(address):
            self.broker = EmbeddedBroker(address, log_file=self.worker.data_dir / "broker.log")
            self.broker.start()
            log.info("embedded broker ready at %s", address)
        else:
            wait_until_ready(self.kafka)
        reports = ensure_topics(
            self.kafka, TOPICS, replication_factor=self.worker.replication_factor
        )
        if self.log_dir is None:
            print(format_reports(reports), flush=True)  # noqa: T201
        else:
            log.info("topics:\n%s", format_reports(reports))
        for index, port in enumerate(worker_metrics_ports(self.metrics, self.worker.workers)):
            self._spawn(
                f"worker-{index + 1}",
                [sys.executable, "-m", "connectors.cli", "worker"],
                env={"FRONTDOOR_METRICS_WORKER_PORT": str(port)},
            )
        if self.kafka.embedded:
            # A laptop: a mail catcher and the demo partner's webhook receiver stand in for the
            # schools, the duty team and the police, so a newcomer sees what is delivered.
            self._spawn("receivers", [sys.executable, "-m", "connectors.cli", "receivers"])
        self._spawn("delivery", [sys.executable, "-m", "connectors.cli", "delivery"])
        self._spawn("gateway", [sys.executable, "-m", "connectors.cli", "gateway"])
        self._spawn(
            "staff", [sys.executable, "-m", "connectors.cli", "staff", *self._staff_arguments()]
        )
        if self.traffic:
            self.start_traffic()

    def start_traffic(self) -> None:
        """Start the generator of synthetic partner events, if a rate is set."""
        if self.worker.demo_events_per_second > 0:
            rate = str(self.worker.demo_events_per_second)
            self._spawn(
                "generator", [sys.executable, "-m", "connectors.cli", "generate", "--rate", rate]
            )

    def _staff_arguments(self) -> list[str]:
        # Demo accounts only where the traffic is synthetic too (`frontdoor demo` makes its own).
        return ["--demo-users"] if self.traffic and self.worker.demo_events_per_second > 0 else []

    def _spawn(self, name: str, command: list[str], *, env: dict[str, str] | None = None) -> None:
        with contextlib.ExitStack() as files:
            output: IO[bytes] | None = None  # the terminal's, without a log directory
            if self.log_dir is not None:
                self.log_dir.mkdir(parents=True, exist_ok=True)
                output = files.enter_context((self.log_dir / f"{name}.log").open("ab"))
            process = subprocess.Popen(  # noqa: S603 - our own module
                command,
                start_new_session=True,
                env={**os.environ, **(env or {})},
                stdout=output,
                stderr=subprocess.STDOUT if output is not None else None,
            )
        self.children.append(Child(name, process))
        log.info("started %s (pid %s)", name, process.pid)

    def failure(self) -> str | None:
        """What has stopped that should not have (a child, or the embedded broker), if anything."""
        for child in self.children:
            code = child.process.poll()
            if code is not None:
                return f"{child.name} exited with {code}"
        if (
            self.broker is not None
            and self.broker.pid is not None
            and not is_listening(self.broker.address)
        ):
            return "the embedded broker stopped"
        return None

    @property
    def stopping(self) -> bool:
        """Whether Ctrl-C or SIGTERM asked the stack to stop."""
        return self._stopping

    def handle_signals(self) -> None:
        """Hear Ctrl-C and SIGTERM as a request to stop (:attr:`stopping`)."""
        signal.signal(signal.SIGINT, self._on_signal)
        signal.signal(signal.SIGTERM, self._on_signal)

    def _watch(self) -> int:
        while not self._stopping:
            failure = self.failure()
            if failure is not None:
                log.error("%s: stopping the stack", failure)
                return 1
            time.sleep(0.5)
        return 0

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        log.info("signal %s: stopping", signal.Signals(signum).name)
        self._stopping = True

    def stop(self) -> None:
        for child in reversed(self.children):
            _terminate(child)
        self.children.clear()
        if self.broker is not None:
            self.broker.stop()
            self.broker = None


def worker_metrics_ports(metrics: MetricsSettings, workers: int) -> list[int]:
    """Each worker's metrics port: one each from ``worker_port`` up, skipping the delivery
    service's (0 for every worker when the worker endpoint is off)."""
    if metrics.worker_port == 0:
        return [0] * workers
    ports = (port for port in itertools.count(metrics.worker_port) if port != metrics.delivery_port)
    return list(itertools.islice(ports, workers))


def _terminate(child: Child) -> None:
    process = child.process
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=STOP_GRACE_SECONDS)
    except subprocess.TimeoutExpired:
        # A Faust worker cut off from its broker can ignore SIGTERM (broker notes): be firm.
        log.warning("%s did not stop in %.0fs: killing it", child.name, STOP_GRACE_SECONDS)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    log.info("stopped %s", child.name)
