"""Intake agents: validate each partner event, accept it or dead-letter it.

One agent per intake topic. The decision is :func:`streams.decisions.intake.triage` (pure); the
shell publishes what it decided, and the event is acked once that is delivered. Logs carry ids and
codes only, never personal details.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from functools import partial
from typing import Any

import faust
from faust.types import EventT

from agents.delivery import each_event, inbound
from agents.pipeline import Step
from agents.runtime import schools
from schemas.models import PARTNER_EVENT_MODELS, EventType
from streams.decisions.intake import triage
from streams.platform import topology
from streams.platform.app import app, codec
from streams.platform.topics import INTAKE

log = logging.getLogger(__name__)

AgentFunction = Callable[[faust.StreamT[bytes]], Coroutine[Any, Any, None]]


def _intake_agent(event_type: EventType) -> AgentFunction:
    decode = partial(codec.decode, model=PARTNER_EVENT_MODELS[event_type])

    def handle(event: EventT[bytes]) -> Step:
        outcome = triage(
            inbound(event),
            event_type=event_type,
            decode=decode,  # type: ignore[arg-type]  # the model is the event type's
            now=datetime.now(UTC),
            known_urns=schools,
        )
        if outcome.accepted is not None:
            log.info(
                "accepted %s %s dq_issues=%d",
                event_type.value,
                outcome.accepted.event_id,
                len(outcome.accepted.data_quality_issues),
            )
        return Step(outputs=outcome.outputs)

    async def accept(stream: faust.StreamT[bytes]) -> None:
        await each_event(stream, handle)

    accept.__name__ = accept.__qualname__ = f"accept_{event_type.value}s"
    return accept


for _event_type, _spec in INTAKE.items():
    app.agent(topology.topic(_spec), name=f"intake.{_event_type.value}")(_intake_agent(_event_type))
