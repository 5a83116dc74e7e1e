"""The school directory, read from a "Get Information About Schools" (GIAS) establishment file.

Only open establishments count as known: a URN of a closed school in a notification is a
data-quality problem to ask about; closed ones are remembered as closed, so that a notification
for a pupil of a closed school says so. The GIAS CSV carries no safeguarding-lead contact: that
comes from a separate local file the authority maintains (columns ``URN``, ``Name``, ``Email``:
the school's designated safeguarding lead and their secure e-mail address), read with
:func:`load_safeguarding_leads`. A small synthetic directory and contact list ship as defaults.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from schemas.errors import ConfigurationError

DEFAULT_DIRECTORY = Path(__file__).parent / "data" / "schools.csv"
DEFAULT_SAFEGUARDING_LEADS = Path(__file__).parent / "data" / "safeguarding_leads.csv"
REQUIRED_COLUMNS = ("URN", "EstablishmentName", "EstablishmentStatus (name)")
LEAD_COLUMNS = ("URN", "Name", "Email")


@dataclass(frozen=True)
class School:
    urn: str
    name: str
    phase: str
    la_name: str
    low_age: int | None
    high_age: int | None
    postcode: str


@dataclass(frozen=True)
class SafeguardingLead:
    """A school's designated safeguarding lead: who Operation Encompass notifications go to."""

    urn: str
    name: str
    email: str

    def __repr__(self) -> str:
        # A contact address is not for logs.
        return f"SafeguardingLead(urn={self.urn!r})"


@dataclass(frozen=True)
class SchoolDirectory:
    #: The open establishments, by URN.
    schools: dict[str, School]
    #: URNs of establishments the directory lists as closed.
    closed: frozenset[str] = frozenset()
    #: Each school's designated safeguarding lead, by URN (from the authority's own file).
    leads: Mapping[str, SafeguardingLead] = field(default_factory=dict)

    @cached_property
    def names(self) -> Mapping[str, str]:
        """Each open school's name, by URN (built once: routing asks for every child)."""
        return {urn: school.name for urn, school in self.schools.items()}

    def with_leads(self, leads: Mapping[str, SafeguardingLead]) -> SchoolDirectory:
        return SchoolDirectory(self.schools, self.closed, dict(leads))

    def __contains__(self, urn: object) -> bool:
        return urn in self.schools

    def __len__(self) -> int:
        return len(self.schools)


def _age(text: str) -> int | None:
    text = text.strip()
    return int(text) if text.isascii() and text.isdigit() else None


def _text(row: dict[str, str | None], column: str) -> str:
    """A cell's text; short rows (fewer cells than columns) read as empty."""
    return (row.get(column) or "").strip()


def _read_text(path: Path) -> str:
    """The file's text. GIAS downloads are Windows-1252; a re-saved file may be UTF-8 (with BOM)."""
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace")


def _rows(
    path: Path, columns: tuple[str, ...], what: str
) -> Iterator[tuple[str, str, dict[str, str | None]]]:
    """Each row of the CSV file at ``path`` as (where, URN, row): ``where`` is "file:line" for
    messages. An unreadable file, a missing column, a URN that is not a number or a file that is
    not CSV is a ``ConfigurationError`` naming the file (and line)."""
    try:
        text = _read_text(path)
    except OSError as exc:
        raise ConfigurationError(f"cannot read {what} {path}") from exc
    reader = csv.DictReader(io.StringIO(text, newline=""))
    missing = [c for c in columns if c not in (reader.fieldnames or [])]
    if missing:
        raise ConfigurationError(f"{path}: missing column(s) {', '.join(missing)}")
    try:
        for row in reader:
            where, urn = f"{path}:{reader.line_num}", _text(row, "URN")
            if not (urn.isascii() and urn.isdigit()):
                raise ConfigurationError(f"{where}: URN is not a number")
            yield where, urn, row
    except csv.Error as exc:
        raise ConfigurationError(f"{path}:{reader.line_num}: not valid CSV") from exc


def load_directory(path: Path = DEFAULT_DIRECTORY) -> SchoolDirectory:
    """Read the open establishments of a GIAS CSV; a malformed file fails at start-up, by line."""
    schools: dict[str, School] = {}
    closed: set[str] = set()
    for _, urn, row in _rows(path, REQUIRED_COLUMNS, "the school directory"):
        if not _text(row, "EstablishmentStatus (name)").lower().startswith("open"):
            closed.add(urn)
        else:
            schools[urn] = School(
                urn=urn,
                name=_text(row, "EstablishmentName"),
                phase=_text(row, "PhaseOfEducation (name)"),
                la_name=_text(row, "LA (name)"),
                low_age=_age(_text(row, "StatutoryLowAge")),
                high_age=_age(_text(row, "StatutoryHighAge")),
                postcode=_text(row, "Postcode"),
            )
    # A URN listed both open and closed (a re-opened school) is open.
    return SchoolDirectory(schools, frozenset(closed - set(schools)))


def load_safeguarding_leads(path: Path = DEFAULT_SAFEGUARDING_LEADS) -> dict[str, SafeguardingLead]:
    """The authority's list of designated safeguarding leads, by URN; a malformed file (a missing
    column, a URN that is not a number, a row without an e-mail address, a URN twice) fails at
    start-up naming the file and line."""
    leads: dict[str, SafeguardingLead] = {}
    for where, urn, row in _rows(path, LEAD_COLUMNS, "the safeguarding leads file"):
        email = _text(row, "Email")
        if "@" not in email:
            raise ConfigurationError(f"{where}: Email is not an e-mail address")
        if urn in leads:
            raise ConfigurationError(f"{where}: URN {urn} is listed twice")
        leads[urn] = SafeguardingLead(urn=urn, name=_text(row, "Name"), email=email)
    return leads
