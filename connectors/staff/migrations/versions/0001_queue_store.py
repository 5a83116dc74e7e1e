"""The queue store: work items, MASH tasks, duty-team alerts, decisions, users, access log.

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The types as they were at this revision (not imported from the models, which move on).
TIME = sa.DateTime(timezone=True)
AUTO_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "work_items",
        sa.Column("event_id", sa.String(), nullable=False),
        sa.Column("queue", sa.String(), nullable=False),
        sa.Column("child_key", sa.String(), nullable=False),
        sa.Column("source_event_id", sa.String(), nullable=False),
        sa.Column("source_event_type", sa.String(), nullable=False),
        sa.Column("sender", sa.String(), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("priority", sa.String(), nullable=False),
        sa.Column("priority_rank", sa.Integer(), nullable=False),
        sa.Column("received_at", TIME, nullable=False),
        sa.Column("decision_due_at", TIME, nullable=False),
        sa.Column("routed_at", TIME, nullable=False),
        sa.Column("out_of_hours", sa.Boolean(), nullable=False),
        sa.Column("match_kind", sa.String(), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("topic", sa.String(), nullable=False),
        sa.Column("partition", sa.Integer(), nullable=False),
        sa.Column("offset", sa.BigInteger(), nullable=False),
        sa.Column("claimed_by", sa.String(), nullable=True),
        sa.Column("claimed_at", TIME, nullable=True),
        sa.Column("decided_at", TIME, nullable=True),
        sa.Column("decided_by", sa.String(), nullable=True),
        sa.Column("decision_event_id", sa.String(), nullable=True),
        sa.Column("first_stored_at", TIME, nullable=False),
        sa.Column("updated_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("event_id", name="pk_work_items"),
    )
    op.create_index("ix_work_items_queue", "work_items", ["queue"])
    op.create_index("ix_work_items_child_key", "work_items", ["child_key"])

    op.create_table(
        "mash_tasks",
        sa.Column("event_id", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("title", sa.String(), nullable=False),
        sa.Column("sender", sa.String(), nullable=False),
        sa.Column("reason", sa.String(), nullable=False),
        sa.Column("error_code", sa.String(), nullable=True),
        sa.Column("reference", sa.String(), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("claimed_by", sa.String(), nullable=True),
        sa.Column("claimed_at", TIME, nullable=True),
        sa.Column("done_at", TIME, nullable=True),
        sa.Column("done_by", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("event_id", name="pk_mash_tasks"),
    )

    op.create_table(
        "duty_alerts",
        sa.Column("event_id", sa.String(), nullable=False),
        sa.Column("work_item_id", sa.String(), nullable=False),
        sa.Column("child_key", sa.String(), nullable=False),
        sa.Column("priority", sa.String(), nullable=False),
        sa.Column("reason", sa.String(), nullable=False),
        sa.Column("received_at", TIME, nullable=False),
        sa.Column("raised_at", TIME, nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("acknowledged_by", sa.String(), nullable=True),
        sa.Column("acknowledged_at", TIME, nullable=True),
        sa.PrimaryKeyConstraint("event_id", name="pk_duty_alerts"),
    )
    op.create_index("ix_duty_alerts_work_item_id", "duty_alerts", ["work_item_id"])

    op.create_table(
        "decisions",
        sa.Column("event_id", sa.String(), nullable=False),
        sa.Column("work_item_id", sa.String(), nullable=False),
        sa.Column("child_key", sa.String(), nullable=False),
        sa.Column("decided_by", sa.String(), nullable=False),
        sa.Column("decided_at", TIME, nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("revises", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("event_id", name="pk_decisions"),
    )
    op.create_index("ix_decisions_work_item_id", "decisions", ["work_item_id"])
    op.create_index("ix_decisions_child_key", "decisions", ["child_key"])

    op.create_table(
        "users",
        sa.Column("username", sa.String(), nullable=False),
        sa.Column("display_name", sa.String(), nullable=False),
        sa.Column("role", sa.String(), nullable=False),
        sa.Column("password_hash", sa.String(), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("disabled_at", TIME, nullable=True),
        sa.PrimaryKeyConstraint("username", name="pk_users"),
    )

    op.create_table(
        "access_log",
        sa.Column("id", AUTO_ID, autoincrement=True, nullable=False),
        sa.Column("at", TIME, nullable=False),
        sa.Column("username", sa.String(), nullable=False),
        sa.Column("child_key", sa.String(), nullable=False),
        sa.Column("page", sa.String(), nullable=False),
        sa.Column("work_item_id", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_access_log"),
    )
    op.create_index("ix_access_log_at", "access_log", ["at"])
    op.create_index("ix_access_log_child_key", "access_log", ["child_key"])


def downgrade() -> None:
    for table in ("access_log", "users", "decisions", "duty_alerts", "mash_tasks", "work_items"):
        op.drop_table(table)
