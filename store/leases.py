"""Who runs a turn: leases renewed by the worker that claimed it, turns taken over when their
worker stopped (reported as interrupted, or delivered when their answer was staged), and
Cancel requests for turns running on another replica."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import exists, select, update

from bot.core.records import StoredTurn
from store.database import Database
from store.schema import replies, turns


def _now() -> datetime:
    return datetime.now(UTC)


def undelivered_replies() -> Any:
    """The turn has final messages Slack has not taken yet (see `store.replies`)."""
    return exists().where(replies.c.turn_id == turns.c.id, replies.c.delivered_at.is_(None))


class TurnLeases:
    """The lease part of the turn queue (mixed into `store.turns.TurnQueue`)."""

    _db: Database

    async def get_many(self, turn_ids: list[int]) -> list[StoredTurn]:
        raise NotImplementedError

    async def renew(self, owner: str, turn_ids: list[int], *, lease_s: float) -> set[int]:
        """Extend the leases this owner still holds; return the ids it still owns."""
        if not turn_ids:
            return set()
        stmt = (
            update(turns)
            .where(
                turns.c.id.in_(turn_ids), turns.c.lease_owner == owner, turns.c.status == "running"
            )
            .values(lease_expires_at=_now() + timedelta(seconds=lease_s))
            .returning(turns.c.id)
        )
        async with self._db.write() as conn:
            return set((await conn.execute(stmt)).scalars())

    async def save_progress(
        self,
        stored: StoredTurn,
        progress: dict[str, Any],
        *,
        response_id: str | None,
        last_sequence: int | None,
    ) -> bool:
        """Keep how far a running turn got; only the attempt that holds it may (a takeover
        counts as a new attempt). False when that is no longer this attempt."""
        stmt = (
            update(turns)
            .where(
                turns.c.id == stored.id,
                turns.c.status == "running",
                turns.c.attempts == stored.attempts,
            )
            .values(progress=progress, response_id=response_id, last_sequence=last_sequence)
            .returning(turns.c.id)
        )
        async with self._db.write() as conn:
            return (await conn.execute(stmt)).first() is not None

    async def claim_expired(
        self, owner: str, *, limit: int, lease_s: float, max_attempts: int
    ) -> list[StoredTurn]:
        """Take over running turns whose worker stopped (their lease lapsed, or it was
        handed back) to continue them; a turn that already had `max_attempts` is left to
        `interrupt_expired`. Concurrent takers never get the same turn."""
        if limit <= 0:
            return []
        now = _now()
        candidates = (
            select(turns.c.id)
            .where(
                turns.c.status == "running",
                turns.c.lease_expires_at < now,
                turns.c.attempts < max_attempts,
                # Its own turns a live worker stops and records itself.
                turns.c.lease_owner.is_distinct_from(owner),
                ~undelivered_replies(),  # answered: its replies are delivered instead
            )
            .order_by(turns.c.id)
            .limit(limit)
        )
        stmt = (
            update(turns)
            # Re-checking the lease makes a taker that lost a row race skip that row.
            .where(
                turns.c.id.in_(candidates.scalar_subquery()),
                turns.c.status == "running",
                turns.c.lease_expires_at < now,
            )
            .values(
                lease_owner=owner,
                lease_expires_at=now + timedelta(seconds=lease_s),
                attempts=turns.c.attempts + 1,
            )
            .returning(turns.c.id)
        )
        async with self._db.write() as conn:
            ids = list((await conn.execute(stmt)).scalars())
        return await self.get_many(ids)

    async def interrupt_expired(
        self, *, except_owner: str | None = None, max_attempts: int | None = None
    ) -> list[StoredTurn]:
        """Running turns whose lease lapsed (their process died) become `interrupted`; with
        `max_attempts`, only those that had that many attempts (the others are taken over).

        A live worker passes its own id: it never interrupts its own turns (it stops them
        itself when it cannot keep their lease, and it may still be recording an outcome)."""
        conditions = [
            turns.c.status == "running",
            turns.c.lease_expires_at < _now(),
            ~undelivered_replies(),  # answered: its replies are delivered instead
        ]
        if max_attempts is not None:
            conditions.append(turns.c.attempts >= max_attempts)
        if except_owner is not None:
            conditions.append(turns.c.lease_owner != except_owner)
        stmt = (
            update(turns)
            .where(*conditions)
            .values(
                status="interrupted",
                finished_at=_now(),
                lease_owner=None,
                lease_expires_at=None,
                error_code="interrupted",
            )
            .returning(turns.c.id)
        )
        async with self._db.write() as conn:
            ids = list((await conn.execute(stmt)).scalars())
        return await self.get_many(ids)

    async def claim_undelivered(self, owner: str, *, lease_s: float) -> list[StoredTurn]:
        """Take over answered turns whose worker stopped before Slack took their replies."""
        now = _now()
        stmt = (
            update(turns)
            .where(
                turns.c.status == "running",
                turns.c.lease_expires_at < now,
                undelivered_replies(),
            )
            .values(lease_owner=owner, lease_expires_at=now + timedelta(seconds=lease_s))
            .returning(turns.c.id)
        )
        async with self._db.write() as conn:
            ids = list((await conn.execute(stmt)).scalars())
        return await self.get_many(ids)

    async def release(self, turn_id: int, *, owner: str) -> None:
        """Hand a running turn over now (its lease expires at once): another worker, or this
        process after a restart, delivers what it staged."""
        stmt = (
            update(turns)
            .where(turns.c.id == turn_id, turns.c.lease_owner == owner)
            .values(lease_expires_at=_now())
        )
        async with self._db.write() as conn:
            await conn.execute(stmt)

    async def request_cancel(self, turn_id: int, *, by: str) -> bool:
        """Ask whichever worker runs this turn to stop it (see `cancel_requests`)."""
        stmt = (
            update(turns)
            .where(turns.c.id == turn_id, turns.c.status.in_(("queued", "running")))
            .values(cancelled_by=by)
            .returning(turns.c.id)
        )
        async with self._db.write() as conn:
            return (await conn.execute(stmt)).first() is not None

    async def cancel_requests(self, owner: str) -> dict[int, str]:
        """This owner's running turns that somebody asked to cancel: turn id → who."""
        query = select(turns.c.id, turns.c.cancelled_by).where(
            turns.c.lease_owner == owner,
            turns.c.status == "running",
            turns.c.cancelled_by.is_not(None),
        )
        async with self._db.read() as conn:
            return {row.id: row.cancelled_by for row in (await conn.execute(query)).all()}

    async def stop_workspace(self, team_id: str, *, by: str) -> list[int]:
        """The app left a workspace: its queued turns will never run (cancelled, with error
        `uninstalled`), and whichever worker runs one of its turns is asked to stop it
        (`cancel_requests`, `by`). Returns the ids of those running turns."""
        now = _now()
        never = (
            update(turns)
            .where(turns.c.team_id == team_id, turns.c.status == "queued")
            .values(status="cancelled", finished_at=now, error_code="uninstalled", cancelled_by=by)
        )
        stopping = (
            update(turns)
            .where(turns.c.team_id == team_id, turns.c.status == "running")
            .values(cancelled_by=by)
            .returning(turns.c.id)
        )
        async with self._db.write() as conn:
            await conn.execute(never)
            return list((await conn.execute(stopping)).scalars())
