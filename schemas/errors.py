"""The one error tree of the front door.

Every error the project raises is a :class:`FrontDoorError` with a stable ``code``. Codes are part
of the contract: they travel in dead letters, information requests and HTTP answers, and partners
and dashboards match on them, so a code is never renamed or reused once released. Library errors are
wrapped with ``raise ... from exc`` so the cause stays visible in logs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar


class FrontDoorError(Exception):
    """Base of every error raised by the front door."""

    code: ClassVar[str] = "FD-ERROR"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return f"[{self.code}] {self.message}"


class ConfigurationError(FrontDoorError):
    """Settings or a configuration file are invalid; raised at start-up, never mid-stream."""

    code = "FD-CONFIG"


class BrokerError(FrontDoorError):
    """The Kafka broker could not be reached, started or administered."""

    code = "FD-BROKER"


class BrokerBinaryNotFoundError(BrokerError):
    """The embedded Tansu broker binary is not installed."""

    code = "FD-BROKER-BINARY"


class BrokerUnavailableError(BrokerError):
    """No broker answered at the configured address in time."""

    code = "FD-BROKER-UNAVAILABLE"


class TopicMismatchError(BrokerError):
    """A topic exists with a layout (partition count) other than the declared topology."""

    code = "FD-TOPIC-MISMATCH"


class PublishError(BrokerError):
    """The broker did not acknowledge a write; the event must be treated as not sent."""

    code = "FD-PUBLISH"


class DeliveryError(FrontDoorError):
    """One attempt to deliver an outbound message failed; the delivery service tries again."""

    code = "FD-DELIVERY"


class MailDeliveryError(DeliveryError):
    """The mail server could not be reached, or refused the message."""

    code = "FD-DELIVERY-SMTP"


class WebhookDeliveryError(DeliveryError):
    """A partner's webhook could not be reached, or did not answer 2xx."""

    code = "FD-DELIVERY-WEBHOOK"


class NoChannelError(DeliveryError):
    """No channel is configured for a message's recipient (the channel file or the school's
    safeguarding-lead contact): retrying cannot help, a person tells the recipient."""

    code = "FD-DELIVERY-NO-CHANNEL"


class WebhookSignatureError(FrontDoorError):
    """A webhook request whose signature does not verify: not from us, altered, or replayed."""

    code = "FD-WEBHOOK-SIGNATURE"


class StoreError(FrontDoorError):
    """The durable store (API keys, idempotency records) failed; the request is not answered 2xx."""

    code = "FD-STORE"


class AuthenticationError(FrontDoorError):
    """No valid partner API key: missing, malformed, unknown, revoked or wrong (HTTP 401)."""

    code = "FD-AUTH-KEY"


class AuthorizationError(FrontDoorError):
    """A valid key used beyond its rights: another event type, agency or sender (HTTP 403)."""

    code = "FD-AUTH-FORBIDDEN"


class AcknowledgeLinkError(FrontDoorError):
    """A duty-team alert's acknowledge link that cannot be used: not signed by us, altered,
    expired, or for another alert (HTTP 403). Nothing is acknowledged."""

    code = "FD-ACK-LINK"


class RecordRefusedError(FrontDoorError):
    """A person's record (a threshold decision, a strategy discussion) does not meet the rules
    for one: the message names each field and what it needs. Nothing is published."""

    code = "FD-RECORD-REFUSED"

    def __init__(self, message: str, problems: Sequence[tuple[str, str]] = ()) -> None:
        super().__init__(message)
        #: Each (field, what it needs), for a form or an API answer to show by the field.
        self.problems = tuple(problems)


class SchemaError(FrontDoorError):
    """A schema contract problem on our side (registry, generation, compatibility)."""

    code = "FD-SCHEMA"


class SchemaRegistryError(SchemaError):
    """The schema registry could not register or return a schema."""

    code = "FD-SCHEMA-REGISTRY"


class SchemaCompatibilityError(SchemaError):
    """A new schema version cannot read data written with a released one."""

    code = "FD-SCHEMA-COMPATIBILITY"


class UnusableEventError(FrontDoorError):
    """An inbound message that cannot be used at all: it is rejected to the dead-letter topic.

    ``field`` names the offending field (dotted path) where there is one, so a partner's developer
    can act on it; ``event_id`` is the message's own id when it could be read. Messages never carry
    field *values*: they may be personal data.
    """

    code = "FD-UNUSABLE"

    def __init__(
        self, message: str, *, field: str | None = None, event_id: str | None = None
    ) -> None:
        super().__init__(message)
        self.field = field
        self.event_id = event_id

    def __str__(self) -> str:
        where = f"{self.field}: " if self.field else ""
        return f"[{self.code}] {where}{self.message}"


class EmptyMessageError(UnusableEventError):
    """The message has no value bytes."""

    code = "FD-DECODE-EMPTY"


class NotWireFormatError(UnusableEventError):
    """The bytes do not start with the Confluent wire-format header (magic byte 0, schema id)."""

    code = "FD-DECODE-WIRE-FORMAT"


class UnknownSchemaIdError(UnusableEventError):
    """The schema id in the header is not one the registry knows."""

    code = "FD-DECODE-UNKNOWN-SCHEMA"


class WrongEventTypeError(UnusableEventError):
    """The message was written with another record's schema than this topic carries."""

    code = "FD-DECODE-WRONG-TYPE"


class MalformedAvroError(UnusableEventError):
    """The Avro body is truncated, corrupt or has bytes left over after the record."""

    code = "FD-DECODE-MALFORMED"


class MessageTooLargeError(UnusableEventError):
    """The message is larger than the front door takes in (``schemas.wire.MAX_MESSAGE_BYTES``):
    what is derived from it could not be carried on."""

    code = "FD-MESSAGE-TOO-LARGE"


class EventValidationError(UnusableEventError):
    """The record decoded but breaks the contract (no event id or time, no child, bad enum...)."""

    code = "FD-VALIDATION"


class ProcessingFailedError(UnusableEventError):
    """A step failed on a message for a reason that will not pass by retrying (input no rule
    foresaw, or a fault of ours). The message is dead-lettered, so a person handles the child by
    hand, and the partition moves on instead of holding every child behind it."""

    code = "FD-PROCESSING-FAILED"


class EventIdReusedError(UnusableEventError):
    """A sender reused one of its event ids for different content. The first event stands; the
    second is not processed under a taken id and goes to a person."""

    code = "FD-EVENT-ID-REUSED"
