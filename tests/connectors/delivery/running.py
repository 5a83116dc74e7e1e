"""Running the delivery service in a test's event loop, and publishing what it reads."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from connectors.delivery.service import DeliveryService
from connectors.staff.consumer import default_codec
from schemas.models import Event
from streams.platform.publisher import Publisher
from streams.platform.settings import KafkaSettings
from streams.platform.topics import destination

CODEC = default_codec()


def publish(kafka: KafkaSettings, prefix: str, *events: Event) -> None:
    """Publish ``events`` to their topics under ``prefix``, each acknowledged."""
    with Publisher(kafka, CODEC) as publisher:
        for event in events:
            spec = destination(event)
            publisher.publish(spec.name_under(prefix), event, key=spec.key_of(event))


@asynccontextmanager
async def running(service: DeliveryService) -> AsyncIterator[DeliveryService]:
    """``service`` delivering in this event loop until the block ends (then stopped cleanly)."""
    stop = asyncio.Event()
    task = asyncio.create_task(service.run(stop))
    try:
        yield service
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=30)


async def eventually(check: Callable[[], bool], timeout: float) -> None:
    """Wait in the event loop (the service runs in it) until ``check()`` is true."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.2)
