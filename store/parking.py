"""Parked replies: thread replies (no mention) that arrived before their thread was engaged.

Slack may deliver a follow-up before the mention that starts its thread, or deliver both at
the same moment to two replicas. Such a reply is parked here for `window_s`; it becomes a
turn once the thread has a turn whose message is older than the reply (the mention), and is
dropped otherwise. Replies older than the thread's first turn (chatter before the bot was
mentioned) never become turns.

Both sides write before they read: a parked reply looks for an earlier turn after its row is
committed (`park`), and a recorded turn looks for parked replies after its batch is committed
(`promote`, called by `store.intake`). Whatever the interleaving, one of them sees the other;
when both do, the turns' unique key (team, channel, message ts) keeps one turn per reply.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import (
    Column,
    Index,
    Integer,
    Row,
    String,
    Table,
    UniqueConstraint,
    delete,
    func,
    select,
    tuple_,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.core.turns import SlackFile, ThreadKey, Turn
from store.columns import JSONValue, metadata, now_column
from store.database import Database
from store.intake import turn_row
from store.schema import threads, turns

logger = logging.getLogger(__name__)

PARK_WINDOW_S = 30.0
"""How long a parked reply waits for its mention (the default)."""

# Part of the one schema (`store.schema` is full): migration 0012 creates it.
parked_replies = Table(
    "parked_replies",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("team_id", String(32), nullable=False),
    Column("channel_id", String(32), nullable=False),
    Column("thread_ts", String(32), nullable=False),
    Column("message_ts", String(64), nullable=False),
    Column("turn", JSONValue, nullable=False),  # the turn it becomes: `Turn` fields but its key
    now_column("parked_at"),
    UniqueConstraint("team_id", "channel_id", "message_ts"),
    Index("ix_parked_replies_team_id_channel_id_thread_ts", "team_id", "channel_id", "thread_ts"),
    Index("ix_parked_replies_parked_at", "parked_at"),
)


class ParkedReplies:
    """Replies waiting for their thread's mention; see the module docstring."""

    def __init__(self, db: Database, *, window_s: float = PARK_WINDOW_S) -> None:
        self._db = db
        self._window = timedelta(seconds=window_s)

    async def park(self, turn: Turn) -> list[int]:
        """Park a reply (idempotent), dropping replies whose window has passed; the ids of
        the turns it made if its thread already has an earlier turn (usually none)."""
        now = datetime.now(UTC)
        insert = (
            self._db.insert(parked_replies)
            .values(
                team_id=turn.key.team_id,
                channel_id=turn.key.channel_id,
                thread_ts=turn.key.thread_ts,
                message_ts=turn.message_ts,
                turn=_fields(turn),
                parked_at=now,
            )
            .on_conflict_do_nothing(index_elements=["team_id", "channel_id", "message_ts"])
        )
        async with self._db.write() as conn:
            await conn.execute(
                delete(parked_replies).where(parked_replies.c.parked_at < now - self._window)
            )
            await conn.execute(insert)
        return await self.promote([turn.key])

    async def promote(self, keys: Sequence[ThreadKey]) -> list[int]:
        """Turn the parked replies of these threads that follow the thread's first turn into
        turns, in message order; forget the older ones. Returns the new turns' ids."""
        waiting = await self._waiting(keys)
        if not waiting:
            return []
        cutoff = datetime.now(UTC) - self._window
        created: list[int] = []
        async with self._db.write() as conn:
            for key in waiting:
                created += await _promote_thread(self._db, conn, key, cutoff)
        return created

    async def _waiting(self, keys: Sequence[ThreadKey]) -> list[ThreadKey]:
        """Which of these threads have parked replies (one indexed read; usually none)."""
        wanted = list(dict.fromkeys((k.team_id, k.channel_id, k.thread_ts) for k in keys))
        if not wanted:
            return []
        query = (
            select(
                parked_replies.c.team_id, parked_replies.c.channel_id, parked_replies.c.thread_ts
            )
            .where(
                tuple_(
                    parked_replies.c.team_id,
                    parked_replies.c.channel_id,
                    parked_replies.c.thread_ts,
                ).in_(wanted)
            )
            .distinct()
        )
        async with self._db.read() as conn:
            rows = (await conn.execute(query)).all()
        return [
            ThreadKey(*key) for key in sorted((r.team_id, r.channel_id, r.thread_ts) for r in rows)
        ]


async def _promote_thread(
    db: Database, conn: AsyncConnection, key: ThreadKey, cutoff: datetime
) -> list[int]:
    thread_id = (
        await conn.execute(
            select(threads.c.id).where(
                threads.c.team_id == key.team_id,
                threads.c.channel_id == key.channel_id,
                threads.c.thread_ts == key.thread_ts,
            )
        )
    ).scalar()
    if thread_id is None:
        return []
    first = (
        await conn.execute(
            select(func.min(turns.c.message_ts)).where(turns.c.thread_id == thread_id)
        )
    ).scalar()
    if first is None:
        return []  # no mention yet: keep waiting
    parked = (
        await conn.execute(
            select(parked_replies).where(
                parked_replies.c.team_id == key.team_id,
                parked_replies.c.channel_id == key.channel_id,
                parked_replies.c.thread_ts == key.thread_ts,
                parked_replies.c.parked_at >= cutoff,
            )
        )
    ).all()
    due = sorted(
        (r for r in parked if _ts(r.message_ts) > _ts(first)), key=lambda r: _ts(r.message_ts)
    )
    now = datetime.now(UTC)
    created: list[int] = []
    for row in due:  # one by one: ids (the queue's order) follow message order
        insert = (
            db.insert(turns)
            .values(turn_row(_turn(row), thread_id, now))
            .on_conflict_do_nothing(index_elements=["team_id", "channel_id", "message_ts"])
            .returning(turns.c.id)
        )
        turn_id = (await conn.execute(insert)).scalar()
        if turn_id is not None:
            created.append(int(turn_id))
            logger.info("parked reply %s in %s became turn %s", row.message_ts, key, turn_id)
    if parked:
        await conn.execute(
            delete(parked_replies).where(parked_replies.c.id.in_([r.id for r in parked]))
        )
    return created


def _ts(value: str) -> Decimal:
    try:
        return Decimal(value)
    except InvalidOperation:
        return Decimal(0)


def _fields(turn: Turn) -> dict[str, Any]:
    """The turn, as JSON (its thread is the row's)."""
    fields = asdict(turn)
    del fields["key"]
    return fields


def _turn(row: Row[Any]) -> Turn:
    fields = dict(row.turn)
    fields["files"] = tuple(SlackFile(**f) for f in fields["files"])
    return Turn(key=ThreadKey(row.team_id, row.channel_id, row.thread_ts), **fields)
