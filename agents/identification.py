"""Identification agents: every child of an accepted event, and of an imported history record,
gets a child key; missing information is asked for. Both read one-partition topics, so one index
(one table partition, one worker) holds every child. Imported records come and go in batches,
a hundred rows a message; each batch out holds the children of one child-history partition.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import faust
from faust.types import EventT

from agents.delivery import each_event
from agents.pipeline import IMPORT_BATCHES_IN_FLIGHT, StagedTable, Step
from agents.runtime import rules
from schemas.models import AcceptedEvent, HistoryImportBatch
from streams.decisions.identification import identify, identify_import_batch
from streams.platform import topology
from streams.platform.app import app, codec
from streams.platform.topics import ACCEPTED_EVENTS, CHILD_HISTORY_IMPORTS, HISTORY_IMPORTS

log = logging.getLogger(__name__)

#: The identity index as the next event must see it: written once an event's outputs are delivered.
index: StagedTable[Any] = StagedTable(topology.identity_index)


def _identify(event: EventT[bytes]) -> Step:
    accepted = codec.decode(event.value, AcceptedEvent)
    identified = identify(accepted, index.view(), rules, datetime.now(UTC))
    if log.isEnabledFor(logging.DEBUG):
        for child_event in identified.child_events:
            log.debug(
                "identified %s child %d as %s (%s)",
                accepted.event_id,
                child_event.child_index,
                child_event.match.child_key,
                child_event.match.kind.value,
            )
    return Step(outputs=identified.outputs, writes=((index, identified.index_updates),))


@app.agent(topology.topic(ACCEPTED_EVENTS), name="identification")
async def identify_children(stream: faust.StreamT[bytes]) -> None:
    await each_event(stream, _identify, tables=[index])


def _identify_imports(event: EventT[bytes]) -> Step:
    batch = codec.decode(event.value, HistoryImportBatch)
    identified, updates = identify_import_batch(batch, index.view(), _history_partition)
    return Step(outputs=identified, writes=((index, updates),))


def _history_partition(child_key: str) -> int:
    return topology.partition_of(child_key, CHILD_HISTORY_IMPORTS.partitions)


@app.agent(topology.topic(HISTORY_IMPORTS), name="identification.history-imports")
async def identify_imported_history(stream: faust.StreamT[bytes]) -> None:
    await each_event(
        stream, _identify_imports, in_flight_limit=IMPORT_BATCHES_IN_FLIGHT, tables=[index]
    )
