"""The staff application's database: tables, connections and migrations.

The queue store keeps what people work from: the work items, MASH tasks and duty-team alerts the
pipeline published, the threshold decisions and strategy discussions recorded on them, the
timeliness alerts to the team managers (one row per clock), the information requests and
outcome notifications addressed to partners (numbered in the order stored, for partners to fetch
through the gateway), every delivery attempt of an outbound message (who was told, and when), the
Operation Encompass school notifications (whether each was delivered before its school day is a
dashboard figure), and what only this application knows (who claimed an item or acknowledged
an alert, staff accounts, the access log). Topic-derived rows can always be rebuilt from the
topics (:func:`connectors.staff.consumer.rebuild`); the local state cannot.

One schema for SQLite (the embedded default, a file in the data directory) and PostgreSQL. Times
are timezone-aware and stored in UTC on both: SQLite has no time zones, so :class:`UtcDateTime`
stores naive UTC there and gives back aware datetimes. Events are kept whole as JSON documents
(``model_dump(mode="json")``) beside the columns the queries filter and sort on.

The schema is created and changed only by the Alembic migrations in ``migrations/``; run them
with :func:`migrate` (``migrate(staff_database_url(...))``) before the application starts. A test
checks that these models and the migrations agree.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Dialect,
    Engine,
    Index,
    Integer,
    MetaData,
    String,
    create_engine,
    event,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker
from sqlalchemy.types import TypeDecorator

from schemas.errors import ConfigurationError, StoreError

MIGRATIONS = Path(__file__).parent / "migrations"

#: Constraint and index names fixed by rule, so the models and the migrations name them alike.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_name)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware datetime, stored in UTC; naive datetimes are refused.

    PostgreSQL keeps ``timestamp with time zone``; SQLite keeps naive UTC text, which also sorts
    in time order, and this type makes it aware again when read.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("the staff store keeps timezone-aware datetimes only")
        utc = value.astimezone(UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(
        self,
        value: datetime | None,
        dialect: Dialect,  # noqa: ARG002 - the signature SQLAlchemy calls
    ) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


#: A 64-bit key; on SQLite an autoincrementing key must be its INTEGER rowid.
AutoId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {  # noqa: RUF012 - SQLAlchemy reads it from the class
        datetime: UtcDateTime(),
        dict[str, Any]: JSON(),
    }


class WorkItemRow(Base):
    """A work item as published on a queue topic, with where it was read and its local state."""

    __tablename__ = "work_items"

    event_id: Mapped[str] = mapped_column(String, primary_key=True)
    queue: Mapped[str] = mapped_column(String, index=True)
    child_key: Mapped[str] = mapped_column(String, index=True)
    source_event_id: Mapped[str] = mapped_column(String)
    source_event_type: Mapped[str] = mapped_column(String)
    sender: Mapped[str] = mapped_column(String)
    level: Mapped[int] = mapped_column(Integer)
    priority: Mapped[str] = mapped_column(String)
    #: 0 red, 1 amber, 2 green: the queue sorts on it.
    priority_rank: Mapped[int] = mapped_column(Integer)
    #: The dashboard selects a period's items by it, and the undecided ones by ``decided_at``.
    received_at: Mapped[datetime] = mapped_column(index=True)
    decision_due_at: Mapped[datetime]
    routed_at: Mapped[datetime]
    out_of_hours: Mapped[bool]
    match_kind: Mapped[str] = mapped_column(String)
    document: Mapped[dict[str, Any]]
    topic: Mapped[str] = mapped_column(String)
    partition: Mapped[int] = mapped_column(Integer)
    offset: Mapped[int] = mapped_column(BigInteger)  # Kafka offsets are 64-bit
    # Local state: never touched when the same work item is delivered again.
    claimed_by: Mapped[str | None] = mapped_column(String)
    claimed_at: Mapped[datetime | None]
    decided_at: Mapped[datetime | None] = mapped_column(index=True)
    decided_by: Mapped[str | None] = mapped_column(String)
    decision_event_id: Mapped[str | None] = mapped_column(String)
    first_stored_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class MashTaskRow(Base):
    """A MASH task (a dead letter to review, an overdue event) and who is doing it."""

    __tablename__ = "mash_tasks"

    event_id: Mapped[str] = mapped_column(String, primary_key=True)
    kind: Mapped[str] = mapped_column(String)
    title: Mapped[str] = mapped_column(String)
    sender: Mapped[str] = mapped_column(String)
    reason: Mapped[str] = mapped_column(String)
    error_code: Mapped[str | None] = mapped_column(String)
    reference: Mapped[str] = mapped_column(String)
    created_at: Mapped[datetime]
    document: Mapped[dict[str, Any]]
    claimed_by: Mapped[str | None] = mapped_column(String)
    claimed_at: Mapped[datetime | None]
    done_at: Mapped[datetime | None]
    done_by: Mapped[str | None] = mapped_column(String)


class DutyAlertRow(Base):
    """An alert to the Emergency Duty Team, as published (its acknowledgement is an event too:
    :class:`AlertAcknowledgementRow`)."""

    __tablename__ = "duty_alerts"

    event_id: Mapped[str] = mapped_column(String, primary_key=True)
    work_item_id: Mapped[str] = mapped_column(String, index=True)
    child_key: Mapped[str] = mapped_column(String)
    priority: Mapped[str] = mapped_column(String)
    reason: Mapped[str] = mapped_column(String)
    received_at: Mapped[datetime]
    #: The duty-alerts page sorts on it and the handover selects a period by it.
    raised_at: Mapped[datetime] = mapped_column(index=True)
    document: Mapped[dict[str, Any]]


class AlertAcknowledgementRow(Base):
    """The first acknowledgement of a duty-team alert (the earliest, whatever order they are
    read in), kept whether or not the alert itself has been stored yet."""

    __tablename__ = "alert_acknowledgements"

    alert_id: Mapped[str] = mapped_column(String, primary_key=True)
    event_id: Mapped[str] = mapped_column(String)
    work_item_id: Mapped[str] = mapped_column(String)
    child_key: Mapped[str] = mapped_column(String, index=True)
    acknowledged_by: Mapped[str] = mapped_column(String)
    via: Mapped[str] = mapped_column(String)
    acknowledged_at: Mapped[datetime]
    document: Mapped[dict[str, Any]]


class DecisionRow(Base):
    """A threshold decision on a work item; ``revises`` names the decision it replaces."""

    __tablename__ = "decisions"

    event_id: Mapped[str] = mapped_column(String, primary_key=True)
    work_item_id: Mapped[str] = mapped_column(String, index=True)
    child_key: Mapped[str] = mapped_column(String, index=True)
    decided_by: Mapped[str] = mapped_column(String)
    decided_at: Mapped[datetime]
    document: Mapped[dict[str, Any]]
    revises: Mapped[str | None] = mapped_column(String)


class StrategyDiscussionRow(Base):
    """A strategy discussion event (convened, held or not held); the events of one discussion
    share ``discussion_id``. ``missing_agencies`` is the flag a held discussion leaves on the
    child's record (agency codes)."""

    __tablename__ = "strategy_discussions"

    event_id: Mapped[str] = mapped_column(String, primary_key=True)
    discussion_id: Mapped[str] = mapped_column(String, index=True)
    work_item_id: Mapped[str] = mapped_column(String, index=True)
    child_key: Mapped[str] = mapped_column(String, index=True)
    status: Mapped[str] = mapped_column(String)
    at: Mapped[datetime]
    recorded_by: Mapped[str] = mapped_column(String)
    section_47: Mapped[bool | None]
    missing_agencies: Mapped[list[str]] = mapped_column(JSON)
    document: Mapped[dict[str, Any]]


class TimelinessAlertRow(Base):
    """One timeliness clock's alerts: the overdue alert creates the row, the cleared alert
    updates it (whatever order they arrive in), and its acknowledgement by a team manager.
    ``document`` is the clock's latest alert (the cleared one, once there is one)."""

    __tablename__ = "timeliness_alerts"

    clock_id: Mapped[str] = mapped_column(String, primary_key=True)
    clock: Mapped[str] = mapped_column(String)
    child_key: Mapped[str] = mapped_column(String, index=True)
    work_item_id: Mapped[str] = mapped_column(String, index=True)
    started_at: Mapped[datetime]
    due_at: Mapped[datetime]
    overdue_at: Mapped[datetime | None]
    cleared_at: Mapped[datetime | None]
    satisfied_by: Mapped[str | None] = mapped_column(String)
    document: Mapped[dict[str, Any]]
    # Local state: never touched when an alert is delivered again.
    acknowledged_by: Mapped[str | None] = mapped_column(String)
    acknowledged_at: Mapped[datetime | None]


class AgendaRow(Base):
    """A daily domestic-abuse meeting's agenda (or one part of a long one), as published."""

    __tablename__ = "agendas"

    event_id: Mapped[str] = mapped_column(String, primary_key=True)
    meeting_at: Mapped[datetime] = mapped_column(index=True)
    published_at: Mapped[datetime]
    document: Mapped[dict[str, Any]]


class MeetingRecordRow(Base):
    """What a daily meeting recorded for one child: the impact and the actions."""

    __tablename__ = "meeting_records"

    event_id: Mapped[str] = mapped_column(String, primary_key=True)
    agenda_id: Mapped[str] = mapped_column(String, index=True)
    meeting_at: Mapped[datetime] = mapped_column(index=True)
    child_key: Mapped[str] = mapped_column(String, index=True)
    recorded_by: Mapped[str] = mapped_column(String)
    recorded_at: Mapped[datetime]
    document: Mapped[dict[str, Any]]


class PartnerMessageRow(Base):
    """An information request or outcome notification addressed to a partner (by sender code).

    ``seq`` numbers the messages in the order they were first stored; it is the cursor a partner
    fetches them by (``GET /v1/information-requests?after=...``), so it is never reused, not
    even on SQLite after rows are deleted (AUTOINCREMENT), and a redelivery keeps its first one.
    """

    __tablename__ = "partner_messages"
    __table_args__ = (
        Index("ix_partner_messages_addressed_to_sender", "addressed_to_sender", "kind", "seq"),
        {"sqlite_autoincrement": True},
    )

    seq: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String, unique=True)
    #: ``information_request`` or ``outcome_notification``.
    kind: Mapped[str] = mapped_column(String)
    addressed_to_sender: Mapped[str] = mapped_column(String)
    #: When it was first stored.
    created_at: Mapped[datetime]
    #: The record as published (``model_dump(mode="json")``): what the partner is given.
    payload: Mapped[dict[str, Any]]


class DeliveryRow(Base):
    """One attempt to deliver an outbound message to one recipient, and what it came to.

    Every status is kept, about a child or not and retrying or final: the chronology reads the
    final ones about its child (by ``child_key``), and nothing is lost for a view of what is
    still being delivered. ``document`` is the status as published: addresses and error codes,
    never the message's content.
    """

    __tablename__ = "deliveries"

    event_id: Mapped[str] = mapped_column(String, primary_key=True)
    #: The dashboard reads the statuses of the school notifications due in a period by it.
    message_id: Mapped[str] = mapped_column(String, index=True)
    message_type: Mapped[str] = mapped_column(String)
    child_key: Mapped[str | None] = mapped_column(String, index=True)
    recipient: Mapped[str] = mapped_column(String)
    channel: Mapped[str] = mapped_column(String)
    address: Mapped[str] = mapped_column(String)
    attempt: Mapped[int] = mapped_column(Integer)
    #: ``delivered``, ``retrying``, ``failed`` or ``available`` (waiting at the gateway).
    state: Mapped[str] = mapped_column(String)
    error_code: Mapped[str | None] = mapped_column(String)
    at: Mapped[datetime]
    document: Mapped[dict[str, Any]]


class SchoolNotificationRow(Base):
    """An Operation Encompass notification (:class:`~schemas.models.SchoolNotification`) as
    published: which child, to whom, due by when. Its delivery statuses are :class:`DeliveryRow`
    rows (by ``message_id``); together they say whether the school was told before the school
    day."""

    __tablename__ = "school_notifications"

    event_id: Mapped[str] = mapped_column(String, primary_key=True)
    about_event_id: Mapped[str] = mapped_column(String)
    child_key: Mapped[str] = mapped_column(String)
    recipient: Mapped[str] = mapped_column(String)
    school_urn: Mapped[str | None] = mapped_column(String)
    #: The start of the school day it must reach the school before; a period selects by it.
    due_by: Mapped[datetime] = mapped_column(index=True)
    created_at: Mapped[datetime]
    document: Mapped[dict[str, Any]]


class UserRow(Base):
    """A staff account; the password only as its argon2 hash."""

    __tablename__ = "users"

    username: Mapped[str] = mapped_column(String, primary_key=True)
    display_name: Mapped[str] = mapped_column(String)
    role: Mapped[str] = mapped_column(String)
    password_hash: Mapped[str] = mapped_column(String)
    created_at: Mapped[datetime]
    disabled_at: Mapped[datetime | None]


class AccessLogRow(Base):
    """One view of a child's record by a member of staff."""

    __tablename__ = "access_log"

    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(index=True)
    username: Mapped[str] = mapped_column(String)
    child_key: Mapped[str] = mapped_column(String, index=True)
    page: Mapped[str] = mapped_column(String)
    work_item_id: Mapped[str | None] = mapped_column(String)


def engine_for(url: str) -> Engine:
    """An engine for ``sqlite:///path`` or ``postgresql://...`` (driven by psycopg 3).

    SQLite is opened for use from several threads (the web server's) with write-ahead logging, so
    the consumer writing does not block pages reading, and with foreign keys enforced.
    """
    try:
        parsed = make_url(url)
    except SQLAlchemyError as exc:
        raise ConfigurationError("the staff database URL does not parse") from exc
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            folder = Path(parsed.database).parent
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise ConfigurationError(f"cannot create {folder} for the staff database") from exc
        engine = create_engine(parsed, connect_args={"check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if backend in ("postgresql", "postgres"):
        # psycopg 3 is the driver installed; SQLAlchemy's default for postgresql:// is psycopg2.
        parsed = parsed.set(drivername="postgresql+psycopg")
        return create_engine(parsed, pool_pre_ping=True)
    raise ConfigurationError(f"the staff database must be sqlite or postgresql, not {backend!r}")


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    cursor = connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=5000")  # wait for the other writer, do not fail
    finally:
        cursor.close()


def sessions(engine: Engine) -> sessionmaker[Session]:
    """Sessions on ``engine``; objects stay readable after their transaction commits."""
    return sessionmaker(engine, expire_on_commit=False)


def alembic_config() -> Config:
    """Alembic's configuration, built in code (no alembic.ini); the caller supplies the
    connection as ``config.attributes["connection"]``, as :func:`migrate` does."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def migrate(url: str) -> None:
    """Bring the database at ``url`` to the newest schema (``alembic upgrade head``)."""
    engine = engine_for(url)
    try:
        with engine.begin() as connection:
            config = alembic_config()
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    except SQLAlchemyError as exc:
        raise StoreError(f"the staff database migration failed: {type(exc).__name__}") from exc
    finally:
        engine.dispose()
