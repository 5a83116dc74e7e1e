"""The gateway's durable store: partner API keys (hashed) and idempotency records.

Two backends behind one small class: SQLite (the embedded default, one file under the data
directory) and PostgreSQL (``postgresql://...``, for production and the integration tests). Both
survive a gateway restart, which is the point: a partner retrying with the same Idempotency-Key
after a restart must not publish twice.

Lifecycle: ``open_store(url)`` connects and creates the tables if needed; ``close()`` at shutdown.
Calls are synchronous and serialised by a lock (the gateway calls them from its worker threads).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from schemas.errors import ConfigurationError, StoreError
from streams.platform.settings import GatewaySettings, WorkerSettings, load

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS api_keys (
        key_id TEXT PRIMARY KEY,
        partner TEXT NOT NULL,
        agency TEXT NOT NULL,
        event_types TEXT NOT NULL,
        secret_hash TEXT NOT NULL,
        created_at TEXT NOT NULL,
        revoked_at TEXT
    )""",
    """CREATE TABLE IF NOT EXISTS idempotency (
        partner TEXT NOT NULL,
        idempotency_key TEXT NOT NULL,
        event_id TEXT NOT NULL,
        status INTEGER NOT NULL,
        body TEXT NOT NULL,
        created_at TEXT NOT NULL,
        PRIMARY KEY (partner, idempotency_key)
    )""",
    # What each partner's event id (and Idempotency-Key) first carried, so that a reuse for other
    # content is refused (409) instead of being answered as a replay while the new child is lost.
    """CREATE TABLE IF NOT EXISTS event_contents (
        partner TEXT NOT NULL,
        identity TEXT NOT NULL,
        digest TEXT NOT NULL,
        created_at TEXT NOT NULL,
        PRIMARY KEY (partner, identity)
    )""",
)


@dataclass(frozen=True)
class ApiKeyRecord:
    """One partner API key as stored: never the key itself, only its hash."""

    key_id: str
    partner: str
    agency: str
    event_types: tuple[str, ...]
    secret_hash: str
    created_at: datetime
    revoked_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


@dataclass(frozen=True)
class StoredResponse:
    """What the gateway answered the first time a partner sent an idempotency key."""

    event_id: str
    status: int
    body: str


class Store:
    """API keys and idempotency records in SQLite or PostgreSQL."""

    def __init__(self, connection: Any, placeholder: str) -> None:
        self._connection = connection
        self._placeholder = placeholder
        self._lock = threading.Lock()
        for statement in _SCHEMA:
            self._execute(statement, ())

    def _sql(self, statement: str) -> str:
        return statement.replace("?", self._placeholder)

    def _execute(self, statement: str, parameters: Sequence[object]) -> list[tuple[Any, ...]]:
        with self._lock:
            try:
                cursor = self._connection.cursor()
                cursor.execute(self._sql(statement), tuple(parameters))
                rows = list(cursor.fetchall()) if cursor.description else []
                self._connection.commit()
            except Exception as exc:
                self._connection.rollback()
                raise StoreError(f"the store failed: {type(exc).__name__}") from exc
            return rows

    # -- API keys ------------------------------------------------------------------------------

    def add_api_key(self, record: ApiKeyRecord) -> None:
        self._execute(
            "INSERT INTO api_keys (key_id, partner, agency, event_types, secret_hash, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (
                record.key_id,
                record.partner,
                record.agency,
                ",".join(record.event_types),
                record.secret_hash,
                record.created_at.isoformat(),
            ),
        )

    def api_key(self, key_id: str) -> ApiKeyRecord | None:
        rows = self._execute(
            "SELECT key_id, partner, agency, event_types, secret_hash, created_at, revoked_at"
            " FROM api_keys WHERE key_id = ?",
            (key_id,),
        )
        return _key_record(rows[0]) if rows else None

    def api_keys(self) -> list[ApiKeyRecord]:
        rows = self._execute(
            "SELECT key_id, partner, agency, event_types, secret_hash, created_at, revoked_at"
            " FROM api_keys ORDER BY partner, created_at",
            (),
        )
        return [_key_record(row) for row in rows]

    def revoke_api_key(self, key_id: str, when: datetime) -> bool:
        """Revoke a key; False if there is no such active key."""
        found = self.api_key(key_id)
        if found is None or not found.active:
            return False
        self._execute(
            "UPDATE api_keys SET revoked_at = ? WHERE key_id = ?", (when.isoformat(), key_id)
        )
        return True

    # -- idempotency ---------------------------------------------------------------------------

    def remembered(self, partner: str, key: str) -> StoredResponse | None:
        rows = self._execute(
            "SELECT event_id, status, body FROM idempotency"
            " WHERE partner = ? AND idempotency_key = ?",
            (partner, key),
        )
        return StoredResponse(rows[0][0], int(rows[0][1]), rows[0][2]) if rows else None

    def remember(self, partner: str, key: str, response: StoredResponse) -> StoredResponse:
        """Record the first response for a key; returns what is stored (the first one wins)."""
        self._execute(
            "INSERT INTO idempotency (partner, idempotency_key, event_id, status, body, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (partner, idempotency_key) DO NOTHING",
            (
                partner,
                key,
                response.event_id,
                response.status,
                response.body,
                datetime.now(UTC).isoformat(),
            ),
        )
        stored = self.remembered(partner, key)
        return stored if stored is not None else response

    def content_of(self, partner: str, identity: str) -> str | None:
        """The digest of what this partner first sent under ``identity``, if anything."""
        rows = self._execute(
            "SELECT digest FROM event_contents WHERE partner = ? AND identity = ?",
            (partner, identity),
        )
        return str(rows[0][0]) if rows else None

    def remember_content(self, partner: str, identity: str, digest: str) -> None:
        """Record what was sent under ``identity``; the first content stays."""
        self._execute(
            "INSERT INTO event_contents (partner, identity, digest, created_at)"
            " VALUES (?, ?, ?, ?) ON CONFLICT (partner, identity) DO NOTHING",
            (partner, identity, digest, datetime.now(UTC).isoformat()),
        )

    def close(self) -> None:
        with self._lock:
            self._connection.close()


def _key_record(row: Sequence[Any]) -> ApiKeyRecord:
    return ApiKeyRecord(
        key_id=row[0],
        partner=row[1],
        agency=row[2],
        event_types=tuple(t for t in str(row[3]).split(",") if t),
        secret_hash=row[4],
        created_at=datetime.fromisoformat(row[5]),
        revoked_at=datetime.fromisoformat(row[6]) if row[6] else None,
    )


def configured_store_url() -> str:
    """The store URL in force: FRONTDOOR_GATEWAY_STORE_URL, else SQLite in the data directory."""
    configured = load(GatewaySettings).store_url
    if configured is not None:
        return configured.get_secret_value()
    return f"sqlite:///{(load(WorkerSettings).data_dir / 'gateway.db').resolve()}"


def open_store(url: str) -> Store:
    """Connect to ``sqlite:///path`` or ``postgresql://user@host:port/db``; create the tables."""
    scheme = urlparse(url).scheme
    if scheme == "sqlite":
        path = Path(url.removeprefix("sqlite:///").removeprefix("sqlite://"))
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            lite = sqlite3.connect(str(path), check_same_thread=False)
        except sqlite3.Error as exc:
            raise ConfigurationError(f"cannot open the SQLite store at {path}") from exc
        return Store(lite, "?")
    if scheme in ("postgresql", "postgres"):
        try:
            import psycopg  # noqa: PLC0415 - only with a PostgreSQL store

            connection = psycopg.connect(url)
        except ImportError as exc:
            raise ConfigurationError("a PostgreSQL store needs psycopg (pip install -e .)") from exc
        except Exception as exc:
            raise StoreError("cannot connect to the PostgreSQL store") from exc
        return Store(connection, "%s")
    raise ConfigurationError(f"store URL must be sqlite:/// or postgresql://, not {scheme!r}")
