"""Making data old without waiting: a thread's last activity (and the uploads it uses) moved
back in the store, as if nobody had touched it for a while.

The bot's timestamps come from the database writers (`datetime.now`), so tests age the
records of one thread rather than move a clock for everything: a fresh thread next to it
stays fresh. The fake OpenAI has its own clock (`FakeOpenAI.advance_clock`) for what
expires there (uploads, containers, vector stores).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from bot.core.turns import ThreadKey
from store import Store
from store.schema import files, thread_files, threads


async def age_thread(store: Store, key: ThreadKey, days: float, *, uploads: bool = True) -> None:
    """The thread last saw activity `days` ago (and, with `uploads`, its files were
    uploaded then)."""
    then = datetime.now(UTC) - timedelta(days=days)
    state = await store.threads.find(key)
    assert state is not None, f"no thread {key}"
    async with store.engine.begin() as conn:
        await conn.execute(update(threads).where(threads.c.id == state.id).values(updated_at=then))
        if uploads:
            used = select(thread_files.c.file_id).where(thread_files.c.thread_id == state.id)
            await conn.execute(update(files).where(files.c.id.in_(used)).values(created_at=then))


async def age_uploads(store: Store, key: ThreadKey, days: float) -> None:
    """Only the thread's uploads were made `days` ago (the thread itself is in use)."""
    then = datetime.now(UTC) - timedelta(days=days)
    state = await store.threads.find(key)
    assert state is not None, f"no thread {key}"
    used = select(thread_files.c.file_id).where(thread_files.c.thread_id == state.id)
    async with store.engine.begin() as conn:
        await conn.execute(update(files).where(files.c.id.in_(used)).values(created_at=then))
