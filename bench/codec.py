"""Benchmark: encode + decode + validate one typical police notification, in microseconds.

Prints figures; asserts nothing (benchmarks are not tests). Run with ``make bench``.
The issue's budget is 50 microseconds per notification on the project's 2-core machine.
"""

from __future__ import annotations

import statistics
import sys
import timeit
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from latency import describe_machine

from schemas.models import PoliceNotification
from schemas.quality import data_quality_issues
from streams.platform.codec import AvroCodec
from streams.platform.registry import EmbeddedSchemaRegistry
from tests.helpers import police_notification

ROUNDS = 7
NUMBER = 5_000


def per_call_microseconds(function: object) -> float:
    runs = timeit.repeat(function, number=NUMBER, repeat=ROUNDS)  # type: ignore[arg-type]
    return statistics.median(runs) / NUMBER * 1e6


def main() -> None:
    codec = AvroCodec(EmbeddedSchemaRegistry())
    notification = police_notification()
    data = codec.encode(notification)
    known_urns = {"990001"}

    encode = per_call_microseconds(lambda: codec.encode(notification))
    decode = per_call_microseconds(lambda: codec.decode(data, PoliceNotification))
    quality = per_call_microseconds(lambda: data_quality_issues(notification, known_urns))
    round_trip = per_call_microseconds(
        lambda: codec.decode(codec.encode(notification), PoliceNotification)
    )
    with_quality = per_call_microseconds(
        lambda: data_quality_issues(
            codec.decode(codec.encode(notification), PoliceNotification), known_urns
        )
    )

    print(describe_machine())
    print(f"message: police notification, 2 children, {len(data)} bytes on the wire")
    print(f"encode (model -> wire bytes):                {encode:7.1f} us")
    print(f"decode + validate (wire bytes -> model):     {decode:7.1f} us")
    print(f"data-quality checks:                         {quality:7.1f} us")
    print(f"encode + decode + validate:                  {round_trip:7.1f} us  (budget 50 us)")
    print(f"the same plus data-quality checks:           {with_quality:7.1f} us")


if __name__ == "__main__":
    main()
