"""Pipelined acknowledgement: events in flight together, each acked and written after its outputs.

The broker is replaced by futures the test resolves, so each story can say exactly which delivery
succeeded when (the same machinery runs on the real broker in the agent and crash tests).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

import pytest

from agents.pipeline import Acknowledger, StagedTable, Step


@dataclass(frozen=True)
class _Message:
    offset: int
    topic: str = "frontdoor.child-events"
    partition: int = 0


@dataclass(frozen=True)
class _Event:
    message: _Message


@dataclass
class _Broker:
    """Hands out one future per record sent; the test decides how each delivery ends."""

    sent: list[str] = field(default_factory=list)
    deliveries: list[asyncio.Future[None]] = field(default_factory=list)
    acked: list[int] = field(default_factory=list)

    async def enqueue(self, record: str) -> asyncio.Future[None]:
        self.sent.append(record)
        delivery: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.deliveries.append(delivery)
        return delivery

    async def ack(self, event: _Event) -> None:
        self.acked.append(event.message.offset)


async def _no_wait(_seconds: float) -> None:
    await asyncio.sleep(0)


def _acknowledger(broker: _Broker, **options: Any) -> Acknowledger:
    return Acknowledger(
        enqueue=broker.enqueue,
        ack=broker.ack,
        stall_alert_seconds=options.pop("stall_alert_seconds", 60.0),
        sleep=_no_wait,
        **options,
    )


async def _settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


async def test_an_event_whose_output_failed_is_not_acked_while_later_ones_are_held() -> None:
    broker = _Broker()
    acknowledger = _acknowledger(broker)
    running = asyncio.create_task(acknowledger.run())
    for offset in (10, 11, 12):
        await acknowledger.submit(_Event(_Message(offset)), [f"work-item-{offset}"], Step(()))

    # The broker refuses the first event's work item and accepts the two after it.
    broker.deliveries[0].set_exception(ConnectionError("broker went away"))
    broker.deliveries[1].set_result(None)
    broker.deliveries[2].set_result(None)
    await _settle()
    assert broker.acked == [], "nothing is acked past an event whose output is not delivered"

    # The same record is sent again (never recomputed); once delivered, all three are acked.
    assert broker.sent == ["work-item-10", "work-item-11", "work-item-12", "work-item-10"]
    broker.deliveries[3].set_result(None)
    await asyncio.wait_for(acknowledger.idle(), 1)
    assert broker.acked == [10, 11, 12]
    running.cancel()


async def test_state_is_visible_to_the_next_event_at_once_but_written_after_the_outputs() -> None:
    broker = _Broker()
    table: dict[str, str] = {"child-1": "history before"}
    histories = StagedTable(table)
    acknowledger = _acknowledger(broker)
    running = asyncio.create_task(acknowledger.run())

    await acknowledger.submit(
        _Event(_Message(1)), ["work-item"], Step(("work-item",), ((histories, {"child-1": "v1"}),))
    )
    assert histories.get("child-1") == "v1", "the next event sees the decision just made"
    assert histories.view()["child-1"] == "v1"
    assert table["child-1"] == "history before", "but nothing is written before the work item"

    broker.deliveries[0].set_result(None)
    await asyncio.wait_for(acknowledger.idle(), 1)
    assert table["child-1"] == "v1"
    assert broker.acked == [1]
    running.cancel()


async def test_a_newer_staged_value_stays_visible_when_an_older_write_lands() -> None:
    broker = _Broker()
    table: dict[str, str] = {}
    histories = StagedTable(table)
    acknowledger = _acknowledger(broker)
    running = asyncio.create_task(acknowledger.run())
    for offset, value in ((1, "v1"), (2, "v2")):
        step = Step((value,), ((histories, {"child-1": value}),))
        await acknowledger.submit(_Event(_Message(offset)), [value], step)

    broker.deliveries[0].set_result(None)
    await _settle()
    assert table == {"child-1": "v1"}
    assert histories.get("child-1") == "v2"

    broker.deliveries[1].set_result(None)
    await asyncio.wait_for(acknowledger.idle(), 1)
    assert table == {"child-1": "v2"}
    assert histories.get("child-1") == "v2"
    running.cancel()


async def test_a_rebalance_drops_what_is_in_flight_so_it_is_redone_from_the_table() -> None:
    broker = _Broker()
    table: dict[str, str] = {"child-1": "v0"}
    histories = StagedTable(table)
    acknowledger = _acknowledger(broker)
    acknowledger.watch(histories)
    running = asyncio.create_task(acknowledger.run())
    step = Step(("v1",), ((histories, {"child-1": "v1"}),))
    await acknowledger.submit(_Event(_Message(1)), ["v1"], step)

    acknowledger.drop_in_flight()
    assert histories.get("child-1") == "v0"
    broker.deliveries[0].set_result(None)
    await asyncio.wait_for(acknowledger.idle(), 1)
    assert broker.acked == [], "the event is redelivered from the committed position instead"
    assert table == {"child-1": "v0"}
    running.cancel()


async def test_outputs_that_wait_too_long_raise_an_operator_alert(
    caplog: pytest.LogCaptureFixture,
) -> None:
    broker = _Broker()
    acknowledger = _acknowledger(broker, stall_alert_seconds=0.05)
    running = asyncio.create_task(acknowledger.run())
    await acknowledger.submit(_Event(_Message(7)), ["work-item"], Step(("work-item",)))

    with caplog.at_level(logging.CRITICAL, logger="agents.pipeline"):
        await asyncio.sleep(0.2)
    alerts = [record.getMessage() for record in caplog.records]
    assert any("OPERATOR ALERT" in alert and "[0@7]" in alert for alert in alerts), alerts
    assert broker.acked == []

    broker.deliveries[0].set_result(None)
    await asyncio.wait_for(acknowledger.idle(), 1)
    assert broker.acked == [7]
    running.cancel()


async def test_in_flight_events_are_bounded() -> None:
    broker = _Broker()
    acknowledger = _acknowledger(broker, limit=2)
    for offset in (1, 2):
        await acknowledger.submit(_Event(_Message(offset)), [], Step(()))
    third = asyncio.create_task(acknowledger.submit(_Event(_Message(3)), [], Step(())))
    await _settle()
    assert not third.done(), "the step waits for the acknowledger rather than run ahead"

    running = asyncio.create_task(acknowledger.run())
    await asyncio.wait_for(third, 1)
    await asyncio.wait_for(acknowledger.idle(), 1)
    assert broker.acked == [1, 2, 3]
    running.cancel()
