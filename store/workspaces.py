"""Workspaces the bot was removed from: their data is deleted by the next retention run.

`retire` is called when a workspace uninstalls the app or revokes its tokens: its turns stop
running and everything it had is due for deletion. `returned` (it installed the app again,
or its token works again) lets it use the bot at once, while what it had before it left is
still deleted by the retention job (`retired_since`, then `forget` once it is all gone).
Leaving again moves the mark: everything from before then goes.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import delete, select, update

from store.database import Database
from store.schema import retired_workspaces


class RetiredWorkspaces:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def retire(self, team_id: str) -> None:
        """Schedule every piece of a workspace's data for deletion and stop serving it
        (idempotent while it stays away; after a return, everything until now is due)."""
        now = datetime.now(UTC)
        stmt = (
            self._db.insert(retired_workspaces)
            .values(team_id=team_id, retired_at=now)
            .on_conflict_do_update(
                index_elements=["team_id"],
                set_={"retired_at": now, "returned_at": None},
                where=retired_workspaces.c.returned_at.is_not(None),
            )
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

    async def returned(self, team_id: str) -> None:
        """The workspace has the app again: serve it; what it had before stays due."""
        stmt = (
            update(retired_workspaces)
            .where(
                retired_workspaces.c.team_id == team_id,
                retired_workspaces.c.returned_at.is_(None),
            )
            .values(returned_at=datetime.now(UTC))
        )
        async with self._db.write() as conn:
            await conn.execute(stmt)

    async def away(self) -> list[str]:
        """Workspaces that left and have not come back (their events and turns are ignored)."""
        query = select(retired_workspaces.c.team_id).where(
            retired_workspaces.c.returned_at.is_(None)
        )
        async with self._db.read() as conn:
            return [row.team_id for row in await conn.execute(query)]

    async def forget(self, team_id: str) -> None:
        """The workspace's data is gone: nothing left to do for it."""
        stmt = delete(retired_workspaces).where(retired_workspaces.c.team_id == team_id)
        async with self._db.write() as conn:
            await conn.execute(stmt)
