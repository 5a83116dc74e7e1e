"""A partition is committed only up to its first message not yet delivered, whatever order
deliveries finish in: a crash then loses nothing, and redelivers only what was not finished."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from connectors.delivery.offsets import OffsetTracker


def test_a_slow_first_message_holds_the_commit_of_the_ones_after_it() -> None:
    tracker: OffsetTracker[str] = OffsetTracker()
    for offset in (10, 11, 12):
        tracker.read("alerts-0", offset)
    tracker.finished("alerts-0", 11)
    tracker.finished("alerts-0", 12)
    assert tracker.take_committable() == {}
    assert tracker.in_flight() == 1

    tracker.finished("alerts-0", 10)
    assert tracker.take_committable() == {"alerts-0": 13}
    assert tracker.take_committable() == {}
    assert tracker.in_flight() == 0


def test_partitions_advance_independently() -> None:
    tracker: OffsetTracker[str] = OffsetTracker()
    tracker.read("schools-0", 0)
    tracker.read("alerts-1", 5)
    tracker.finished("alerts-1", 5)
    assert tracker.take_committable() == {"alerts-1": 6}


def test_a_partition_taken_away_commits_nothing_more_here() -> None:
    tracker: OffsetTracker[str] = OffsetTracker()
    tracker.read("alerts-0", 3)
    tracker.forget(["alerts-0"])
    tracker.finished("alerts-0", 3)
    assert tracker.take_committable() == {}
    assert tracker.in_flight() == 0


@given(st.permutations(range(20)))
def test_any_finishing_order_commits_exactly_the_finished_prefix(order: list[int]) -> None:
    tracker: OffsetTracker[str] = OffsetTracker()
    for offset in range(20):
        tracker.read("p", offset)
    committed = 0
    finished: set[int] = set()
    for offset in order:
        tracker.finished("p", offset)
        finished.add(offset)
        committed = tracker.take_committable().get("p", committed)
        prefix = 0
        while prefix in finished:
            prefix += 1
        assert committed == prefix
    assert committed == 20


def test_offsets_a_failed_commit_carried_go_with_the_next_commit() -> None:
    tracker: OffsetTracker[str] = OffsetTracker()
    tracker.read("alerts-0", 0)
    tracker.read("gone-0", 0)
    tracker.finished("alerts-0", 0)
    tracker.finished("gone-0", 0)
    failed = tracker.take_committable()
    tracker.forget(["gone-0"])  # taken away meanwhile: its new owner commits it
    tracker.commit_failed(failed)
    assert tracker.take_committable() == {"alerts-0": 1}
