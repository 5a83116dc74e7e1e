"""The staff database: the migrations build exactly the models' schema, on SQLite and PostgreSQL,
and times come back aware and in UTC from both."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, insert, inspect, select
from sqlalchemy.exc import StatementError

from connectors.staff.db import (
    AccessLogRow,
    Base,
    DeliveryRow,
    DutyAlertRow,
    alembic_config,
    engine_for,
    migrate,
    sessions,
)
from schemas.errors import ConfigurationError, StoreError

#: The tables of each revision.
FIRST = {"work_items", "mash_tasks", "duty_alerts", "decisions", "users", "access_log"}
SECOND = {"strategy_discussions", "timeliness_alerts"}
TABLES = FIRST | SECOND
HEAD = "0007"


def test_the_migrations_build_the_schema_the_models_declare(engine: Engine) -> None:
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []
    assert set(inspect(engine).get_table_names()) >= TABLES


def test_migrating_again_changes_nothing(database_url: str, engine: Engine) -> None:
    migrate(database_url)
    with engine.connect() as connection:
        assert MigrationContext.configure(connection).get_current_revision() == HEAD


def _migrate_to(engine: Engine, revision: str, *, down: bool) -> None:
    with engine.begin() as connection:
        config = alembic_config()
        config.attributes["connection"] = connection
        (command.downgrade if down else command.upgrade)(config, revision)


def test_the_migrations_go_down_and_up_again(engine: Engine) -> None:
    _migrate_to(engine, "0001", down=True)
    tables = set(inspect(engine).get_table_names())
    assert not SECOND & tables
    assert tables >= FIRST
    _migrate_to(engine, "base", down=True)
    assert not TABLES & set(inspect(engine).get_table_names())
    _migrate_to(engine, "head", down=False)
    assert set(inspect(engine).get_table_names()) >= TABLES
    with engine.connect() as connection:
        assert MigrationContext.configure(connection).get_current_revision() == HEAD
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []


def test_the_acknowledgements_migration_keeps_the_duty_alerts_and_goes_back(
    engine: Engine,
) -> None:
    _migrate_to(engine, "0004", down=True)
    assert "alert_acknowledgements" not in inspect(engine).get_table_names()
    raised = datetime(2026, 12, 5, 2, 10, tzinfo=UTC)
    # The model's columns are a subset of the table's at 0004, and its types store times alike.
    with sessions(engine).begin() as session:
        session.execute(
            insert(DutyAlertRow).values(
                event_id="alert-1",
                work_item_id="wi-1",
                child_key="ck-1",
                priority="red",
                reason="Child at immediate risk outside office hours",
                received_at=raised,
                raised_at=raised,
                document={},
            )
        )

    _migrate_to(engine, "head", down=False)

    with sessions(engine)() as session:
        kept = session.get(DutyAlertRow, "alert-1")
        assert kept is not None
        assert kept.raised_at == raised
    assert "alert_acknowledgements" in inspect(engine).get_table_names()


def test_the_deliveries_migration_adds_its_table_and_goes_back(engine: Engine) -> None:
    assert "ix_deliveries_child_key" in {
        index["name"] for index in inspect(engine).get_indexes("deliveries")
    }
    _migrate_to(engine, "0005", down=True)
    assert "deliveries" not in inspect(engine).get_table_names()
    _migrate_to(engine, "head", down=False)
    assert "deliveries" in inspect(engine).get_table_names()


def test_the_school_notifications_migration_keeps_the_deliveries_and_goes_back(
    engine: Engine,
) -> None:
    def index_names(table: str) -> set[str]:
        return {index["name"] or "" for index in inspect(engine).get_indexes(table)}

    assert index_names("work_items") >= {"ix_work_items_received_at", "ix_work_items_decided_at"}
    _migrate_to(engine, "0006", down=True)
    assert "school_notifications" not in inspect(engine).get_table_names()
    assert "ix_deliveries_message_id" not in index_names("deliveries")
    assert "ix_work_items_received_at" not in index_names("work_items")
    delivered = datetime(2026, 12, 8, 2, 45, tzinfo=UTC)
    with sessions(engine).begin() as session:
        session.execute(
            insert(DeliveryRow).values(
                event_id="delivery-1",
                message_id="sn-00000001",
                message_type="SchoolNotification",
                child_key="ck-1",
                recipient="school:990001",
                channel="email",
                address="dsl@school-990001.example.org",
                attempt=3,
                state="delivered",
                error_code=None,
                at=delivered,
                document={},
            )
        )

    _migrate_to(engine, "head", down=False)

    assert "school_notifications" in inspect(engine).get_table_names()
    assert "ix_school_notifications_due_by" in index_names("school_notifications")
    assert "ix_deliveries_message_id" in index_names("deliveries")
    with sessions(engine)() as session:
        kept = session.scalars(
            select(DeliveryRow).where(DeliveryRow.message_id == "sn-00000001")
        ).one()
    assert kept.at == delivered


def test_times_come_back_aware_in_utc(engine: Engine) -> None:
    summer = datetime(2026, 7, 1, 9, 30, tzinfo=timezone(timedelta(hours=1)))  # BST
    with sessions(engine).begin() as session:
        session.add(AccessLogRow(at=summer, username="u", child_key="c", page="item"))
    with sessions(engine)() as session:
        stored = session.scalars(select(AccessLogRow.at)).one()
    assert stored == summer
    assert stored.tzinfo is UTC
    assert stored.hour == 8


def test_a_naive_time_is_refused(engine: Engine) -> None:
    naive = AccessLogRow(at=datetime(2026, 7, 1, 9, 30), username="u", child_key="c", page="p")
    with pytest.raises(StatementError, match="timezone-aware"), sessions(engine).begin() as session:
        session.add(naive)


def test_sqlite_is_opened_with_write_ahead_logging_and_foreign_keys(tmp_path: Path) -> None:
    engine = engine_for(f"sqlite:///{tmp_path / 'nested' / 'staff.db'}")
    try:
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        engine.dispose()


def test_an_unknown_database_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError):
        engine_for("mysql://staff@localhost/staff")
    with pytest.raises(ConfigurationError):
        engine_for("not a url")


def test_a_sqlite_file_that_cannot_be_made_is_a_configuration_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(ConfigurationError):
        engine_for(f"sqlite:///{blocker / 'staff.db'}")


def test_a_migration_that_cannot_reach_its_database_is_a_store_error() -> None:
    with pytest.raises(StoreError):
        migrate("postgresql://postgres@127.0.0.1:1/nowhere?connect_timeout=2")
