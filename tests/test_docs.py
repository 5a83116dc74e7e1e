"""The docs say what the code does: the published id table and the error codes."""

from __future__ import annotations

import re
from pathlib import Path

from schemas import contract, errors

ROOT = Path(__file__).resolve().parent.parent
CONTRACTS = (ROOT / "docs" / "contracts.md").read_text(encoding="utf-8")


def test_the_published_schema_id_table_matches_the_registry() -> None:
    rows = set(re.findall(r"^\| (\d+) \| ([\w.]+) \| (\d+) \| (\S+) \|$", CONTRACTS, re.MULTILINE))
    expected = {
        (str(e.schema_id), e.name, str(e.version), f"schemas/avro/{e.file}")
        for e in contract.released()
    }
    assert rows == expected


def test_every_unusable_event_code_is_documented() -> None:
    unusable = [errors.UnusableEventError]
    codes = set()
    while unusable:
        cls = unusable.pop()
        unusable.extend(cls.__subclasses__())
        if cls is not errors.UnusableEventError:
            codes.add(cls.code)
    assert {code for code in codes if f"`{code}`" not in CONTRACTS} == set()


def test_every_data_quality_code_is_documented() -> None:
    source = (ROOT / "schemas" / "quality.py").read_text(encoding="utf-8")
    codes = set(re.findall(r'"(DQ-[A-Z-]+)"', source))
    assert codes
    assert {code for code in codes if f"`{code}`" not in CONTRACTS} == set()


def test_the_readme_opens_with_the_two_commands() -> None:
    opening = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()[:15]
    assert any("make run" in line for line in opening)
    assert any("make test" in line for line in opening)


def test_the_example_events_in_the_readme_are_valid_contracts() -> None:
    from schemas.models import Contact, PoliceNotification  # noqa: PLC0415

    Contact.model_validate_json((ROOT / "examples" / "contact.json").read_bytes())
    PoliceNotification.model_validate_json(
        (ROOT / "examples" / "police-notification-with-a-typo.json").read_bytes()
    )
