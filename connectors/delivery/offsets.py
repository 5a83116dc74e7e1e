"""Which offsets the delivery service may commit while many messages are being delivered at once.

Messages are delivered concurrently (one slow recipient must not hold a duty-team alert behind
it) and finish in any order; a partition may only be committed up to its first message not yet
delivered (or recorded as failed), or a crash would lose that message. :class:`OffsetTracker`
keeps, per partition, the offsets read and not yet committed, and answers how far each partition
may now be committed. Pure: no Kafka, no clock; partitions are any hashable value.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Hashable, Iterable
from typing import Generic, TypeVar

P = TypeVar("P", bound=Hashable)


class OffsetTracker(Generic[P]):
    """Offsets read, in order per partition, and which of them are finished."""

    def __init__(self) -> None:
        self._read: dict[P, deque[int]] = {}
        self._finished: dict[P, set[int]] = {}
        self._committable: dict[P, int] = {}

    def read(self, partition: P, offset: int) -> None:
        """A message was read and its delivery begins (offsets come in order per partition)."""
        self._read.setdefault(partition, deque()).append(offset)
        self._finished.setdefault(partition, set())

    def finished(self, partition: P, offset: int) -> None:
        """The message at ``offset`` is delivered, or its final failure is recorded."""
        if partition not in self._read:
            return  # its partition was taken away meanwhile: the new owner delivers it again
        finished = self._finished[partition]
        finished.add(offset)
        waiting = self._read[partition]
        while waiting and waiting[0] in finished:
            done = waiting.popleft()
            finished.discard(done)
            self._committable[partition] = done + 1

    def take_committable(self) -> dict[P, int]:
        """Each partition's next offset to commit, for those that advanced since the last call."""
        ready, self._committable = self._committable, {}
        return ready

    def commit_failed(self, offsets: dict[P, int]) -> None:
        """A commit of ``offsets`` failed: the next commit carries them again (a partition
        taken away meanwhile is left to its new owner)."""
        for partition, offset in offsets.items():
            if partition in self._read:
                self._committable[partition] = max(offset, self._committable.get(partition, 0))

    def in_flight(self) -> int:
        """Messages read and not yet finished."""
        return sum(len(waiting) for waiting in self._read.values()) - sum(
            len(finished) for finished in self._finished.values()
        )

    def forget(self, partitions: Iterable[P]) -> None:
        """Partitions taken away in a rebalance: nothing of theirs is committed by this owner."""
        for partition in partitions:
            self._read.pop(partition, None)
            self._finished.pop(partition, None)
            self._committable.pop(partition, None)
