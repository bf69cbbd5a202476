"""Documents for retrieval: each file's Slack permalink (for citations) and, per thread, the
vector store a document was indexed in and how that ended.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("files") as batch:
        batch.add_column(sa.Column("permalink", sa.String(length=1024), nullable=True))
    with op.batch_alter_table("thread_files") as batch:
        batch.add_column(sa.Column("vector_store_id", sa.String(length=128), nullable=True))
        batch.add_column(sa.Column("search_status", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("thread_files") as batch:
        batch.drop_column("search_status")
        batch.drop_column("vector_store_id")
    with op.batch_alter_table("files") as batch:
        batch.drop_column("permalink")
