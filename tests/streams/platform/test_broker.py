"""The embedded Tansu broker: starts ready, stops completely, and says clearly when absent."""

from __future__ import annotations

import os
import time

import pytest

from schemas.errors import BrokerError, BrokerUnavailableError
from streams.platform.broker import (
    EmbeddedBroker,
    free_port,
    is_listening,
    split_address,
    wait_until_ready,
)
from streams.platform.settings import KafkaSettings


def test_waiting_for_a_broker_that_is_not_there_fails_with_a_clear_error() -> None:
    address = f"127.0.0.1:{free_port()}"
    started = time.monotonic()
    with pytest.raises(BrokerUnavailableError, match=address):
        wait_until_ready(KafkaSettings(bootstrap_servers=address), timeout=1.0)
    assert time.monotonic() - started < 10


@pytest.mark.parametrize("address", ["localhost", "host:port", ""])
def test_a_broker_address_must_be_host_and_port(address: str) -> None:
    with pytest.raises(BrokerError):
        split_address(address)


@pytest.mark.integration
def test_the_embedded_broker_starts_ready_and_leaves_nothing_behind_when_stopped() -> None:
    address = f"127.0.0.1:{free_port()}"
    broker = EmbeddedBroker(address)

    with broker:
        pid = broker.pid
        assert pid is not None
        wait_until_ready(KafkaSettings(bootstrap_servers=address), timeout=5)

    assert not is_listening(address)
    assert not os.path.exists(f"/proc/{pid}")


@pytest.mark.integration
def test_a_second_broker_on_a_taken_address_is_refused(kafka: KafkaSettings) -> None:
    with pytest.raises(BrokerError, match="already listens"):
        EmbeddedBroker(kafka.servers[0]).start()
