"""Identifying the children of an accepted event against the index, and what is asked for."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from schemas.errors import EventIdReusedError
from schemas.models import (
    AcceptedEvent,
    Child,
    DataQualityIssue,
    EventType,
    HistoryImport,
    HistoryImportBatch,
    HistoryRecord,
    HistoryRecordType,
    MatchKind,
    NotificationChild,
    PoliceNotification,
    RequestReason,
    SourcePosition,
)
from streams.decisions.identification import identify, identify_import_batch
from streams.decisions.ids import derived_id
from streams.decisions.rules import load_rules
from tests.helpers import INVALID_NHS_NUMBER, VALID_NHS_NUMBER, contact, police_notification

RULES = load_rules()
NOW = datetime(2026, 11, 24, 10, 5, tzinfo=UTC)


def accepted(event: Any, issues: list[DataQualityIssue] | None = None) -> AcceptedEvent:
    kind = (
        EventType.POLICE_NOTIFICATION
        if isinstance(event, PoliceNotification)
        else EventType.CONTACT
    )
    return AcceptedEvent.model_validate(
        {
            "event_id": event.event_id,
            "event_type": kind,
            "sender": "partner.synth",
            "source": SourcePosition(topic="t", partition=0, offset=1),
            "accepted_at": NOW,
            "data_quality_issues": issues or [],
            kind.value: event,
        }
    )


def amelia(**changes: object) -> Child:
    fields: dict[str, object] = {
        "given_name": "Amelia",
        "family_name": "Thornbury",
        "date_of_birth": date(2016, 3, 14),
        "nhs_number": VALID_NHS_NUMBER,
    }
    return Child.model_validate(fields | changes)


def test_a_child_never_seen_gets_a_new_key_and_is_filed_in_the_index() -> None:
    event = accepted(contact(children=[amelia()]))

    result = identify(event, {}, RULES, NOW)

    (child_event,) = result.child_events
    assert child_event.match.kind is MatchKind.NEW
    key = child_event.match.child_key
    assert result.index_updates[f"nhs:{VALID_NHS_NUMBER}"] == key
    assert key in result.index_updates["dob:2016-03-14"]
    assert identify(event, {}, RULES, NOW).child_events[0].match.child_key == key  # replay


def test_the_same_nhs_number_later_is_the_same_child_confirmed() -> None:
    index: dict[str, Any] = {}
    first = identify(accepted(contact(children=[amelia()])), index, RULES, NOW)
    index.update(first.index_updates)

    second = identify(
        accepted(contact(children=[amelia(family_name="Thornbury-Hale")])), index, RULES, NOW
    )

    assert second.child_events[0].match.kind is MatchKind.CONFIRMED
    assert second.child_events[0].match.child_key == first.child_events[0].match.child_key


def test_a_possible_match_is_linked_but_its_identifiers_are_not_merged() -> None:
    index: dict[str, Any] = {}
    index.update(identify(accepted(contact(children=[amelia()])), index, RULES, NOW).index_updates)
    changed_surname = amelia(family_name="Okonkwo", nhs_number=None, unique_pupil_number=None)
    changed_surname = changed_surname.model_copy(update={"partner_reference": "PR-77"})

    result = identify(accepted(contact(children=[changed_surname])), index, RULES, NOW)

    assert result.child_events[0].match.kind is MatchKind.POSSIBLE
    assert not any(key.startswith("ref:") for key in result.index_updates)


def test_an_nhs_number_with_a_bad_check_digit_is_never_used_to_match() -> None:
    issue = DataQualityIssue(field="children.0.nhs_number", code="DQ-NHS-NUMBER", message="bad")
    event = accepted(contact(children=[amelia(nhs_number=INVALID_NHS_NUMBER)]), [issue])

    result = identify(event, {f"nhs:{INVALID_NHS_NUMBER}": "ck-someone-else"}, RULES, NOW)

    assert result.child_events[0].match.child_key != "ck-someone-else"
    assert f"nhs:{INVALID_NHS_NUMBER}" not in result.index_updates


def test_two_children_without_dates_of_birth_give_one_request_naming_both() -> None:
    notification = police_notification()
    children = [
        NotificationChild.model_validate(child.model_dump() | {"date_of_birth": None})
        for child in notification.children
    ]
    event = accepted(notification.model_copy(update={"children": children}))

    result = identify(event, {}, RULES, NOW)

    request = result.information_request
    assert request is not None
    assert request.reason is RequestReason.MISSING_INFORMATION
    assert [item.field for item in request.items] == [
        "children.0.date_of_birth",
        "children.1.date_of_birth",
    ]
    assert len(result.child_events) == 2
    assert all(ce.missing_information == request.items for ce in result.child_events)


def test_a_complete_event_asks_for_nothing() -> None:
    assert identify(accepted(police_notification()), {}, RULES, NOW).information_request is None


def from_sender(event: Any, sender: str) -> AcceptedEvent:
    return accepted(event).model_copy(update={"sender": sender})


def test_two_partners_using_one_event_id_are_two_events_all_the_way_down() -> None:
    school = from_sender(
        contact(event_id="NP-1795695685", children=[amelia(nhs_number=None)]), "school.1"
    )
    gp = from_sender(
        contact(event_id="NP-1795695685", children=[amelia(given_name="Zara", nhs_number=None)]),
        "gp.2",
    )

    first = identify(school, {}, RULES, NOW)
    second = identify(gp, first.index_updates, RULES, NOW)

    assert first.child_events[0].event_id != second.child_events[0].event_id
    assert first.child_events[0].match.child_key != second.child_events[0].match.child_key


def test_a_redelivered_event_gets_the_same_ids_and_child_keys_again() -> None:
    event = from_sender(contact(children=[amelia()]), "school.1")
    first = identify(event, {}, RULES, NOW)

    again = identify(event, first.index_updates, RULES, NOW)

    assert [(c.event_id, c.match.child_key) for c in again.child_events] == [
        (c.event_id, c.match.child_key) for c in first.child_events
    ]


def test_a_sender_reusing_its_event_id_for_another_child_is_caught_not_replayed() -> None:
    original = contact(children=[amelia()])
    reused = contact(
        event_id=original.event_id, children=[amelia(given_name="Zara", nhs_number=None)]
    )
    first = identify(from_sender(original, "school.1"), {}, RULES, NOW)

    with pytest.raises(EventIdReusedError) as caught:
        identify(from_sender(reused, "school.1"), first.index_updates, RULES, NOW)

    assert caught.value.code == "FD-EVENT-ID-REUSED"
    assert caught.value.event_id == original.event_id
    assert "Zara" not in str(caught.value)


def history_row(record_id: str, child: Child) -> HistoryImport:
    return HistoryImport(
        event_id=f"history-{record_id}",
        source_system="mosaic",
        source_record_id=record_id,
        child=child,
        record=HistoryRecord(record_type=HistoryRecordType.CONTACT, started_on=date(2025, 1, 6)),
        imported_at=NOW,
    )


def test_a_batch_of_imported_rows_is_identified_in_order_and_grouped_by_partition() -> None:
    rows = [
        history_row("R1", amelia()),
        history_row(
            "R2", amelia(nhs_number=None, given_name="Oliver", date_of_birth=date(2019, 1, 2))
        ),
        history_row("R3", amelia()),  # the child of R1, new in this batch: found, not new again
    ]
    partitions = {"R1": 1, "R2": 0}  # each new child's partition, by the row that made it

    def partition_of(child_key: str) -> int:
        (row,) = [r for r in rows if derived_id("child", r.event_id, 0) == child_key]
        return partitions[row.source_record_id]

    batch = HistoryImportBatch(event_id="batch-0001", source_system="mosaic", rows=rows)
    outputs, updates = identify_import_batch(batch, {}, partition_of)
    again, _ = identify_import_batch(batch, {}, partition_of)

    assert [[r.event_id for r in out.records] for out in outputs] == [
        ["history-R2"],
        ["history-R1", "history-R3"],
    ]
    first, third = outputs[1].records
    assert first.match.kind is MatchKind.NEW
    assert third.match.kind is MatchKind.CONFIRMED
    assert third.match.child_key == first.match.child_key == outputs[1].first_child_key
    assert updates[f"nhs:{VALID_NHS_NUMBER}"] == first.match.child_key
    assert outputs == again  # a redelivered batch gives the same batches, ids and keys


def test_a_confirmation_that_adds_nothing_writes_nothing_to_the_index() -> None:
    batch = HistoryImportBatch(
        event_id="batch-0001", source_system="mosaic", rows=[history_row("R1", amelia())]
    )
    _, filed = identify_import_batch(batch, {}, lambda _key: 0)
    index = dict(filed)

    later = HistoryImportBatch(
        event_id="batch-0002", source_system="mosaic", rows=[history_row("R2", amelia())]
    )
    (out,), updates = identify_import_batch(later, index, lambda _key: 0)

    assert out.records[0].match.kind is MatchKind.CONFIRMED
    assert updates == {}
