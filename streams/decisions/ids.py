"""Derived ids: every output's id is a function of its inputs, so a replay produces the same ids.

At-least-once delivery means any step may run twice on the same input; consumers deduplicate on
these ids, which is what makes a redelivery harmless.

A partner's event is identified by its sender *and* its event id: partners choose their own ids
and two of them will collide. Every id derived from a partner event (child events, new child keys,
work items, information requests) therefore includes the sender, so two partners' events that
share an id are two events all the way to the queues. Replaying a topic derives the same ids again.
"""

from __future__ import annotations

import hashlib
import uuid

from schemas.models import Event

_IDS = uuid.UUID("5b0c2a57-6c1e-4d8e-9a51-3f7f0e0c1d20")  # namespace for derived ids


def derived_id(kind: str, *parts: object) -> str:
    """A stable id for an output derived from its inputs (same inputs, same id)."""
    return f"{kind}-{uuid.uuid5(_IDS, '|'.join(str(part) for part in parts))}"


def content_digest(event: Event) -> str:
    """A digest of everything an event says, to tell a redelivery from a reused id."""
    return hashlib.sha256(event.model_dump_json().encode("utf-8")).hexdigest()
