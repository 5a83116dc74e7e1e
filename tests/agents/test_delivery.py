"""At-least-once delivery in the agent shells: our own faults are retried, never skipped."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from agents.delivery import processing_failed, until_done
from agents.pipeline import LONGEST_RETRY_SECONDS
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


async def test_a_long_outage_raises_one_operator_alert_naming_the_waiting_event(
    caplog: pytest.LogCaptureFixture,
) -> None:
    handler = _Flaky(8, PublishError("not acknowledged"))
    now = [0.0]

    async def sleep(seconds: float) -> None:
        now[0] += seconds

    with caplog.at_level(logging.CRITICAL, logger="agents.delivery"):
        await until_done(handler, _Event(_Message()), sleep=sleep, clock=lambda: now[0])  # type: ignore[arg-type]

    alerts = [r.getMessage() for r in caplog.records if r.levelno == logging.CRITICAL]
    assert len(alerts) == 1
    assert "OPERATOR ALERT" in alerts[0]
    assert "frontdoor.intake.contacts[0@42]" in alerts[0]
    assert handler.calls == 9


def test_a_failure_becomes_a_dead_letter_reason_without_the_input_it_quoted() -> None:
    try:
        WorkItemDue.model_validate({"due": "Amelia Thornbury"})
    except ValidationError as failure:
        error = processing_failed(failure)
    assert error.code == "FD-PROCESSING-FAILED"
    assert error.field == "due"
    assert "Amelia" not in str(error)
    assert "ValidationError" in error.message

    other = processing_failed(KeyError("child-123 Amelia"))
    assert other.message == "KeyError while processing"
    assert other.field is None


class WorkItemDue(BaseModel):
    due: datetime
