"""Routing agent: enrich each child's event with their history, decide, and publish the work.

It reads ``child-events`` (keyed by child key), keeps each child's history in a table, and
publishes work items to the queue topics and alerts to the duty team. The step, deduplication and
consent events included, is :func:`streams.decisions.routing.route_child_event` (pure).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import faust
from faust.types import EventT

from agents.delivery import each_event, send
from agents.runtime import calendar, rules
from schemas.models import ChildEvent, ImportedHistory, WorkItem
from streams.decisions.history import ChildHistory, stored_history, with_imported
from streams.decisions.routing import route_child_event
from streams.platform import topology
from streams.platform.app import app, codec
from streams.platform.topics import CHILD_EVENTS, CHILD_HISTORY_IMPORTS

log = logging.getLogger(__name__)


def _history(child_key: str) -> ChildHistory:
    return stored_history(topology.child_history.get(child_key), child_key)


def _store(history: ChildHistory) -> None:
    topology.child_history[history.child_key] = history.model_dump(mode="json")


async def _route(event: EventT[bytes]) -> None:
    child_event = codec.decode(event.value, ChildEvent)
    key = child_event.match.child_key
    routed = route_child_event(child_event, _history(key), rules, calendar, datetime.now(UTC))
    await send(*routed.outputs)
    if routed.history is not None:
        _store(routed.history)
    if routed.not_routed:
        log.info("%s for %s: %s", child_event.accepted.event_id, key, routed.not_routed)
    for item in routed.outputs:
        if isinstance(item, WorkItem):
            log.info(
                "routed %s for %s to %s: level %d %s due %s",
                item.source_event_id,
                key,
                item.queue.value,
                item.level,
                item.priority.value,
                item.decision_due_at.isoformat(),
            )


@app.agent(topology.topic(CHILD_EVENTS), name="routing")
async def route_children(stream: faust.StreamT[bytes]) -> None:
    await each_event(stream, _route)


async def _record_import(event: EventT[bytes]) -> None:
    imported = codec.decode(event.value, ImportedHistory)
    _store(with_imported(_history(imported.match.child_key), imported))


@app.agent(topology.topic(CHILD_HISTORY_IMPORTS), name="routing.history-imports")
async def record_imported_history(stream: faust.StreamT[bytes]) -> None:
    await each_event(stream, _record_import)
