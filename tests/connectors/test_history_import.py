"""Reading a case-management export: good rows become events, bad rows are reported by number."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime

import pytest

from connectors.history_import import in_batches, parse_export, publish_paced
from schemas.models import Event, HistoryImportBatch, HistoryRecordType
from schemas.wire import SENDER_HEADER
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


def test_rows_are_published_in_batches_whose_ids_are_stable_across_imports() -> None:
    rows = [f"R{n},contact,2026-05-01,,,{VALID_NHS_NUMBER},,,," for n in range(1, 8)]
    events, _ = parse_export(export(*rows), "mosaic", AT)
    again, _ = parse_export(export(*rows), "mosaic", AT)

    batches = in_batches(events, "mosaic", rows_per_batch=3)

    assert [len(batch.rows) for batch in batches] == [3, 3, 1]
    assert [row for batch in batches for row in batch.rows] == events  # the export's order
    assert [b.event_id for b in batches] == [b.event_id for b in in_batches(again, "mosaic", 3)]
    assert len({batch.event_id for batch in batches}) == 3
    assert in_batches([], "mosaic") == []


def test_a_batch_larger_than_the_contract_allows_is_refused() -> None:
    with pytest.raises(ValueError, match="1 to 1000 rows"):
        in_batches([], "mosaic", rows_per_batch=1001)


class FakeClock:
    """Time that passes only when the import sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now


class FakePublisher:
    """Records each batch at the next offset of the topic's one partition."""

    def __init__(self) -> None:
        self.published: list[tuple[str, HistoryImportBatch, Mapping[str, str] | None]] = []

    def publish(
        self, topic: str, event: Event, *, headers: Mapping[str, str] | None = None
    ) -> tuple[int, int]:
        assert isinstance(event, HistoryImportBatch)
        self.published.append((topic, event, headers))
        return 0, len(self.published) - 1


def batches_of(rows: int, rows_per_batch: int) -> list[HistoryImportBatch]:
    lines = [f"R{n},contact,2026-05-01,,,{VALID_NHS_NUMBER},,,," for n in range(rows)]
    events, _ = parse_export(export(*lines), "mosaic", AT)
    return in_batches(events, "mosaic", rows_per_batch)


def test_an_import_is_published_at_its_pace_with_the_source_system_as_sender() -> None:
    time = FakeClock()
    publisher = FakePublisher()

    published = publish_paced(
        batches_of(40, 10),
        publisher,
        "fd.intake.history-import-batches",
        lambda: len(publisher.published),  # a worker that keeps up
        rows_per_second=20,
        sleep=time.sleep,
        clock=time.clock,
    )

    assert published == 40
    assert time.now == 2.0  # 40 rows at 20 a second
    assert [headers for _, _, headers in publisher.published] == [{SENDER_HEADER: "mosaic"}] * 4


def test_an_import_waits_while_the_worker_has_too_many_of_its_batches_unread() -> None:
    time = FakeClock()
    publisher = FakePublisher()
    lines: list[str] = []

    def worker_reads_one_batch_a_second() -> int:
        return int(time.now)

    publish_paced(
        batches_of(50, 10),
        publisher,
        "fd.intake.history-import-batches",
        worker_reads_one_batch_a_second,
        rows_per_second=0,
        batches_ahead=2,
        progress=lines.append,
        sleep=time.sleep,
        clock=time.clock,
    )

    assert len(publisher.published) == 5
    assert time.now == 3.0  # the last batches waited for the worker, a second at a time
    assert "waiting for the worker to read the import: 3 batch(es) unread" in lines


def test_the_workers_position_is_asked_only_when_the_import_may_be_too_far_ahead() -> None:
    time = FakeClock()
    publisher = FakePublisher()
    asked: list[int] = []

    def worker_that_keeps_up() -> int:
        asked.append(len(publisher.published))
        return len(publisher.published)

    publish_paced(
        batches_of(100, 10),
        publisher,
        "fd.intake.history-import-batches",
        worker_that_keeps_up,
        rows_per_second=0,
        batches_ahead=4,
        sleep=time.sleep,
        clock=time.clock,
    )

    assert len(publisher.published) == 10
    # Once after the fifth batch (0 read then, as far as the import knew), and again after the
    # tenth: each reading showed the worker caught up, good for four batches more.
    assert asked == [5, 10]
    assert time.now == 0.0
