"""Dead-letter review: every dead letter becomes a MASH task naming the sender and the reason.

A rejected message is not a place to forget a child: a person is told, can ask the sender to
correct it, and can re-submit it with ``frontdoor dead-letters resubmit``.
"""

from __future__ import annotations

import faust
from faust.types import EventT

from agents.delivery import each_event
from agents.pipeline import Step
from schemas.models import DeadLetter
from streams.decisions.intake import review_task_for
from streams.platform import topology
from streams.platform.app import app, codec
from streams.platform.topics import DEAD_LETTERS


def _raise_task(event: EventT[bytes]) -> Step:
    # Only our own agents write dead letters: one that does not decode is a bug; it is itself
    # dead-lettered (agents.delivery.each_event), as a dead letter we wrote, so it decodes then.
    return Step(outputs=(review_task_for(codec.decode(event.value, DeadLetter)),))


@app.agent(topology.topic(DEAD_LETTERS), name="dead-letters.review")
async def raise_review_tasks(stream: faust.StreamT[bytes]) -> None:
    await each_event(stream, _raise_task)
