"""Button clicks already acted on, so a double click or a redelivery acts once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from store.database import Database
from store.schema import handled_actions


class ActionLog:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def claim(self, key: str, *, window_s: float) -> bool:
        """True for the first claim of `key` within `window_s` seconds (then act)."""
        now = datetime.now(UTC)
        stmt = (
            self._db.insert(handled_actions)
            .values(key=key, handled_at=now)
            .on_conflict_do_update(
                index_elements=["key"],
                set_={"handled_at": now},
                where=handled_actions.c.handled_at < now - timedelta(seconds=window_s),
            )
            .returning(handled_actions.c.key)
        )
        async with self._db.write() as conn:
            return (await conn.execute(stmt)).first() is not None
