"""Reading a case-management export: good rows become events, bad rows are reported by number."""

from __future__ import annotations

from datetime import UTC, date, datetime

from connectors.history_import import parse_export
from schemas.models import HistoryRecordType
from tests.helpers import VALID_NHS_NUMBER

AT = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
HEADER = (
    "source_record_id,record_type,started_on,ended_on,outcome,"
    "nhs_number,given_name,family_name,date_of_birth,postcode"
)


def export(*rows: str) -> str:
    return "\n".join([HEADER, *rows]) + "\n"


def test_each_good_row_becomes_one_history_event_with_a_stable_id() -> None:
    text = export(
        f"R1,domestic_abuse_incident,2026-05-01,,,{VALID_NHS_NUMBER},,,,",
        "R2,child_protection_plan,2025-01-10,2025-09-01,CP-END,,"
        "Amelia,Thornbury,2016-03-14,ZZ1 1ZZ",
    )

    events, problems = parse_export(text, "mosaic", AT)
    again, _ = parse_export(text, "mosaic", AT)

    assert problems == []
    assert [e.record.record_type for e in events] == [
        HistoryRecordType.DOMESTIC_ABUSE_INCIDENT,
        HistoryRecordType.CHILD_PROTECTION_PLAN,
    ]
    assert events[1].record.ended_on == date(2025, 9, 1)
    assert events[1].child.address is not None
    assert [e.event_id for e in events] == [e.event_id for e in again]


def test_bad_rows_are_reported_by_row_number_and_reason_and_good_ones_still_imported() -> None:
    text = export(
        f"R1,contact,2026-05-01,,,{VALID_NHS_NUMBER},,,,",
        f"R2,visit,2026-05-01,,,{VALID_NHS_NUMBER},,,,",
        f"R3,contact,01/05/2026,,,{VALID_NHS_NUMBER},,,,",
        "R4,contact,2026-05-01,,,,Amelia,,,",
        f"R5,early_help,2026-05-01,2026-04-01,,{VALID_NHS_NUMBER},,,,",
        f",contact,2026-05-01,,,{VALID_NHS_NUMBER},,,,",
    )

    events, problems = parse_export(text, "mosaic", AT)

    assert len(events) == 1
    assert [(p.row, p.reason.split(" ")[0]) for p in problems] == [
        (3, "record_type"),
        (4, "started_on"),
        (5, "no"),
        (6, "ended_on"),
        (7, "source_record_id"),
    ]


def test_a_file_without_the_required_columns_is_refused_whole() -> None:
    events, problems = parse_export("id,type\n1,contact\n", "mosaic", AT)
    assert events == []
    assert problems[0].row == 1
    assert "source_record_id" in problems[0].reason
