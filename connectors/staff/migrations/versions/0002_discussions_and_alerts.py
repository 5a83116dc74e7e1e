"""Strategy discussions and timeliness alerts (one row per clock, with its acknowledgement).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The types as they were at this revision (not imported from the models, which move on).
TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "strategy_discussions",
        sa.Column("event_id", sa.String(), nullable=False),
        sa.Column("discussion_id", sa.String(), nullable=False),
        sa.Column("work_item_id", sa.String(), nullable=False),
        sa.Column("child_key", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("at", TIME, nullable=False),
        sa.Column("recorded_by", sa.String(), nullable=False),
        sa.Column("section_47", sa.Boolean(), nullable=True),
        sa.Column("missing_agencies", sa.JSON(), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("event_id", name="pk_strategy_discussions"),
    )
    op.create_index(
        "ix_strategy_discussions_discussion_id", "strategy_discussions", ["discussion_id"]
    )
    op.create_index(
        "ix_strategy_discussions_work_item_id", "strategy_discussions", ["work_item_id"]
    )
    op.create_index("ix_strategy_discussions_child_key", "strategy_discussions", ["child_key"])

    op.create_table(
        "timeliness_alerts",
        sa.Column("clock_id", sa.String(), nullable=False),
        sa.Column("clock", sa.String(), nullable=False),
        sa.Column("child_key", sa.String(), nullable=False),
        sa.Column("work_item_id", sa.String(), nullable=False),
        sa.Column("started_at", TIME, nullable=False),
        sa.Column("due_at", TIME, nullable=False),
        sa.Column("overdue_at", TIME, nullable=True),
        sa.Column("cleared_at", TIME, nullable=True),
        sa.Column("satisfied_by", sa.String(), nullable=True),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("acknowledged_by", sa.String(), nullable=True),
        sa.Column("acknowledged_at", TIME, nullable=True),
        sa.PrimaryKeyConstraint("clock_id", name="pk_timeliness_alerts"),
    )
    op.create_index("ix_timeliness_alerts_child_key", "timeliness_alerts", ["child_key"])
    op.create_index("ix_timeliness_alerts_work_item_id", "timeliness_alerts", ["work_item_id"])


def downgrade() -> None:
    for table in ("timeliness_alerts", "strategy_discussions"):
        op.drop_table(table)
