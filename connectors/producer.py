"""A producer library for partners who run Kafka clients themselves.

It publishes with the same contracts as the gateway: it validates an event with the shared models,
encodes it in the Confluent wire format with the published schema ids, and publishes it with
acks=all and an idempotent producer, returning only once the broker acknowledged the write. The
partner's id travels in the ``frontdoor-sender`` header. See ``docs/partner-producer.md``.

Usage::

    from connectors.producer import PartnerProducer

    with PartnerProducer("kafka-1:9092", sender="police.synthetic") as producer:
        producer.publish_json("police_notification", notification_as_dict)

Lifecycle: the constructor connects (raising :class:`BrokerUnavailableError` if no broker
answers); ``close()`` (or leaving the ``with`` block) flushes and disconnects.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import TracebackType
from typing import Any

from pydantic import ValidationError

from schemas.errors import EventValidationError, MessageTooLargeError
from schemas.models import (
    PARTNER_EVENT_MODELS,
    ConsentEvent,
    Contact,
    EventType,
    PoliceNotification,
)
from schemas.wire import MAX_MESSAGE_BYTES, SENDER_HEADER
from streams.platform.codec import AvroCodec, first_error
from streams.platform.publisher import Publisher
from streams.platform.registry import EmbeddedSchemaRegistry, SchemaRegistry
from streams.platform.settings import DEFAULT_TOPIC_PREFIX, KafkaSettings
from streams.platform.topics import INTAKE

PartnerEvent = Contact | PoliceNotification | ConsentEvent


class PartnerProducer:
    """Validates, encodes and publishes partner events, one acknowledged write at a time."""

    def __init__(
        self,
        bootstrap_servers: str,
        *,
        sender: str,
        topic_prefix: str = DEFAULT_TOPIC_PREFIX,
        registry: SchemaRegistry | None = None,
        timeout: float = 15.0,
        **kafka_settings: Any,
    ) -> None:
        settings = KafkaSettings(bootstrap_servers=bootstrap_servers, **kafka_settings)
        self._sender = sender
        self._prefix = topic_prefix
        self._codec = AvroCodec(registry or EmbeddedSchemaRegistry())
        self._publisher = Publisher(settings, self._codec, timeout=timeout)

    def publish(self, event: PartnerEvent) -> tuple[int, int]:
        """Publish a validated event; returns (partition, offset) once acknowledged.

        Raises :class:`MessageTooLargeError` for an event larger than the front door takes in,
        before anything is sent: the pipeline would only dead-letter it.
        """
        kind = next(
            kind for kind, model in PARTNER_EVENT_MODELS.items() if isinstance(event, model)
        )
        topic = INTAKE[kind].name_under(self._prefix)
        value = self._codec.encode(event)
        if len(value) > MAX_MESSAGE_BYTES:
            raise MessageTooLargeError(
                f"the event is {len(value)} bytes encoded; the front door takes at most "
                f"{MAX_MESSAGE_BYTES}: shorten its free text or send its children separately",
                event_id=event.event_id,
            )
        return self._publisher.publish_raw(
            topic, value, key=event.event_id, headers={SENDER_HEADER: self._sender}
        )

    def publish_json(self, event_type: str, data: Mapping[str, Any]) -> tuple[int, int]:
        """Validate plain data (as the gateway's JSON) against the contract, then publish it.

        Raises :class:`EventValidationError` naming the field when the event is unusable.
        """
        model = PARTNER_EVENT_MODELS[EventType(event_type)]
        try:
            event = model.model_validate(data)
        except ValidationError as exc:
            field, message = first_error(exc)
            raise EventValidationError(message, field=field) from exc
        return self.publish(event)  # type: ignore[arg-type]

    def close(self) -> None:
        self._publisher.close()

    def __enter__(self) -> PartnerProducer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
