"""What turns cost: one row per turn that reached OpenAI (tokens, container sessions,
file-search calls, estimated cost), without a foreign key so that the figures outlive the
turns; and the budgets' near-the-limit notices already given.

Revision ID: 0009
Revises: 0008_retention
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008_retention"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "turn_usage",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("channel_id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("thread_ts", sa.String(length=32), nullable=False),
        sa.Column("turn_id", sa.Integer(), nullable=False),
        sa.Column("model", sa.String(length=128), nullable=False),
        sa.Column("responses", sa.Integer(), nullable=False),
        sa.Column("unmetered", sa.Integer(), nullable=False),
        sa.Column("input_tokens", sa.BigInteger(), nullable=True),
        sa.Column("cached_input_tokens", sa.BigInteger(), nullable=True),
        sa.Column("output_tokens", sa.BigInteger(), nullable=True),
        sa.Column("reasoning_tokens", sa.BigInteger(), nullable=True),
        sa.Column("container_sessions", sa.Integer(), nullable=False),
        sa.Column("file_searches", sa.Integer(), nullable=False),
        sa.Column("cost_usd", sa.Float(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_turn_usage")),
    )
    for name, columns in (
        ("ix_turn_usage_team_id_user_id_created_at", ["team_id", "user_id", "created_at"]),
        ("ix_turn_usage_team_id_channel_id_created_at", ["team_id", "channel_id", "created_at"]),
        ("ix_turn_usage_team_id_created_at", ["team_id", "created_at"]),
        ("ix_turn_usage_created_at", ["created_at"]),
    ):
        op.create_index(name, "turn_usage", columns)
    op.create_table(
        "budget_notices",
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("budget", sa.String(length=32), nullable=False),
        sa.Column("subject", sa.String(length=32), nullable=False),
        sa.Column("period_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(
            "team_id", "budget", "subject", "period_start", name=op.f("pk_budget_notices")
        ),
    )


def downgrade() -> None:
    op.drop_table("budget_notices")
    op.drop_table("turn_usage")
