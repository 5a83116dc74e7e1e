"""The school directory: open schools from a GIAS CSV are known; a malformed file stops start-up."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from schemas.errors import ConfigurationError
from schemas.quality import data_quality_issues
from streams.decisions.schools import (
    DEFAULT_DIRECTORY,
    School,
    load_directory,
    load_safeguarding_leads,
)
from tests.helpers import contact

HEADER = "URN,LA (name),EstablishmentName,EstablishmentStatus (name),PhaseOfEducation (name)"
CLOSED_URN = "990018"  # Stonebridge Academy, "Closed" in the shipped synthetic file


def write_csv(directory: Path, *lines: str, name: str = "schools.csv", bom: bool = False) -> Path:
    """A small GIAS-style CSV, UTF-8 (with a byte-order mark if asked, as Excel writes them)."""
    path = directory / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8-sig" if bom else "utf-8")
    return path


def test_the_shipped_synthetic_directory_loads_its_open_schools() -> None:
    directory = load_directory()

    assert "990001" in directory
    assert "990020" in directory
    assert "990021" in directory  # a sixth-form college
    assert len(directory) == 20


def test_a_closed_school_is_not_in_the_directory() -> None:
    assert f"{CLOSED_URN},999,Synthetic County,Stonebridge Academy" in DEFAULT_DIRECTORY.read_text(
        encoding="utf-8"
    )
    assert CLOSED_URN not in load_directory()
    assert CLOSED_URN in load_directory().closed


def test_a_closed_schools_urn_is_a_data_quality_issue() -> None:
    event = contact()
    closed = event.children[0].model_copy(update={"school_urn": CLOSED_URN})
    event = event.model_copy(update={"children": [closed]})

    issues = data_quality_issues(event, load_directory())

    assert [(i.field, i.code) for i in issues] == [
        ("children.0.school_urn", "DQ-SCHOOL-URN-UNKNOWN")
    ]


def test_a_school_keeps_its_details() -> None:
    assert load_directory().schools["990001"] == School(
        urn="990001",
        name="Oakfield Primary School",
        phase="Primary",
        la_name="Synthetic County",
        low_age=4,
        high_age=11,
        postcode="ZZ0 0ZZ",
    )


def test_a_gias_file_with_a_byte_order_mark_loads(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path,
        HEADER,
        "990101,Synthetic County,Orchard Primary School,Open,Primary",
        "990102,Synthetic County,Quarry Hill School,Closed,Secondary",
        '990103,Synthetic County,Tollgate Academy,"Open, but proposed to close",Secondary',
        "990104,Synthetic County,Newmarsh Free School,Proposed to open,Primary",
        bom=True,
    )

    directory = load_directory(path)

    assert sorted(directory.schools) == ["990101", "990103"]
    assert directory.schools["990101"].name == "Orchard Primary School"


def test_optional_columns_may_be_absent(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path, "URN,EstablishmentName,EstablishmentStatus (name)", "990101,Orchard,Open"
    )

    school = load_directory(path).schools["990101"]

    assert (school.phase, school.la_name, school.postcode) == ("", "", "")
    assert (school.low_age, school.high_age) == (None, None)


@pytest.mark.parametrize("column", ["URN", "EstablishmentName", "EstablishmentStatus (name)"])
def test_a_file_missing_a_required_column_fails_naming_it(tmp_path: Path, column: str) -> None:
    columns = [c for c in ("URN", "EstablishmentName", "EstablishmentStatus (name)") if c != column]
    path = write_csv(tmp_path, ",".join(columns), ",".join("x" for _ in columns))

    with pytest.raises(ConfigurationError, match=re.escape(f"missing column(s) {column}")):
        load_directory(path)


def test_a_non_numeric_urn_fails_naming_the_line(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path,
        HEADER,
        "990101,Synthetic County,Orchard Primary School,Open,Primary",
        "URN-2,Synthetic County,Quarry Hill School,Open,Secondary",
        bom=True,
    )

    with pytest.raises(ConfigurationError, match=re.escape(f"{path}:3: URN is not a number")):
        load_directory(path)


def test_a_missing_file_is_a_configuration_error(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-directory.csv"

    with pytest.raises(ConfigurationError, match=re.escape(str(missing))) as raised:
        load_directory(missing)

    assert isinstance(raised.value.__cause__, FileNotFoundError)


def test_a_directory_instead_of_a_file_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="cannot read the school directory"):
        load_directory(tmp_path)


def test_a_gias_download_in_windows_1252_loads_with_its_accents(tmp_path: Path) -> None:
    path = tmp_path / "edubasealldata.csv"
    text = (
        "URN,EstablishmentName,EstablishmentStatus (name)\n990031,St Chad\u2019s \u00c9cole,Open\n"
    )
    path.write_bytes(text.encode("cp1252"))

    directory = load_directory(path)

    assert directory.schools["990031"].name == "St Chad\u2019s \u00c9cole"


def test_a_short_row_reads_its_missing_cells_as_empty(tmp_path: Path) -> None:
    path = tmp_path / "short.csv"
    path.write_text("URN,EstablishmentStatus (name),EstablishmentName,Postcode\n990032,Open\n")

    assert load_directory(path).schools["990032"].name == ""


def test_the_shipped_safeguarding_leads_name_a_lead_for_every_open_school_but_one() -> None:
    directory = load_directory().with_leads(load_safeguarding_leads())

    without = sorted(urn for urn in directory.schools if urn not in directory.leads)
    assert without == ["990019"]  # kept without one, to show the task it makes
    lead = directory.leads["990001"]
    assert lead.email.endswith(".sch.example")
    assert lead.email not in repr(lead)


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (["URN,Name"], "missing column"),
        (["URN,Name,Email", "99x001,A Lead,a@b.example"], ":2: URN is not a number"),
        (["URN,Name,Email", "990001,A Lead,"], ":2: Email is not an e-mail address"),
        (
            ["URN,Name,Email", "990001,A Lead,a@b.example", "990001,B Lead,b@b.example"],
            ":3: URN 990001 is listed twice",
        ),
    ],
)
def test_a_malformed_leads_file_stops_start_up_naming_file_and_line(
    tmp_path: Path, lines: list[str], message: str
) -> None:
    path = tmp_path / "leads.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    with pytest.raises(ConfigurationError, match=message):
        load_safeguarding_leads(path)
