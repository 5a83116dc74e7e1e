"""Schema registries: where the 4-byte schema id on the wire comes from and resolves to.

Two implementations of one interface:

* :class:`EmbeddedSchemaRegistry` (the default, no server): ids are the ones committed in
  ``schemas/avro/registry.json``, published in ``docs/contracts.md``, so an outside consumer can
  decode a topic with the ``.avsc`` files and plain Avro tools.
* :class:`ConfluentSchemaRegistry`: a client for a Confluent-compatible Schema Registry, used when
  ``FRONTDOOR_SCHEMA_REGISTRY_URL`` is set. Subjects follow the record-name strategy (the subject is
  the record's full name), because one record travels on several topics.

A registry that cannot be reached raises :class:`SchemaRegistryError`: that is our fault, not the
sender's, so callers retry rather than dead-letter the message.
"""

from __future__ import annotations

import base64
import json
import threading
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Protocol

from schemas import contract
from schemas.errors import SchemaRegistryError, UnknownSchemaIdError
from streams.platform.settings import SchemaRegistrySettings


class SchemaRegistry(Protocol):
    """Maps record names to writer schema ids and schema ids back to schemas."""

    def writer_id(self, name: str) -> int:
        """The id to put on the wire when writing the latest released version of ``name``."""
        ...

    def schema_by_id(self, schema_id: int) -> dict[str, Any]:
        """The schema with this id; :class:`UnknownSchemaIdError` if there is none."""
        ...


def latest_schema(name: str) -> dict[str, Any]:
    """The latest released schema of a record, read from the committed files."""
    versions = contract.versions_of(name)
    if not versions:
        raise SchemaRegistryError(f"no released schema for {name}; run `frontdoor schemas export`")
    return versions[-1].load()


class EmbeddedSchemaRegistry:
    """Ids fixed by the committed ``registry.json``; needs no server."""

    def __init__(self) -> None:
        entries = contract.released()
        self._schemas = {entry.schema_id: entry.load() for entry in entries}
        self._latest: dict[str, int] = {}
        for entry in sorted(entries, key=lambda e: e.version):
            self._latest[entry.name] = entry.schema_id

    def writer_id(self, name: str) -> int:
        try:
            return self._latest[name]
        except KeyError:
            raise SchemaRegistryError(f"no released schema for {name}") from None

    def schema_by_id(self, schema_id: int) -> dict[str, Any]:
        try:
            return self._schemas[schema_id]
        except KeyError:
            raise UnknownSchemaIdError(f"schema id {schema_id} is not a released schema") from None


class ConfluentSchemaRegistry:
    """A small, thread-safe client for the Confluent Schema Registry REST API."""

    _CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"

    def __init__(self, settings: SchemaRegistrySettings) -> None:
        if not settings.url:
            raise SchemaRegistryError("ConfluentSchemaRegistry needs FRONTDOOR_SCHEMA_REGISTRY_URL")
        self._base = settings.url.rstrip("/")
        self._timeout = settings.timeout_seconds
        self._auth: str | None = None
        if settings.username and settings.password:
            token = f"{settings.username}:{settings.password.get_secret_value()}".encode()
            self._auth = "Basic " + base64.b64encode(token).decode("ascii")
        self._lock = threading.Lock()
        self._ids: dict[str, int] = {}
        self._schemas: dict[int, dict[str, Any]] = {}

    def writer_id(self, name: str) -> int:
        with self._lock:
            if name in self._ids:
                return self._ids[name]
        schema = latest_schema(name)
        path = f"/subjects/{urllib.parse.quote(name, safe='')}/versions"
        try:
            answer = self._call("POST", path, {"schema": json.dumps(schema)})
            schema_id = int(answer["id"])
        except _RegistryRefusal as refusal:
            raise SchemaRegistryError(
                f"schema registry refused POST {path}: {refusal}"
            ) from refusal
        except (KeyError, TypeError, ValueError) as exc:
            raise SchemaRegistryError(f"schema registry gave no id for {name}") from exc
        with self._lock:
            self._ids[name] = schema_id
            self._schemas[schema_id] = schema
        return schema_id

    def schema_by_id(self, schema_id: int) -> dict[str, Any]:
        with self._lock:
            if schema_id in self._schemas:
                return self._schemas[schema_id]
        path = f"/schemas/ids/{schema_id}"
        try:
            answer = self._call("GET", path, None)
            schema = json.loads(answer["schema"])
        except _RegistryRefusal as refusal:
            if refusal.error_code == SCHEMA_NOT_FOUND:
                # The registry itself says so: the sender's fault, the message is unusable.
                raise UnknownSchemaIdError(
                    f"schema id {schema_id} is unknown to the registry"
                ) from None
            # Anything else (a wrong URL's 404 included) is ours: retried, never dead-lettered.
            raise SchemaRegistryError(f"schema registry refused GET {path}: {refusal}") from refusal
        except (KeyError, TypeError, ValueError) as exc:
            raise SchemaRegistryError(f"schema registry gave no schema for id {schema_id}") from exc
        if not isinstance(schema, dict):
            raise SchemaRegistryError(f"schema id {schema_id} is not a record schema")
        with self._lock:
            self._schemas[schema_id] = schema
        return schema

    def _call(self, method: str, path: str, body: dict[str, Any] | None) -> dict[str, Any]:
        data = json.dumps(body).encode("utf-8") if body is not None else None
        request = urllib.request.Request(  # noqa: S310 - the URL scheme is validated as http(s)
            self._base + path, data=data, method=method
        )
        request.add_header("Accept", self._CONTENT_TYPE)
        if data is not None:
            request.add_header("Content-Type", self._CONTENT_TYPE)
        if self._auth:
            request.add_header("Authorization", self._auth)
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:  # noqa: S310
                answer: dict[str, Any] = json.loads(response.read())
                return answer
        except urllib.error.HTTPError as exc:
            raise _RegistryRefusal(exc.code, _error_code(exc)) from exc
        except (urllib.error.URLError, TimeoutError, OSError, ValueError) as exc:
            raise SchemaRegistryError(f"schema registry unreachable for {method} {path}") from exc


#: The Confluent error code for "schema not found" (as opposed to any other 404).
SCHEMA_NOT_FOUND = 40403


def _error_code(error: urllib.error.HTTPError) -> int | None:
    try:
        body = json.loads(error.read() or b"{}")
        return int(body["error_code"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


class _RegistryRefusal(Exception):  # noqa: N818 - internal, never escapes this module
    """Internal: the registry answered with an HTTP error status."""

    def __init__(self, status: int, error_code: int | None) -> None:
        super().__init__(f"HTTP {status}, error code {error_code}")
        self.error_code = error_code


def registry_from(settings: SchemaRegistrySettings) -> SchemaRegistry:
    """The configured registry: Confluent-compatible when a URL is set, else the embedded one."""
    if settings.url:
        return ConfluentSchemaRegistry(settings)
    return EmbeddedSchemaRegistry()
