"""Intake agents: validate each partner event, accept it or dead-letter it.

One agent per intake topic. The decision is :func:`streams.decisions.intake.triage` (pure); the
shell publishes what it decided, then acks. Logs carry ids and codes only, never personal details.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Any

import faust
from faust.types import EventT

from agents.delivery import each_event, inbound, send
from schemas.models import PARTNER_EVENT_MODELS, EventType
from streams.decisions.intake import triage
from streams.decisions.schools import DEFAULT_DIRECTORY, load_directory
from streams.platform import topology
from streams.platform.app import app, codec, worker_settings

log = logging.getLogger(__name__)

schools = load_directory(worker_settings.school_directory or DEFAULT_DIRECTORY)

AgentFunction = Callable[[faust.StreamT[bytes]], Coroutine[Any, Any, None]]


def _intake_agent(event_type: EventType) -> AgentFunction:
    model = PARTNER_EVENT_MODELS[event_type]

    async def handle(event: EventT[bytes]) -> None:
        message = inbound(event)
        outcome = triage(
            message,
            event_type=event_type,
            model=model,  # type: ignore[arg-type]
            codec=codec,
            now=datetime.now(UTC),
            known_urns=schools,
        )
        if outcome.dead_letter is not None:
            letter = outcome.dead_letter
            await send(topology.dead_letters, message.topic, letter)
            log.warning(
                "dead-lettered %s[%s@%s] as %s code=%s sender=%s",
                message.topic,
                message.partition,
                message.offset,
                letter.event_id,
                letter.error_code,
                letter.sender,
            )
            return
        if outcome.accepted is not None:
            accepted = outcome.accepted
            await send(topology.accepted_events, accepted.event_id, accepted)
            log.info(
                "accepted %s %s dq_issues=%d",
                event_type.value,
                accepted.event_id,
                len(accepted.data_quality_issues),
            )
        if outcome.information_request is not None:
            request = outcome.information_request
            await send(topology.information_requests, request.about_event_id, request)

    async def accept(stream: faust.StreamT[bytes]) -> None:
        await each_event(stream, handle)

    accept.__name__ = accept.__qualname__ = f"accept_{event_type.value}s"
    return accept


for _event_type, _topic in topology.INTAKE_TOPICS.items():
    app.agent(_topic, name=f"intake.{_event_type.value}")(_intake_agent(_event_type))
