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

log = logging.getLogger(__name__)


async def _identify(event: EventT[bytes]) -> None:
    accepted = codec.decode(event.value, AcceptedEvent)
    identified = identify(accepted, topology.identity_index, rules, datetime.now(UTC))
    for child_event in identified.child_events:
        await send(topology.child_events, child_event.match.child_key, child_event)
        log.info(
            "identified %s child %d as %s (%s)",
            accepted.event_id,
            child_event.child_index,
            child_event.match.child_key,
            child_event.match.kind.value,
        )
    if identified.information_request is not None:
        request = identified.information_request
        await send(topology.information_requests, request.about_event_id, request)
        log.info("asked %s for %d missing item(s)", request.addressed_to_sender, len(request.items))
    for key, value in identified.index_updates.items():
        topology.identity_index[key] = value


@app.agent(topology.accepted_events, name="identification")
async def identify_children(stream: faust.StreamT[bytes]) -> None:
    await each_event(stream, _identify)


async def _identify_import(event: EventT[bytes]) -> None:
    imported = codec.decode(event.value, HistoryImport)
    identified, updates = identify_import(imported, topology.identity_index)
    await send(topology.child_history_imports, identified.match.child_key, identified)
    for key, value in updates.items():
        topology.identity_index[key] = value


@app.agent(topology.history_imports, name="identification.history-imports")
async def identify_imported_history(stream: faust.StreamT[bytes]) -> None:
    await each_event(stream, _identify_import)
