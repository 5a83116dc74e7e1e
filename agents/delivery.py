"""Shared plumbing of the agent shells: turning a Faust event into an inbound message, and sending.

``send`` waits for the broker's acknowledgement of each write before the agent moves on, so an
input offset is never committed ahead of the outputs it produced (at-least-once, end to end).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import faust
from faust.types import EventT

from schemas.models import Event
from streams.app import codec
from streams.intake import InboundMessage

log = logging.getLogger(__name__)


def inbound(event: EventT[bytes]) -> InboundMessage:
    """The raw message behind a Faust event, with headers as a plain mapping."""
    message = event.message
    raw_headers = message.headers or []
    pairs = list(raw_headers.items()) if isinstance(raw_headers, Mapping) else list(raw_headers)
    headers = {str(name): value if isinstance(value, bytes) else b"" for name, value in pairs}
    return InboundMessage(
        topic=message.topic,
        partition=message.partition,
        offset=message.offset,
        key=message.key,
        value=message.value,
        headers=headers,
    )


async def send(topic: faust.TopicT, key: str, event: Event) -> None:
    """Encode and publish one event, returning only once the broker acknowledged it."""
    pending = await topic.send(key=key.encode("utf-8"), value=codec.encode(event))
    await pending
