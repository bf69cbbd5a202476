"""Threads and their files: which conversation, container and uploaded files belong to each."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Row, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.core.records import StoredFile, ThreadFile, ThreadState
from bot.core.turns import ThreadKey
from store.database import Database, dialect_insert
from store.schema import files, thread_files, threads


def _now() -> datetime:
    return datetime.now(UTC)


def thread_state(row: Row[Any]) -> ThreadState:
    return ThreadState(
        id=row.id,
        key=ThreadKey(row.team_id, row.channel_id, row.thread_ts),
        conversation_id=row.conversation_id,
        container_id=row.container_id,
        vector_store_id=row.vector_store_id,
        engaged=row.engaged,
    )


def _stored_file(row: Row[Any]) -> StoredFile:
    return StoredFile(
        id=row.id,
        slack_file_id=row.slack_file_id,
        name=row.name,
        mimetype=row.mimetype,
        size=row.size,
        sha256=row.sha256,
        openai_file_id=row.openai_file_id,
        permalink=row.permalink,
        uploaded_at=row.created_at,
    )


async def upsert_thread(conn: AsyncConnection, key: ThreadKey, *, engage: bool) -> int:
    """Create the thread row if needed (optionally marking it engaged); return its id."""
    now = _now()
    stmt = dialect_insert(conn.dialect.name)(threads).values(
        team_id=key.team_id,
        channel_id=key.channel_id,
        thread_ts=key.thread_ts,
        engaged=engage,
        created_at=now,
        updated_at=now,
    )
    conflict_set: dict[str, Any] = {"updated_at": now}
    if engage:
        conflict_set["engaged"] = True
    stmt = stmt.on_conflict_do_update(
        index_elements=["team_id", "channel_id", "thread_ts"], set_=conflict_set
    ).returning(threads.c.id)
    return int((await conn.execute(stmt)).scalar_one())


class ThreadStore:
    """Thread rows and the files attached to them."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def engage(self, key: ThreadKey) -> ThreadState:
        """Mark a thread as one the bot answers in without a mention."""
        async with self._db.write() as conn:
            thread_id = await upsert_thread(conn, key, engage=True)
        return await self.get(thread_id)

    async def find(self, key: ThreadKey) -> ThreadState | None:
        query = select(threads).where(
            threads.c.team_id == key.team_id,
            threads.c.channel_id == key.channel_id,
            threads.c.thread_ts == key.thread_ts,
        )
        async with self._db.read() as conn:
            row = (await conn.execute(query)).first()
        return thread_state(row) if row else None

    async def is_engaged(self, key: ThreadKey) -> bool:
        state = await self.find(key)
        return bool(state and state.engaged)

    async def get(self, thread_id: int) -> ThreadState:
        async with self._db.read() as conn:
            row = (await conn.execute(select(threads).where(threads.c.id == thread_id))).one()
        return thread_state(row)

    async def bind(
        self,
        thread_id: int,
        *,
        conversation_id: str | None = None,
        container_id: str | None = None,
        vector_store_id: str | None = None,
    ) -> None:
        """Record the thread's conversation, (new) container and/or vector store; None leaves
        one as is."""
        given = {
            "conversation_id": conversation_id,
            "container_id": container_id,
            "vector_store_id": vector_store_id,
        }
        values = {k: v for k, v in given.items() if v is not None}
        stmt = update(threads).where(threads.c.id == thread_id).values(updated_at=_now(), **values)
        async with self._db.write() as conn:
            await conn.execute(stmt)

    # Files -------------------------------------------------------------------------------

    async def find_file(self, team_id: str, slack_file_id: str) -> StoredFile | None:
        query = select(files).where(
            files.c.team_id == team_id, files.c.slack_file_id == slack_file_id
        )
        async with self._db.read() as conn:
            row = (await conn.execute(query)).first()
        return _stored_file(row) if row else None

    async def save_file(
        self,
        team_id: str,
        *,
        slack_file_id: str,
        name: str,
        mimetype: str,
        size: int,
        sha256: str,
        openai_file_id: str,
        permalink: str | None = None,
    ) -> StoredFile:
        """Remember an upload; if another worker saved the same Slack file first, keep theirs."""
        stmt = (
            self._db.insert(files)
            .values(
                team_id=team_id,
                slack_file_id=slack_file_id,
                name=name,
                mimetype=mimetype,
                size=size,
                sha256=sha256,
                openai_file_id=openai_file_id,
                permalink=permalink,
                created_at=_now(),
            )
            .on_conflict_do_nothing(index_elements=["team_id", "slack_file_id"])
        )
        async with self._db.write() as conn:
            await conn.execute(stmt)
        saved = await self.find_file(team_id, slack_file_id)
        assert saved is not None
        return saved

    async def replace_upload(
        self,
        team_id: str,
        *,
        slack_file_id: str,
        name: str,
        mimetype: str,
        size: int,
        sha256: str,
        openai_file_id: str,
        permalink: str | None = None,
    ) -> StoredFile:
        """A new upload of a Slack file whose earlier one expired at OpenAI: every thread of
        the workspace uses it from now on, and documents are indexed again (their vector
        stores hold the expired upload). Inserts the row if it is gone meanwhile."""
        now = _now()
        fields = {
            "name": name,
            "mimetype": mimetype,
            "size": size,
            "sha256": sha256,
            "openai_file_id": openai_file_id,
            "permalink": permalink,
            "created_at": now,
        }
        stmt = (
            self._db.insert(files)
            .values(team_id=team_id, slack_file_id=slack_file_id, **fields)
            .on_conflict_do_update(index_elements=["team_id", "slack_file_id"], set_=fields)
            .returning(files.c.id)
        )
        async with self._db.write() as conn:
            file_id = (await conn.execute(stmt)).scalar_one()
            await conn.execute(
                update(thread_files)
                .where(thread_files.c.file_id == file_id)
                .values(vector_store_id=None, search_status=None)
            )
        saved = await self.find_file(team_id, slack_file_id)
        assert saved is not None
        return saved

    async def attach_file(self, thread_id: int, file_id: int) -> None:
        """Make a file part of a thread (idempotent)."""
        stmt = (
            self._db.insert(thread_files)
            .values(thread_id=thread_id, file_id=file_id, created_at=_now())
            .on_conflict_do_nothing(index_elements=["thread_id", "file_id"])
        )
        async with self._db.write() as conn:
            await conn.execute(stmt)

    async def thread_files(self, thread_id: int) -> list[ThreadFile]:
        """Every file of the thread, in the order they were attached."""
        query = (
            select(
                files,
                thread_files.c.container_id,
                thread_files.c.container_file_id,
                thread_files.c.container_path,
                thread_files.c.vector_store_id,
                thread_files.c.search_status,
            )
            .join(thread_files, thread_files.c.file_id == files.c.id)
            .where(thread_files.c.thread_id == thread_id)
            .order_by(thread_files.c.created_at, files.c.id)
        )
        async with self._db.read() as conn:
            rows = (await conn.execute(query)).all()
        return [
            ThreadFile(
                file=_stored_file(row),
                container_id=row.container_id,
                container_file_id=row.container_file_id,
                container_path=row.container_path,
                vector_store_id=row.vector_store_id,
                search_status=row.search_status,
            )
            for row in rows
        ]

    async def place_file(
        self,
        thread_id: int,
        file_id: int,
        *,
        container_id: str,
        container_file_id: str,
        path: str,
    ) -> None:
        """Record where a thread's file sits in the thread's current container."""
        stmt = (
            update(thread_files)
            .where(thread_files.c.thread_id == thread_id, thread_files.c.file_id == file_id)
            .values(
                container_id=container_id, container_file_id=container_file_id, container_path=path
            )
        )
        async with self._db.write() as conn:
            await conn.execute(stmt)

    async def index_file(
        self, thread_id: int, file_id: int, *, vector_store_id: str, status: str
    ) -> None:
        """Record that a thread's document was indexed (or failed to be) in its vector store."""
        stmt = (
            update(thread_files)
            .where(thread_files.c.thread_id == thread_id, thread_files.c.file_id == file_id)
            .values(vector_store_id=vector_store_id, search_status=status)
        )
        async with self._db.write() as conn:
            await conn.execute(stmt)
