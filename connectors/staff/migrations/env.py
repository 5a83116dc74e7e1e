"""Alembic's environment for the staff database: runs the migrations on a given connection.

:func:`connectors.staff.db.migrate` opens the connection (SQLite or PostgreSQL) and passes it in
``config.attributes["connection"]``; there is no alembic.ini and no offline (SQL script) mode.
New revisions are written by hand with explicit operations (``alembic revision`` with the
configuration of :func:`connectors.staff.db.alembic_config` gives the template), and the test of
the models against the migrations says when one is missing.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from connectors.staff.db import Base
from schemas.errors import ConfigurationError

connection = context.config.attributes.get("connection")
if not isinstance(connection, Connection):
    raise ConfigurationError("run the staff migrations with connectors.staff.db.migrate(url)")
# SQLite alters a table by copying it (batch mode); PostgreSQL alters in place.
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
