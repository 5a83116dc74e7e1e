"""Constrained field types shared by the models.

Times are timezone-aware, free text is length-bounded, and identifiers are short printable strings.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, Field, StringConstraints

EARLIEST_YEAR, LATEST_YEAR = 1900, 2999


def _must_be_aware(value: datetime) -> datetime:
    if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
        raise ValueError("must be timezone-aware (include an offset such as Z or +01:00)")
    # Times at the ends of the calendar cannot be converted between timezones (OverflowError
    # deep in a check would stop a worker on one message): they are unusable, said here. The
    # wire carries a time as UTC, so the year must hold there too: 2998-12-31T23:00-05:00 is
    # 2999 in UTC, and would be accepted here yet refused when the intake decodes it.
    if not EARLIEST_YEAR < value.year < LATEST_YEAR:
        raise ValueError(f"must be between the years {EARLIEST_YEAR} and {LATEST_YEAR}")
    if not EARLIEST_YEAR < value.astimezone(UTC).year < LATEST_YEAR:  # safe: a day from range
        raise ValueError(f"must be between the years {EARLIEST_YEAR} and {LATEST_YEAR} in UTC")
    return value


AwareDatetime = Annotated[datetime, AfterValidator(_must_be_aware)]

#: A whole number the wire can carry (Avro ``long``, signed 64 bits). A larger one would pass
#: validation and then fail in the encoder (an HTTP 500, or a worker stopped on one message), so
#: it is unusable here, with its field named.
Long = Annotated[int, Field(ge=-(2**63), le=2**63 - 1)]

EventId = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=8, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$"
    ),
]
Reference = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
#: The longest short text (a reason, a title) a record carries.
SHORT_TEXT_LENGTH = 500
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=SHORT_TEXT_LENGTH)]
LongText = Annotated[str, StringConstraints(max_length=20_000)]
#: A person's written reasons for a decision. Stripped and never empty: a decision without its
#: reason is not a usable record of one (whether the reason says enough is a decision rule, in
#: :mod:`streams.decisions.threshold`, not the contract's). A page of text, not a case file.
Reasons = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4_000)]
Code = Annotated[str, StringConstraints(max_length=64)]
