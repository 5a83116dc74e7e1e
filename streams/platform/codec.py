"""The wire codec: Confluent wire format around a schemaless Avro body, written with fastavro.

Layout of every message value (the Confluent wire format, so any Kafka tooling can read it)::

    byte 0      magic byte, always 0
    bytes 1-4   schema id, big-endian unsigned 32-bit (see the registry in use)
    bytes 5-    the record, Avro binary encoding, no container header

Decoding reads with the writer's schema (by id) into the reader's latest released schema, so older
producers keep working after a backward-compatible change. Every way a message can be unusable
becomes an :class:`UnusableEventError` subclass with a stable code; nothing else escapes except
:class:`SchemaRegistryError` (our fault, to be retried, never dead-lettered).
"""

from __future__ import annotations

import io
import struct
from typing import Any, TypeVar

import fastavro
from pydantic import ValidationError

from schemas.errors import (
    EmptyMessageError,
    EventValidationError,
    MalformedAvroError,
    NotWireFormatError,
    SchemaRegistryError,
    WrongEventTypeError,
)
from schemas.models import Event
from streams.platform.registry import SchemaRegistry, latest_schema

MAGIC_BYTE = 0
_HEADER = struct.Struct(">BI")

EventT = TypeVar("EventT", bound=Event)


def wire_header(data: bytes) -> tuple[int, int] | None:
    """(magic byte, schema id) of a message, or None if it is too short to have a header."""
    if len(data) < _HEADER.size:
        return None
    magic, schema_id = _HEADER.unpack_from(data)
    return magic, schema_id


class AvroCodec:
    """Encodes models to wire bytes and decodes wire bytes to validated models."""

    def __init__(self, registry: SchemaRegistry) -> None:
        self._registry = registry
        self._parsed_by_id: dict[int, Any] = {}
        self._names_by_id: dict[int, str] = {}
        self._readers_by_id: dict[int, tuple[Any]] = {}

    def encode(self, event: Event) -> bytes:
        name = type(event).AVRO_NAME
        schema_id = self._registry.writer_id(name)
        parsed = self._parsed(schema_id)
        buffer = io.BytesIO()
        buffer.write(_HEADER.pack(MAGIC_BYTE, schema_id))
        fastavro.schemaless_writer(buffer, parsed, event.model_dump(mode="python"))
        return buffer.getvalue()

    def decode(self, data: bytes | None, model: type[EventT]) -> EventT:
        """Decode and validate; raises an :class:`UnusableEventError` for unusable bytes."""
        record = self.decode_record(data, model)
        try:
            return model.model_validate(record)
        except ValidationError as exc:
            field, message = first_error(exc)
            event_id = record.get("event_id") if isinstance(record.get("event_id"), str) else None
            raise EventValidationError(message, field=field, event_id=event_id) from exc

    def decode_record(self, data: bytes | None, model: type[Event]) -> dict[str, Any]:
        """Decode the Avro record without model validation."""
        if not data:
            raise EmptyMessageError("the message has no value")
        header = wire_header(data)
        if header is None or header[0] != MAGIC_BYTE:
            raise NotWireFormatError(
                "not Confluent wire format: expected magic byte 0 and a 4-byte schema id"
            )
        schema_id = header[1]
        writer = self._parsed(schema_id)
        writer_name = self._names_by_id[schema_id]
        if writer_name != model.AVRO_NAME:
            raise WrongEventTypeError(
                f"schema id {schema_id} is {writer_name}; this topic carries {model.AVRO_NAME}"
            )
        body = io.BytesIO(data[_HEADER.size :])
        reader = self._reader(schema_id, model.AVRO_NAME)
        try:
            record = fastavro.schemaless_reader(body, writer, reader)
        except Exception as exc:
            raise MalformedAvroError(
                f"the Avro body does not match schema id {schema_id} ({type(exc).__name__})"
            ) from exc
        if body.tell() != len(data) - _HEADER.size:
            raise MalformedAvroError(
                f"{len(data) - _HEADER.size - body.tell()} bytes after the record"
            )
        if not isinstance(record, dict):
            raise MalformedAvroError("the Avro body is not a record")
        return record

    def _parsed(self, schema_id: int) -> Any:
        parsed = self._parsed_by_id.get(schema_id)
        if parsed is None:
            schema = self._registry.schema_by_id(schema_id)
            try:
                parsed = fastavro.parse_schema(schema, named_schemas={})
            except Exception as exc:
                raise SchemaRegistryError(f"schema id {schema_id} does not parse") from exc
            self._parsed_by_id[schema_id] = parsed
            self._names_by_id[schema_id] = str(schema.get("name", ""))
        return parsed

    def _reader(self, schema_id: int, name: str) -> Any:
        """The reader schema for data written with ``schema_id``: None when it is our latest.

        Decoding never registers anything, so a consumer with read-only registry credentials
        works. When the writer used our latest schema (the common case) the read is plain, with no
        resolution step; an older writer is resolved into our latest release.
        """
        cached = self._readers_by_id.get(schema_id)
        if cached is None:
            latest = latest_schema(name)
            same = self._registry.schema_by_id(schema_id) == latest
            cached = (None if same else fastavro.parse_schema(latest, named_schemas={}),)
            self._readers_by_id[schema_id] = cached
        return cached[0]


def first_error(exc: ValidationError) -> tuple[str | None, str]:
    """The first validation problem as (dotted field path, message), never echoing the input."""
    errors = exc.errors(include_input=False, include_url=False)
    if not errors:
        return None, "invalid"
    error = errors[0]
    path = ".".join(str(part) for part in error["loc"]) or None
    message = str(error["msg"]).removeprefix("Value error, ")
    if path is None and ": " in message:
        # Model-level rules name their field first ("rationale: an override must record ...").
        candidate, _, rest = message.partition(": ")
        if candidate.isidentifier():
            return candidate, rest
    return path, message
