"""Derived ids: every output's id is a function of its inputs, so a replay produces the same ids.

At-least-once delivery means any step may run twice on the same input; consumers deduplicate on
these ids, which is what makes a redelivery harmless.
"""

from __future__ import annotations

import uuid

_IDS = uuid.UUID("5b0c2a57-6c1e-4d8e-9a51-3f7f0e0c1d20")  # namespace for derived ids


def derived_id(kind: str, *parts: object) -> str:
    """A stable id for an output derived from its inputs (same inputs, same id)."""
    return f"{kind}-{uuid.uuid5(_IDS, '|'.join(str(part) for part in parts))}"
