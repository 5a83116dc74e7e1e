"""Routing agent: enrich each child's event with their history, decide, and publish the work.

It reads ``child-events`` (keyed by child key), keeps each child's history in a table, and
publishes work items to the queue topics and alerts to the duty team. An event already in the
child's history is not routed again: publishing the same event twice yields one work item.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import faust
from faust.types import EventT

from agents.delivery import each_event, send
from agents.runtime import calendar, rules
from schemas.models import ChildEvent, EventType, ImportedHistory, Queue
from streams.decisions.history import (
    ChildHistory,
    received_at,
    summarise,
    with_event,
    with_imported,
)
from streams.decisions.routing import duty_team_alert, route, work_items
from streams.platform import topology
from streams.platform.app import app, codec

log = logging.getLogger(__name__)


async def _route(event: EventT[bytes]) -> None:
    child_event = codec.decode(event.value, ChildEvent)
    accepted = child_event.accepted
    key = child_event.match.child_key
    stored = topology.child_history.get(key)
    history = ChildHistory.model_validate(stored) if stored else ChildHistory(child_key=key)
    if history.has_seen(accepted.event_id):
        log.info("already routed %s for %s: not routed again", accepted.event_id, key)
        return
    if accepted.event_type is EventType.CONSENT_EVENT:
        updated = with_event(history, accepted, queue=None, level=None)
        topology.child_history[key] = updated.model_dump(mode="json")
        log.info("recorded consent event %s for %s", accepted.event_id, key)
        return
    summary = summarise(history, received_at(accepted))
    decision = route(child_event, summary, rules, calendar)
    now = datetime.now(UTC)
    for item in work_items(child_event, summary, decision, now):
        await send(topology.QUEUE_TOPICS[item.queue], item.child_key, item)
        if item.queue is Queue.DUTY_TEAM:
            await send(topology.duty_team_alerts, item.child_key, duty_team_alert(item, now))
        log.info(
            "routed %s for %s to %s: level %d %s due %s",
            accepted.event_id,
            key,
            item.queue.value,
            item.level,
            item.priority.value,
            item.decision_due_at.isoformat(),
        )
    updated = with_event(history, accepted, queue=decision.queue, level=decision.level)
    topology.child_history[key] = updated.model_dump(mode="json")


@app.agent(topology.child_events, name="routing")
async def route_children(stream: faust.StreamT[bytes]) -> None:
    await each_event(stream, _route)


async def _record_import(event: EventT[bytes]) -> None:
    imported = codec.decode(event.value, ImportedHistory)
    key = imported.match.child_key
    stored = topology.child_history.get(key)
    history = ChildHistory.model_validate(stored) if stored else ChildHistory(child_key=key)
    topology.child_history[key] = with_imported(history, imported).model_dump(mode="json")


@app.agent(topology.child_history_imports, name="routing.history-imports")
async def record_imported_history(stream: faust.StreamT[bytes]) -> None:
    await each_event(stream, _record_import)
