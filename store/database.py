"""Opening the database: URL normalisation, connection settings, Alembic migrations.

SQLite (`aiosqlite`) is the embedded default; PostgreSQL (`asyncpg`) serves several replicas.
Both run the same migrations, applied at start-up or with `slack-analyst migrate`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Table, event, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

logger = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).with_name("migrations")
# Any constant works; it only has to be the same for every replica running migrations.
_MIGRATION_LOCK_ID = 0x5A_4E_41_4C


def async_url(url: str) -> str:
    """Map `sqlite:///x.db` / `postgresql://…` to their async drivers."""
    parsed = make_url(url.replace("postgres://", "postgresql://", 1))
    if parsed.get_backend_name() == "sqlite":
        return parsed.set(drivername="sqlite+aiosqlite").render_as_string(hide_password=False)
    if parsed.get_backend_name() == "postgresql":
        return parsed.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)
    raise ValueError(f"unsupported database backend: {parsed.get_backend_name()}")


def create_engine(url: str, *, pool_size: int = 10) -> AsyncEngine:
    """An engine for `url` with the settings each backend needs (no connection is made)."""
    full = async_url(url)
    if full.startswith("sqlite"):
        engine = create_async_engine(
            full, connect_args={"timeout": 30}, pool_size=8, max_overflow=8
        )
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    return create_async_engine(
        full, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True
    )


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers work while a writer commits; busy_timeout makes concurrent writers
    # (another process, another claimer) wait instead of failing at once.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    # In WAL mode NORMAL is safe against application crashes (a power cut may lose the last
    # commits, never corrupt the file) and avoids an fsync per commit.
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


async def migrate(engine: AsyncEngine) -> None:
    """Bring the schema to the newest revision (safe to run from several replicas at once)."""
    async with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            lock = text("SELECT pg_advisory_xact_lock(:id)")
            await conn.execute(lock, {"id": _MIGRATION_LOCK_ID})
        await conn.run_sync(_upgrade)
    logger.info("database schema is up to date (%s)", engine.dialect.name)


def _upgrade(connection: Connection) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


async def open_database(url: str, *, run_migrations: bool = True) -> AsyncEngine:
    """Create the engine and apply migrations; the caller disposes of the engine."""
    engine = create_engine(url)
    if run_migrations:
        try:
            await migrate(engine)
        except BaseException:
            await engine.dispose()
            raise
    return engine


class Database:
    """The engine, and how the store uses it.

    Reads run concurrently. On SQLite, this process's write transactions take turns on an
    asyncio lock: SQLite allows one writer at a time, and letting hundreds of coroutines race
    for its file lock would make them spin in SQLite's busy handler (sleeping up to 100 ms a
    try). PostgreSQL needs no lock; its row locks and the schema's constraints do the work.
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        self._writes = asyncio.Lock() if self.dialect == "sqlite" else None

    def read(self) -> AsyncConnection:
        """`async with db.read() as conn:` — a connection for queries."""
        return self.engine.connect()

    @contextlib.asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncConnection]:
        """`async with db.write() as conn:` — a transaction, committed on exit."""
        if self._writes is None:
            async with self.engine.begin() as conn:
                yield conn
            return
        async with self._writes, self.engine.begin() as conn:
            yield conn

    def insert(self, table: Table) -> Any:
        """The dialect's INSERT, with `on_conflict_do_nothing/update`."""
        return dialect_insert(self.dialect)(table)


def dialect_insert(dialect_name: str) -> Any:
    """The dialect's `insert` (with `on_conflict_do_nothing/update`) for SQLite or PostgreSQL."""
    if dialect_name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert
