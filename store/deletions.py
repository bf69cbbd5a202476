"""OpenAI objects waiting to be deleted: written in the same transaction that deletes their
thread's local records, removed once OpenAI confirmed the deletion (or said 404).

Replicas claim rows for a while before deleting (`FOR UPDATE SKIP LOCKED` on PostgreSQL; on
SQLite writers take turns), so two cleanup runs at once never delete the same object twice;
a row whose claimer died is taken again once its claim lapses.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.core.records import PendingDeletion, RemoteObject
from store.database import Database, dialect_insert
from store.schema import deletions


def _now() -> datetime:
    return datetime.now(UTC)


async def queue(conn: AsyncConnection, team_id: str, objects: Sequence[RemoteObject]) -> None:
    """Add objects to delete (inside the caller's transaction; an object queued twice is
    queued once)."""
    if not objects:
        return
    now = _now()
    rows = [
        {"team_id": team_id, "kind": o.kind, "object_id": o.object_id, "created_at": now}
        for o in objects
    ]
    stmt = dialect_insert(conn.dialect.name)(deletions).on_conflict_do_nothing(
        index_elements=["kind", "object_id"]
    )
    await conn.execute(stmt, rows)


def _pending(row: Any) -> PendingDeletion:
    return PendingDeletion(row.id, row.team_id, RemoteObject(row.kind, row.object_id))


class DeletionQueue:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def claim(self, owner: str, *, limit: int, lease_s: float) -> list[PendingDeletion]:
        """Take up to `limit` unclaimed (or lapsed) rows for `lease_s` seconds, oldest first."""
        now = _now()
        free = or_(deletions.c.claimed_until.is_(None), deletions.c.claimed_until < now)
        picked = (
            select(deletions.c.id)
            .where(free)
            .order_by(deletions.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        stmt = (
            update(deletions)
            # `free` again: a claimer that waited on a row another one took skips it.
            .where(deletions.c.id.in_(picked.scalar_subquery()), free)
            .values(claimed_by=owner, claimed_until=now + timedelta(seconds=lease_s))
            .returning(deletions)
        )
        async with self._db.write() as conn:
            rows = (await conn.execute(stmt)).all()
        return sorted((_pending(row) for row in rows), key=lambda p: p.id)

    async def done(self, ids: Sequence[int]) -> None:
        """OpenAI deleted these objects (or no longer had them)."""
        if not ids:
            return
        async with self._db.write() as conn:
            await conn.execute(delete(deletions).where(deletions.c.id.in_(list(ids))))

    async def pending(self, *, limit: int) -> list[PendingDeletion]:
        """Rows waiting, claimed or not, oldest first (what a dry run lists)."""
        query = select(deletions).order_by(deletions.c.id).limit(limit)
        async with self._db.read() as conn:
            return [_pending(row) for row in (await conn.execute(query)).all()]
