"""The Faust app's flow settings: a poll of the broker always fits in an agent's stream buffer."""

from __future__ import annotations

from mode.utils.queues import FlowControlEvent, FlowControlQueue

from streams.platform.app import MAX_POLL_RECORDS, STREAM_BUFFER_SIZE, app


def test_the_app_polls_and_buffers_as_declared() -> None:
    assert app.conf.broker_max_poll_records == MAX_POLL_RECORDS
    assert app.conf.stream_buffer_maxsize == STREAM_BUFFER_SIZE


def test_one_poll_fits_in_the_room_left_when_faust_stops_fetching_for_an_agent() -> None:
    # Faust stops fetching a partition once its agent's buffer reaches the queue's high-pressure
    # size, but delivers the rest of the poll; a poll larger than the room above that size would
    # block the one fetch loop every agent is fed by.
    queue: FlowControlQueue[object] = FlowControlQueue(
        maxsize=STREAM_BUFFER_SIZE, flow_control=FlowControlEvent()
    )
    high_pressure = queue.pressure_high_size
    assert 0 < MAX_POLL_RECORDS <= STREAM_BUFFER_SIZE - high_pressure
