"""The wire codec: round trips, what an independent partner writes, and every way bytes go wrong."""

from __future__ import annotations

import contextlib
import io
import json
import struct
from datetime import UTC, datetime
from typing import Any

import fastavro
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas import contract
from schemas.errors import (
    EmptyMessageError,
    EventValidationError,
    MalformedAvroError,
    NotWireFormatError,
    UnknownSchemaIdError,
    UnusableEventError,
    WrongEventTypeError,
)
from schemas.models import (
    AcceptedEvent,
    ChildEvent,
    ChildMatch,
    Contact,
    DashRiskLevel,
    Event,
    EventType,
    MatchKind,
    PoliceNotification,
    SourcePosition,
)
from streams.decisions.domestic_abuse import load_recipients
from streams.decisions.history import ChildHistory
from streams.decisions.routing import route_child_event
from streams.decisions.rules import load_rules
from streams.platform.codec import MAGIC_BYTE, AvroCodec, union_tagger, wire_header
from streams.platform.registry import EmbeddedSchemaRegistry
from tests.helpers import consent_override, contact, one_of_every_event, police_notification

codec = AvroCodec(EmbeddedSchemaRegistry())


def partner_encode(avsc: dict[str, Any], schema_id: int, record: dict[str, Any]) -> bytes:
    """What an independent partner does with only the .avsc file and the wire-format spec."""
    buffer = io.BytesIO()
    buffer.write(struct.pack(">bI", 0, schema_id))
    fastavro.schemaless_writer(buffer, fastavro.parse_schema(avsc), record)
    return buffer.getvalue()


@pytest.mark.parametrize("event", one_of_every_event(), ids=lambda e: type(e).__name__)
def test_every_event_survives_a_round_trip_through_the_wire(event: Event) -> None:
    data = codec.encode(event)

    assert wire_header(data) == (MAGIC_BYTE, EmbeddedSchemaRegistry().writer_id(event.AVRO_NAME))
    assert codec.decode(data, type(event)) == event


def events_the_pipeline_makes() -> list[Event]:
    """A child event and what routing makes of it out of hours: the records nested deepest."""
    saturday_night = datetime(2026, 12, 5, 22, 0, tzinfo=UTC)
    notification = police_notification(
        dash_risk_level=DashRiskLevel.HIGH, received_at=saturday_night
    )
    accepted = AcceptedEvent(
        event_id=notification.event_id,
        event_type=EventType.POLICE_NOTIFICATION,
        sender="police.synth",
        source=SourcePosition(topic="t", partition=0, offset=1),
        accepted_at=saturday_night,
        police_notification=notification,
    )
    child_event = ChildEvent(
        event_id=f"ce-{notification.event_id}",
        accepted=accepted,
        child_index=0,
        match=ChildMatch(child_key="ck-1", kind=MatchKind.NEW, score=0.0, reason="synthetic"),
    )
    rules = load_rules()
    routed = route_child_event(
        child_event,
        ChildHistory(child_key="ck-1"),
        rules,
        rules.office_calendar(),
        saturday_night,
        recipients=load_recipients(rules),
    )
    return [child_event, *routed.outputs]


@pytest.mark.parametrize(
    "event", one_of_every_event() + events_the_pipeline_makes(), ids=lambda e: type(e).__name__
)
def test_naming_union_branches_writes_the_bytes_fastavro_would_choose_by_itself(
    event: Event,
) -> None:
    # The codec names each record's union branch so fastavro need not try them all; the bytes
    # must be exactly those fastavro writes when it chooses alone.
    schema = fastavro.parse_schema(contract.avro_schema(type(event)), named_schemas={})
    chosen_by_fastavro, named_by_us = io.BytesIO(), io.BytesIO()

    fastavro.schemaless_writer(chosen_by_fastavro, schema, event.model_dump(mode="python"))
    fastavro.schemaless_writer(named_by_us, schema, union_tagger(schema)(event.model_dump()))

    assert named_by_us.getvalue() == chosen_by_fastavro.getvalue()


def test_a_dict_that_is_no_record_of_the_union_is_left_for_fastavro_to_judge() -> None:
    schema = fastavro.parse_schema(
        {
            "type": "record",
            "name": "Outer",
            "fields": [
                {
                    "name": "inner",
                    "type": [
                        "null",
                        {
                            "type": "record",
                            "name": "Inner",
                            "fields": [{"name": "a", "type": "int"}],
                        },
                        {"type": "map", "values": "long"},
                    ],
                }
            ],
        },
        named_schemas={},
    )
    tag = union_tagger(schema)

    assert tag({"inner": {"a": 1}}) == {"inner": ("Inner", {"a": 1})}
    assert tag({"inner": {"a": 1, "b": 2}}) == {"inner": {"a": 1, "b": 2}}
    assert tag({"inner": None}) == {"inner": None}


def test_a_partner_with_only_the_avsc_file_writes_bytes_we_decode() -> None:
    latest = contract.versions_of(PoliceNotification.AVRO_NAME)[-1]
    avsc = json.loads(latest.path.read_text(encoding="utf-8"))
    expected = police_notification()
    # A partner builds plain dicts: enum symbols as strings, dates and times as Python objects.
    record = json.loads(expected.model_dump_json())
    for field in ("received_at", "occurred_at"):
        record[field] = getattr(expected, field)
    for child, original in zip(record["children"], expected.children, strict=True):
        child["date_of_birth"] = original.date_of_birth

    decoded = codec.decode(partner_encode(avsc, latest.schema_id, record), PoliceNotification)

    assert decoded == expected


def test_an_outside_consumer_reads_our_bytes_with_plain_fastavro_and_the_published_id() -> None:
    event = consent_override()
    data = codec.encode(event)
    magic, schema_id = struct.unpack(">bI", data[:5])
    entry = next(e for e in contract.released() if e.schema_id == schema_id)

    record = fastavro.schemaless_reader(io.BytesIO(data[5:]), fastavro.parse_schema(entry.load()))

    assert magic == 0
    assert entry.name == "uk.frontdoor.events.ConsentEvent"
    assert isinstance(record, dict)
    assert record["event_id"] == event.event_id
    assert record["action"] == "overridden"


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (b"", EmptyMessageError),
        (None, EmptyMessageError),
        (b"\x00\x00", NotWireFormatError),
        (b'{"event_id": "evt-1"}', NotWireFormatError),
        (b"\x01\x00\x00\x00\x01abc", NotWireFormatError),
        (b"\x00\x00\x00\x7f\x7f\x02", UnknownSchemaIdError),
    ],
)
def test_bytes_that_are_not_our_wire_format_are_unusable_with_a_stable_code(
    data: bytes | None, error: type[UnusableEventError]
) -> None:
    with pytest.raises(error) as raised:
        codec.decode(data, Contact)
    assert raised.value.code.startswith("FD-DECODE-")


def test_a_truncated_record_is_malformed() -> None:
    data = codec.encode(contact())
    with pytest.raises(MalformedAvroError):
        codec.decode(data[:-4], Contact)


def test_bytes_left_over_after_the_record_are_malformed() -> None:
    data = codec.encode(contact())
    with pytest.raises(MalformedAvroError, match="bytes after the record"):
        codec.decode(data + b"\x00", Contact)


def test_a_police_notification_on_the_contacts_topic_is_the_wrong_event_type() -> None:
    with pytest.raises(WrongEventTypeError):
        codec.decode(codec.encode(police_notification()), Contact)


def test_a_contact_without_children_is_rejected_naming_the_field_and_keeping_its_id() -> None:
    registry = EmbeddedSchemaRegistry()
    schema_id = registry.writer_id(Contact.AVRO_NAME)
    record = contact().model_dump(mode="python") | {"children": []}

    with pytest.raises(EventValidationError) as raised:
        codec.decode(partner_encode(registry.schema_by_id(schema_id), schema_id, record), Contact)

    assert raised.value.field == "children"
    assert raised.value.event_id == record["event_id"]


def test_validation_messages_never_echo_the_offending_value() -> None:
    registry = EmbeddedSchemaRegistry()
    schema_id = registry.writer_id(Contact.AVRO_NAME)
    secret = "Synthetic free text that must not be echoed " * 1000  # over the length bound
    record = contact().model_dump(mode="python") | {"description": secret}

    with pytest.raises(EventValidationError) as raised:
        codec.decode(partner_encode(registry.schema_by_id(schema_id), schema_id, record), Contact)

    assert raised.value.field == "description"
    assert "Synthetic free text" not in str(raised.value)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=300))
def test_random_bytes_never_raise_anything_but_an_unusable_event_error(data: bytes) -> None:
    try:
        codec.decode(data, PoliceNotification)
    except UnusableEventError as error:
        code = error.code
    else:
        code = "FD-DECODED"  # random bytes that happen to be a valid notification are fine
    assert code.startswith("FD-")


_VALID = codec.encode(police_notification())


@settings(max_examples=300)
@given(st.integers(min_value=0, max_value=len(_VALID) - 1), st.binary(max_size=8))
def test_truncated_or_spliced_real_messages_never_escape_as_other_errors(
    cut: int, junk: bytes
) -> None:
    for data in (_VALID[:cut], _VALID[:cut] + junk, _VALID[: max(cut, 5)] + junk):
        with contextlib.suppress(UnusableEventError):
            codec.decode(data, PoliceNotification)


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=6)
    ),
    max_leaves=20,
)


@settings(max_examples=300)
@given(_json)
def test_random_json_as_message_bytes_is_unusable_not_a_crash(document: object) -> None:
    with pytest.raises(UnusableEventError):
        codec.decode(json.dumps(document).encode(), Contact)


class _RegistryWithAnOlderContact:
    """The embedded registry plus id 900: a Contact schema from before ``child_voice`` existed."""

    OLD_ID = 900

    def __init__(self) -> None:
        self._embedded = EmbeddedSchemaRegistry()
        latest = self._embedded.schema_by_id(self._embedded.writer_id(Contact.AVRO_NAME))
        self.old = json.loads(json.dumps(latest))
        self.old["fields"] = [f for f in self.old["fields"] if f["name"] != "child_voice"]

    def writer_id(self, name: str) -> int:
        return self._embedded.writer_id(name)

    def schema_by_id(self, schema_id: int) -> dict[str, Any]:
        return self.old if schema_id == self.OLD_ID else self._embedded.schema_by_id(schema_id)


def test_a_partner_still_on_an_older_schema_version_is_read_into_the_latest() -> None:
    registry = _RegistryWithAnOlderContact()
    event = contact()
    record = event.model_dump(mode="python")
    del record["child_voice"]

    decoded = AvroCodec(registry).decode(
        partner_encode(registry.old, registry.OLD_ID, record), Contact
    )

    assert decoded == event  # child_voice takes its default, None
