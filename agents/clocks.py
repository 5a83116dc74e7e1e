"""Clocks agent: every child's timeliness clocks, and the timer that makes them fire on time.

One agent reads everything a clock waits for, keyed by child key (``CLOCK_SOURCES``): MASH and
early-help work items (each starts a decision clock, due at the item's due time), threshold
decisions (stop it; a level-4 decision or a strategy-discussion step starts a strategy-discussion
clock), strategy discussions (held or not held stops that; a section 47 enquiry starts the
conference clock), child protection conferences (stop that), the daily domestic-abuse meeting's
records (each action starts a clock) and actions done (stop it), duty-team alerts (each starts
an acknowledgement clock, whose overdue alert is the escalation) and their acknowledgements (stop
it), and the timer's ticks. The
steps are pure (:mod:`streams.decisions.clocks`); a child's clocks are one document in the
``clocks`` table, written only after the alerts it records are acknowledged
(:mod:`agents.pipeline`), so a restart neither loses an alert nor raises one twice (alert ids are
derived from the clock and the status, and the state says which were raised).

A timer cannot write a table (a table write belongs to the partition of the event in hand), so
every ``FRONTDOOR_CLOCK_TICK_SECONDS`` the timer reads the table and publishes a tick for each
child with a clock due; the agent that owns the child handles the tick like any other event. A
duplicate tick (a standby copy of the table, a tick in flight across a restart) changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

import faust
from faust.stores.memory import Store as MemoryStore
from faust.types import EventT

from agents.delivery import each_event, published_at
from agents.pipeline import StagedTable, Step
from agents.runtime import calendar, rules
from schemas.models import (
    ActionDone,
    AlertAcknowledgement,
    ChildProtectionConference,
    ClockKind,
    ClockTick,
    DutyTeamAlert,
    Event,
    MeetingRecord,
    StrategyDiscussion,
    ThresholdDecision,
    WorkItem,
)
from streams.decisions.clocks import (
    ChildClocks,
    ClockStep,
    due_alerts,
    next_due,
    on_action_done,
    on_alert_acknowledged,
    on_conference,
    on_decision,
    on_duty_alert,
    on_meeting_record,
    on_strategy_discussion,
    on_work_item,
    overdue_clocks,
    prune,
    stored_clocks,
)
from streams.decisions.ids import derived_id
from streams.platform import metrics, topology
from streams.platform.app import app, codec, worker_settings
from streams.platform.topics import CLOCK_SOURCES, CLOCK_TICKS

log = logging.getLogger(__name__)

clocks: StagedTable[Any] = StagedTable(topology.clocks)

#: The record each source topic carries, by its full name.
_MODELS: dict[str, type[Event]] = {spec.full_name: spec.value for spec in CLOCK_SOURCES}


def _advance(state: ChildClocks, event: Event, now: datetime) -> ClockStep:
    """The pure step for one event of any source, from the child's clocks as they stand."""
    for kind, step in _STEPS:
        if isinstance(event, kind):
            return step(state, event, now)
    raise TypeError(f"the clocks do not read {type(event).__name__}")


# The step of each source's record, with what the agent loaded at start.
_STEPS: tuple[tuple[type[Event], Callable[[ChildClocks, Any, datetime], ClockStep]], ...] = (
    (WorkItem, on_work_item),
    (ThresholdDecision, lambda state, e, now: on_decision(state, e, rules.decisions, now)),
    (
        StrategyDiscussion,
        lambda state, e, now: on_strategy_discussion(state, e, rules.decisions, calendar, now),
    ),
    (ChildProtectionConference, on_conference),
    (MeetingRecord, lambda state, e, now: on_meeting_record(state, e, calendar, now)),
    (ActionDone, on_action_done),
    (DutyTeamAlert, lambda state, e, now: on_duty_alert(state, e, rules.decisions, now)),
    (AlertAcknowledgement, on_alert_acknowledged),
    (ClockTick, lambda state, _e, now: due_alerts(state, now)),
)


def _step(event: EventT[bytes]) -> Step:
    value = codec.decode(event.value, _MODELS[event.message.topic])
    child_key = str(getattr(value, "child_key"))  # noqa: B009 - every source record has one
    before = stored_clocks(clocks.get(child_key), child_key)
    moment = published_at(event)
    step = _advance(before, value, moment)
    # Clocks stopped long ago go, so a child's document and the timer's scan stay small.
    after = prune(step.clocks, moment)
    for alert in step.alerts:
        log.warning(
            "timeliness: %s clock %s for child %s is %s",
            alert.clock.value,
            alert.clock_id,
            alert.child_key,
            alert.status.value,
        )
        metrics.timeliness_alerts(alert.clock.value, alert.status.value).inc()
    # A tick with nothing due writes nothing: no changelog record a minute per child.
    writes = () if after == before else ((clocks, {child_key: _json(after)}),)
    return Step(outputs=step.alerts, writes=writes)


def _json(state: ChildClocks) -> dict[str, Any]:
    return state.model_dump(mode="json")


@app.agent(topology.clock_sources, name="clocks")
async def keep_clocks(stream: faust.StreamT[bytes]) -> None:
    await each_event(stream, _step, tables=[clocks])


def due_children(states: Iterable[ChildClocks], now: datetime) -> list[str]:
    """The child keys whose clocks have something due at ``now``."""
    due = []
    for state in states:
        moment = next_due(state)
        if moment is not None and moment <= now:
            due.append(state.child_key)
    return due


class ParsedDocuments:
    """Each child's clocks document as last parsed, for the timer's scan of the whole table.

    The timer used to parse every child's document on every run: with tens of thousands of
    children that held the event loop (and every agent) for a noticeable fraction of a second each
    ``FRONTDOOR_CLOCK_TICK_SECONDS``. A table's values are only ever replaced, never changed in
    place (a write stores a new document; a recovery reads new ones), so a document that is the
    very object parsed last time is unchanged, and only the children written since are parsed
    again. It holds a parsed state per key, so it is for the memory store only, whose documents
    are in memory anyway: a RocksDB store hands out a new object at every read (nothing would be
    reused) and keeps its table off the heap on purpose.
    """

    def __init__(self) -> None:
        self._parsed: dict[str, tuple[object, ChildClocks]] = {}

    def states(self, table: Iterable[tuple[str, Any]]) -> list[ChildClocks]:
        """Every child's clocks in ``table`` (key, document pairs), parsing only what changed."""
        parsed = self._parsed
        current: dict[str, tuple[object, ChildClocks]] = {}
        for key, document in table:
            cached = parsed.get(key)
            if cached is None or cached[0] is not document:
                cached = (document, stored_clocks(document, key))
            current[key] = cached
        # Only what the table holds now is kept: keys that left it (a partition moved away) go.
        self._parsed = current
        return [state for _document, state in current.values()]


_documents = ParsedDocuments()


@app.timer(interval=worker_settings.clock_tick_seconds)  # type: ignore[untyped-decorator]
async def tick_due_clocks() -> None:
    now = datetime.now(UTC)
    table = topology.clocks
    states = (
        _documents.states(table.items())
        if isinstance(table.data, MemoryStore)
        else [stored_clocks(document, key) for key, document in table.items()]
    )
    target = topology.topic(CLOCK_TICKS)
    for child_key in due_children(states, now):
        tick = ClockTick(
            event_id=derived_id("tick", child_key, now.isoformat()),
            child_key=child_key,
            ticked_at=now,
        )
        await target.send(key=child_key.encode("utf-8"), value=codec.encode(tick))
    _show_overdue(states, now)


def _show_overdue(states: list[ChildClocks], now: datetime) -> None:
    # The table here also holds standby copies of other workers' partitions: only the children
    # of this worker's own partitions are counted, so the workers' figures add up to each clock
    # once.
    ticks = CLOCK_TICKS.full_name
    owned = {tp.partition for tp in app.consumer.assignment() if tp.topic == ticks}
    overdue = overdue_clocks(
        (
            state
            for state in states
            if topology.partition_of(state.child_key, CLOCK_TICKS.partitions) in owned
        ),
        now,
    )
    for kind in ClockKind:
        metrics.clocks_overdue(kind.value).set(overdue[kind])
