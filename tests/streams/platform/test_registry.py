"""Schema registries: the committed ids without a server, or a Confluent-compatible one over HTTP.

The Confluent client is tested against a small real HTTP server running in a thread, which
implements only the two endpoints the client uses and records every request it receives.
"""

from __future__ import annotations

import base64
import json
import threading
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from pydantic import ValidationError

from schemas import contract
from schemas.errors import SchemaRegistryError, UnknownSchemaIdError
from schemas.models import Contact, PoliceNotification
from streams.platform.broker import free_port
from streams.platform.codec import MAGIC_BYTE, AvroCodec, wire_header
from streams.platform.registry import (
    ConfluentSchemaRegistry,
    EmbeddedSchemaRegistry,
    latest_schema,
    registry_from,
)
from streams.platform.settings import SchemaRegistrySettings
from tests.helpers import contact

CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"
FIRST_SERVER_ID = 101  # far from the embedded ids, so a test cannot pass by accident


@dataclass(frozen=True)
class Received:
    """One HTTP request as the fake registry saw it (header names lower-cased)."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class FakeSchemaRegistry:
    """A Confluent-compatible Schema Registry on 127.0.0.1: register a schema, get one by id."""

    requests: list[Received] = field(default_factory=list)
    ids_by_subject: dict[tuple[str, str], int] = field(default_factory=dict)
    schemas_by_id: dict[int, str] = field(default_factory=dict)
    fail_with_status: int | None = None

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                fake.serve(self)

            def do_POST(self) -> None:
                fake.serve(self)

            def log_message(self, format: str, *args: Any) -> None:
                """Keep the test output quiet."""

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        # A short poll interval: shutdown() waits for the serving loop to notice, up to one poll.
        self._thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=5)

    def serve(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        received = Received(
            method=handler.command,
            path=handler.path,
            headers={name.lower(): value for name, value in handler.headers.items()},
            body=handler.rfile.read(length),
        )
        with self._lock:
            self.requests.append(received)
            status, answer = self.answer(received)
        data = json.dumps(answer).encode("utf-8")
        handler.send_response(status)
        handler.send_header("Content-Type", CONTENT_TYPE)
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    def answer(self, request: Received) -> tuple[int, dict[str, Any]]:
        if self.fail_with_status is not None:
            return self.fail_with_status, {"error_code": 50001, "message": "synthetic failure"}
        parts = request.path.strip("/").split("/")
        if request.method == "POST" and len(parts) == 3 and parts[::2] == ["subjects", "versions"]:
            subject = urllib.parse.unquote(parts[1])
            schema = request.json()["schema"]
            key = (subject, schema)
            if key not in self.ids_by_subject:
                self.ids_by_subject[key] = FIRST_SERVER_ID + len(self.schemas_by_id)
                self.schemas_by_id[self.ids_by_subject[key]] = schema
            return 200, {"id": self.ids_by_subject[key]}
        if request.method == "GET" and len(parts) == 3 and parts[:2] == ["schemas", "ids"]:
            schema_text = self.schemas_by_id.get(int(parts[2]))
            if schema_text is None:
                return 404, {"error_code": 40403, "message": "Schema not found"}
            return 200, {"schema": schema_text}
        return 404, {"error_code": 404, "message": "HTTP 404 Not Found"}


@pytest.fixture
def fake_registry() -> Iterator[FakeSchemaRegistry]:
    fake = FakeSchemaRegistry()
    try:
        yield fake
    finally:
        fake.stop()


def settings_for(
    url: str | None, username: str | None = None, password: str | None = None
) -> SchemaRegistrySettings:
    """Explicit settings: nothing is read from the environment or a .env file."""
    return SchemaRegistrySettings(
        url=url, username=username, password=password, timeout_seconds=5.0
    )


def client_of(fake: FakeSchemaRegistry) -> ConfluentSchemaRegistry:
    return ConfluentSchemaRegistry(settings_for(fake.url))


# ---------------------------------------------------------------------------------------------
# The embedded registry: the ids committed in schemas/avro/registry.json.


def test_the_embedded_registry_resolves_every_committed_id_to_its_schema() -> None:
    registry = EmbeddedSchemaRegistry()
    released = contract.released()

    assert released
    for entry in released:
        assert registry.schema_by_id(entry.schema_id) == entry.load()


def test_the_embedded_writer_id_is_the_committed_id_of_the_latest_version() -> None:
    registry = EmbeddedSchemaRegistry()

    for name in {entry.name for entry in contract.released()}:
        latest = contract.versions_of(name)[-1]
        assert registry.writer_id(name) == latest.schema_id


def test_the_embedded_writer_id_follows_the_version_not_the_id_order(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    v1 = contract.versions_of(Contact.AVRO_NAME)[0]
    # A v2 released under a lower id than v1 (same file, so its fingerprint still holds).
    v2 = contract.ReleasedSchema(0, v1.name, 2, v1.file, v1.fingerprint)
    monkeypatch.setattr(contract, "released", lambda: [v2, v1])

    assert EmbeddedSchemaRegistry().writer_id(Contact.AVRO_NAME) == 0


def test_an_unknown_id_is_unknown_to_the_embedded_registry() -> None:
    unknown = max(entry.schema_id for entry in contract.released()) + 1

    with pytest.raises(UnknownSchemaIdError, match=f"schema id {unknown}"):
        EmbeddedSchemaRegistry().schema_by_id(unknown)


def test_a_record_never_released_has_no_embedded_writer_id() -> None:
    with pytest.raises(SchemaRegistryError, match="no released schema"):
        EmbeddedSchemaRegistry().writer_id("uk.frontdoor.events.NoSuchRecord")


# ---------------------------------------------------------------------------------------------
# The Confluent client.


def test_registering_posts_the_latest_schema_under_the_record_name(
    fake_registry: FakeSchemaRegistry,
) -> None:
    schema_id = client_of(fake_registry).writer_id(Contact.AVRO_NAME)

    (sent,) = fake_registry.requests
    assert schema_id == FIRST_SERVER_ID
    assert sent.method == "POST"
    assert sent.path == f"/subjects/{urllib.parse.quote(Contact.AVRO_NAME, safe='')}/versions"
    assert sent.headers["content-type"] == CONTENT_TYPE
    assert sent.headers["accept"] == CONTENT_TYPE
    assert json.loads(sent.json()["schema"]) == latest_schema(Contact.AVRO_NAME)


def test_each_record_is_its_own_subject(fake_registry: FakeSchemaRegistry) -> None:
    registry = client_of(fake_registry)

    ids = {registry.writer_id(Contact.AVRO_NAME), registry.writer_id(PoliceNotification.AVRO_NAME)}

    assert len(ids) == 2
    assert {urllib.parse.unquote(r.path.split("/")[2]) for r in fake_registry.requests} == {
        Contact.AVRO_NAME,
        PoliceNotification.AVRO_NAME,
    }


def test_credentials_are_sent_as_basic_auth(fake_registry: FakeSchemaRegistry) -> None:
    settings = settings_for(fake_registry.url, "frontdoor", "synthetic-secret")

    ConfluentSchemaRegistry(settings).writer_id(Contact.AVRO_NAME)

    expected = base64.b64encode(b"frontdoor:synthetic-secret").decode("ascii")
    assert fake_registry.requests[0].headers["authorization"] == f"Basic {expected}"


def test_without_credentials_no_authorization_is_sent(fake_registry: FakeSchemaRegistry) -> None:
    client_of(fake_registry).writer_id(Contact.AVRO_NAME)

    assert "authorization" not in fake_registry.requests[0].headers


def test_a_registered_id_is_asked_for_only_once(fake_registry: FakeSchemaRegistry) -> None:
    registry = client_of(fake_registry)

    first = registry.writer_id(Contact.AVRO_NAME)
    second = registry.writer_id(Contact.AVRO_NAME)
    schema = registry.schema_by_id(first)

    assert first == second
    assert schema == latest_schema(Contact.AVRO_NAME)
    assert len(fake_registry.requests) == 1


def test_a_schema_is_fetched_by_id_once_then_cached(fake_registry: FakeSchemaRegistry) -> None:
    schema_id = client_of(fake_registry).writer_id(Contact.AVRO_NAME)
    consumer = client_of(fake_registry)

    first = consumer.schema_by_id(schema_id)
    second = consumer.schema_by_id(schema_id)

    assert first == second == latest_schema(Contact.AVRO_NAME)
    assert [(r.method, r.path) for r in fake_registry.requests[1:]] == [
        ("GET", f"/schemas/ids/{schema_id}")
    ]


def test_an_id_the_registry_does_not_know_is_an_unknown_schema_id(
    fake_registry: FakeSchemaRegistry,
) -> None:
    with pytest.raises(UnknownSchemaIdError, match="schema id 4242"):
        client_of(fake_registry).schema_by_id(4242)


def test_a_server_error_is_a_registry_error_not_the_senders_fault(
    fake_registry: FakeSchemaRegistry,
) -> None:
    fake_registry.fail_with_status = 500
    registry = client_of(fake_registry)

    with pytest.raises(SchemaRegistryError, match="HTTP 500"):
        registry.writer_id(Contact.AVRO_NAME)
    with pytest.raises(SchemaRegistryError, match="HTTP 500") as raised:
        registry.schema_by_id(FIRST_SERVER_ID)
    assert not isinstance(raised.value, UnknownSchemaIdError)


def test_a_404_on_registering_is_a_registry_error(fake_registry: FakeSchemaRegistry) -> None:
    # E.g. the URL is missing a path prefix: our misconfiguration, to be retried and fixed.
    registry = ConfluentSchemaRegistry(settings_for(f"{fake_registry.url}/wrong-prefix"))

    with pytest.raises(SchemaRegistryError, match="HTTP 404"):
        registry.writer_id(Contact.AVRO_NAME)


def test_a_404_on_fetching_that_is_not_schema_not_found_is_ours_not_the_senders(
    fake_registry: FakeSchemaRegistry,
) -> None:
    # A wrong URL answers 404 without the registry's 40403: retried, never dead-lettered.
    registry = ConfluentSchemaRegistry(settings_for(f"{fake_registry.url}/wrong-prefix"))

    with pytest.raises(SchemaRegistryError) as raised:
        registry.schema_by_id(FIRST_SERVER_ID)
    assert not isinstance(raised.value, UnknownSchemaIdError)


def test_a_malformed_answer_is_a_registry_error(fake_registry: FakeSchemaRegistry) -> None:
    fake_registry.schemas_by_id[FIRST_SERVER_ID] = "not json"

    with pytest.raises(SchemaRegistryError, match="no schema"):
        client_of(fake_registry).schema_by_id(FIRST_SERVER_ID)


def test_half_set_credentials_are_refused_at_start_up() -> None:
    with pytest.raises(ValidationError, match="USERNAME and _PASSWORD"):
        SchemaRegistrySettings(url="http://registry.invalid:8081", username="frontdoor")


def test_a_read_only_consumer_decodes_without_registering_anything(
    fake_registry: FakeSchemaRegistry,
) -> None:
    data = AvroCodec(client_of(fake_registry)).encode(contact())
    posts_before = [r for r in fake_registry.requests if r.method == "POST"]

    AvroCodec(client_of(fake_registry)).decode(data, Contact)

    assert [r for r in fake_registry.requests if r.method == "POST"] == posts_before


def test_a_registry_that_does_not_answer_is_a_registry_error() -> None:
    registry = ConfluentSchemaRegistry(settings_for(f"http://127.0.0.1:{free_port()}"))

    with pytest.raises(SchemaRegistryError, match="unreachable"):
        registry.writer_id(Contact.AVRO_NAME)
    with pytest.raises(SchemaRegistryError, match="unreachable"):
        registry.schema_by_id(FIRST_SERVER_ID)


def test_the_confluent_client_needs_a_url() -> None:
    with pytest.raises(SchemaRegistryError, match="FRONTDOOR_SCHEMA_REGISTRY_URL"):
        ConfluentSchemaRegistry(settings_for(None))


# ---------------------------------------------------------------------------------------------
# Choosing a registry, and the codec on top of a real one.


def test_without_a_url_the_embedded_registry_is_used() -> None:
    assert isinstance(registry_from(settings_for(None)), EmbeddedSchemaRegistry)


def test_with_a_url_the_confluent_registry_is_used() -> None:
    registry = registry_from(settings_for("http://registry.invalid:8081"))
    assert isinstance(registry, ConfluentSchemaRegistry)


def test_the_codec_round_trips_an_event_with_the_servers_schema_id(
    fake_registry: FakeSchemaRegistry,
) -> None:
    event = contact()

    data = AvroCodec(client_of(fake_registry)).encode(event)
    decoded_by_another_service = AvroCodec(client_of(fake_registry)).decode(data, Contact)

    assert wire_header(data) == (MAGIC_BYTE, FIRST_SERVER_ID)
    assert decoded_by_another_service == event
