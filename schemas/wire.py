"""What travels beside an event on the wire: the headers we define and the raw message record.

Imports nothing of ours but the models, so the edges, the platform and the pure decisions can all
speak of a message as it arrived without pulling in a Kafka client.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from schemas.models import SourcePosition

#: The partner (or our own service) that sent an event; set by the gateway and the producers.
SENDER_HEADER = "frontdoor-sender"
#: On a corrected event published in a dead letter's place: the dead letter's id.
RESUBMISSION_HEADER = "frontdoor-resubmission-of"
#: On a message the reconciliation published again because it had no outcome in time: the
#: position of the message it repeats (``topic:partition:offset``).
REDRIVE_HEADER = "frontdoor-redrive-of"
#: The sender of a message without a usable sender header. A reference from an unknown sender is
#: not scoped to anyone, so identification never matches on it.
UNKNOWN_SENDER = "unknown"
_LONGEST_SENDER = 64
#: The largest inbound message (key, value and headers, in bytes) the front door takes in. What it
#: derives from a message carries it whole (the accepted event, each child's event, a dead letter)
#: and the worker's producer refuses records over 1,000,000 bytes, so a larger message could not
#: be carried on: it is unusable, said when it arrives. The gateway's bodies (256 KiB of JSON) are
#: far below it.
MAX_MESSAGE_BYTES = 512 * 1024


@dataclass(frozen=True)
class InboundMessage:
    """A Kafka message as it arrived or is stored: raw bytes and where they came from."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: Mapping[str, bytes]
    #: When the broker stored it (milliseconds since the epoch), where known.
    timestamp_ms: int | None = None

    @property
    def source(self) -> SourcePosition:
        return SourcePosition(topic=self.topic, partition=self.partition, offset=self.offset)

    @property
    def size(self) -> int:
        """Its key, value and headers, in bytes: what a dead letter of it carries."""
        headers = sum(
            len(name.encode("utf-8")) + len(value) for name, value in self.headers.items()
        )
        return len(self.key or b"") + len(self.value or b"") + headers

    @property
    def sender(self) -> str:
        raw = self.headers.get(SENDER_HEADER)
        if not raw:
            return UNKNOWN_SENDER
        try:
            text = raw.decode("utf-8").strip()
        except UnicodeDecodeError:
            return UNKNOWN_SENDER
        return text[:_LONGEST_SENDER] or UNKNOWN_SENDER
