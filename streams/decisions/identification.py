"""Identification of every child in an accepted event, and the missing-information request. Pure.

The identity index is a mapping (a Faust table in the worker, a dict in tests) with three kinds of
entry, all JSON:

* ``nhs:<number>``, ``upn:<upn>``, ``ref:<sender>:<reference>`` -> a child key;
* ``dob:<YYYY-MM-DD>`` -> the child keys filed under that date of birth;
* ``child:<key>`` -> the :class:`KnownChild` record (names, date of birth, postcodes, URNs);
* ``event:<sender>:<event id>`` -> the digest of that event's content, so that a sender reusing
  one of its ids for different content is caught (:class:`EventIdReusedError`) instead of being
  taken for a redelivery and dropped downstream.

:func:`identify` reads the index and returns the updates to write, so the caller owns the I/O. A
field with a data-quality problem is never used for matching. New child keys are derived from the
event id and the child's position, so a replay creates the same key.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, fields
from datetime import date, datetime
from typing import Any

from schemas.errors import EventIdReusedError
from schemas.models import (
    AcceptedEvent,
    Child,
    ChildEvent,
    ChildMatch,
    HistoryImport,
    HistoryImportBatch,
    ImportedHistory,
    ImportedHistoryBatch,
    InformationRequest,
    MatchKind,
    RequestedItem,
    RequestReason,
)
from schemas.quality import check_child
from streams.decisions.identity import (
    KnownChild,
    candidate_keys,
    exact_identifiers,
    known_child_from,
    resolve,
)
from streams.decisions.ids import content_digest, derived_id
from streams.decisions.requests import information_request
from streams.decisions.rules import Rules, missing_information

JsonIndex = Mapping[str, Any]


@dataclass(frozen=True)
class Identified:
    """What identifying one accepted event produced."""

    child_events: list[ChildEvent]
    index_updates: dict[str, Any]
    information_request: InformationRequest | None

    @property
    def outputs(self) -> list[ChildEvent | InformationRequest]:
        """What to publish, in order: each child's event, then the request, if any."""
        request = [self.information_request] if self.information_request else []
        return [*self.child_events, *request]


# Not dataclasses.asdict: it deep-copies every value, and every value is immutable (text, tuples
# of text, a date) - that copying was a quarter of identifying a child.
_KNOWN_CHILD_FIELDS = tuple(field.name for field in fields(KnownChild))


class _Overlay(Mapping[str, Any]):
    """The index as it will be once ``updates`` are written: ``ChainMap(updates, index)``, with
    a quicker ``get``. ChainMap's ``get`` asks ``in`` of each mapping, then looks the key up again,
    through generator frames; identifying a child reads the index several times."""

    def __init__(self, updates: dict[str, Any], index: JsonIndex) -> None:
        self._updates = updates
        self._index = index

    def __getitem__(self, key: str) -> Any:
        if key in self._updates:
            return self._updates[key]
        return self._index[key]

    def get(self, key: str, default: Any = None) -> Any:
        if key in self._updates:
            return self._updates[key]
        return self._index.get(key, default)

    def __iter__(self) -> Iterator[str]:  # in ChainMap's order
        yield from self._index
        yield from (key for key in self._updates if key not in self._index)

    def __len__(self) -> int:
        return sum(1 for _ in self)


def known_child_to_json(known: KnownChild) -> dict[str, Any]:
    data = {name: getattr(known, name) for name in _KNOWN_CHILD_FIELDS}
    data["date_of_birth"] = known.date_of_birth.isoformat() if known.date_of_birth else None
    return data


def known_child_from_json(data: Mapping[str, Any]) -> KnownChild:
    born = data.get("date_of_birth")
    return KnownChild(
        child_key=data["child_key"],
        given_names=tuple(data.get("given_names", ())),
        family_names=tuple(data.get("family_names", ())),
        date_of_birth=date.fromisoformat(born) if born else None,
        postcodes=tuple(data.get("postcodes", ())),
        nhs_number=data.get("nhs_number"),
        unique_pupil_number=data.get("unique_pupil_number"),
        school_urns=tuple(data.get("school_urns", ())),
    )


def _invalid_fields(accepted: AcceptedEvent, index: int) -> set[str]:
    prefix = f"children.{index}."
    return {
        issue.field.removeprefix(prefix)
        for issue in accepted.data_quality_issues
        if issue.field.startswith(prefix)
    }


def identify(accepted: AcceptedEvent, index: JsonIndex, rules: Rules, now: datetime) -> Identified:
    """Resolve every child of the event to a child key; say what information is missing.

    Raises :class:`EventIdReusedError` when the sender used this event id before for other
    content: the first event stands and this one goes to a person.
    """
    updates: dict[str, Any] = {_seen_key(accepted): _remember_content(accepted, index)}
    view = _Overlay(updates, index)
    missing = _missing_items(accepted, rules)
    child_events = []
    for position, child in enumerate(accepted.payload.children):
        match = link_child(
            child,
            sender=accepted.sender,
            invalid=_invalid_fields(accepted, position),
            new_key=derived_id("child", accepted.sender, accepted.event_id, position),
            view=view,
            updates=updates,
        )
        child_events.append(
            ChildEvent(
                event_id=derived_id("ce", accepted.sender, accepted.event_id, position),
                accepted=accepted,
                child_index=position,
                match=match,
                missing_information=missing,
            )
        )
    request = information_request(
        accepted.payload,
        accepted.event_type,
        sender=accepted.sender,
        reason=RequestReason.MISSING_INFORMATION,
        items=missing,
        now=now,
    )
    return Identified(child_events, updates, request)


def _seen_key(accepted: AcceptedEvent) -> str:
    return f"event:{accepted.sender}:{accepted.event_id}"


def _remember_content(accepted: AcceptedEvent, index: JsonIndex) -> str:
    digest = content_digest(accepted.payload)
    earlier = index.get(_seen_key(accepted))
    if earlier is not None and earlier != digest:
        raise EventIdReusedError(
            f"{accepted.sender} used event id {accepted.event_id} before, for different "
            "content; the first event stands",
            event_id=accepted.event_id,
        )
    return digest


def link_child(
    child: Child,
    *,
    sender: str,
    invalid: set[str],
    new_key: str,
    view: Mapping[str, Any],
    updates: dict[str, Any],
) -> ChildMatch:
    """Resolve one child against the index (``view``), adding what to write to ``updates``."""
    # Found once, for the lookups here and the filing below (the NHS number's check digit is not
    # cheap).
    identifiers = exact_identifiers(child, sender, invalid)
    dob_keys = candidate_keys(child, invalid)
    exact = [(key, str(view[key])) for key in identifiers if view.get(key)]
    # Lazy: read only when no exact identifier matched. Children sharing a date of birth grow
    # with the index, and decoding them all for every imported row made a replay slow down as
    # its table grew.
    candidates = (
        known_child_from_json(known)
        for dob_key in dob_keys
        for child_key in view.get(dob_key) or []
        if (known := view.get(f"child:{child_key}"))
    )
    match = resolve(
        child, exact_matches=exact, candidates=candidates, new_key=new_key, invalid_fields=invalid
    )
    if match.kind is not MatchKind.POSSIBLE:
        # A possible match is linked for this event only: merging its identifiers into the other
        # child's record would make a wrong guess look confirmed next time.
        _file(
            updates,
            view,
            child=child,
            child_key=match.child_key,
            invalid=invalid,
            identifiers=identifiers,
            dob_keys=dob_keys,
        )
    return ChildMatch(
        child_key=match.child_key, kind=match.kind, score=match.score, reason=match.reason[:500]
    )


def identify_import(
    imported: HistoryImport, index: JsonIndex
) -> tuple[ImportedHistory, dict[str, Any]]:
    """Identify the child of one history record from a case-management export."""
    updates: dict[str, Any] = {}
    view = _Overlay(updates, index)
    invalid = {
        issue.field.split(".", 1)[1]
        for issue in check_child("child", imported.child, imported.imported_at.date(), None)
    }
    match = link_child(
        imported.child,
        sender=imported.source_system,
        invalid=invalid,
        new_key=derived_id("child", imported.event_id, 0),
        view=view,
        updates=updates,
    )
    result = ImportedHistory(
        event_id=imported.event_id,
        match=match,
        record=imported.record,
        imported_at=imported.imported_at,
    )
    return result, updates


def identify_import_batch(
    batch: HistoryImportBatch, index: JsonIndex, partition_of: Callable[[str], int]
) -> tuple[list[ImportedHistoryBatch], dict[str, Any]]:
    """Identify every row of a batch, in order; group the results by their children's partition.

    A row sees the index as the rows before it left it, so two rows about one new child in a
    batch find one child. ``partition_of(child_key)`` names the partition a child's history lives
    in; each output batch holds the records of one partition, in the rows' order, and is keyed by
    its first child (so it is published to that partition).
    """
    updates: dict[str, Any] = {}
    view = _Overlay(updates, index)
    by_partition: dict[int, list[ImportedHistory]] = {}
    for row in batch.rows:
        identified, row_updates = identify_import(row, view)
        updates.update(row_updates)
        by_partition.setdefault(partition_of(identified.match.child_key), []).append(identified)
    outputs = [
        ImportedHistoryBatch(event_id=derived_id("ihb", batch.event_id, partition), records=records)
        for partition, records in sorted(by_partition.items())
    ]
    return outputs, updates


def _file(
    updates: dict[str, Any],
    view: Mapping[str, Any],
    *,
    child: Child,
    child_key: str,
    invalid: set[str],
    identifiers: list[str],
    dob_keys: list[str],
) -> None:
    """Record what this event says of the child in the index (new or confirmed children), under
    its :func:`exact_identifiers` and :func:`candidate_keys`."""
    previous_json = view.get(f"child:{child_key}")
    previous = known_child_from_json(previous_json) if previous_json else None
    known = known_child_from(child, child_key, invalid, previous)
    if known != previous:  # most confirmations add nothing: no write, no changelog record
        updates[f"child:{child_key}"] = known_child_to_json(known)
    for key in identifiers:
        if not view.get(key):
            updates[key] = child_key
    for dob_key in dob_keys[:1]:  # filed under its own date only
        filed = list(view.get(dob_key) or [])
        if child_key not in filed:
            updates[dob_key] = [*filed, child_key]


def _missing_items(accepted: AcceptedEvent, rules: Rules) -> list[RequestedItem]:
    return [
        RequestedItem(
            field=item.field,
            code="MI-" + "-".join(item.item.upper().split()),
            message=item.message,
        )
        for item in missing_information(rules, accepted.payload)
    ]
