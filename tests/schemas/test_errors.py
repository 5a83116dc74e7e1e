"""The error tree: one root, stable unique codes, causes kept."""

from __future__ import annotations

import pytest

from schemas import errors


def _all_error_classes() -> list[type[errors.FrontDoorError]]:
    found: list[type[errors.FrontDoorError]] = []
    pending = [errors.FrontDoorError]
    while pending:
        cls = pending.pop()
        if cls not in found:  # a class with two error parents is reached twice
            found.append(cls)
        pending.extend(cls.__subclasses__())
    return found


def test_every_error_has_its_own_stable_code() -> None:
    classes = _all_error_classes()
    codes = [cls.code for cls in classes]
    duplicated = {cls.__qualname__ for cls in classes if codes.count(cls.code) > 1}
    assert duplicated == set()
    assert all(code.startswith("FD-") and code.upper() == code for code in codes)


def test_an_error_shows_its_code_and_keeps_the_library_cause() -> None:
    cause = OSError("connection refused")

    def connect() -> None:
        try:
            raise cause
        except OSError as exc:
            raise errors.BrokerUnavailableError("no broker at 127.0.0.1:1") from exc

    with pytest.raises(errors.BrokerUnavailableError) as raised:
        connect()
    assert str(raised.value) == "[FD-BROKER-UNAVAILABLE] no broker at 127.0.0.1:1"
    assert raised.value.__cause__ is cause
