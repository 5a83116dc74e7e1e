"""The import rules (``[tool.importlinter]`` in pyproject.toml) hold, and would catch a breach.

``make test`` runs ``lint-imports`` on the tree; these tests prove the contracts are not vacuous:
a copy of the tree with one decision module importing Faust, or the contracts package importing
the platform, fails the check and names the broken contract.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("connectors", "agents", "streams", "schemas")
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint_copy(tmp_path: Path, breach: tuple[str, str] | None) -> subprocess.CompletedProcess[str]:
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("*.pyc"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    if breach is not None:
        module, source = breach
        (tmp_path / module).write_text(source, encoding="utf-8")
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--config", "pyproject.toml"],
        cwd=tmp_path,
        env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_the_tree_keeps_every_import_rule(tmp_path: Path) -> None:
    result = _lint_copy(tmp_path, breach=None)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "source", "contract"),
    [
        ("streams/decisions/breach.py", "import faust\n", "Decisions and contracts are pure"),
        ("streams/decisions/breach.py", "import kafka\n", "Decisions and contracts are pure"),
        (
            "streams/decisions/breach.py",
            "from streams.platform import topics\n",
            "Imports run downward",
        ),
        ("schemas/breach.py", "import agents.runtime\n", "Imports run downward"),
        ("agents/breach.py", "import connectors.gateway\n", "Imports run downward"),
    ],
)
def test_an_upward_or_impure_import_breaks_a_contract(
    tmp_path: Path, module: str, source: str, contract: str
) -> None:
    result = _lint_copy(tmp_path, breach=(module, source))
    assert result.returncode == 1, result.stdout + result.stderr
    broken = [line for line in result.stdout.splitlines() if "BROKEN" in line or contract in line]
    assert any(contract in line for line in broken), result.stdout
    assert module.removesuffix(".py").replace("/", ".") in result.stdout
