"""Workspaces the bot was removed from: their data is deleted by the next retention run.

`retire` is called when a workspace uninstalls the app or revokes its tokens; the retention
job (`retired`, then `forget` once everything of that workspace is gone) does the deleting.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import delete, select

from store.database import Database
from store.schema import retired_workspaces


class RetiredWorkspaces:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def retire(self, team_id: str) -> None:
        """Schedule every piece of a workspace's data for deletion (idempotent)."""
        stmt = (
            self._db.insert(retired_workspaces)
            .values(team_id=team_id, retired_at=datetime.now(UTC))
            .on_conflict_do_nothing(index_elements=["team_id"])
        )
        async with self._db.write() as conn:
            await conn.execute(stmt)

    async def retired(self) -> list[str]:
        """Workspaces whose data is waiting to be deleted, oldest first."""
        query = select(retired_workspaces.c.team_id).order_by(retired_workspaces.c.retired_at)
        async with self._db.read() as conn:
            return [row.team_id for row in await conn.execute(query)]

    async def retired_since(self) -> dict[str, datetime]:
        """Each workspace waiting, and when it removed the app, oldest first."""
        query = select(retired_workspaces).order_by(retired_workspaces.c.retired_at)
        async with self._db.read() as conn:
            return {row.team_id: row.retired_at for row in await conn.execute(query)}

    async def forget(self, team_id: str) -> None:
        """The workspace's data is gone: nothing left to do for it."""
        stmt = delete(retired_workspaces).where(retired_workspaces.c.team_id == team_id)
        async with self._db.write() as conn:
            await conn.execute(stmt)
