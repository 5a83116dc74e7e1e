"""The publishing half of the police CSV import: each usable notification once, ever.

Owns reading the export file, publishing each notification :mod:`connectors.police_csv.parse`
found usable and remembering its event id (with a digest of its content) in the durable store
(:mod:`connectors.store`) only after the broker acknowledged it, so a second run, also after a
crash, skips it, and a changed re-send is reported instead of published.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from connectors.police_csv.parse import RowProblem, parse_police_csv
from connectors.store import Store, StoredResponse
from schemas.errors import FrontDoorError
from schemas.models import Event, PoliceNotification
from schemas.wire import SENDER_HEADER

IMPORT_KEY_PREFIX = "import:"


@dataclass(frozen=True)
class ImportReport:
    """What an import did: published, skipped (imported before) and rejected."""

    published: int
    skipped_already_imported: int
    rejected: list[RowProblem]
    rejected_notifications: int


class EventPublisher(Protocol):
    """What the importer needs of :class:`streams.platform.publisher.Publisher`."""

    def publish(
        self,
        topic: str,
        event: Event,
        *,
        key: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> tuple[int, int]: ...


def content_digest(notification: PoliceNotification) -> str:
    """A digest of what the force said (not when it was imported), to notice a changed re-send."""
    content = notification.model_dump_json(exclude={"event_id", "received_at", "force"})
    return hashlib.sha256(content.encode("utf-8")).hexdigest()


def read_export(path: Path) -> str:
    """The export's text; a file that cannot be read as UTF-8 is an error."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as file:
            return file.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise FrontDoorError(f"cannot read {path} as UTF-8 text") from exc


def import_police_csv(
    path: Path,
    *,
    publisher: EventPublisher,
    store: Store,
    partner: str,
    topic: str,
    force: str,
    received_at: datetime | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> ImportReport:
    """Publish each usable notification of the file once, ever, and report every rejected row.

    A notification whose event id is remembered for ``partner`` is skipped. If its content
    differs from what was imported then, that is reported against its rows (the event id is
    taken, so the change cannot simply be published). Raises :class:`FrontDoorError` when the
    broker or the store fails; everything acknowledged before is remembered, so running the same
    file again carries on where it stopped.
    """
    parsed = parse_police_csv(
        read_export(path), force=force, received_at=received_at or datetime.now(UTC)
    )
    total = len(parsed.notifications)
    published = skipped = 0
    problems = list(parsed.problems)
    changed = 0
    if progress:
        progress(0, total)
    for done, (rows, notification) in enumerate(parsed.notifications, start=1):
        key = IMPORT_KEY_PREFIX + notification.event_id
        digest = content_digest(notification)
        earlier = store.remembered(partner, key)
        if earlier is None:
            publisher.publish(topic, notification, headers={SENDER_HEADER: partner})
            body = json.dumps(
                {"digest": digest, "imported_at": notification.received_at.isoformat()}
            )
            store.remember(partner, key, StoredResponse(notification.event_id, 202, body))
            published += 1
        elif _digest_of(earlier) == digest:
            skipped += 1
        else:
            changed += 1
            why = (
                f"the notification of row(s) {', '.join(map(str, rows))} differs from the one "
                f"imported {_imported_at(earlier)}; the change is not published (its event id "
                "is taken) and needs a person's attention"
            )
            problems.extend(RowProblem(row, why) for row in rows)
        if progress:
            progress(done, total)
    problems.sort(key=lambda problem: problem.row)
    return ImportReport(
        published=published,
        skipped_already_imported=skipped,
        rejected=problems,
        rejected_notifications=len(parsed.rejected_notifications) + changed,
    )


def _digest_of(stored: StoredResponse) -> str | None:
    try:
        digest = json.loads(stored.body).get("digest")
    except (ValueError, AttributeError):
        return None
    return digest if isinstance(digest, str) else None


def _imported_at(stored: StoredResponse) -> str:
    try:
        when = json.loads(stored.body).get("imported_at")
    except (ValueError, AttributeError):
        when = None
    return f"at {when}" if isinstance(when, str) else "before"
