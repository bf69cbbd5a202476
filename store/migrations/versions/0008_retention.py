"""Retention: OpenAI objects waiting to be deleted, feedback that outlives its answer, and an
index to find idle threads.

- `deletions`: the OpenAI objects of threads the retention job deleted, until OpenAI confirms.
- `feedback` keeps its workspace and channel and loses its turn (SET NULL) when the thread
  is deleted; existing rows take both from their turn.
- `ix_threads_updated_at`: threads by last activity.

Revision ID: 0008_retention
Revises: 0007
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_retention"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_FK = "fk_feedback_turn_id_turns"


def upgrade() -> None:
    op.create_table(
        "deletions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("object_id", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_by", sa.String(length=128), nullable=True),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deletions")),
        sa.UniqueConstraint("kind", "object_id", name=op.f("uq_deletions_kind_object_id")),
    )
    op.create_index("ix_deletions_team_id", "deletions", ["team_id"], unique=False)
    op.create_index("ix_threads_updated_at", "threads", ["updated_at"], unique=False)
    with op.batch_alter_table("feedback") as batch:
        batch.add_column(sa.Column("team_id", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("channel_id", sa.String(length=32), nullable=True))
    op.execute(
        "UPDATE feedback SET"
        " team_id = (SELECT turns.team_id FROM turns WHERE turns.id = feedback.turn_id),"
        " channel_id = (SELECT turns.channel_id FROM turns WHERE turns.id = feedback.turn_id)"
    )
    with op.batch_alter_table("feedback") as batch:
        batch.alter_column("team_id", existing_type=sa.String(length=32), nullable=False)
        batch.alter_column("channel_id", existing_type=sa.String(length=32), nullable=False)
        batch.alter_column("turn_id", existing_type=sa.Integer(), nullable=True)
        batch.drop_constraint(_FK, type_="foreignkey")
        batch.create_foreign_key(_FK, "turns", ["turn_id"], ["id"], ondelete="SET NULL")


def downgrade() -> None:
    op.execute("DELETE FROM feedback WHERE turn_id IS NULL")
    with op.batch_alter_table("feedback") as batch:
        batch.drop_constraint(_FK, type_="foreignkey")
        batch.create_foreign_key(_FK, "turns", ["turn_id"], ["id"], ondelete="CASCADE")
        batch.alter_column("turn_id", existing_type=sa.Integer(), nullable=False)
        batch.drop_column("channel_id")
        batch.drop_column("team_id")
    op.drop_index("ix_threads_updated_at", table_name="threads")
    op.drop_index("ix_deletions_team_id", table_name="deletions")
    op.drop_table("deletions")
