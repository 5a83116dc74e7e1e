"""A synchronous, acknowledged publisher for the edges (CLI, importers, partner library).

``publish`` returns only after the broker acknowledged the write with acks=all, or raises
:class:`PublishError`: a caller never believes an event was sent when it was not.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import TracebackType

from kafka import KafkaProducer
from kafka.errors import KafkaError

from schemas.errors import BrokerUnavailableError, PublishError
from schemas.models import Event
from schemas.wire import InboundMessage
from streams.platform.codec import AvroCodec
from streams.platform.settings import KafkaSettings


class Publisher:
    """Encodes events with the codec and publishes them, one acknowledged write at a time."""

    def __init__(self, settings: KafkaSettings, codec: AvroCodec, *, timeout: float = 15.0) -> None:
        self._codec = codec
        self._timeout = timeout
        try:
            config = settings.kafka_python_config()
            # A write not acknowledged within ``timeout`` is reported as failed, and it must then
            # never be delivered later behind the caller's back (who may have told a partner to
            # retry): so the producer gives up on it at the same moment.
            config["request_timeout_ms"] = min(config["request_timeout_ms"], int(timeout * 800))
            # Connecting waits for the broker too (kafka-python's default is 30 s): bounded by the
            # same timeout, so a gateway making a new producer during an outage answers 503 in
            # time instead of holding the partner's request.
            config["bootstrap_timeout_ms"] = int(timeout * 1000)
            self._producer = KafkaProducer(
                **config,
                acks="all",
                enable_idempotence=True,
                max_block_ms=int(timeout * 1000),
                delivery_timeout_ms=int(timeout * 1000),
                client_id="frontdoor-publisher",
            )
        except KafkaError as exc:
            raise BrokerUnavailableError(f"cannot connect to {settings.bootstrap_servers}") from exc

    def publish(
        self,
        topic: str,
        event: Event,
        *,
        key: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> tuple[int, int]:
        """Publish one event; returns (partition, offset) once acknowledged."""
        return self.publish_raw(
            topic, self._codec.encode(event), key=key or event.event_id, headers=headers
        )

    def publish_raw(
        self,
        topic: str,
        value: bytes,
        *,
        key: str | None,
        headers: Mapping[str, str] | None = None,
    ) -> tuple[int, int]:
        """Publish already-encoded bytes (tests, re-submission); returns (partition, offset)."""
        encoded_headers = [(name, text.encode("utf-8")) for name, text in (headers or {}).items()]
        try:
            future = self._producer.send(
                topic,
                value=value,
                key=key.encode("utf-8") if key is not None else None,
                headers=encoded_headers,
            )
            metadata = future.get(timeout=self._timeout)
        except KafkaError as exc:
            raise PublishError(f"the broker did not acknowledge a write to {topic}") from exc
        return metadata.partition, metadata.offset

    def republish(self, message: InboundMessage, headers: Mapping[str, bytes]) -> tuple[int, int]:
        """Publish a stored message again, byte for byte, with ``headers`` added."""
        try:
            future = self._producer.send(
                message.topic,
                value=message.value,
                key=message.key,
                headers=list({**message.headers, **headers}.items()),
            )
            metadata = future.get(timeout=self._timeout)
        except KafkaError as exc:
            raise PublishError(
                f"the broker did not acknowledge a write to {message.topic}"
            ) from exc
        return metadata.partition, metadata.offset

    def close(self) -> None:
        try:
            self._producer.close(timeout=self._timeout)
        except KafkaError as exc:
            raise PublishError("the producer did not close cleanly") from exc

    def __enter__(self) -> Publisher:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
