"""The error tree: one root, stable unique codes, causes kept."""

from __future__ import annotations

import pytest

from streams import errors


def _all_error_classes() -> list[type[errors.FrontDoorError]]:
    found: list[type[errors.FrontDoorError]] = []
    pending = [errors.FrontDoorError]
    while pending:
        cls = pending.pop()
        found.append(cls)
        pending.extend(cls.__subclasses__())
    return found


def test_every_error_has_its_own_stable_code() -> None:
    codes = [cls.code for cls in _all_error_classes()]
    assert len(codes) == len(set(codes))
    assert all(code.startswith("FD-") and code.upper() == code for code in codes)


def test_an_error_shows_its_code_and_keeps_the_library_cause() -> None:
    cause = OSError("connection refused")
    with pytest.raises(errors.BrokerUnavailableError) as raised:
        try:
            raise cause
        except OSError as exc:
            raise errors.BrokerUnavailableError("no broker at 127.0.0.1:1") from exc
    assert str(raised.value) == "[FD-BROKER-UNAVAILABLE] no broker at 127.0.0.1:1"
    assert raised.value.__cause__ is cause
