"""Importing children's existing history from a case-management export, so day one is not blank.

The export is a CSV file, one record of a child's past per row, UTF-8 (a BOM is fine). Columns
(header names exact; order free; extra columns ignored):

==================  ========  ==============================================================
column              required  meaning
==================  ========  ==============================================================
source_record_id    yes       the system's own id of the record; re-importing is idempotent
record_type         yes       contact, referral, domestic_abuse_incident, child_in_need_plan,
                              child_protection_plan, looked_after, early_help,
                              strategy_discussion
started_on          yes       YYYY-MM-DD: the contact's date, a plan's start, the discussion
ended_on            no        YYYY-MM-DD: when a plan ended (blank: still open)
outcome             no        the system's outcome code (no free text)
nhs_number          *         the child's NHS number
given_name          *         the child's names and date of birth (YYYY-MM-DD)
family_name         *
date_of_birth       *
postcode            no
unique_pupil_number no
==================  ========  ==============================================================

\\* a row needs an NHS number, or given name, family name and date of birth, to find the child.

:func:`parse_export` is pure: it returns the events to publish and a problem per rejected row,
by row number, so a person can correct the export and run it again. :func:`in_batches` packs the
events into the messages published, :data:`ROWS_PER_BATCH` rows each: a replay of millions of rows
pays the broker's and the worker's per-message work once a batch, not once a row.
:func:`publish_paced` keeps an import from getting ahead of the worker, so live work is not held
up behind it.
"""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

from pydantic import ValidationError

from schemas.models import (
    MAX_ROWS_PER_IMPORT_BATCH,
    Address,
    Child,
    Event,
    HistoryImport,
    HistoryImportBatch,
    HistoryRecord,
    HistoryRecordType,
)
from schemas.wire import SENDER_HEADER
from streams.decisions.ids import derived_id
from streams.platform.codec import first_error

REQUIRED_COLUMNS = ("source_record_id", "record_type", "started_on")
#: Rows a published message carries. Identifying a batch holds the worker for about 60 ms (live
#: events wait at most that at each hop; 500 rows held it 300 ms, with no faster replay), and a
#: batch that fails goes to a person whole.
ROWS_PER_BATCH = 100
#: Batches an import may be ahead of what the worker has read: a few seconds of its work.
BATCHES_AHEAD = 20


@dataclass(frozen=True)
class RowProblem:
    """Why one row of the export was not imported (row 2 is the first data row)."""

    row: int
    reason: str


def _date(text: str, column: str) -> date | None:
    text = text.strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{column} is not a YYYY-MM-DD date") from None


def _row_to_event(row: dict[str, str], source_system: str, imported_at: datetime) -> HistoryImport:
    def cell(column: str) -> str:
        return (row.get(column) or "").strip()

    record_id = cell("source_record_id")
    if not record_id:
        raise ValueError("source_record_id is empty")
    try:
        record_type = HistoryRecordType(cell("record_type"))
    except ValueError:
        raise ValueError(f"record_type {cell('record_type')!r} is not a known type") from None
    started_on = _date(cell("started_on"), "started_on")
    if started_on is None:
        raise ValueError("started_on is empty")
    ended_on = _date(cell("ended_on"), "ended_on")
    if ended_on is not None and ended_on < started_on:
        raise ValueError("ended_on is before started_on")
    born = _date(cell("date_of_birth"), "date_of_birth")
    names = cell("given_name") and cell("family_name")
    if not cell("nhs_number") and not (names and born):
        raise ValueError("no NHS number, nor given name, family name and date of birth")
    child = Child(
        given_name=cell("given_name") or None,
        family_name=cell("family_name") or None,
        date_of_birth=born,
        nhs_number=cell("nhs_number") or None,
        unique_pupil_number=cell("unique_pupil_number") or None,
        address=Address(postcode=cell("postcode")) if cell("postcode") else None,
    )
    return HistoryImport(
        event_id=derived_id("hist", source_system, record_id),
        source_system=source_system,
        source_record_id=record_id,
        child=child,
        record=HistoryRecord(
            record_type=record_type,
            started_on=started_on,
            ended_on=ended_on,
            outcome=cell("outcome") or None,
        ),
        imported_at=imported_at,
    )


def parse_export(
    text: str, source_system: str, imported_at: datetime
) -> tuple[list[HistoryImport], list[RowProblem]]:
    """Every usable row as an event, and every unusable one with its row number and reason."""
    reader = csv.DictReader(io.StringIO(text.removeprefix("\ufeff"), newline=""))
    missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        return [], [RowProblem(1, f"missing column(s): {', '.join(missing)}")]
    events: list[HistoryImport] = []
    problems: list[RowProblem] = []
    try:
        for row in reader:
            try:
                events.append(_row_to_event(row, source_system, imported_at))
            except ValidationError as exc:
                field, message = first_error(exc)
                problems.append(RowProblem(reader.line_num, f"{field or 'row'}: {message}"))
            except ValueError as exc:
                problems.append(RowProblem(reader.line_num, str(exc)))
    except csv.Error as exc:
        problems.append(RowProblem(reader.line_num, f"not valid CSV ({exc})"))
    return events, problems


def in_batches(
    events: Sequence[HistoryImport], source_system: str, rows_per_batch: int = ROWS_PER_BATCH
) -> list[HistoryImportBatch]:
    """The events in consecutive batches of ``rows_per_batch``, in the export's order.

    A batch's id is derived from its rows' ids, so the same file, imported again with the same
    batch size, publishes the same batches (and every row keeps its own id either way).
    """
    if not 1 <= rows_per_batch <= MAX_ROWS_PER_IMPORT_BATCH:
        raise ValueError(f"a batch carries 1 to {MAX_ROWS_PER_IMPORT_BATCH} rows")
    chunks = (
        events[start : start + rows_per_batch] for start in range(0, len(events), rows_per_batch)
    )
    return [
        HistoryImportBatch(
            event_id=derived_id("hist-batch", source_system, *(row.event_id for row in chunk)),
            source_system=source_system,
            rows=list(chunk),
        )
        for chunk in chunks
    ]


class ImportPublisher(Protocol):
    """Where batches go: :class:`streams.platform.publisher.Publisher` in the command line."""

    def publish(
        self, topic: str, event: Event, *, headers: Mapping[str, str] | None = None
    ) -> tuple[int, int]: ...


def publish_paced(
    batches: Sequence[HistoryImportBatch],
    publisher: ImportPublisher,
    topic: str,
    read_position: Callable[[], int],
    *,
    rows_per_second: float,
    batches_ahead: int = BATCHES_AHEAD,
    progress: Callable[[str], None] = lambda _line: None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> int:
    """Publish ``batches`` at most ``rows_per_second`` (0: unpaced), never more than
    ``batches_ahead`` batches ahead of ``read_position()`` (the worker's committed offset on the
    topic, which has one partition). Returns the rows published.

    A worker with a backlog of history holds a child's live contact up for seconds at every hop
    (measured: 4-6 s end to end once an import outran the worker, 9-19 s with the whole import
    waiting); paced, live work keeps its usual latency. The pace alone is not enough, because
    identification slows as the index grows; the read position keeps the import behind the
    worker whatever its speed. Without a worker the import waits, saying so.
    """
    published = 0
    started = clock()
    # The worker's position as last read. It only moves forward, so it is read again only when
    # the last reading leaves the import too far ahead: each reading is a round trip to the
    # broker (the command line's asks the group coordinator over a new connection).
    position = 0
    for batch in batches:
        _partition, offset = publisher.publish(
            topic, batch, headers={SENDER_HEADER: batch.source_system}
        )
        published += len(batch.rows)
        progress(f"imported {published} record(s)")
        if rows_per_second > 0:
            sleep(max(0.0, published / rows_per_second - (clock() - started)))
        while offset + 1 - position > batches_ahead:
            position = read_position()
            if (unread := offset + 1 - position) > batches_ahead:
                progress(f"waiting for the worker to read the import: {unread} batch(es) unread")
                sleep(1.0)
    return published
