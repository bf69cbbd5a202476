"""Recording new turns in batches (group commit).

When a hundred mentions arrive at once, recording them one transaction at a time makes each
wait for every earlier one. Turns submitted while a batch is being written join the next
batch, and a batch is a handful of statements whatever its size: upsert the threads, read
their ids, insert the turns (duplicates of a message are skipped by the unique key). Once a
batch is committed, replies parked in its threads follow their mention (`store.parking`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, tuple_

from bot.core.turns import ThreadKey, Turn
from store.database import Database
from store.schema import threads, turns

logger = logging.getLogger(__name__)

MAX_BATCH = 500
Key = tuple[str, str, str]
Recorded = Callable[[list[ThreadKey]], Awaitable[list[int]]]
"""Called with the threads of each committed batch (`ParkedReplies.promote`)."""


async def _nothing(_keys: list[ThreadKey]) -> list[int]:
    return []


class TurnIntake:
    """`add(turn)` → the new turn's id, or None for a duplicate; concurrent calls share a batch.

    Batches are written one after another; while one is being written the next one fills,
    so batches grow exactly when the database is the bottleneck.
    """

    def __init__(self, db: Database, *, recorded: Recorded = _nothing) -> None:
        self._db = db
        self._recorded = recorded
        self._open: list[Turn] | None = None  # the batch still taking turns
        self._last: asyncio.Task[list[int | None]] | None = None

    async def add(self, turn: Turn) -> int | None:
        if self._open is None or len(self._open) >= MAX_BATCH:
            self._open = []
            self._last = asyncio.create_task(
                self._write(self._open, self._last), name="turn-intake"
            )
        assert self._last is not None
        index, task = len(self._open), self._last
        self._open.append(turn)
        # Shielded: a submitter that goes away does not cancel the others' batch.
        return (await asyncio.shield(task))[index]

    async def _write(
        self, batch: list[Turn], previous: asyncio.Task[list[int | None]] | None
    ) -> list[int | None]:
        if previous is not None:
            await asyncio.wait([previous])  # the batch keeps filling meanwhile
        await asyncio.sleep(0)  # and takes the turns submitted in this very instant
        if self._open is batch:
            self._open = None
        results = await self._insert(batch)
        try:  # after the commit, so a reply parked meanwhile is seen by one side or the other
            await self._recorded(list(dict.fromkeys(t.key for t in batch)))
        except Exception:  # the batch is recorded; a parked reply waits for the next turn
            logger.exception("could not look for parked replies after recording turns")
        return results

    async def _insert(self, batch: Sequence[Turn]) -> list[int | None]:
        now = datetime.now(UTC)
        keys = list(dict.fromkeys(_key(t.key) for t in batch))
        firsts: dict[Key, Turn] = {}
        for turn in batch:  # the app_mention/message twins of one message may share a batch
            firsts.setdefault((turn.key.team_id, turn.key.channel_id, turn.message_ts), turn)
        async with self._db.write() as conn:
            upsert = self._db.insert(threads).on_conflict_do_update(
                index_elements=["team_id", "channel_id", "thread_ts"],
                set_={"engaged": True, "updated_at": now},
            )
            await conn.execute(upsert, [_thread_row(key, now) for key in keys])
            found = await conn.execute(
                select(
                    threads.c.id, threads.c.team_id, threads.c.channel_id, threads.c.thread_ts
                ).where(
                    tuple_(threads.c.team_id, threads.c.channel_id, threads.c.thread_ts).in_(keys)
                )
            )
            thread_ids = {(r.team_id, r.channel_id, r.thread_ts): r.id for r in found}
            insert = (
                self._db.insert(turns)
                .on_conflict_do_nothing(index_elements=["team_id", "channel_id", "message_ts"])
                .returning(turns.c.id, turns.c.team_id, turns.c.channel_id, turns.c.message_ts)
            )
            rows = [turn_row(t, thread_ids[_key(t.key)], now) for t in firsts.values()]
            created = {
                (r.team_id, r.channel_id, r.message_ts): r.id
                for r in await conn.execute(insert, rows)
            }
        results: list[int | None] = []
        for turn in batch:
            message = (turn.key.team_id, turn.key.channel_id, turn.message_ts)
            turn_id = created.pop(message, None)  # only the first of twins gets the id
            if turn_id is None:
                logger.info(
                    "duplicate delivery of message %s in %s ignored", turn.message_ts, turn.key
                )
            results.append(turn_id)
        return results


def _key(key: ThreadKey) -> Key:
    return (key.team_id, key.channel_id, key.thread_ts)


def _thread_row(key: Key, now: datetime) -> dict[str, Any]:
    team_id, channel_id, thread_ts = key
    return {
        "team_id": team_id,
        "channel_id": channel_id,
        "thread_ts": thread_ts,
        "engaged": True,
        "created_at": now,
        "updated_at": now,
    }


def turn_row(turn: Turn, thread_id: int, now: datetime) -> dict[str, Any]:
    return {
        "thread_id": thread_id,
        "team_id": turn.key.team_id,
        "channel_id": turn.key.channel_id,
        "message_ts": turn.message_ts,
        "user_id": turn.user_id,
        "text": turn.text,
        "files": [asdict(f) for f in turn.files],
        "channel_type": turn.channel_type,
        "source": turn.source,
        "gather_context": turn.gather_context,
        "retry_of": turn.retry_of,
        "status": "queued",
        "created_at": now,
    }
