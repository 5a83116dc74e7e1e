"""The synthetic generator: repeatable, valid, realistic in mix, and deliberately incomplete."""

from __future__ import annotations

import itertools
import random
from collections import Counter
from datetime import UTC, datetime

from connectors.generator import Generator, synthetic_nhs_number
from schemas.models import EventType, PoliceNotification
from schemas.quality import nhs_number_is_valid
from streams.platform.codec import AvroCodec
from streams.platform.registry import EmbeddedSchemaRegistry

START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def test_synthetic_nhs_numbers_are_valid_and_in_the_reserved_test_range() -> None:
    rng = random.Random(3)
    numbers = [synthetic_nhs_number(rng) for _ in range(500)]
    assert all(nhs_number_is_valid(n) and n.startswith("999") for n in numbers)


def test_the_same_seed_gives_the_same_events() -> None:
    first = [g.event for g in itertools.islice(Generator(seed=7, start=START), 30)]
    second = [g.event for g in itertools.islice(Generator(seed=7, start=START), 30)]
    assert first == second


def test_events_are_valid_contracts_in_a_realistic_mix_and_some_are_incomplete() -> None:
    codec = AvroCodec(EmbeddedSchemaRegistry())
    generated = list(itertools.islice(Generator(seed=11, start=START), 400))

    for item in generated:
        assert codec.decode(codec.encode(item.event), type(item.event)) == item.event
    kinds = Counter(item.event_type for item in generated)
    assert kinds[EventType.CONTACT] > kinds[EventType.CONSENT_EVENT]
    assert kinds[EventType.POLICE_NOTIFICATION] > kinds[EventType.CONSENT_EVENT] > 0
    notifications = [g.event for g in generated if isinstance(g.event, PoliceNotification)]
    thin = [n for n in notifications if any(c.date_of_birth is None for c in n.children)]
    assert 0 < len(thin) < len(notifications)


def test_times_move_forward() -> None:
    times = [g.event.received_at for g in itertools.islice(Generator(seed=5, start=START), 50)]  # type: ignore[attr-defined]
    assert times == sorted(times)
    assert times[0] > START
