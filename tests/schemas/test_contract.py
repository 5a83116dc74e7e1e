"""The published Avro contracts: one source of truth, released versions kept, evolution backward.

The models are the source of truth; the committed ``.avsc`` files are what partners code against.
These tests fail when the two drift, when a released file is edited in place, or when a new
version could not read data written with an earlier one.
"""

from __future__ import annotations

import json
from typing import Any

import fastavro
import pytest
from avro.compatibility import (
    ReaderWriterCompatibilityChecker,
    SchemaCompatibilityType,
)
from avro.schema import parse as parse_avro

from schemas import contract
from schemas.models import ALL_EVENTS, Event


def _latest(name: str) -> contract.ReleasedSchema:
    versions = contract.versions_of(name)
    assert versions, f"{name} has no released schema: run `frontdoor schemas export`"
    return versions[-1]


@pytest.mark.parametrize("model", ALL_EVENTS, ids=lambda m: m.__name__)
def test_the_latest_committed_schema_is_exactly_what_the_model_generates(
    model: type[Event],
) -> None:
    generated = contract.canonical_text(contract.avro_schema(model))
    committed = _latest(model.AVRO_NAME).path.read_text(encoding="utf-8")
    assert committed == generated, (
        f"{model.__name__} and its .avsc have drifted: run `frontdoor schemas export` "
        "to release a new version"
    )


def test_every_released_file_is_unchanged_since_its_release() -> None:
    for entry in contract.released():
        entry.load()  # raises on a fingerprint mismatch


def test_schema_ids_are_unique_and_every_schema_file_is_registered() -> None:
    entries = contract.released()
    assert len({entry.schema_id for entry in entries}) == len(entries)
    assert len({(entry.name, entry.version) for entry in entries}) == len(entries)
    on_disk = {
        str(path.relative_to(contract.AVRO_DIR)) for path in contract.AVRO_DIR.glob("*/*.avsc")
    }
    assert on_disk == {entry.file for entry in entries}


def test_every_released_schema_parses_with_plain_fastavro() -> None:
    for entry in contract.released():
        fastavro.parse_schema(entry.load(), named_schemas={})


def _compatible(reader: dict[str, Any], writer: dict[str, Any]) -> bool:
    checker = ReaderWriterCompatibilityChecker()  # type: ignore[no-untyped-call]
    result = checker.get_compatibility(
        parse_avro(json.dumps(reader)), parse_avro(json.dumps(writer))
    )
    return bool(result.compatibility is SchemaCompatibilityType.compatible)


@pytest.mark.parametrize("model", ALL_EVENTS, ids=lambda m: m.__name__)
def test_each_version_reads_data_written_with_every_earlier_version(model: type[Event]) -> None:
    versions = [entry.load() for entry in contract.versions_of(model.AVRO_NAME)]
    for newer_index, newer in enumerate(versions):
        for older in versions[:newer_index]:
            assert _compatible(reader=newer, writer=older)


def test_the_checker_catches_a_change_that_would_break_old_data() -> None:
    released = _latest("uk.frontdoor.events.Contact").load()
    breaking = json.loads(json.dumps(released))
    breaking["fields"].append({"name": "new_required_field", "type": "string"})
    assert not _compatible(reader=breaking, writer=released)
    tolerant = json.loads(json.dumps(released))
    tolerant["fields"].append(
        {"name": "new_optional_field", "type": ["null", "string"], "default": None}
    )
    assert _compatible(reader=tolerant, writer=released)
