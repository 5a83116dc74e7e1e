"""Synthetic work items made the way the pipeline makes them, for the staff application's tests.

Events from the seeded generator (Faker en_GB) go through the pipeline's own pure steps,
identification and routing, with in-memory state: the items are real routings of synthetic
children, with rationales, history and missing information, and no worker or broker is needed to
make them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from connectors.generator import Generator
from schemas.models import (
    AcceptedEvent,
    ConsentEvent,
    DutyTeamAlert,
    Event,
    Queue,
    SourcePosition,
    WorkItem,
)
from streams.decisions.domestic_abuse import load_recipients
from streams.decisions.history import stored_history
from streams.decisions.identification import identify
from streams.decisions.routing import route_child_event
from streams.decisions.rules import load_rules

RULES = load_rules()
RECIPIENTS = load_recipients(RULES)


def routed_events(count: int, *, seed: int = 11, start: datetime | None = None) -> list[Event]:
    """What routing publishes for ``count`` generated partner events (work items and alerts)."""
    index: dict[str, Any] = {}
    histories: dict[str, Any] = {}
    outputs: list[Event] = []
    generator = Generator(seed=seed, start=start or datetime.now(UTC))
    made = 0
    for generated in generator:
        if made == count:
            break
        if isinstance(generated.event, ConsentEvent):
            continue
        made += 1
        event = generated.event
        accepted = AcceptedEvent.model_validate(
            {
                "event_id": event.event_id,
                "event_type": generated.event_type,
                "sender": generated.sender,
                "source": SourcePosition(topic="synthetic", partition=0, offset=made),
                "accepted_at": event.received_at,  # type: ignore[attr-defined]
                generated.event_type.value: event,
            }
        )
        identified = identify(accepted, index, RULES, accepted.accepted_at)
        index.update(identified.index_updates)
        for child_event in identified.child_events:
            key = child_event.match.child_key
            routed = route_child_event(
                child_event,
                stored_history(histories.get(key), key),
                RULES,
                RULES.office_calendar(),
                accepted.accepted_at,
                recipients=RECIPIENTS,
            )
            if routed.history is not None:
                histories[key] = routed.history.model_dump(mode="json")
            outputs.extend(o for o in routed.outputs if isinstance(o, WorkItem | DutyTeamAlert))
    return outputs


def work_items(count: int, *, queue: Queue | None = None, seed: int = 11) -> list[WorkItem]:
    """The work items of ``count`` generated events, on ``queue`` only when given."""
    return [
        event
        for event in routed_events(count, seed=seed)
        if isinstance(event, WorkItem) and (queue is None or event.queue is queue)
    ]
