"""Routing agent: enrich each child's event with their history, decide, and publish the work.

It reads ``child-events`` (keyed by child key), keeps each child's history in a table, and
publishes work items to the queue topics and alerts to the duty team. The step, deduplication and
consent events included, is :func:`streams.decisions.routing.route_child_event` (pure). A child's
history is written only once the outputs it records are acknowledged (:mod:`agents.pipeline`).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import faust
from faust.types import EventT

from agents.delivery import each_event
from agents.pipeline import IMPORT_BATCHES_IN_FLIGHT, StagedTable, Step
from agents.runtime import calendar, recipients, rules
from schemas.errors import ProcessingFailedError
from schemas.models import ChildEvent, ImportedHistoryBatch, WorkItem
from streams.decisions.history import ChildHistory, stored_history, with_imported_records
from streams.decisions.routing import route_child_event
from streams.platform import topology
from streams.platform.app import app, codec
from streams.platform.topics import CHILD_EVENTS, CHILD_HISTORY_IMPORTS

log = logging.getLogger(__name__)

histories: StagedTable[Any] = StagedTable(topology.child_history)


def _history(child_key: str) -> ChildHistory:
    return stored_history(histories.get(child_key), child_key)


def _written(history: ChildHistory) -> tuple[StagedTable[Any], dict[str, Any]]:
    return histories, {history.child_key: history.model_dump(mode="json")}


def _route(event: EventT[bytes]) -> Step:
    child_event = codec.decode(event.value, ChildEvent)
    key = child_event.match.child_key
    routed = route_child_event(
        child_event, _history(key), rules, calendar, datetime.now(UTC), recipients=recipients
    )
    if routed.not_routed:
        log.info("%s for %s: %s", child_event.accepted.event_id, key, routed.not_routed)
    if log.isEnabledFor(logging.DEBUG):
        for item in routed.outputs:
            if isinstance(item, WorkItem):
                log.debug(
                    "routed %s for %s to %s: level %d %s due %s",
                    item.source_event_id,
                    key,
                    item.queue.value,
                    item.level,
                    item.priority.value,
                    item.decision_due_at.isoformat(),
                )
    writes = (_written(routed.history),) if routed.history is not None else ()
    return Step(outputs=routed.outputs, writes=writes)


@app.agent(topology.topic(CHILD_EVENTS), name="routing")
async def route_children(stream: faust.StreamT[bytes]) -> None:
    await each_event(stream, _route, tables=[histories])


def _record_imports(event: EventT[bytes]) -> Step:
    batch = codec.decode(event.value, ImportedHistoryBatch)
    partition = event.message.partition
    for imported in batch.records:
        # Each child's history must be written in the partition its child events come to;
        # identification groups a batch so. A record elsewhere would be a history no routing
        # ever reads: refused whole, for a person, instead.
        if topology.partition_of(imported.match.child_key, CHILD_HISTORY_IMPORTS.partitions) != (
            partition
        ):
            raise ProcessingFailedError(
                f"imported record {imported.event_id} is for a child of another partition "
                f"than {partition}",
                event_id=batch.event_id,
            )
    changed = with_imported_records(batch.records, _history)
    updates = {key: history.model_dump(mode="json") for key, history in changed.items()}
    return Step(outputs=(), writes=((histories, updates),))


@app.agent(topology.topic(CHILD_HISTORY_IMPORTS), name="routing.history-imports")
async def record_imported_history(stream: faust.StreamT[bytes]) -> None:
    await each_event(
        stream, _record_imports, in_flight_limit=IMPORT_BATCHES_IN_FLIGHT, tables=[histories]
    )
