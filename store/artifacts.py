"""Artifacts (files the model produced) and feedback on answers."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from bot.core.records import Artifact
from store.database import Database
from store.schema import artifacts, feedback, turns


def _now() -> datetime:
    return datetime.now(UTC)


class ArtifactStore:
    """What each turn produced and what people thought of it."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(self, artifact: Artifact) -> bool:
        """Record a posted artifact; False if the turn already has one with these bytes."""
        stmt = (
            self._db.insert(artifacts)
            .values(**asdict(artifact), created_at=_now())
            .on_conflict_do_nothing(index_elements=["turn_id", "sha256"])
            .returning(artifacts.c.id)
        )
        async with self._db.write() as conn:
            return (await conn.execute(stmt)).first() is not None

    async def for_turn(self, turn_id: int) -> list[Artifact]:
        query = select(artifacts).where(artifacts.c.turn_id == turn_id).order_by(artifacts.c.id)
        async with self._db.read() as conn:
            rows = (await conn.execute(query)).all()
        return [
            Artifact(
                turn_id=row.turn_id,
                name=row.name,
                sha256=row.sha256,
                size=row.size,
                container_file_id=row.container_file_id,
                slack_file_id=row.slack_file_id,
                permalink=row.permalink,
            )
            for row in rows
        ]

    async def set_feedback(self, turn_id: int, user_id: str, value: str) -> None:
        """Store (or change) one person's verdict on an answer (with the answer's workspace
        and channel, which stay when the retention job deletes the answer)."""

        def of_turn(column: Any) -> Any:
            return select(column).where(turns.c.id == turn_id).scalar_subquery()

        stmt = self._db.insert(feedback).values(
            turn_id=turn_id,
            team_id=of_turn(turns.c.team_id),
            channel_id=of_turn(turns.c.channel_id),
            user_id=user_id,
            value=value,
            created_at=_now(),
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=["turn_id", "user_id"], set_={"value": value, "created_at": _now()}
        )
        async with self._db.write() as conn:
            await conn.execute(stmt)

    async def feedback_for(self, turn_id: int) -> dict[str, str]:
        query = select(feedback.c.user_id, feedback.c.value).where(feedback.c.turn_id == turn_id)
        async with self._db.read() as conn:
            return {row.user_id: row.value for row in (await conn.execute(query)).all()}
