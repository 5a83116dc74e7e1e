"""Partner API keys: issue, authenticate, authorise, revoke and rotate.

A partner (a police force, a school, a health trust) sends ``Authorization: Bearer <token>`` with
every event. The token is ``fdk_<key_id>.<secret>``:

* ``key_id`` is a short random id, not secret: it names the key in the store, in logs and on the
  command line (``frontdoor keys revoke KEY_ID``).
* ``secret`` is 32 random bytes (``secrets.token_urlsafe(32)``). Only its argon2id hash is stored,
  so a copy of the store (a backup, a leaked dump) does not let anyone post events.

The token is shown to the operator once, when the key is issued or rotated, and never again.

A key carries its partner id, its agency and the event types it may send. :func:`authorize`
enforces them on each event: a school's key cannot send police notifications nor claim that a
contact comes from health, because the referrer's agency drives routing and trust downstream.
A local authority's case-management system holds a key for its case records
(:class:`CaseRecordType`: threshold decisions, strategy discussions, conferences), which only a
key of the local authority's own agency may carry (:func:`authorize_case_record`).

Timing: argon2 verification is deliberately slow (tens of milliseconds). An unknown key id still
costs one verification against a dummy hash, so response time does not tell an attacker which key
ids exist. A malformed token is rejected at once: its shape says nothing about the store.

Cache: a successful verification is remembered for at most :data:`CACHE_SECONDS`, keyed by the
SHA-256 of the whole token, so a busy partner does not pay argon2 on every request. The store's
record is still read on every call and the cached verification is only used when that record is
active and has the same hash, so a revocation made anywhere (this process, ``frontdoor keys
revoke`` in another process, a direct SQL update) takes effect on the next request.

argon2 parameters are the library's defaults (RFC 9106 "low memory" profile). Each hash records its
own parameters, so old keys keep working if the defaults change; they are not re-hashed (the store
has no update for a hash): rotate keys to move them to new parameters.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import string
import threading
import time
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from connectors.store import ApiKeyRecord, Store
from schemas.errors import AuthenticationError, AuthorizationError
from schemas.models import Agency, ConsentEvent, Contact, EventType, PoliceNotification

TOKEN_PREFIX = "fdk_"  # noqa: S105 - a public marker that makes leaked tokens easy to scan for

PARTNER_PATTERN = re.compile(r"[a-z0-9][a-z0-9._-]{1,63}")

#: Longest time a verified token is trusted without running argon2 again.
CACHE_SECONDS = 60.0

# Lower-case letters and digits only: a key id is read out over the phone and typed on the command
# line, where a leading "-" (possible with token_urlsafe) would be taken for an option.
_KEY_ID_ALPHABET = string.ascii_lowercase + string.digits
_KEY_ID_LENGTH = 12  # 36**12, about 62 bits: collisions are negligible, and ids are not secret
_SECRET_BYTES = 32

# Lenient on lengths so that a future change of id or secret length keeps old tokens valid; strict
# on characters so that nothing odd reaches the store query or the logs.
_TOKEN_SHAPE = re.compile(
    re.escape(TOKEN_PREFIX) + r"(?P<key_id>[a-z0-9]{8,32})\.(?P<secret>[A-Za-z0-9_-]{32,128})"
)
_MAX_TOKEN_LENGTH = 256  # checked before the regular expression: never scan a huge header

_CACHE_MAX_ENTRIES = 10_000  # one per live token; bounded so a flood of keys cannot grow it

# One hasher for the process: its parameters are those of every new hash and of the dummy hash.
_HASHER = PasswordHasher()


# The messages a partner sees. One for every kind of bad key except "revoked", which is only said
# to whoever holds the right secret: it tells them to ask for a new key, and tells nobody else
# anything. Never include the token, the secret or the key id.
class CaseRecordType(StrEnum):
    """What a local authority's case-management system records through the gateway."""

    THRESHOLD_DECISION = "threshold_decision"
    STRATEGY_DISCUSSION = "strategy_discussion"
    CHILD_PROTECTION_CONFERENCE = "child_protection_conference"


#: What a key may be allowed to send: partner events, or the local authority's case records.
RecordType = EventType | CaseRecordType

_NO_KEY = "an API key is required (Authorization: Bearer fdk_...)"
_INVALID_KEY = "the API key is not valid"
_REVOKED_KEY = "the API key has been revoked; ask the front door for a new one"


@dataclass(frozen=True)
class IssuedKey:
    """A newly issued key. The only moment the secret exists outside the partner's hands."""

    key_id: str
    secret: str

    @property
    def token(self) -> str:
        """What the partner sends as the bearer token; shown once, never stored."""
        return f"{TOKEN_PREFIX}{self.key_id}.{self.secret}"

    def __repr__(self) -> str:
        # Keep the secret out of logs and tracebacks that print the object.
        return f"IssuedKey(key_id={self.key_id!r}, secret='***')"


def issue_key(
    store: Store,
    *,
    partner: str,
    agency: Agency,
    event_types: Collection[RecordType],
    now: datetime,
) -> IssuedKey:
    """Create a key for ``partner`` allowed to send ``event_types`` as ``agency``; store its hash.

    Raises ``ValueError`` for a bad partner id, agency or event type, no event types, case
    records for an agency other than the local authority, or a naive ``now``;
    :class:`~schemas.errors.StoreError` if the store fails.
    """
    if not PARTNER_PATTERN.fullmatch(partner):
        raise ValueError(
            f"partner id {partner!r} is not valid: 2 to 64 characters of a-z, 0-9, '.', '_' or "
            "'-', starting with a letter or digit (e.g. 'school.990001')"
        )
    agency = parse_agency(agency)
    types = _event_types(event_types)
    case_records = [t.value for t in types if isinstance(t, CaseRecordType)]
    if case_records and agency is not Agency.LOCAL_AUTHORITY:
        raise ValueError(
            f"only a local authority key may send case records ({', '.join(case_records)}); "
            f"this key is for {agency.value}"
        )
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    issued = IssuedKey(
        key_id="".join(secrets.choice(_KEY_ID_ALPHABET) for _ in range(_KEY_ID_LENGTH)),
        secret=secrets.token_urlsafe(_SECRET_BYTES),
    )
    store.add_api_key(
        ApiKeyRecord(
            key_id=issued.key_id,
            partner=partner,
            agency=agency.value,
            event_types=tuple(t.value for t in types),
            secret_hash=_HASHER.hash(issued.secret),
            created_at=now,
        )
    )
    return issued


def key_id_of(token: str | None) -> str | None:
    """The key id a bearer token claims, if it has the shape of one (nothing is checked)."""
    shape = _TOKEN_SHAPE.fullmatch(token) if token and len(token) <= _MAX_TOKEN_LENGTH else None
    return shape.group("key_id") if shape else None


def authenticate(store: Store, token: str | None, *, verify: bool = True) -> ApiKeyRecord:
    """The active key record for a bearer token, or :class:`AuthenticationError`.

    Missing, malformed, unknown, wrong and revoked keys all raise; the message never contains the
    token. :class:`~schemas.errors.StoreError` passes through: a store outage is not the partner's
    fault and must not be answered 401.

    With ``verify=False`` only a token verified before (held in the cache) is accepted, and no
    argon2 verification runs: the cheap path for a key id under a flood of wrong secrets, which
    keeps its rightful holder working while refusing the flood at no cost.
    """
    if not token:
        raise AuthenticationError(_NO_KEY)
    shape = _TOKEN_SHAPE.fullmatch(token) if len(token) <= _MAX_TOKEN_LENGTH else None
    if shape is None:
        raise AuthenticationError(_INVALID_KEY)
    key_id, secret = shape.group("key_id"), shape.group("secret")
    record = store.api_key(key_id)
    if record is None:
        # Same work as a known key, so that timing does not reveal which key ids exist.
        if verify:
            _verify(_dummy_hash(), secret)
        raise AuthenticationError(_INVALID_KEY)
    digest = hashlib.sha256(token.encode()).digest()
    if not _cache.holds(digest, record) and not (verify and _verify(record.secret_hash, secret)):
        raise AuthenticationError(_INVALID_KEY)
    if not record.active:
        _cache.forget(record.key_id)
        raise AuthenticationError(_REVOKED_KEY)
    _cache.remember(digest, record)
    return record


def authorize(
    record: ApiKeyRecord,
    event_type: EventType,
    event: Contact | PoliceNotification | ConsentEvent,
) -> None:
    """Raise :class:`AuthorizationError` unless this key may send this event.

    The key must allow ``event_type``; the event must be of that type; a contact's referrer must
    be of the key's agency; a police notification needs a police key. Consent events carry no
    agency of their own, so only their type is checked.
    """
    if event_type not in record.event_types:
        raise AuthorizationError(
            f"partner {record.partner}'s key may not send {EventType(event_type).value} events "
            f"(allowed: {', '.join(record.event_types)})"
        )
    # Checks follow the event actually sent, not the declared type: fail closed if they disagree,
    # so an event cannot dodge the agency check by being declared as another type.
    expected = _EVENT_CLASSES[EventType(event_type)]
    if not isinstance(event, expected):
        raise AuthorizationError(
            f"a {type(event).__name__} was sent as a {EventType(event_type).value} event"
        )
    if isinstance(event, Contact) and event.referrer.agency != record.agency:
        raise AuthorizationError(
            f"partner {record.partner}'s key is for {record.agency}; it cannot send a contact "
            f"whose referrer agency is {event.referrer.agency.value}"
        )
    if isinstance(event, PoliceNotification) and record.agency != Agency.POLICE:
        raise AuthorizationError(
            f"only a police key can send police notifications; partner {record.partner}'s key "
            f"is for {record.agency}"
        )


def authorize_case_record(record: ApiKeyRecord, record_type: CaseRecordType) -> None:
    """Raise :class:`AuthorizationError` unless this key may send this kind of case record.

    The agency is checked again at use, not only when the key was issued: a key of another
    agency never records a decision about a child, whatever the store says it may send.
    """
    if record_type not in record.event_types:
        raise AuthorizationError(
            f"partner {record.partner}'s key may not send {record_type.value} records "
            f"(allowed: {', '.join(record.event_types)})"
        )
    if record.agency != Agency.LOCAL_AUTHORITY:
        raise AuthorizationError(
            f"only the local authority records {record_type.value.replace('_', ' ')}s; partner "
            f"{record.partner}'s key is for {record.agency}"
        )


def revoke(store: Store, key_id: str, now: datetime) -> bool:
    """Revoke a key at once; False if there is no such active key."""
    revoked = store.revoke_api_key(key_id, now)
    _cache.forget(key_id)
    return revoked


def rotate(store: Store, key_id: str, now: datetime) -> IssuedKey:
    """Issue a new key with the same partner, agency and event types, and revoke the old one.

    Raises ``ValueError`` if ``key_id`` is unknown or already revoked.
    """
    old = store.api_key(key_id)
    if old is None or not old.active:
        raise ValueError(f"no active key {key_id!r} to rotate")
    # New first, then revoke: if issuing fails, the partner still has a working key.
    new = issue_key(
        store,
        partner=old.partner,
        agency=parse_agency(old.agency),
        event_types=_event_types(old.event_types),
        now=now,
    )
    if not revoke(store, key_id, now):
        # Revoked by someone else meanwhile: do not leave a second key the operator never saw.
        revoke(store, new.key_id, now)
        raise ValueError(f"key {key_id!r} was revoked while it was being rotated")
    return new


def parse_agency(text: str) -> Agency:
    """An agency by name (``police``, ``education``...); ``ValueError`` naming the valid ones."""
    try:
        return Agency(text)
    except ValueError:
        known = ", ".join(a.value for a in Agency)
        raise ValueError(f"unknown agency {text!r}; one of: {known}") from None


def parse_event_types(text: str) -> list[RecordType]:
    """Event types from a comma-separated list (``contact,consent_event``, or a case-management
    system's ``threshold_decision,strategy_discussion,child_protection_conference``);
    ``ValueError`` if any is unknown or there are none."""
    return _event_types([part.strip() for part in text.split(",") if part.strip()])


def clear_cache() -> None:
    """Forget every cached verification (tests; or an operator's hook after bulk changes)."""
    _cache.clear()


# -- internals ---------------------------------------------------------------------------------

_EVENT_CLASSES: dict[EventType, type[Contact | PoliceNotification | ConsentEvent]] = {
    EventType.CONTACT: Contact,
    EventType.POLICE_NOTIFICATION: PoliceNotification,
    EventType.CONSENT_EVENT: ConsentEvent,
}


#: Every kind a key may carry, in the order the store lists them.
_RECORD_TYPES: tuple[RecordType, ...] = (*EventType, *CaseRecordType)


def _event_types(values: Collection[str]) -> list[RecordType]:
    if isinstance(values, str):  # "contact" would otherwise be read as c, o, n, ...
        values = [values]
    by_value = {kind.value: kind for kind in _RECORD_TYPES}
    wanted: set[RecordType] = set()
    for value in values:
        kind = by_value.get(str(value))
        if kind is None:
            known = ", ".join(by_value)
            raise ValueError(f"unknown event type {value!r}; one of: {known}")
        wanted.add(kind)
    if not wanted:
        raise ValueError("a key needs at least one event type")
    return [t for t in _RECORD_TYPES if t in wanted]  # declaration order: stable in the store


def _verify(secret_hash: str, secret: str) -> bool:
    try:
        return _HASHER.verify(secret_hash, secret)
    except (VerificationError, InvalidHashError):
        # A mismatch, or a hash the store should never hold: either way, not this key.
        return False


@cache
def _dummy_hash() -> str:
    # Built on first use (one argon2 hash) rather than at import, so the CLI does not pay for it.
    return _HASHER.hash(secrets.token_urlsafe(_SECRET_BYTES))


def _monotonic() -> float:
    return time.monotonic()


@dataclass(frozen=True)
class _Verified:
    key_id: str
    secret_hash: str
    expires_at: float


class _VerifiedTokens:
    """Tokens whose secret argon2 accepted recently, by SHA-256 of the token; thread-safe."""

    def __init__(self) -> None:
        self._entries: dict[bytes, _Verified] = {}
        self._lock = threading.Lock()

    def holds(self, digest: bytes, record: ApiKeyRecord) -> bool:
        with self._lock:
            entry = self._entries.get(digest)
            if entry is None:
                return False
            if entry.expires_at <= _monotonic():
                del self._entries[digest]
                return False
            # The same key id with the same stored hash: the secret was checked against it.
            return entry.key_id == record.key_id and entry.secret_hash == record.secret_hash

    def remember(self, digest: bytes, record: ApiKeyRecord) -> None:
        with self._lock:
            now = _monotonic()
            if digest in self._entries:
                return  # keep the first expiry: an entry lives at most CACHE_SECONDS
            if len(self._entries) >= _CACHE_MAX_ENTRIES:
                self._entries = {d: e for d, e in self._entries.items() if e.expires_at > now}
                while len(self._entries) >= _CACHE_MAX_ENTRIES:
                    del self._entries[next(iter(self._entries))]  # the oldest
            self._entries[digest] = _Verified(
                record.key_id, record.secret_hash, now + CACHE_SECONDS
            )

    def forget(self, key_id: str) -> None:
        with self._lock:
            self._entries = {d: e for d, e in self._entries.items() if e.key_id != key_id}

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


_cache = _VerifiedTokens()
