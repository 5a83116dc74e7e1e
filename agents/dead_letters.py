"""Dead-letter review: every dead letter becomes a MASH task naming the sender and the reason.

A rejected message is not a place to forget a child: a person is told, can ask the sender to
correct it, and can re-submit it with ``frontdoor dead-letters resubmit``.
"""

from __future__ import annotations

import logging

import faust

from agents.delivery import send
from schemas.models import DeadLetter
from streams import topology
from streams.app import app, codec
from streams.errors import UnusableEventError
from streams.intake import review_task_for

log = logging.getLogger(__name__)


@app.agent(topology.dead_letters, name="dead-letters.review")
async def raise_review_tasks(stream: faust.StreamT[bytes]) -> None:
    async for value in stream:
        try:
            letter = codec.decode(value, DeadLetter)
        except UnusableEventError:
            # Only our own agents write here; an unreadable dead letter is a bug to see loudly,
            # but it must not stop the review of the others.
            log.exception("unreadable dead letter")
            continue
        task = review_task_for(letter)
        await send(topology.mash_tasks, task.reference, task)
        log.info("review task %s for dead letter %s", task.event_id, letter.event_id)
