"""Avro contracts derived from the models, and the committed, released versions of each.

* :func:`avro_schema` turns a model class into its Avro schema (the models are the source of truth).
* The released versions live in ``schemas/avro/<Record>/vN.avsc``. ``schemas/avro/registry.json``
  lists each with its stable schema id (the id the embedded registry puts on the wire) and a SHA-256
  fingerprint, so a released file edited in place is caught by the tests.
* :func:`export` writes a new version when a model has changed, leaving released files untouched.
"""

from __future__ import annotations

import hashlib
import json
import types
import typing
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from pathlib import Path
from typing import Any, Union

from pydantic import BaseModel

from schemas.errors import SchemaError
from schemas.models import ALL_EVENTS, NAMESPACE, Event
from schemas.types import AwareDatetime

AVRO_DIR = Path(__file__).parent / "avro"
REGISTRY_FILE = AVRO_DIR / "registry.json"

AvroType = str | dict[str, Any] | list[Any]

_PRIMITIVES: dict[type, str] = {
    str: "string",
    bool: "boolean",
    int: "long",
    float: "double",
    bytes: "bytes",
}
_AWARE_DATETIME_ORIGIN = typing.get_args(AwareDatetime)[0]


def avro_schema(model: type[Event]) -> dict[str, Any]:
    """The Avro schema of a top-level event model, self-contained (named types defined once)."""
    schema = _record(model, set(), model.AVRO_NAME)
    if not isinstance(schema, dict):
        raise SchemaError(f"{model.AVRO_NAME} did not produce a record schema")
    return schema


def _doc(obj: type) -> str | None:
    text = obj.__doc__
    if not text or obj.__doc__ in (BaseModel.__doc__, Enum.__doc__):
        return None
    return " ".join(text.split())


def _record(model: type[BaseModel], named: set[str], full_name: str | None = None) -> AvroType:
    name = full_name or f"{NAMESPACE}.{model.__name__}"
    if name in named:
        return name
    named.add(name)
    fields: list[dict[str, Any]] = []
    for field_name, info in model.model_fields.items():
        field: dict[str, Any] = {"name": field_name, "type": _type(info.annotation, named)}
        if info.description:
            field["doc"] = info.description
        if not info.is_required():
            field["default"] = _default(info.get_default(call_default_factory=True))
        fields.append(field)
    record: dict[str, Any] = {"type": "record", "name": name, "fields": fields}
    doc = _doc(model)
    if doc:
        record["doc"] = doc
    return record


def _type(annotation: Any, named: set[str]) -> AvroType:  # noqa: PLR0911 - one branch per Avro kind
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return _type(args[0], named)
    if origin in (Union, types.UnionType):
        branches = [_type(arg, named) for arg in args]
        # "null" first, so that a None default is valid for the union.
        return sorted(branches, key=lambda branch: branch != "null")
    if origin is list:
        return {"type": "array", "items": _type(args[0], named)}
    if origin is dict:
        if args[0] is not str:
            raise SchemaError(f"Avro maps need string keys, not {args[0]!r}")
        return {"type": "map", "values": _type(args[1], named)}
    if annotation is type(None):
        return "null"
    if annotation in (datetime, _AWARE_DATETIME_ORIGIN):
        return {"type": "long", "logicalType": "timestamp-micros"}
    if annotation is date:
        return {"type": "int", "logicalType": "date"}
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return _enum(annotation, named)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return _record(annotation, named)
    if annotation in _PRIMITIVES:
        return _PRIMITIVES[annotation]
    raise SchemaError(f"no Avro mapping for {annotation!r}")


def _enum(enum: type[Enum], named: set[str]) -> AvroType:
    name = f"{NAMESPACE}.{enum.__name__}"
    if name in named:
        return name
    named.add(name)
    schema: dict[str, Any] = {"type": "enum", "name": name, "symbols": [m.value for m in enum]}
    doc = _doc(enum)
    if doc:
        schema["doc"] = doc
    return schema


def _default(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    return value


def canonical_text(schema: dict[str, Any]) -> str:
    """The committed text of a schema file: stable key order, two-space indent, final newline."""
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def fingerprint(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ReleasedSchema:
    """One released version of one record, as listed in ``registry.json``."""

    schema_id: int
    name: str
    version: int
    file: str
    fingerprint: str

    @property
    def path(self) -> Path:
        return AVRO_DIR / self.file

    def load(self) -> dict[str, Any]:
        text = self.path.read_text(encoding="utf-8")
        if fingerprint(text) != self.fingerprint:
            raise SchemaError(
                f"{self.file} differs from the released version (fingerprint mismatch): "
                "released schemas are never edited; add a new version instead"
            )
        loaded: dict[str, Any] = json.loads(text)
        return loaded


def released() -> list[ReleasedSchema]:
    """Every released schema version, in id order."""
    if not REGISTRY_FILE.exists():
        return []
    data = json.loads(REGISTRY_FILE.read_text(encoding="utf-8"))
    entries = [ReleasedSchema(**entry) for entry in data["schemas"]]
    return sorted(entries, key=lambda entry: entry.schema_id)


def versions_of(name: str) -> list[ReleasedSchema]:
    """The released versions of one record, oldest first."""
    return sorted((s for s in released() if s.name == name), key=lambda s: s.version)


def export() -> list[ReleasedSchema]:
    """Write a new version for every model whose schema differs from its latest release.

    Returns the versions added. Released files are never rewritten.
    """
    entries = released()
    next_id = max((entry.schema_id for entry in entries), default=0) + 1
    added: list[ReleasedSchema] = []
    for model in ALL_EVENTS:
        text = canonical_text(avro_schema(model))
        history = [entry for entry in entries if entry.name == model.AVRO_NAME]
        latest = max(history, key=lambda entry: entry.version, default=None)
        if latest is not None and latest.path.read_text(encoding="utf-8") == text:
            continue
        version = latest.version + 1 if latest else 1
        short_name = model.AVRO_NAME.rsplit(".", 1)[-1]
        relative = f"{short_name}/v{version}.avsc"
        (AVRO_DIR / short_name).mkdir(parents=True, exist_ok=True)
        (AVRO_DIR / relative).write_text(text, encoding="utf-8")
        entry = ReleasedSchema(next_id, model.AVRO_NAME, version, relative, fingerprint(text))
        entries.append(entry)
        added.append(entry)
        next_id += 1
    if added:
        payload = {
            "schemas": [entry.__dict__ for entry in sorted(entries, key=lambda e: e.schema_id)]
        }
        REGISTRY_FILE.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    return added
