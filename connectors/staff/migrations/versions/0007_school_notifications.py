"""School notifications, from their topic, and the indexes the dashboard reads a period by.

Whether a school was told before the school day is a dashboard figure: the notification's due
time is kept here, its delivery statuses are in ``deliveries`` (now indexed by message id), and a
period's work items are found by when they were received or decided.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-08
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The types as they were at this revision (not imported from the models, which move on).
TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "school_notifications",
        sa.Column("event_id", sa.String(), nullable=False),
        sa.Column("about_event_id", sa.String(), nullable=False),
        sa.Column("child_key", sa.String(), nullable=False),
        sa.Column("recipient", sa.String(), nullable=False),
        sa.Column("school_urn", sa.String(), nullable=True),
        sa.Column("due_by", TIME, nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("event_id", name="pk_school_notifications"),
    )
    op.create_index("ix_school_notifications_due_by", "school_notifications", ["due_by"])
    op.create_index("ix_deliveries_message_id", "deliveries", ["message_id"])
    op.create_index("ix_work_items_received_at", "work_items", ["received_at"])
    op.create_index("ix_work_items_decided_at", "work_items", ["decided_at"])


def downgrade() -> None:
    op.drop_index("ix_work_items_decided_at", table_name="work_items")
    op.drop_index("ix_work_items_received_at", table_name="work_items")
    op.drop_index("ix_deliveries_message_id", table_name="deliveries")
    op.drop_table("school_notifications")
