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
_IDS_BYTES = _IDS.bytes


def derived_id(kind: str, *parts: object) -> str:
    """A stable id for an output derived from its inputs (same inputs, same id).

    The id is ``kind`` and ``uuid.uuid5(_IDS, "|".join(str(part) for part in parts))``, computed
    as uuid5 does (RFC 4122: SHA-1 of namespace and name, version and variant bits set) without
    building a ``uuid.UUID``, whose checks and formatting were over half the cost of an id; every
    event routed derives several.
    """
    name = "|".join(map(str, parts)).encode("utf-8")
    # SHA-1 because uuid5 is defined with it: these ids are names, not a security measure.
    digest = bytearray(hashlib.sha1(_IDS_BYTES + name, usedforsecurity=False).digest()[:16])
    digest[6] = digest[6] & 0x0F | 0x50  # version 5
    digest[8] = digest[8] & 0x3F | 0x80  # the RFC 4122 variant
    text = digest.hex()
    return f"{kind}-{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def content_digest(event: Event) -> str:
    """A digest of everything an event says, to tell a redelivery from a reused id."""
    return hashlib.sha256(event.model_dump_json().encode("utf-8")).hexdigest()
