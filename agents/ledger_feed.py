"""What the flow's topics say about outcomes, fed into a :class:`~streams.decisions.ledger.Ledger`.

The reconciliation (``agents.reconcile``) and ``frontdoor demo`` follow the same topics (intake,
accepted events, child events, outcomes, dead letters) and read them the same way; this is that
reading, in one place. A record that cannot be decoded is not the ledger's to follow: the flow
dead-letters such a message itself, and that dead letter is an outcome.
"""

from __future__ import annotations

from datetime import datetime

from schemas.errors import UnusableEventError
from schemas.models import AcceptedEvent, ChildEvent, DeadLetter, Outcome
from schemas.wire import InboundMessage
from streams.decisions.ledger import Ledger
from streams.platform.codec import AvroCodec
from streams.platform.topics import (
    ACCEPTED_EVENTS,
    CHILD_EVENTS,
    DEAD_LETTERS,
    INTAKE,
    OUTCOMES,
    TopicSpec,
)

_INTAKE_NAMES = frozenset(spec.name for spec in INTAKE.values())
#: The topics whose records open and close the ledger's entries.
FOLLOWED: tuple[TopicSpec, ...] = (
    *INTAKE.values(),
    ACCEPTED_EVENTS,
    CHILD_EVENTS,
    OUTCOMES,
    DEAD_LETTERS,
)


class LedgerFeed:
    """Decodes the followed topics' messages (under ``prefix``) into a ledger."""

    def __init__(self, codec: AvroCodec, prefix: str) -> None:
        self.ledger = Ledger()
        self._codec = codec
        self._prefix = prefix
        self._specs = {spec.name_under(prefix): spec for spec in FOLLOWED}

    @property
    def topics(self) -> list[str]:
        """The followed topics' names under the prefix."""
        return list(self._specs)

    def observe(self, message: InboundMessage, now: datetime) -> None:
        """One message of a followed topic (any other is ignored)."""
        spec = self._specs.get(message.topic)
        if spec is None:
            return
        try:
            if spec.name in _INTAKE_NAMES:
                self.ledger.intake_message(message, now)
            elif spec is ACCEPTED_EVENTS:
                accepted = self._codec.decode(message.value, AcceptedEvent)
                self.ledger.accepted_event(accepted, message)
            elif spec is CHILD_EVENTS:
                self.ledger.child_event(self._codec.decode(message.value, ChildEvent), message)
            elif spec is OUTCOMES:
                self.ledger.outcome(self._codec.decode(message.value, Outcome))
            else:
                self._dead_letter(self._codec.decode(message.value, DeadLetter))
        except UnusableEventError:
            return

    def _dead_letter(self, letter: DeadLetter) -> None:
        source = letter.source
        name = source.topic.removeprefix(self._prefix)
        if name in _INTAKE_NAMES:
            self.ledger.intake_dead_lettered((source.topic, source.partition, source.offset))
        elif name == ACCEPTED_EVENTS.name:
            accepted = self._codec.decode(letter.original_value, AcceptedEvent)
            self.ledger.accepted_dead_lettered(accepted.sender, accepted.event_id)
        elif name == CHILD_EVENTS.name:
            child_event = self._codec.decode(letter.original_value, ChildEvent)
            self.ledger.child_dead_lettered(child_event.event_id)
