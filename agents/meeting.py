"""Meeting agent: the daily domestic-abuse meeting's agenda, once per working day.

One agent reads the items routing sends for each child of a domestic-abuse notification and the
timer's ticks (``MEETING_SOURCES``, one partition each), and keeps the meeting's state in the
``domestic-abuse-meeting`` table: one small document (the last meeting whose agenda was published,
and the items already listed) and one entry per item not yet on an agenda, so that no table
value grows with the number of notifications waiting (an item on an agenda leaves a ``None``).
The steps are pure (:mod:`streams.decisions.meeting`); the entries are written only after the
agendas they record are acknowledged (:mod:`agents.pipeline`), so a restart neither loses an
agenda nor publishes one twice (its id is derived from the meeting time).

Each event is judged at its publication time, like the clocks. The timer cannot write the table,
so every ``FRONTDOOR_CLOCK_TICK_SECONDS`` it sends a tick when an agenda may be due (a meeting
time has passed since the last agenda, or this worker does not hold the table): a worker that was
down at 09:30 publishes the agenda on its first tick after it comes back.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import faust
from faust.types import EventT

from agents.delivery import each_event, published_at
from agents.pipeline import StagedTable, Step
from agents.runtime import calendar, rules
from schemas.models import AgendaItem, Event, MeetingTick
from streams.decisions.ids import derived_id
from streams.decisions.meeting import (
    MEETING_KEY,
    MeetingState,
    due_agenda,
    meeting_at_or_before,
    on_agenda_item,
    stored_meeting,
)
from streams.platform import topology
from streams.platform.app import app, codec, worker_settings
from streams.platform.topics import MEETING_SOURCES, MEETING_TICKS

log = logging.getLogger(__name__)

meeting: StagedTable[Any] = StagedTable(topology.meeting)

#: The record each source topic carries, by its full name.
_MODELS: dict[str, type[Event]] = {spec.full_name: spec.value for spec in MEETING_SOURCES}
_MEETING_TIME = rules.domestic_abuse.meeting_time


#: Where the table keeps each item not yet on an agenda: this prefix and the item's id.
_ITEM = "item:"


def _stored() -> MeetingState:
    """The meeting's state: its document, and the items waiting in their own entries."""
    waiting = [
        AgendaItem.model_validate(document)
        for key, document in meeting.view().items()
        if key.startswith(_ITEM) and document is not None
    ]
    waiting.sort(key=lambda item: (item.received_at, item.event_id))
    return stored_meeting(meeting.get(MEETING_KEY)).model_copy(update={"pending": waiting})


def _writes(before: MeetingState, after: MeetingState) -> dict[str, Any]:
    """The table entries that change from ``before`` to ``after``."""
    updates: dict[str, Any] = {}
    head = after.model_dump(mode="json", exclude={"pending"})
    if head != before.model_dump(mode="json", exclude={"pending"}):
        updates[MEETING_KEY] = head
    was = {item.event_id for item in before.pending}
    now = {item.event_id for item in after.pending}
    for item in after.pending:
        if item.event_id not in was:
            updates[_ITEM + item.event_id] = item.model_dump(mode="json")
    for item_id in was - now:
        updates[_ITEM + item_id] = None
    return updates


def _step(event: EventT[bytes]) -> Step:
    value = codec.decode(event.value, _MODELS[event.message.topic])
    before = _stored()
    now = published_at(event)
    if isinstance(value, AgendaItem):
        step = on_agenda_item(before, value, calendar, _MEETING_TIME, now)
    else:
        step = due_agenda(before, calendar, _MEETING_TIME, now)
    for agenda in step.agendas:
        late = sum(1 for household in agenda.households if household.late)
        log.info(
            "domestic-abuse agenda %s for the meeting at %s: %d household(s), %d late",
            agenda.event_id,
            agenda.meeting_at.isoformat(),
            len(agenda.households),
            late,
        )
    updates = _writes(before, step.state)
    return Step(outputs=step.agendas, writes=((meeting, updates),) if updates else ())


@app.agent(topology.meeting_sources, name="meeting")
async def keep_meeting(stream: faust.StreamT[bytes]) -> None:
    await each_event(stream, _step, tables=[meeting])


def agenda_may_be_due(document: Any, now: datetime) -> bool:
    """Whether a tick is worth sending: no state here (first run, or another worker holds it),
    or a meeting time has passed since the last agenda."""
    if document is None:
        return True
    published = stored_meeting(document).published_through
    return published is None or meeting_at_or_before(now, calendar, _MEETING_TIME) > published


@app.timer(interval=worker_settings.clock_tick_seconds)  # type: ignore[untyped-decorator]
async def tick_meeting() -> None:
    now = datetime.now(UTC)
    if not agenda_may_be_due(topology.meeting.get(MEETING_KEY), now):
        return
    tick = MeetingTick(event_id=derived_id("meeting-tick", now.isoformat()), ticked_at=now)
    await topology.topic(MEETING_TICKS).send(key=MEETING_KEY.encode(), value=codec.encode(tick))
