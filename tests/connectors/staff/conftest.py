"""Staff stores for the tests: SQLite in the test's temporary directory, and PostgreSQL.

The PostgreSQL store (``FRONTDOOR_TEST_POSTGRES_URL``, default
``postgresql://postgres@127.0.0.1:5432/test``) lives in a schema of the test's own, dropped
afterwards, so runs and tests never see each other's rows. Its absence fails the test, as in
the gateway's store tests: an integration test that skips proves nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from connectors.staff.db import engine_for, migrate
from connectors.staff.store import QueueStore
from tests.helpers import postgres_schema_url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database of this test's own, SQLite or PostgreSQL, not yet migrated."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'staff.db'}"
    else:
        yield from postgres_schema_url("staff")


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """An engine on a migrated database."""
    migrate(database_url)
    opened = engine_for(database_url)
    yield opened
    opened.dispose()


@pytest.fixture
def store(engine: Engine) -> QueueStore:
    return QueueStore(engine)
