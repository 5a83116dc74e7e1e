"""The pure half of the police CSV import: text in, notifications and rejected rows out.

Owns reading cells (dates, yes/no, the enumerations), the column table, turning a row into a
one-child notification, merging the rows of a ``notification_id`` into one notification and every
reason a row is rejected. No store and no broker: the same text always gives the same result. The
file's layout is described in :mod:`connectors.police_csv`.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from pydantic import ValidationError

from schemas.models import AdultRole, DashRiskLevel, IncidentType, PoliceNotification
from schemas.wire import MAX_MESSAGE_BYTES
from streams.decisions.ids import derived_id

REQUIRED_COLUMNS = ("notification_id", "incident_type")

_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_WHOLE = re.compile(r"^-?[0-9]{1,9}$")
_YES = "yes"
_NO = "no"

Converter = Callable[[str, str], object]


@dataclass(frozen=True)
class RowProblem:
    """Why one row of the export was not imported (row 2 is the first data row)."""

    row: int
    reason: str


@dataclass(frozen=True)
class ParseResult:
    """The usable notifications (with the rows each came from) and every rejected row."""

    notifications: list[tuple[list[int], PoliceNotification]]
    problems: list[RowProblem]
    rejected_notifications: list[str]  # notification_id of each notification not usable


# ---------------------------------------------------------------------------------------------
# Cells.


def _text(_column: str, text: str) -> str:
    return text


def _moment(column: str, text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"{column} is not an ISO 8601 date and time (e.g. 2026-11-24T22:15:00+00:00)"
        ) from None
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{column} has no UTC offset (e.g. 2026-11-24T22:15:00+00:00)")
    if not 1900 <= value.year <= 2999:
        raise ValueError(f"{column} is not a date and time between the years 1900 and 2999")
    return value


def _day(column: str, text: str) -> date:
    problem = f"{column} is not a YYYY-MM-DD date"
    if not _DATE.match(text):  # date.fromisoformat also reads 20261124 and 2026-W48-2
        raise ValueError(problem)
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(problem) from None


def _yes_no(column: str, text: str) -> bool:
    answer = text.casefold()
    if answer not in (_YES, _NO):
        raise ValueError(f"{column} is not yes, no or blank")
    return answer == _YES


def _whole(column: str, text: str) -> int:
    if not _WHOLE.match(text):
        raise ValueError(f"{column} is not a whole number")
    return int(text)


def _one_of(kind: type[StrEnum]) -> Converter:
    allowed = ", ".join(member.value for member in kind)

    def convert(column: str, text: str) -> StrEnum:
        try:
            return kind(text)
        except ValueError:
            raise ValueError(f"{column} is not one of: {allowed}") from None

    return convert


# Where each column goes in the event: "" (the notification), "location" or "child"; the field;
# how its text is read.
_INCIDENT = ""
_LOCATION = "location"
_CHILD = "child"
_COLUMNS: dict[str, tuple[str, str, Converter]] = {
    "police_reference": (_INCIDENT, "police_reference", _text),
    "force": (_INCIDENT, "force", _text),
    "occurred_at": (_INCIDENT, "occurred_at", _moment),
    "reported_at": (_INCIDENT, "reported_at", _moment),
    "location_line1": (_LOCATION, "line1", _text),
    "location_town": (_LOCATION, "town", _text),
    "location_postcode": (_LOCATION, "postcode", _text),
    "incident_type": (_INCIDENT, "incident_type", _one_of(IncidentType)),
    "dash_risk_level": (_INCIDENT, "dash_risk_level", _one_of(DashRiskLevel)),
    "dash_score": (_INCIDENT, "dash_score", _whole),
    "victim_role": (_INCIDENT, "victim_role", _one_of(AdultRole)),
    "perpetrator_role": (_INCIDENT, "perpetrator_role", _one_of(AdultRole)),
    "marac_referral_made": (_INCIDENT, "marac_referral_made", _yes_no),
    "circumstances": (_INCIDENT, "circumstances", _text),
    "child_given_name": (_CHILD, "given_name", _text),
    "child_family_name": (_CHILD, "family_name", _text),
    "child_date_of_birth": (_CHILD, "date_of_birth", _day),
    "child_nhs_number": (_CHILD, "nhs_number", _text),
    "child_school_urn": (_CHILD, "school_urn", _text),
    "child_school_name": (_CHILD, "school_name", _text),
    "child_present": (_CHILD, "present", _yes_no),
    "child_present_location": (_CHILD, "present_location", _text),
    "child_spoken_to": (_CHILD, "spoken_to", _yes_no),
    "child_voice": (_CHILD, "child_voice", _text),
    "child_injuries": (_CHILD, "injuries", _text),
    "child_relationship_to_perpetrator": (
        _CHILD,
        "relationship_to_perpetrator",
        _one_of(AdultRole),
    ),
}
COLUMNS: tuple[str, ...] = ("notification_id", *_COLUMNS)
INCIDENT_COLUMNS: tuple[str, ...] = tuple(
    column for column, (part, _, _) in _COLUMNS.items() if part != _CHILD
)


def _location_of_error(part: str, name: str) -> tuple[str | int, ...]:
    if part == _CHILD:
        return ("children", 0, name)
    if part == _LOCATION:
        return ("location", name)
    return (name,)


_COLUMN_OF_ERROR = {
    _location_of_error(part, name): column for column, (part, name, _) in _COLUMNS.items()
}


def police_event_id(force: str, notification_id: str) -> str:
    """The event id of a force's notification: the same on every run (case and spacing of the
    force's name do not matter)."""
    return derived_id("police", " ".join(force.split()).casefold(), notification_id)


def _same_force(a: str, b: str) -> bool:
    return " ".join(a.split()).casefold() == " ".join(b.split()).casefold()


# ---------------------------------------------------------------------------------------------
# Rows and notifications.


class _RowRejectedError(ValueError):
    """A row that cannot be used; the message names the column(s)."""


@dataclass(frozen=True)
class _Row:
    number: int
    notification_id: str
    reason: str | None = None
    incident: Mapping[str, object] | None = None
    event: PoliceNotification | None = None


def _parse_row(
    cells: Mapping[str, str], *, event_id: str, force: str, received_at: datetime
) -> tuple[dict[str, object], PoliceNotification]:
    """A row as its incident values (for the agreement check) and a one-child notification."""
    values: dict[str, object] = {}
    errors: list[str] = []
    for column, (_, _, convert) in _COLUMNS.items():
        text = cells.get(column, "")
        if not text:
            if column in REQUIRED_COLUMNS:
                errors.append(f"{column} is empty")
            values[column] = None
            continue
        try:
            values[column] = convert(column, text)
        except ValueError as exc:
            errors.append(str(exc))
    named = values["force"]
    if isinstance(named, str) and not _same_force(named, force):
        errors.append("force is not the force this file is imported for")
    values["force"] = named or force
    if errors:
        raise _RowRejectedError("; ".join(errors))
    data: dict[str, object] = {"event_id": event_id, "received_at": received_at}
    location: dict[str, object] = {}
    child: dict[str, object] = {}
    for column, (part, name, _) in _COLUMNS.items():
        value = values[column]
        if value is not None:
            {_INCIDENT: data, _LOCATION: location, _CHILD: child}[part][name] = value
    if location:
        data["location"] = location
    data["children"] = [child]
    try:
        event = PoliceNotification.model_validate(data)
    except ValidationError as exc:
        raise _RowRejectedError(_describe(exc)) from None
    return {column: values[column] for column in INCIDENT_COLUMNS}, event


def _describe(exc: ValidationError) -> str:
    """Every problem pydantic found, by column, never echoing the input."""
    reasons = []
    for error in exc.errors(include_input=False, include_url=False):
        where = _COLUMN_OF_ERROR.get(tuple(error["loc"])) or (
            ".".join(str(part) for part in error["loc"]) or "row"
        )
        reasons.append(f"{where}: {str(error['msg']).removeprefix('Value error, ')}")
    return "; ".join(reasons)


def _numbers(rows: list[_Row]) -> str:
    return ", ".join(str(row.number) for row in rows)


def _notification(
    notification_id: str, rows: list[_Row]
) -> tuple[PoliceNotification | None, list[RowProblem]]:
    """One notification from all its rows, or a problem for each of its rows."""
    bad = [row for row in rows if row.reason is not None]
    if bad:
        rows_were = f"row {_numbers(bad)} was" if len(bad) == 1 else f"rows {_numbers(bad)} were"
        why = (
            f"notification {notification_id} is not imported because its {rows_were} "
            "rejected: a part of a notification would hide a child"
        )
        return None, [RowProblem(row.number, row.reason or why) for row in rows]
    differing = [
        column
        for column in INCIDENT_COLUMNS
        if len({row.incident[column] for row in rows if row.incident is not None}) > 1
    ]
    if differing:
        why = (
            f"rows {_numbers(rows)} of notification {notification_id} disagree on "
            f"{', '.join(differing)}"
        )
        return None, [RowProblem(row.number, why) for row in rows]
    events = [row.event for row in rows if row.event is not None]
    try:
        whole = PoliceNotification.model_validate(
            {
                **events[0].model_dump(exclude={"children"}),
                "children": [child for event in events for child in event.children],
            }
        )
    except ValidationError as exc:
        why = f"notification {notification_id}: {_describe(exc)}"
        return None, [RowProblem(row.number, why) for row in rows]
    # Its JSON is never smaller than its Avro on the wire, so this bound is safe without a codec.
    size = len(whole.model_dump_json().encode("utf-8"))
    if size > MAX_MESSAGE_BYTES:
        why = (
            f"notification {notification_id} is too large to send ({size // 1024} KiB; at most "
            f"{MAX_MESSAGE_BYTES // 1024} KiB): shorten its free text or split its children"
        )
        return None, [RowProblem(row.number, why) for row in rows]
    return whole, []


def _header_problem(header: list[str]) -> str | None:
    if not any(header):
        return "the file has no header row"
    twice = sorted({name for name in header if header.count(name) > 1})
    if twice:
        return f"column(s) named twice: {', '.join(twice)}"
    unknown = [name for name in header if name not in COLUMNS]
    if unknown:
        return f"unknown column(s): {', '.join(unknown)} (the layout is in docs/police-csv.md)"
    missing = [name for name in REQUIRED_COLUMNS if name not in header]
    if missing:
        return f"missing column(s): {', '.join(missing)}"
    return None


def parse_police_csv(text: str, *, force: str, received_at: datetime) -> ParseResult:
    """Every usable notification with its row numbers, and every rejected row with its reason."""
    force = " ".join(force.split())
    if not force:
        raise ValueError("force is empty")
    records = csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""))
    groups: dict[str, list[_Row]] = {}
    loose: list[RowProblem] = []  # rejected rows that belong to no notification
    number = 0  # the last row read, for the row number of a csv.Error
    try:
        header = [name.strip() for name in next(records, [])]
        number = 1
        problem = _header_problem(header)
        if problem:
            return ParseResult([], [RowProblem(1, problem)], [])
        id_at = header.index("notification_id")
        for number, record in enumerate(records, start=2):
            cells = [cell.strip() for cell in record]
            if not any(cells):
                continue
            notification_id = cells[id_at] if id_at < len(cells) else ""
            row = _row(
                number,
                header,
                cells,
                notification_id=notification_id,
                force=force,
                received_at=received_at,
            )
            if notification_id:
                groups.setdefault(notification_id, []).append(row)
            else:
                loose.append(RowProblem(number, row.reason or "notification_id is empty"))
    except csv.Error as exc:
        reason = f"not valid CSV ({exc}): nothing in the file is imported"
        return ParseResult([], [RowProblem(number + 1, reason)], [])
    notifications: list[tuple[list[int], PoliceNotification]] = []
    problems = loose
    rejected: list[str] = []
    for notification_id, rows in groups.items():
        event, row_problems = _notification(notification_id, rows)
        if event is None:
            problems.extend(row_problems)
            rejected.append(notification_id)
        else:
            notifications.append(([row.number for row in rows], event))
    problems.sort(key=lambda problem: problem.row)
    return ParseResult(notifications, problems, rejected)


def _row(
    number: int,
    header: list[str],
    cells: list[str],
    *,
    notification_id: str,
    force: str,
    received_at: datetime,
) -> _Row:
    if len(cells) != len(header):
        reason = f"the row has {len(cells)} cell(s); the header has {len(header)}"
        return _Row(number, notification_id, reason=reason)
    if not notification_id:
        return _Row(number, notification_id, reason="notification_id is empty")
    try:
        incident, event = _parse_row(
            dict(zip(header, cells, strict=True)),
            event_id=police_event_id(force, notification_id),
            force=force,
            received_at=received_at,
        )
    except _RowRejectedError as exc:
        return _Row(number, notification_id, reason=str(exc))
    return _Row(number, notification_id, incident=incident, event=event)
