"""The outbox: each turn's final messages, written before they are posted and marked
delivered when Slack took them. A turn with undelivered replies is answered, not lost: after
a crash its replies are delivered by whichever worker takes the turn over."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import delete, select, update

from bot.core.records import StagedReply
from store.database import Database
from store.schema import replies


def _now() -> datetime:
    return datetime.now(UTC)


class ReplyLog:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def stage(self, turn_id: int, staged: list[StagedReply]) -> None:
        """Record the turn's final messages (replacing undelivered ones staged before)."""
        async with self._db.write() as conn:
            await conn.execute(
                delete(replies).where(
                    replies.c.turn_id == turn_id,
                    replies.c.delivered_at.is_(None),
                    replies.c.seq.in_([r.seq for r in staged]),
                )
            )
            if staged:
                await conn.execute(
                    self._db.insert(replies).on_conflict_do_nothing(
                        index_elements=["turn_id", "seq"]
                    ),
                    [
                        {
                            "turn_id": turn_id,
                            "seq": r.seq,
                            "ts": r.ts,
                            "payload": r.payload,
                            "created_at": _now(),
                        }
                        for r in staged
                    ],
                )

    async def delivered(self, turn_id: int, seq: int, ts: str) -> None:
        stmt = (
            update(replies)
            .where(replies.c.turn_id == turn_id, replies.c.seq == seq)
            .values(ts=ts, delivered_at=_now())
        )
        async with self._db.write() as conn:
            await conn.execute(stmt)

    async def undelivered(self, turn_id: int) -> list[StagedReply]:
        query = (
            select(replies)
            .where(replies.c.turn_id == turn_id, replies.c.delivered_at.is_(None))
            .order_by(replies.c.seq)
        )
        async with self._db.read() as conn:
            rows = (await conn.execute(query)).all()
        return [StagedReply(row.seq, row.payload, row.ts) for row in rows]
