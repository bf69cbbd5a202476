"""Durable state: threads, files, the turn queue, the outbox of final replies, artifacts,
feedback, channel settings, workspaces whose data is to be deleted, what turns cost, what
the retention job deletes (idle threads, and their OpenAI objects until OpenAI deleted
them), the app's installations per workspace (OAuth), Slack events not yet handled.

SQLAlchemy 2 async Core on SQLite (default) or PostgreSQL, one schema, Alembic migrations.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from store.actions import ActionLog
from store.artifacts import ArtifactStore
from store.channels import ChannelSettings
from store.database import Database, open_database
from store.deletions import DeletionQueue
from store.events import ReceivedEvents
from store.health import SchemaState, queue_depth, schema_state
from store.installations import Installations
from store.parking import PARK_WINDOW_S
from store.replies import ReplyLog
from store.retention import RetentionStore
from store.threads import ThreadStore
from store.turns import TurnQueue
from store.usage import UsageLog
from store.workspaces import RetiredWorkspaces


class Store:
    """The store's parts, sharing one database."""

    def __init__(self, engine: AsyncEngine, *, park_window_s: float = PARK_WINDOW_S) -> None:
        self.engine = engine
        db = Database(engine)
        self.threads = ThreadStore(db)
        self.turns = TurnQueue(db, park_window_s=park_window_s)
        self.artifacts = ArtifactStore(db)
        self.replies = ReplyLog(db)
        self.channels = ChannelSettings(db)
        self.actions = ActionLog(db)
        self.retired = RetiredWorkspaces(db)
        self.usage = UsageLog(db)
        self.retention = RetentionStore(db)
        self.deletions = DeletionQueue(db)
        self.installations = Installations(db)
        self.events = ReceivedEvents(db)

    async def ping(self) -> str:
        """`"ok"` when the database answers, else the error's type (never raises)."""
        try:
            async with self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except (SQLAlchemyError, OSError) as error:
            return type(error).__name__
        return "ok"

    async def schema(self) -> SchemaState:
        """The database's schema revision against this code's newest (never raises)."""
        return await schema_state(self.engine)

    async def queue_depth(self) -> int:
        """Turns queued, across every replica."""
        return await queue_depth(self.engine)


@asynccontextmanager
async def open_store(
    url: str, *, run_migrations: bool = True, park_window_s: float = PARK_WINDOW_S
) -> AsyncIterator[Store]:
    """Open the database (applying migrations) and close it on exit."""
    engine = await open_database(url, run_migrations=run_migrations)
    try:
        yield Store(engine, park_window_s=park_window_s)
    finally:
        await engine.dispose()


__all__ = ["SchemaState", "Store", "open_store"]
