"""Duty-team alert acknowledgements, from their topic, and the duty alerts by time raised.

An acknowledgement is now an event (``alerts.acknowledgements``), kept in a table of its own so
that one read before its alert is kept; the duty alert row's own acknowledgement columns, never
written, go.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The types as they were at this revision (not imported from the models, which move on).
TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "alert_acknowledgements",
        sa.Column("alert_id", sa.String(), nullable=False),
        sa.Column("event_id", sa.String(), nullable=False),
        sa.Column("work_item_id", sa.String(), nullable=False),
        sa.Column("child_key", sa.String(), nullable=False),
        sa.Column("acknowledged_by", sa.String(), nullable=False),
        sa.Column("via", sa.String(), nullable=False),
        sa.Column("acknowledged_at", TIME, nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("alert_id", name="pk_alert_acknowledgements"),
    )
    op.create_index("ix_alert_acknowledgements_child_key", "alert_acknowledgements", ["child_key"])
    # Batch mode: SQLite drops a column by copying the table.
    with op.batch_alter_table("duty_alerts") as table:
        table.drop_column("acknowledged_by")
        table.drop_column("acknowledged_at")
        table.create_index("ix_duty_alerts_raised_at", ["raised_at"])


def downgrade() -> None:
    with op.batch_alter_table("duty_alerts") as table:
        table.drop_index("ix_duty_alerts_raised_at")
        table.add_column(sa.Column("acknowledged_by", sa.String(), nullable=True))
        table.add_column(sa.Column("acknowledged_at", TIME, nullable=True))
    op.drop_table("alert_acknowledgements")
