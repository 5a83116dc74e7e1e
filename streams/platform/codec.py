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
from collections.abc import Callable
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
        self._taggers_by_id: dict[int, Convert] = {}

    def encode(self, event: Event) -> bytes:
        name = type(event).AVRO_NAME
        schema_id = self._registry.writer_id(name)
        parsed = self._parsed(schema_id)
        tag = self._taggers_by_id.get(schema_id)
        if tag is None:
            tag = self._taggers_by_id[schema_id] = union_tagger(parsed)
        buffer = io.BytesIO()
        buffer.write(_HEADER.pack(MAGIC_BYTE, schema_id))
        fastavro.schemaless_writer(buffer, parsed, tag(event.model_dump(mode="python")))
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


#: Rewrites a value (as ``model_dump`` gives it) before fastavro writes it; returns what to write.
Convert = Callable[[Any], Any]


def _unchanged(value: Any) -> Any:
    return value


def union_tagger(schema: Any) -> Convert:
    """A function that names the branch of every record in a union, in fastavro's tuple notation.

    Given a bare dict at a union, fastavro validates it against every branch to find the one it
    belongs to (a record recursively, and it tries every record branch to pick the best), which
    made an event that nests records in unions (an accepted event, a child event) about 40% dearer
    to encode. A dict from ``model_dump`` has exactly its record's fields (our schemas are
    generated from the models), so its branch is the record whose field names are its keys; it is
    handed over as ``(record name, dict)``. Any other value is left as it is, for fastavro.
    """
    return _Tagger().compile(schema) or _unchanged


class _Tagger:
    """Compiles a parsed schema into a :data:`Convert`; None where a subtree has no record union."""

    def __init__(self) -> None:
        self._named: dict[str, Any] = {}
        self._compiled: dict[str, Convert | None] = {}

    def compile(self, schema: Any) -> Convert | None:
        if isinstance(schema, list):
            return self._union(schema)
        if isinstance(schema, str):
            return self._compiled.get(schema)
        kind = schema.get("type")
        if kind == "record":
            return self._record(schema)
        if kind == "array":
            return _each(self.compile(schema["items"]))
        if kind == "map":
            return _each_value(self.compile(schema["values"]))
        return None

    def _record(self, schema: dict[str, Any]) -> Convert | None:
        name = schema["name"]
        self._named[name] = schema
        self._compiled[name] = None  # while its own fields compile: a self-reference tags nothing
        fields = [
            (field["name"], convert)
            for field in schema["fields"]
            if (convert := self.compile(field["type"])) is not None
        ]
        convert = _fields(fields) if fields else None
        self._compiled[name] = convert
        return convert

    def _union(self, branches: list[Any]) -> Convert | None:
        records: dict[frozenset[str], tuple[str, Convert | None]] = {}
        others: list[Convert] = []
        for branch in branches:
            convert = self.compile(branch)
            resolved = self._named.get(branch, branch) if isinstance(branch, str) else branch
            if isinstance(resolved, dict) and resolved.get("type") == "record":
                fields = frozenset(field["name"] for field in resolved["fields"])
                records[fields] = (resolved["name"], convert)
            elif convert is not None:
                others.append(convert)  # an array or map branch with records inside
        if not records and not others:
            return None

        def tag(value: Any) -> Any:
            if isinstance(value, dict):
                record = records.get(frozenset(value))
                if record is not None:
                    name, convert = record
                    return (name, convert(value) if convert else value)
            for convert in others:
                value = convert(value)
            return value

        return tag


def _fields(fields: list[tuple[str, Convert]]) -> Convert:
    def convert(record: Any) -> Any:
        if isinstance(record, dict):
            for name, convert_field in fields:
                value = record.get(name)
                if value is not None:
                    record[name] = convert_field(value)
        return record

    return convert


def _each(convert: Convert | None) -> Convert | None:
    if convert is None:
        return None
    return lambda items: [convert(item) for item in items] if isinstance(items, list) else items


def _each_value(convert: Convert | None) -> Convert | None:
    if convert is None:
        return None
    return lambda values: (
        {key: convert(value) for key, value in values.items()}
        if isinstance(values, dict)
        else values
    )


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
