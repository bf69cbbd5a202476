"""The turns table is the queue: record once, claim atomically, lease, finish.

A turn goes `queued → running → done | failed | cancelled | interrupted`. The database holds at
most one `running` turn per thread (a partial unique index), so the rule holds across
processes and replicas; claiming takes the oldest queued turn of each idle thread in one
UPDATE … RETURNING, atomic on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Row, and_, exists, select, update
from sqlalchemy.exc import IntegrityError

from bot.core.records import StoredTurn, TurnOutcome
from bot.core.turns import SlackFile, ThreadKey, Turn
from store.database import Database
from store.intake import TurnIntake
from store.leases import TurnLeases
from store.parking import PARK_WINDOW_S, ParkedReplies
from store.schema import FINISHED_STATUSES, retired_workspaces, threads, turns

logger = logging.getLogger(__name__)


def _now() -> datetime:
    return datetime.now(UTC)


def _file_from_json(data: dict[str, Any]) -> SlackFile:
    return SlackFile(**data)


def stored_turn(row: Row[Any], key: ThreadKey) -> StoredTurn:
    turn = Turn(
        key=key,
        message_ts=row.message_ts,
        user_id=row.user_id,
        text=row.text,
        files=tuple(_file_from_json(f) for f in row.files),
        channel_type=row.channel_type,
        source=row.source,
        gather_context=row.gather_context,
        retry_of=row.retry_of,
    )
    return StoredTurn(
        id=row.id,
        thread_id=row.thread_id,
        turn=turn,
        status=row.status,
        attempts=row.attempts,
        created_at=row.created_at,
        started_at=row.started_at,
        finished_at=row.finished_at,
        lease_owner=row.lease_owner,
        response_id=row.response_id,
        last_sequence=row.last_sequence,
        reply_ts=row.reply_ts,
        progress=row.progress,
        error_code=row.error_code,
        error_ref=row.error_ref,
        usage=row.usage,
        code_runs=row.code_runs,
        timings=row.timings,
        answer_text=row.answer_text,
    )


_WITH_THREAD = select(turns, threads.c.thread_ts).join(threads, threads.c.id == turns.c.thread_id)


def _key(row: Row[Any]) -> ThreadKey:
    return ThreadKey(row.team_id, row.channel_id, row.thread_ts)


class TurnQueue(TurnLeases):
    """Durable per-thread queue of turns."""

    def __init__(self, db: Database, *, park_window_s: float = PARK_WINDOW_S) -> None:
        self._db = db
        self._parked = ParkedReplies(db, window_s=park_window_s)
        self._intake = TurnIntake(db, recorded=self._parked.promote)

    async def add(self, turn: Turn) -> int | None:
        """Record a turn and engage its thread; its id, or None if this message was already
        recorded (Slack retries, app_mention/message twins). Concurrent calls share a batch."""
        return await self._intake.add(turn)

    async def park(self, turn: Turn) -> list[int]:
        """Keep a reply in a thread that is not engaged (yet) until its mention is recorded
        (then it becomes a turn after it) or its window passes; the ids of turns it made."""
        return await self._parked.park(turn)

    async def record(self, turn: Turn) -> StoredTurn | None:
        """`add`, returning the stored turn."""
        turn_id = await self.add(turn)
        return None if turn_id is None else await self.get(turn_id)

    async def get(self, turn_id: int) -> StoredTurn | None:
        found = await self.get_many([turn_id])
        return found[0] if found else None

    async def get_many(self, turn_ids: list[int]) -> list[StoredTurn]:
        """The turns with these ids, oldest first."""
        if not turn_ids:
            return []
        query = _WITH_THREAD.where(turns.c.id.in_(turn_ids)).order_by(turns.c.id)
        async with self._db.read() as conn:
            rows = (await conn.execute(query)).all()
        return [stored_turn(row, _key(row)) for row in rows]

    async def of_thread(self, thread_id: int) -> list[StoredTurn]:
        """Every turn of a thread, in the order they were asked."""
        query = _WITH_THREAD.where(turns.c.thread_id == thread_id).order_by(turns.c.id)
        async with self._db.read() as conn:
            rows = (await conn.execute(query)).all()
        return [stored_turn(row, _key(row)) for row in rows]

    async def find(self, team_id: str, channel_id: str, message_ts: str) -> StoredTurn | None:
        query = _WITH_THREAD.where(
            turns.c.team_id == team_id,
            turns.c.channel_id == channel_id,
            turns.c.message_ts == message_ts,
        )
        async with self._db.read() as conn:
            row = (await conn.execute(query)).first()
        return stored_turn(row, _key(row)) if row else None

    async def claim(self, owner: str, *, limit: int, lease_s: float) -> list[StoredTurn]:
        """Atomically take up to `limit` runnable turns: the oldest queued turn of each thread
        that has no running turn, outside retired workspaces. Concurrent claimers never get
        the same turn."""
        if limit <= 0:
            return []
        now = _now()
        candidate, running, earlier = turns.alias("c"), turns.alias("r"), turns.alias("e")
        runnable = (
            select(candidate.c.id)
            .where(candidate.c.status == "queued")
            .where(
                ~exists().where(
                    and_(
                        running.c.thread_id == candidate.c.thread_id, running.c.status == "running"
                    )
                )
            )
            .where(
                ~exists().where(
                    and_(
                        earlier.c.thread_id == candidate.c.thread_id,
                        earlier.c.status == "queued",
                        earlier.c.id < candidate.c.id,
                    )
                )
            )
            # A workspace the app left: a turn recorded as it left never runs.
            .where(
                ~exists().where(
                    retired_workspaces.c.team_id == candidate.c.team_id,
                    retired_workspaces.c.returned_at.is_(None),
                )
            )
            .order_by(candidate.c.id)
            .limit(limit)
        )
        stmt = (
            update(turns)
            # Re-checking status makes a claimer that lost a row race skip that row.
            .where(turns.c.id.in_(runnable.scalar_subquery()), turns.c.status == "queued")
            .values(
                status="running",
                lease_owner=owner,
                lease_expires_at=now + timedelta(seconds=lease_s),
                started_at=now,
                attempts=turns.c.attempts + 1,
            )
            .returning(turns.c.id)
        )
        try:
            async with self._db.write() as conn:
                ids = list((await conn.execute(stmt)).scalars())
        except IntegrityError:
            # Another claimer started a turn of the same thread in between: nothing for us now.
            logger.debug("claim lost a race on the one-running-turn-per-thread index")
            return []
        return await self.get_many(ids)

    async def finish(self, turn_id: int, outcome: TurnOutcome, *, owner: str | None) -> bool:
        """Record how a turn ended. With `owner`, only if that owner still holds it."""
        conditions = [turns.c.id == turn_id, turns.c.status.not_in(FINISHED_STATUSES)]
        if owner is not None:
            conditions.append(turns.c.lease_owner == owner)
        values: dict[str, Any] = {
            "status": outcome.status,
            "finished_at": _now(),
            "lease_owner": None,
            "lease_expires_at": None,
            "usage": outcome.usage,
            "timings": outcome.timings,
            "code_runs": outcome.code_runs,
            "error_code": outcome.error_code,
            "error_ref": outcome.error_ref,
            "cancelled_by": outcome.cancelled_by,
            "answer_text": outcome.answer_text,
        }
        for name in ("response_id", "reply_ts"):
            if getattr(outcome, name) is not None:
                values[name] = getattr(outcome, name)
        stmt = update(turns).where(*conditions).values(**values).returning(turns.c.id)
        async with self._db.write() as conn:
            return (await conn.execute(stmt)).first() is not None

    async def running(self, key: ThreadKey) -> StoredTurn | None:
        """The turn running in this thread, if any."""
        query = _WITH_THREAD.where(
            turns.c.team_id == key.team_id,
            turns.c.channel_id == key.channel_id,
            threads.c.thread_ts == key.thread_ts,
            turns.c.status == "running",
        )
        async with self._db.read() as conn:
            row = (await conn.execute(query)).first()
        return stored_turn(row, _key(row)) if row else None

    async def askers(self, thread_id: int) -> set[str]:
        """Everyone who asked the bot something in this thread."""
        query = select(turns.c.user_id).where(turns.c.thread_id == thread_id).distinct()
        async with self._db.read() as conn:
            return set((await conn.execute(query)).scalars())
