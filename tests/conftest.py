"""Shared fixtures: a session broker, unique topic namespaces, and synthetic events.

The broker is, in order of preference: the one named by ``KAFKA_BOOTSTRAP_SERVERS``; a
testcontainers Kafka when ``FRONTDOOR_TEST_BROKER=testcontainers`` and Docker is available; else an
embedded Tansu on a free port, started once per session and always stopped.
"""

from __future__ import annotations

import fcntl
import os
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from streams.platform.broker import EmbeddedBroker, free_port, wait_until_ready
from streams.platform.settings import KafkaSettings


def _testcontainers_kafka() -> Iterator[KafkaSettings]:
    from testcontainers.kafka import KafkaContainer  # type: ignore[import-not-found]  # noqa: PLC0415

    with KafkaContainer("confluentinc/cp-kafka:7.7.1").with_kraft() as container:
        settings = KafkaSettings(bootstrap_servers=container.get_bootstrap_server(), embedded=False)
        wait_until_ready(settings, timeout=120)
        yield settings


def _child_processes() -> set[int]:
    """Pids of this test process's living children (zombies excluded)."""
    me = str(os.getpid())
    children = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields[1] == me and fields[0] != "Z":
            children.add(int(stat.parent.name))
    return children


@pytest.fixture(scope="session", autouse=True)
def no_processes_left_behind() -> Iterator[None]:
    """Fails the session if a test left a broker or worker running."""
    before = _child_processes()
    yield
    leftover = _child_processes() - before
    assert not leftover, f"processes left behind by the tests: {sorted(leftover)}"


@pytest.fixture(scope="session")
def kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaSettings]:
    """Settings of the broker the integration tests talk to."""
    external = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if external:
        settings = KafkaSettings(bootstrap_servers=external, embedded=False)
        wait_until_ready(settings, timeout=60)
        yield settings
        return
    if os.environ.get("FRONTDOOR_TEST_BROKER") == "testcontainers":
        yield from _testcontainers_kafka()
        return
    address = f"127.0.0.1:{free_port()}"
    log_file = tmp_path_factory.mktemp("broker") / "tansu.log"
    with EmbeddedBroker(address, log_file=log_file):
        yield KafkaSettings(bootstrap_servers=address, embedded=False)


@pytest.fixture
def topic_prefix() -> str:
    """A topic namespace of this test's own, so tests never see each other's messages."""
    return f"test-{uuid.uuid4().hex[:10]}."


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    path = tmp_path / "data"
    path.mkdir()
    return path


@pytest.fixture
def local_receivers_port() -> Iterator[None]:
    """The demo webhook receiver's fixed port (``frontdoor up`` and ``frontdoor demo`` on the
    embedded defaults listen there), held by one test at a time across the test processes: two
    stacks at once would each find it taken. Request it before the stack, so it is released after
    the stack has stopped."""
    lock = Path(tempfile.gettempdir()) / "frontdoor-tests-demo-webhook-port.lock"
    with lock.open("w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(held, fcntl.LOCK_UN)
