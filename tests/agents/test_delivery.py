"""At-least-once delivery in the agent shells: our own faults are retried, never skipped."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from agents.delivery import LONGEST_RETRY_SECONDS, until_done
from schemas.errors import PublishError, SchemaRegistryError


@dataclass
class _Message:
    topic: str = "frontdoor.intake.contacts"
    partition: int = 0
    offset: int = 42


@dataclass
class _Event:
    message: _Message


class _Flaky:
    """A handler that fails with ``fault`` the first ``failures`` times."""

    def __init__(self, failures: int, fault: Exception) -> None:
        self.failures = failures
        self.fault = fault
        self.calls = 0

    async def __call__(self, _event: Any) -> None:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.fault


async def test_a_registry_outage_is_waited_out_and_the_event_is_then_handled() -> None:
    handler = _Flaky(3, SchemaRegistryError("schema registry unreachable"))
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    await until_done(handler, _Event(_Message()), sleep=sleep)  # type: ignore[arg-type]

    assert handler.calls == 4
    assert slept == [0.5, 1.0, 2.0]


async def test_the_back_off_is_capped() -> None:
    handler = _Flaky(12, PublishError("not acknowledged"))
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    await until_done(handler, _Event(_Message()), sleep=sleep)  # type: ignore[arg-type]

    assert max(slept) == LONGEST_RETRY_SECONDS
    assert handler.calls == 13


async def test_a_bug_is_not_retried_it_surfaces_at_once() -> None:
    handler = _Flaky(1, ZeroDivisionError())

    with pytest.raises(ZeroDivisionError):
        await until_done(handler, _Event(_Message()))  # type: ignore[arg-type]
    assert handler.calls == 1
