"""Signed links that let a duty-team alert's recipient acknowledge it from the message itself.

The delivery service puts :func:`acknowledge_url` in each duty-team alert's e-mail; the staff
application reads the token back with :func:`read_acknowledge_token` and, on a button press (never
on opening the link: mail scanners open links), publishes the acknowledgement as the recipient.

The token is signed with the staff session secret (:func:`acknowledge_secret`) under a salt of its
own, so neither a session cookie nor a token made for anything else verifies as one. It names the
alert and the recipient's code, carries its signing time, and is refused once older than
``max_age_seconds`` (a week by default: long enough for a re-sent alert, short enough that an old
message forwarded on does not acknowledge anything). A token is not a secret kept from the
recipient, so it holds codes only, never a child's details.
"""

from __future__ import annotations

from urllib.parse import quote, urlencode

from itsdangerous import BadData, SignatureExpired, URLSafeTimedSerializer
from pydantic import TypeAdapter

from schemas.errors import AcknowledgeLinkError
from schemas.types import Code
from streams.platform.settings import StaffSettings, WorkerSettings, load, staff_session_secret

__all__ = [
    "DEFAULT_MAX_AGE_SECONDS",
    "acknowledge_path",
    "acknowledge_secret",
    "acknowledge_url",
    "read_acknowledge_token",
]

#: How long an acknowledge link works after it was made.
DEFAULT_MAX_AGE_SECONDS = 7 * 86_400
#: Keeps these signatures apart from the session cookie's and any other use of the secret.
_SALT = "frontdoor.duty-alert.acknowledge-link"
_RECIPIENT = TypeAdapter(Code)


def acknowledge_path(alert_id: str) -> str:
    """The staff application's path that acknowledges ``alert_id`` by link."""
    return f"/duty-alerts/{quote(alert_id, safe='')}/acknowledge"


def acknowledge_url(base_url: str, secret: str, alert_id: str, recipient: str) -> str:
    """``<base_url>/duty-alerts/<alert_id>/acknowledge?token=<signed>`` for ``recipient`` (the
    code the channel file names them by, e.g. ``edt:on-call``, which the acknowledgement records
    as who acknowledged). Raises ``ValueError`` for a recipient that is not a code."""
    _RECIPIENT.validate_python(recipient)
    token = _serializer(secret).dumps({"alert": alert_id, "recipient": recipient})
    return f"{base_url.rstrip('/')}{acknowledge_path(alert_id)}?{urlencode({'token': token})}"


def read_acknowledge_token(
    secret: str, token: str, alert_id: str, *, max_age_seconds: int = DEFAULT_MAX_AGE_SECONDS
) -> str:
    """The recipient code a link's ``token`` was made for, if it is ours, unaltered, younger than
    ``max_age_seconds`` and for ``alert_id``; otherwise :class:`AcknowledgeLinkError`, whose
    message says which, in words for the person who followed the link."""
    try:
        payload = _serializer(secret).loads(token, max_age=max_age_seconds)
    except SignatureExpired as exc:
        raise AcknowledgeLinkError("the link has expired") from exc
    except BadData as exc:
        raise AcknowledgeLinkError("the link is not valid: it was changed or cut short") from exc
    if not isinstance(payload, dict) or payload.get("alert") != alert_id:
        raise AcknowledgeLinkError("the link is for another alert")
    recipient = payload.get("recipient")
    if not isinstance(recipient, str) or not recipient:
        raise AcknowledgeLinkError("the link does not say who it was sent to")
    return recipient


def acknowledge_secret() -> str:
    """The secret that signs acknowledge links: the staff session secret in force, so the delivery
    service and the staff application sign and verify alike from the same settings."""
    return staff_session_secret(load(StaffSettings), load(WorkerSettings))


def _serializer(secret: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt=_SALT)
