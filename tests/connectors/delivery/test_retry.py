"""The retry policy: doubling waits with a cap, spread by jitter, and a time to give up."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from connectors.delivery.channels import RetryPolicy

FIRST_ATTEMPT = datetime(2026, 3, 10, 19, 42, tzinfo=UTC)


def _middle() -> float:
    return 0.5  # the jitter factor's midpoint: exactly 1


def test_the_defaults() -> None:
    policy = RetryPolicy()
    assert (policy.first_seconds, policy.longest_seconds) == (5.0, 300.0)
    assert (policy.give_up_after_seconds, policy.jitter) == (3600.0, 0.2)


def test_the_wait_doubles_from_the_first_up_to_the_longest() -> None:
    policy = RetryPolicy()
    waits = [policy.delay(attempt, _middle) for attempt in range(1, 10)]
    assert waits == [5.0, 10.0, 20.0, 40.0, 80.0, 160.0, 300.0, 300.0, 300.0]


def test_a_very_late_attempt_waits_the_longest_and_does_not_overflow() -> None:
    policy = RetryPolicy()
    assert policy.delay(1000, _middle) == 300.0
    assert policy.delay(10**6, _middle) == 300.0


def test_jitter_spreads_the_wait_by_its_fraction_either_way() -> None:
    policy = RetryPolicy(jitter=0.2)
    assert policy.delay(2, lambda: 0.0) == pytest.approx(8.0)
    assert policy.delay(2, lambda: 0.999_999) == pytest.approx(12.0, rel=1e-5)
    assert policy.delay(7, lambda: 0.0) == pytest.approx(240.0)


def test_with_a_real_random_source_every_wait_stays_in_its_band() -> None:
    policy = RetryPolicy()
    source = random.Random(7).random
    for attempt in range(1, 40):
        base = min(5.0 * 2 ** (attempt - 1), 300.0)
        assert 0.8 * base <= policy.delay(attempt, source) < 1.2 * base


def test_no_jitter_gives_exact_waits() -> None:
    policy = RetryPolicy(first_seconds=0.01, longest_seconds=0.05, jitter=0.0)
    assert [policy.delay(n, lambda: 0.9) for n in (1, 2, 3, 4)] == [0.01, 0.02, 0.04, 0.05]


def test_attempts_are_numbered_from_one() -> None:
    with pytest.raises(ValueError, match="from 1"):
        RetryPolicy().delay(0, _middle)


def test_it_gives_up_once_the_limit_has_passed_since_the_first_attempt() -> None:
    policy = RetryPolicy(give_up_after_seconds=3600)
    assert not policy.gives_up(FIRST_ATTEMPT, FIRST_ATTEMPT)
    assert not policy.gives_up(FIRST_ATTEMPT, FIRST_ATTEMPT + timedelta(minutes=59, seconds=59))
    assert policy.gives_up(FIRST_ATTEMPT, FIRST_ATTEMPT + timedelta(hours=1))
    assert policy.gives_up(FIRST_ATTEMPT, FIRST_ATTEMPT + timedelta(days=2))


def test_fractional_limits_work_for_quick_tests() -> None:
    policy = RetryPolicy(first_seconds=0.01, longest_seconds=0.02, give_up_after_seconds=0.5)
    assert policy.gives_up(FIRST_ATTEMPT, FIRST_ATTEMPT + timedelta(milliseconds=500))
    assert not policy.gives_up(FIRST_ATTEMPT, FIRST_ATTEMPT + timedelta(milliseconds=499))


@pytest.mark.parametrize(
    ("values", "problem"),
    [
        ({"first_seconds": 0}, "more than zero"),
        ({"give_up_after_seconds": -1}, "more than zero"),
        ({"first_seconds": 10, "longest_seconds": 5}, "less than first_seconds"),
        ({"jitter": 1.0}, "jitter"),
        ({"jitter": -0.1}, "jitter"),
    ],
)
def test_a_policy_that_makes_no_sense_is_refused(values: dict[str, float], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        RetryPolicy(**values)
