"""Parked replies: thread replies (no mention) that arrived before the thread was engaged,
waiting briefly for the mention that starts it (Slack may deliver them first, or to another
replica at the same moment).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "parked_replies",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("channel_id", sa.String(length=32), nullable=False),
        sa.Column("thread_ts", sa.String(length=32), nullable=False),
        sa.Column("message_ts", sa.String(length=64), nullable=False),
        sa.Column(
            "turn",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("parked_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_parked_replies")),
        sa.UniqueConstraint(
            "team_id",
            "channel_id",
            "message_ts",
            name=op.f("uq_parked_replies_team_id_channel_id_message_ts"),
        ),
    )
    op.create_index(
        "ix_parked_replies_team_id_channel_id_thread_ts",
        "parked_replies",
        ["team_id", "channel_id", "thread_ts"],
        unique=False,
    )
    op.create_index("ix_parked_replies_parked_at", "parked_replies", ["parked_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_parked_replies_parked_at", table_name="parked_replies")
    op.drop_index("ix_parked_replies_team_id_channel_id_thread_ts", table_name="parked_replies")
    op.drop_table("parked_replies")
