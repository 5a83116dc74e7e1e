"""The ledger of outcomes: every accepted event reaches an outcome, or a person is told. Pure.

What the front door accepts is followed through three stages, each opened by one record and
closed by the next:

==============  ===========================  =====================  ===============================
stage           opened by                    identified by          closed by
==============  ===========================  =====================  ===============================
intake          a message on an intake       its position (topic,   its ``AcceptedEvent`` (whose
                topic                        partition, offset)     ``source`` is that position or
                                                                    a re-driven copy's), or its
                                                                    dead letter
identification  an ``AcceptedEvent``         sender and event id    a ``ChildEvent`` for each of
                                                                    its children, or a dead letter
routing         a ``ChildEvent``             its id                 its ``Outcome``, or a dead
                                                                    letter
==============  ===========================  =====================  ===============================

A dead letter is an outcome: it becomes a MASH task. Records may be observed in any order (a
reconciliation reads the topics one after another), so the ledger keeps what opened and what
closed apart and compares them only when asked. What is still open after ``redrive_after``, and
which the worker group has already consumed past (its committed position is beyond the message:
the stream processor skipped it, or lost its outputs), is re-driven once: the same bytes
published again; every output's id is derived from its input, so a repeat is harmless. A message
merely queued behind others (a backlog after a restart) is not re-driven: that would double the
backlog. What is still open after ``bound`` is put to a person, once, as a MASH task naming it.

Open entries are dropped when they close; the keys of closed ones are kept, so that a record read
before the one it closes still matches (about 100 bytes an event: some 100 MB for a million, the
ledger's ceiling until it checkpoints what is settled).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from schemas.models import AcceptedEvent, ChildEvent, MashTask, Outcome, TaskKind
from schemas.wire import REDRIVE_HEADER, InboundMessage
from streams.decisions.ids import derived_id

Position = tuple[str, int, int]
#: The error code of the MASH task raised for an entry past its bound.
OVERDUE_CODE = "FD-OUTCOME-OVERDUE"


class Stage(StrEnum):
    INTAKE = "intake"
    IDENTIFICATION = "identification"
    ROUTING = "routing"


@dataclass(frozen=True)
class Waiting:
    """An entry with no outcome yet: where it waits, since when, and the message to re-drive."""

    stage: Stage
    reference: str
    since: datetime
    message: InboundMessage
    sender: str

    def age(self, now: datetime) -> timedelta:
        return now - self.since

    @property
    def redrive_headers(self) -> dict[str, bytes]:
        """The header a re-driven copy carries: the position of the message it repeats."""
        return {REDRIVE_HEADER: position_text(_position(self.message)).encode("utf-8")}


@dataclass(frozen=True)
class Actions:
    """What to do now: messages to publish again, and entries to put to a person."""

    redrive: list[Waiting]
    overdue: list[Waiting]


@dataclass
class _Identification:
    waiting: Waiting
    children: int
    seen: set[int] = field(default_factory=set)


def position_text(position: Position) -> str:
    topic, partition, offset = position
    return f"{topic}:{partition}:{offset}"


def _position_of(text: str) -> Position | None:
    topic, _, rest = text.rpartition(":")
    topic, _, partition = topic.rpartition(":")
    if not (topic and partition.isdigit() and rest.isdigit()):
        return None
    return topic, int(partition), int(rest)


def _position(message: InboundMessage) -> Position:
    return message.topic, message.partition, message.offset


def _since(message: InboundMessage, fallback: datetime) -> datetime:
    if message.timestamp_ms is None or message.timestamp_ms < 0:
        return fallback
    return datetime.fromtimestamp(message.timestamp_ms / 1000, UTC)


class Ledger:
    """Opened and closed entries of the three stages, and what is due about the open ones."""

    def __init__(self) -> None:
        self._intake: dict[Position, Waiting] = {}
        self._intake_closed: set[Position] = set()
        self._copies: dict[Position, Position] = {}  # re-driven copy -> the message it repeats
        self._identification: dict[tuple[str, str], _Identification] = {}
        self._identification_closed: set[tuple[str, str]] = set()
        self._children_seen: dict[tuple[str, str], set[int]] = {}
        self._routing: dict[str, Waiting] = {}
        self._routing_closed: set[str] = set()
        self._redriven: set[str] = set()
        self._told: set[str] = set()

    # -- what was observed ---------------------------------------------------------------------

    def intake_message(self, message: InboundMessage, seen_at: datetime) -> None:
        """A message on an intake topic: it must be accepted or dead-lettered."""
        position = _position(message)
        repeats = _position_of(message.headers.get(REDRIVE_HEADER, b"").decode("utf-8", "replace"))
        if repeats is not None:
            self._copies[position] = repeats
        if position in self._intake_closed:
            return
        self._intake[position] = Waiting(
            Stage.INTAKE, position_text(position), _since(message, seen_at), message, message.sender
        )

    def accepted_event(self, accepted: AcceptedEvent, message: InboundMessage) -> None:
        """An accepted event closes its intake message and waits for its children."""
        source = (accepted.source.topic, accepted.source.partition, accepted.source.offset)
        self._close_intake(source)
        if source in self._copies:
            self._close_intake(self._copies[source])
        key = (accepted.sender, accepted.event_id)
        if key in self._identification_closed or key in self._identification:
            return
        waiting = Waiting(
            Stage.IDENTIFICATION,
            f"{accepted.sender}/{accepted.event_id}",
            accepted.accepted_at,
            message,
            accepted.sender,
        )
        entry = _Identification(waiting, len(accepted.payload.children))
        entry.seen |= self._children_seen.pop(key, set())
        self._identification[key] = entry
        self._settle_identification(key)

    def child_event(self, child_event: ChildEvent, message: InboundMessage) -> None:
        """A child event counts towards its accepted event and waits for its outcome."""
        accepted = child_event.accepted
        key = (accepted.sender, accepted.event_id)
        if key in self._identification:
            self._identification[key].seen.add(child_event.child_index)
            self._settle_identification(key)
        elif key not in self._identification_closed:
            self._children_seen.setdefault(key, set()).add(child_event.child_index)
        if child_event.event_id in self._routing_closed:
            return
        self._routing.setdefault(
            child_event.event_id,
            Waiting(
                Stage.ROUTING,
                child_event.event_id,
                _since(message, accepted.accepted_at),
                message,
                accepted.sender,
            ),
        )

    def outcome(self, outcome: Outcome) -> None:
        self._close_routing(outcome.child_event_id)

    def intake_dead_lettered(self, position: Position) -> None:
        self._close_intake(position)
        if position in self._copies:
            self._close_intake(self._copies[position])

    def accepted_dead_lettered(self, sender: str, event_id: str) -> None:
        key = (sender, event_id)
        self._identification.pop(key, None)
        self._children_seen.pop(key, None)
        self._identification_closed.add(key)

    def child_dead_lettered(self, child_event_id: str) -> None:
        self._close_routing(child_event_id)

    # -- what is due -----------------------------------------------------------------------------

    def waiting(self) -> list[Waiting]:
        """Every entry still without an outcome, oldest first."""
        entries: Iterable[Waiting] = [
            *self._intake.values(),
            *(entry.waiting for entry in self._identification.values()),
            *self._routing.values(),
        ]
        return sorted(entries, key=lambda waiting: waiting.since)

    def due(
        self,
        now: datetime,
        *,
        redrive_after: timedelta,
        bound: timedelta,
        consumed: Mapping[tuple[str, int], int],
    ) -> Actions:
        """What is due now; each entry is re-driven once and put to a person once.

        ``consumed`` is the worker group's committed position per (topic, partition).
        """
        redrive: list[Waiting] = []
        overdue: list[Waiting] = []
        for waiting in self.waiting():
            key = f"{waiting.stage.value}|{waiting.reference}"
            age = waiting.age(now)
            message = waiting.message
            passed = consumed.get((message.topic, message.partition), -1) > message.offset
            if age >= redrive_after and passed and key not in self._redriven:
                self._redriven.add(key)
                redrive.append(waiting)
            if age >= bound and key not in self._told:
                self._told.add(key)
                overdue.append(waiting)
        return Actions(redrive=redrive, overdue=overdue)

    # -- closing ---------------------------------------------------------------------------------

    def _close_intake(self, position: Position) -> None:
        self._intake.pop(position, None)
        self._intake_closed.add(position)

    def _close_routing(self, child_event_id: str) -> None:
        self._routing.pop(child_event_id, None)
        self._routing_closed.add(child_event_id)

    def _settle_identification(self, key: tuple[str, str]) -> None:
        entry = self._identification[key]
        if entry.seen >= set(range(entry.children)):
            del self._identification[key]
            self._identification_closed.add(key)


def overdue_task(waiting: Waiting, now: datetime, bound: timedelta) -> MashTask:
    """The MASH task that puts an entry past its bound to a person (one per entry: derived id)."""
    minutes = int(waiting.age(now).total_seconds() // 60)
    return MashTask(
        event_id=derived_id("task", "overdue", waiting.stage.value, waiting.reference),
        kind=TaskKind.OVERDUE_EVENT,
        title=(
            f"No outcome after {minutes} min at {waiting.stage.value} (bound "
            f"{int(bound.total_seconds() // 60)} min): check the child was seen, then tell support"
        ),
        sender=waiting.sender,
        reason=(
            f"{waiting.stage.value} of {waiting.reference} has had no outcome since "
            f"{waiting.since.isoformat()}; it was published again, with no result yet"
        ),
        error_code=OVERDUE_CODE,
        reference=waiting.reference[:64],
        created_at=now,
    )
