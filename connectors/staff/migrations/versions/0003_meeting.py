"""The daily domestic-abuse meeting: its agendas and the records made for each child.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The types as they were at this revision (not imported from the models, which move on).
TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "agendas",
        sa.Column("event_id", sa.String(), nullable=False),
        sa.Column("meeting_at", TIME, nullable=False),
        sa.Column("published_at", TIME, nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("event_id", name="pk_agendas"),
    )
    op.create_index("ix_agendas_meeting_at", "agendas", ["meeting_at"])

    op.create_table(
        "meeting_records",
        sa.Column("event_id", sa.String(), nullable=False),
        sa.Column("agenda_id", sa.String(), nullable=False),
        sa.Column("meeting_at", TIME, nullable=False),
        sa.Column("child_key", sa.String(), nullable=False),
        sa.Column("recorded_by", sa.String(), nullable=False),
        sa.Column("recorded_at", TIME, nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("event_id", name="pk_meeting_records"),
    )
    op.create_index("ix_meeting_records_agenda_id", "meeting_records", ["agenda_id"])
    op.create_index("ix_meeting_records_meeting_at", "meeting_records", ["meeting_at"])
    op.create_index("ix_meeting_records_child_key", "meeting_records", ["child_key"])


def downgrade() -> None:
    for table in ("meeting_records", "agendas"):
        op.drop_table(table)
