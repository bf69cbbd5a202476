"""Channel analyst profiles: each channel's instructions, model, reasoning effort, the tools it
switched off, and who changed them last (the auto-profile switch and the time exist already).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("channel_settings") as batch:
        batch.add_column(sa.Column("instructions", sa.Text(), server_default="", nullable=False))
        batch.add_column(sa.Column("model", sa.String(length=128), nullable=True))
        batch.add_column(sa.Column("reasoning_effort", sa.String(length=16), nullable=True))
        batch.add_column(
            sa.Column(
                "disabled_tools",
                sa.JSON().with_variant(postgresql.JSONB(), "postgresql"),
                nullable=True,
            )
        )
        batch.add_column(sa.Column("updated_by", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("channel_settings") as batch:
        for column in ("updated_by", "disabled_tools", "reasoning_effort", "model", "instructions"):
            batch.drop_column(column)
