"""The pure per-event steps of the pipeline, alone, in microseconds per event.

Synthetic contacts (``bench/latency.py``'s, from the project's generator) go through intake
triage, then :func:`streams.decisions.identification.identify` against an in-memory index that
grows from empty, and their child events through
:func:`streams.decisions.routing.route_child_event`, with the rules, office calendar and
recipients loaded as the worker loads them (``agents/runtime.py``, with the default files): once
with an empty history for every child, once with each child's history as the earlier contacts of
the run left it. No broker, no worker, no codec. Each figure is the median of ``--rounds`` rounds
over every event; prints figures, asserts nothing. The inputs, made before timing, are moved out
of the garbage collector's sight (``gc.freeze``): otherwise every collection would walk all the
run's histories and child events, and up to half a figure would be the benchmark's own heap.

    .venv/bin/python bench/steps.py [--contacts 3000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from latency import describe_machine, synthetic_contacts

from schemas.models import AcceptedEvent, ChildEvent, EventType
from schemas.wire import SENDER_HEADER, InboundMessage
from streams.decisions.domestic_abuse import load_recipients
from streams.decisions.history import ChildHistory
from streams.decisions.identification import identify
from streams.decisions.intake import triage
from streams.decisions.routing import route_child_event
from streams.decisions.rules import DEFAULT_RULES_FILE, load_rules
from streams.decisions.schools import DEFAULT_DIRECTORY, DEFAULT_SAFEGUARDING_LEADS

rules = load_rules(DEFAULT_RULES_FILE)
calendar = rules.office_calendar()
recipients = load_recipients(rules, directory=DEFAULT_DIRECTORY, leads=DEFAULT_SAFEGUARDING_LEADS)


def accepted_contacts(count: int, now: datetime) -> list[AcceptedEvent]:
    """``count`` synthetic contacts as intake accepts them (data-quality issues attached)."""
    accepted = []
    for offset, (contact, sender) in enumerate(synthetic_contacts(count)):
        message = InboundMessage(
            topic="bench.intake.contacts",
            partition=0,
            offset=offset,
            key=contact.event_id.encode(),
            value=b"",
            headers={SENDER_HEADER: sender.encode()},
        )
        outcome = triage(
            message, event_type=EventType.CONTACT, decode=lambda _value, c=contact: c, now=now
        )
        if outcome.accepted is not None:  # always: the generator's contacts are usable
            accepted.append(outcome.accepted)
    return accepted


def identify_all(accepted: list[AcceptedEvent], now: datetime) -> list[ChildEvent]:
    """Every contact identified in turn, each against the index the earlier ones left."""
    index: dict[str, Any] = {}
    child_events = []
    for event in accepted:
        identified = identify(event, index, rules, now)
        index.update(identified.index_updates)
        child_events.extend(identified.child_events)
    return child_events


def histories_before(child_events: list[ChildEvent], now: datetime) -> list[ChildHistory]:
    """Each child event's history as the earlier child events of the run left it."""
    histories: dict[str, ChildHistory] = {}
    before = []
    for child_event in child_events:
        key = child_event.match.child_key
        history = histories.get(key) or ChildHistory(child_key=key)
        before.append(history)
        routed = route_child_event(
            child_event, history, rules, calendar, now, recipients=recipients
        )
        if routed.history is not None:
            histories[key] = routed.history
    return before


def route_all(child_events: list[ChildEvent], histories: list[ChildHistory], now: datetime) -> None:
    for child_event, history in zip(child_events, histories, strict=True):
        route_child_event(child_event, history, rules, calendar, now, recipients=recipients)


def per_event_microseconds(step: Callable[[], object], events: int, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        step()
        times.append(time.perf_counter() - started)
    return statistics.median(times) / events * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--contacts", type=int, default=3_000, help="contacts in each round")
    parser.add_argument("--rounds", type=int, default=5, help="rounds; the median is printed")
    args = parser.parse_args()
    now = datetime.now(UTC)
    accepted = accepted_contacts(args.contacts, now)
    child_events = identify_all(accepted, now)
    empty = [ChildHistory(child_key=event.match.child_key) for event in child_events]
    earlier = histories_before(child_events, now)
    past_events = statistics.mean(len(history.events) for history in earlier)
    gc.collect()
    gc.freeze()

    identifying = per_event_microseconds(
        lambda: identify_all(accepted, now), len(accepted), args.rounds
    )
    routing_new = per_event_microseconds(
        lambda: route_all(child_events, empty, now), len(child_events), args.rounds
    )
    routing_known = per_event_microseconds(
        lambda: route_all(child_events, earlier, now), len(child_events), args.rounds
    )

    print(describe_machine())
    print(
        f"{len(accepted):,} contacts, {len(child_events):,} child events; "
        f"median of {args.rounds} rounds"
    )
    print(f"identify, index growing from empty:          {identifying:7.1f} us per contact")
    print(f"route_child_event, empty history:            {routing_new:7.1f} us per child event")
    print(
        f"route_child_event, earlier history:          {routing_known:7.1f} us per child event "
        f"({past_events:.1f} past events on average)"
    )


if __name__ == "__main__":
    main()
