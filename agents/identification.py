"""Identification agents: every child of an accepted event, and of an imported history record,
gets a child key; missing information is asked for. Both read one-partition topics, so one index
(one table partition, one worker) holds every child.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import faust
from faust.types import EventT

from agents.delivery import each_event, send
from agents.runtime import rules
from schemas.models import AcceptedEvent, HistoryImport
from streams.decisions.identification import identify, identify_import
from streams.platform import topology
from streams.platform.app import app, codec
from streams.platform.topics import ACCEPTED_EVENTS, HISTORY_IMPORTS

log = logging.getLogger(__name__)


async def _identify(event: EventT[bytes]) -> None:
    accepted = codec.decode(event.value, AcceptedEvent)
    identified = identify(accepted, topology.identity_index, rules, datetime.now(UTC))
    await send(*identified.outputs)
    topology.identity_index.update(identified.index_updates)
    for child_event in identified.child_events:
        log.info(
            "identified %s child %d as %s (%s)",
            accepted.event_id,
            child_event.child_index,
            child_event.match.child_key,
            child_event.match.kind.value,
        )


@app.agent(topology.topic(ACCEPTED_EVENTS), name="identification")
async def identify_children(stream: faust.StreamT[bytes]) -> None:
    await each_event(stream, _identify)


async def _identify_import(event: EventT[bytes]) -> None:
    imported = codec.decode(event.value, HistoryImport)
    identified, updates = identify_import(imported, topology.identity_index)
    await send(identified)
    topology.identity_index.update(updates)


@app.agent(topology.topic(HISTORY_IMPORTS), name="identification.history-imports")
async def identify_imported_history(stream: faust.StreamT[bytes]) -> None:
    await each_event(stream, _identify_import)
