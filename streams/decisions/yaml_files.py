"""Reading the YAML files an authority edits (the rules file, the term dates), keeping lines.

Both are read with PyYAML's composer rather than ``safe_load``, so that each node keeps its line
and every problem can be reported as ``file:line: message`` a council officer can act on. Pure
apart from reading the file.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from yaml.nodes import Node

from schemas.errors import ConfigurationError

__all__ = ["compose_file"]


def compose_file(path: Path, what: str) -> Node:
    """The YAML node tree of the file at ``path``; ``what`` names it in errors ("the rules
    file"). A missing, unreadable, malformed or empty file is a ``ConfigurationError``."""
    file = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigurationError(f"{file}: {what} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"{file}: {what} cannot be read: {exc}") from exc
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        problem = " ".join(filter(None, (exc.context, exc.problem)))
        raise ConfigurationError(f"{file}:{line}: not valid YAML: {problem}") from exc
    except yaml.YAMLError as exc:
        raise ConfigurationError(f"{file}:1: not valid YAML: {exc}") from exc
    if root is None:
        raise ConfigurationError(f"{file}:1: {what} is empty")
    return root
