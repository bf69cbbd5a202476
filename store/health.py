"""What operations ask of the database: is it there, is its schema current, how long is the queue.

Readiness probes, `/metrics` scrapes and `slack-analyst doctor` call these often or against a
database the bot has not migrated yet, so they never migrate, never raise for an unreachable
database, and cost one indexed query each.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import func, select
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from store.database import MIGRATIONS
from store.schema import turns

FAILURES = (SQLAlchemyError, OSError, TimeoutError)
"""What an unreachable or broken database raises."""


@dataclass(frozen=True)
class SchemaState:
    """Where the database's schema stands against this code's migrations."""

    current: str | None
    """The revision the database is at (None: never migrated, or unreachable)."""
    head: str
    """The newest revision this code knows."""
    error: str | None = None
    """The error's type when the database could not be read."""

    @property
    def at_head(self) -> bool:
        return self.error is None and self.current == self.head


@functools.cache
def head_revision() -> str:
    """The newest migration shipped with this code (read from the files once)."""
    directory = ScriptDirectory(str(MIGRATIONS))
    head = directory.get_current_head()
    assert head is not None, "the migrations folder has no head"
    return head


def _current(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


async def schema_state(engine: AsyncEngine) -> SchemaState:
    """The database's revision against the code's head (the error's type if unreachable)."""
    head = head_revision()
    try:
        async with engine.connect() as conn:
            current = await conn.run_sync(_current)
    except FAILURES as error:
        return SchemaState(current=None, head=head, error=type(error).__name__)
    return SchemaState(current=current, head=head)


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL (None for other databases and in-memory SQLite)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


async def queue_depth(engine: AsyncEngine) -> int:
    """Turns waiting to run, across every replica (an index-only count)."""
    query = select(func.count()).select_from(turns).where(turns.c.status == "queued")
    async with engine.connect() as conn:
        return int((await conn.execute(query)).scalar_one())
