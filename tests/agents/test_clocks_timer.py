"""The clocks timer's scan of the table: each child's document parsed once, not on every run."""

from __future__ import annotations

from typing import Any

import pytest

from agents import clocks
from agents.clocks import ParsedDocuments
from streams.decisions.clocks import ChildClocks, stored_clocks


def _document(child_key: str) -> dict[str, Any]:
    return ChildClocks(child_key=child_key).model_dump(mode="json")


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The child keys whose documents were parsed, in order."""
    parsed: list[str] = []

    def counting(document: Any, child_key: str) -> ChildClocks:
        parsed.append(child_key)
        return stored_clocks(document, child_key)

    monkeypatch.setattr(clocks, "stored_clocks", counting)
    return parsed


def test_only_documents_written_since_the_last_scan_are_parsed_again(parses: list[str]) -> None:
    documents = ParsedDocuments()
    table = {"child-a": _document("child-a"), "child-b": _document("child-b")}

    first = documents.states(table.items())
    table["child-b"] = _document("child-b")  # a write stores a new document
    second = documents.states(table.items())

    assert [state.child_key for state in first] == ["child-a", "child-b"]
    assert [state.child_key for state in second] == ["child-a", "child-b"]
    assert parses == ["child-a", "child-b", "child-b"]
    assert second[0] is first[0]


def test_children_that_left_the_table_are_forgotten(parses: list[str]) -> None:
    documents = ParsedDocuments()
    table = {"child-a": _document("child-a"), "child-b": _document("child-b")}
    documents.states(table.items())

    del table["child-a"]  # its partition moved to another worker
    assert [state.child_key for state in documents.states(table.items())] == ["child-b"]
    table["child-a"] = _document("child-a")  # and came back, perhaps changed meanwhile
    documents.states(table.items())

    assert parses == ["child-a", "child-b", "child-a"]
