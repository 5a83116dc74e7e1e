"""The school directory, read from a "Get Information About Schools" (GIAS) establishment file.

Only open establishments count as known: a URN of a closed school in a notification is a
data-quality problem to ask about. The CSV carries no safeguarding-lead contact; that comes
from a local file (a later connector). A small synthetic directory ships as the default.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from schemas.errors import ConfigurationError

DEFAULT_DIRECTORY = Path(__file__).parent / "data" / "schools.csv"
REQUIRED_COLUMNS = ("URN", "EstablishmentName", "EstablishmentStatus (name)")


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
class SchoolDirectory:
    schools: dict[str, School]

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


def load_directory(path: Path = DEFAULT_DIRECTORY) -> SchoolDirectory:
    """Read the open establishments of a GIAS CSV; a malformed file fails at start-up, by line."""
    try:
        text = _read_text(path)
    except OSError as exc:
        raise ConfigurationError(f"cannot read the school directory {path}") from exc
    reader = csv.DictReader(io.StringIO(text, newline=""))
    missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise ConfigurationError(f"{path}: missing column(s) {', '.join(missing)}")
    schools: dict[str, School] = {}
    try:
        for row in reader:
            urn = _text(row, "URN")
            if not (urn.isascii() and urn.isdigit()):
                raise ConfigurationError(f"{path}:{reader.line_num}: URN is not a number")
            if _text(row, "EstablishmentStatus (name)").lower().startswith("open"):
                schools[urn] = School(
                    urn=urn,
                    name=_text(row, "EstablishmentName"),
                    phase=_text(row, "PhaseOfEducation (name)"),
                    la_name=_text(row, "LA (name)"),
                    low_age=_age(_text(row, "StatutoryLowAge")),
                    high_age=_age(_text(row, "StatutoryHighAge")),
                    postcode=_text(row, "Postcode"),
                )
    except csv.Error as exc:
        raise ConfigurationError(f"{path}:{reader.line_num}: not valid CSV") from exc
    return SchoolDirectory(schools)
