"""Information requests and outcome notifications addressed to partners, numbered for fetching.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The types as they were at this revision (not imported from the models, which move on).
TIME = sa.DateTime(timezone=True)
AUTO_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "partner_messages",
        sa.Column("seq", AUTO_ID, autoincrement=True, nullable=False),
        sa.Column("event_id", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("addressed_to_sender", sa.String(), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_partner_messages"),
        sa.UniqueConstraint("event_id", name="uq_partner_messages_event_id"),
        # The sequence numbers are partners' cursors: SQLite must never reuse one.
        sqlite_autoincrement=True,
    )
    op.create_index(
        "ix_partner_messages_addressed_to_sender",
        "partner_messages",
        ["addressed_to_sender", "kind", "seq"],
    )


def downgrade() -> None:
    op.drop_table("partner_messages")
