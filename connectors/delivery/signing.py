"""Signed webhooks, the Standard Webhooks way (https://www.standardwebhooks.com).

Every webhook carries three headers: ``webhook-id`` (the message's event id: the receiver's
idempotency key, the same on every retry), ``webhook-timestamp`` (seconds since the epoch, so a
receiver can refuse replays of old requests) and ``webhook-signature``: ``v1,`` and the base64
HMAC-SHA256 of ``{id}.{timestamp}.{body}`` under the partner's secret. A secret is written
``whsec_`` and base64 of at least 24 random bytes (:func:`new_secret`); a partner keeps its copy
and checks each request with :func:`verify`, or any Standard Webhooks library.

Pure: no clock of its own (callers pass the time), no I/O.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from collections.abc import Mapping

from schemas.errors import ConfigurationError, WebhookSignatureError

SECRET_PREFIX = "whsec_"  # noqa: S105 - the format's prefix, not a secret
ID_HEADER = "webhook-id"
TIMESTAMP_HEADER = "webhook-timestamp"
SIGNATURE_HEADER = "webhook-signature"
#: How far a request's timestamp may be from the receiver's clock (the standard's default).
TOLERANCE_SECONDS = 5 * 60
_MINIMUM_KEY_BYTES = 24


def new_secret() -> str:
    """A fresh webhook secret to give a partner (once) and keep in the deployment's environment."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def secret_key(secret: str) -> bytes:
    """The HMAC key in ``secret``; a :class:`ConfigurationError` when it is not a usable secret."""
    if not secret.startswith(SECRET_PREFIX):
        raise ConfigurationError(f"a webhook secret starts with {SECRET_PREFIX!r}")
    try:
        key = base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ConfigurationError("a webhook secret is whsec_ and then base64") from exc
    if len(key) < _MINIMUM_KEY_BYTES:
        raise ConfigurationError(
            f"a webhook secret holds at least {_MINIMUM_KEY_BYTES} random bytes (new_secret())"
        )
    return key


def signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value of one request."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def signed_headers(secret: str, message_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The three headers of one request, and its content type."""
    return {
        ID_HEADER: message_id,
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: signature(secret, message_id, timestamp, body),
        "content-type": "application/json",
    }


def verify(secret: str, headers: Mapping[str, str], body: bytes, *, now: float) -> str:
    """The message id of a request whose signature and timestamp verify; else WebhookSignatureError.

    ``headers`` are looked up in lower case. Several signatures (a secret being rotated) are
    separated by spaces; one that verifies is enough.
    """
    lowered = {name.lower(): value for name, value in headers.items()}
    message_id = lowered.get(ID_HEADER)
    stamp = lowered.get(TIMESTAMP_HEADER)
    offered = lowered.get(SIGNATURE_HEADER)
    if not message_id or not stamp or not offered:
        raise WebhookSignatureError(
            "a webhook-id, webhook-timestamp and webhook-signature are required"
        )
    try:
        timestamp = int(stamp)
    except ValueError as exc:
        raise WebhookSignatureError("webhook-timestamp is not whole seconds") from exc
    if abs(now - timestamp) > TOLERANCE_SECONDS:
        raise WebhookSignatureError(
            "webhook-timestamp is too far from now (a replay, or a clock off)"
        )
    expected = signature(secret, message_id, timestamp, body)
    if not any(hmac.compare_digest(expected, given) for given in offered.split(" ")):
        raise WebhookSignatureError("no webhook-signature matches")
    return message_id
