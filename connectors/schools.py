"""The school directory, read from a "Get Information About Schools" (GIAS) establishment file.

Only open establishments count as known: a URN of a closed school in a notification is a
data-quality problem to ask about. The CSV carries no safeguarding-lead contact; that comes
from a local file (a later connector). A small synthetic directory ships as the default.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from streams.errors import ConfigurationError

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
    return int(text) if text.strip().isdigit() else None


def load_directory(path: Path = DEFAULT_DIRECTORY) -> SchoolDirectory:
    """Read the open establishments of a GIAS CSV; a malformed file fails at start-up, by line."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                raise ConfigurationError(f"{path}: missing column(s) {', '.join(missing)}")
            schools: dict[str, School] = {}
            for row in reader:
                urn = (row["URN"] or "").strip()
                if not urn.isdigit():
                    raise ConfigurationError(f"{path}:{reader.line_num}: URN is not a number")
                if (row["EstablishmentStatus (name)"] or "").strip().lower().startswith("open"):
                    schools[urn] = School(
                        urn=urn,
                        name=row["EstablishmentName"].strip(),
                        phase=(row.get("PhaseOfEducation (name)") or "").strip(),
                        la_name=(row.get("LA (name)") or "").strip(),
                        low_age=_age(row.get("StatutoryLowAge") or ""),
                        high_age=_age(row.get("StatutoryHighAge") or ""),
                        postcode=(row.get("Postcode") or "").strip(),
                    )
    except OSError as exc:
        raise ConfigurationError(f"cannot read the school directory {path}") from exc
    return SchoolDirectory(schools)
