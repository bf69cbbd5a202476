"""What the retention job deletes locally: idle threads, files no live thread uses, and what
is left of a workspace that removed the app.

A thread is due when it had no activity (`threads.updated_at`: a question recorded in it, or
the bot binding an OpenAI object to it) since the cutoff, or when its workspace is retired,
and no turn of it is queued or running. `purge` deletes one thread in one transaction that
first re-checks all of that on the row itself (a conditional UPDATE, which also locks it), so
a question arriving meanwhile either keeps the thread or lands in a new one, and two replicas
never both purge it. The same transaction queues the thread's OpenAI objects
(`store.deletions`): a crash leaves either the thread as it was or its objects queued.

Files are per workspace and may be shared by several threads: a file goes with the last
thread using it, and only when it was uploaded before the cutoff (a newer upload is being
used by a turn right now).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, delete, exists, or_, select, update

from bot.core.records import ExpiredThread, PurgedThread, RemoteObject
from bot.core.turns import ThreadKey
from store.database import Database
from store.deletions import queue
from store.schema import (
    channel_settings,
    deletions,
    feedback,
    files,
    handled_actions,
    thread_files,
    threads,
    turns,
)

_LIVE_TURN = exists().where(
    turns.c.thread_id == threads.c.id, turns.c.status.in_(("queued", "running"))
)


def _thread_objects(row: Any) -> list[RemoteObject]:
    found: list[RemoteObject] = []
    if row.conversation_id:
        found.append(RemoteObject("conversation", row.conversation_id))
    if row.container_id:
        found.append(RemoteObject("container", row.container_id))
    if row.vector_store_id:
        found.append(RemoteObject("vector_store", row.vector_store_id))
    return found


def _file_due(cutoff: datetime, retired: Sequence[str]) -> ColumnElement[bool]:
    return or_(files.c.created_at < cutoff, files.c.team_id.in_(list(retired)))


class RetentionStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def expired(
        self, *, cutoff: datetime, retired: Sequence[str], limit: int
    ) -> list[ExpiredThread]:
        """Threads due for deletion, least recently active first."""
        retired_team = threads.c.team_id.in_(list(retired))
        query = (
            select(threads, retired_team.label("retired"))
            .where(or_(threads.c.updated_at < cutoff, retired_team), ~_LIVE_TURN)
            .order_by(threads.c.updated_at, threads.c.id)
            .limit(limit)
        )
        async with self._db.read() as conn:
            rows = (await conn.execute(query)).all()
        return [
            ExpiredThread(
                id=row.id,
                key=ThreadKey(row.team_id, row.channel_id, row.thread_ts),
                last_active=row.updated_at,
                retired=bool(row.retired),
            )
            for row in rows
        ]

    async def purge(self, thread: ExpiredThread, *, cutoff: datetime) -> PurgedThread | None:
        """Delete the thread's records and queue its OpenAI objects; None when it is no
        longer due (new activity, a queued turn, or another replica purged it)."""
        due: list[ColumnElement[bool]] = [threads.c.id == thread.id, ~_LIVE_TURN]
        if not thread.retired:
            due.append(threads.c.updated_at < cutoff)
        claim = update(threads).where(*due).values(engaged=threads.c.engaged).returning(threads)
        async with self._db.write() as conn:
            row = (await conn.execute(claim)).first()
            if row is None:
                return None
            own_files = (
                delete(files)
                .where(
                    files.c.id.in_(
                        select(thread_files.c.file_id).where(thread_files.c.thread_id == thread.id)
                    ),
                    ~exists().where(
                        thread_files.c.file_id == files.c.id, thread_files.c.thread_id != thread.id
                    ),
                    _file_due(cutoff, [row.team_id] if thread.retired else []),
                )
                .returning(files.c.openai_file_id)
            )
            gone = [RemoteObject("file", i) for i in (await conn.execute(own_files)).scalars()]
            # Cascades to turns, their artifacts and replies, and thread_files; feedback
            # keeps its figures (turn_id SET NULL).
            await conn.execute(delete(threads).where(threads.c.id == thread.id))
            objects = _thread_objects(row) + sorted(gone, key=lambda o: o.object_id)
            await queue(conn, row.team_id, objects)
        return PurgedThread(thread.key, row.updated_at, tuple(objects), thread.retired)

    async def plan(
        self, candidates: Sequence[ExpiredThread], *, cutoff: datetime
    ) -> list[PurgedThread]:
        """What purging `candidates` in order would delete (a dry run; nothing changes)."""
        ids = [c.id for c in candidates]
        async with self._db.read() as conn:
            found = await conn.execute(select(threads).where(threads.c.id.in_(ids)))
            rows = {row.id: row for row in found}
            linked = select(thread_files.c.file_id).where(thread_files.c.thread_id.in_(ids))
            links = (
                await conn.execute(
                    select(thread_files.c.thread_id, files.c.openai_file_id, files.c.created_at)
                    .join(files, files.c.id == thread_files.c.file_id)
                    .where(thread_files.c.file_id.in_(linked))
                )
            ).all()
        order = {thread_id: n for n, thread_id in enumerate(ids)}
        users: dict[str, list[int]] = {}
        for link in links:
            users.setdefault(link.openai_file_id, []).append(link.thread_id)
        fresh = {link.openai_file_id for link in links if link.created_at >= cutoff}
        last_user: dict[int, list[RemoteObject]] = {}
        for file_id, thread_ids in users.items():
            if any(t not in order for t in thread_ids):
                continue  # a live thread (or one beyond this run) still uses it
            last = max(thread_ids, key=order.__getitem__)
            if file_id not in fresh or candidates[order[last]].retired:
                last_user.setdefault(last, []).append(RemoteObject("file", file_id))
        return [
            PurgedThread(
                c.key,
                c.last_active,
                tuple(
                    _thread_objects(rows[c.id])
                    + sorted(last_user.get(c.id, []), key=lambda o: o.object_id)
                ),
                c.retired,
            )
            for c in candidates
            if c.id in rows
        ]

    async def orphan_files(
        self, *, cutoff: datetime, retired: Sequence[str], limit: int, dry_run: bool = False
    ) -> list[tuple[str, RemoteObject]]:
        """Uploads no thread uses (left by a turn that failed between upload and attach),
        uploaded before the cutoff or of a retired workspace: deleted and queued (or, in a
        dry run, listed). Returns (workspace, object) pairs."""
        unused = ~exists().where(thread_files.c.file_id == files.c.id)
        due = _file_due(cutoff, retired)
        if dry_run:
            query = select(files.c.team_id, files.c.openai_file_id).where(unused, due)
            async with self._db.read() as conn:
                rows = (await conn.execute(query.order_by(files.c.id).limit(limit))).all()
            return [(r.team_id, RemoteObject("file", r.openai_file_id)) for r in rows]
        picked = select(files.c.id).where(unused, due).order_by(files.c.id).limit(limit)
        stmt = (
            delete(files)
            .where(files.c.id.in_(picked.scalar_subquery()), unused, due)
            .returning(files.c.team_id, files.c.openai_file_id)
        )
        async with self._db.write() as conn:
            rows = (await conn.execute(stmt)).all()
            found = [(r.team_id, RemoteObject("file", r.openai_file_id)) for r in rows]
            for team_id in {team for team, _ in found}:
                await queue(conn, team_id, [o for team, o in found if team == team_id])
        return found

    async def finish_workspace(self, team_id: str) -> bool:
        """Delete what is left of a retired workspace (channel settings, feedback) once its
        threads, files and queued OpenAI objects are gone; False while some remain."""
        remaining = [
            exists().where(threads.c.team_id == team_id),
            exists().where(files.c.team_id == team_id),
            exists().where(deletions.c.team_id == team_id),
        ]
        async with self._db.write() as conn:
            for query in remaining:
                if (await conn.execute(select(query))).scalar():
                    return False
            for table in (channel_settings, feedback):
                await conn.execute(delete(table).where(table.c.team_id == team_id))
        return True

    async def sweep_actions(self, *, cutoff: datetime) -> int:
        """Forget button clicks older than the cutoff (they only guard double clicks)."""
        stmt = delete(handled_actions).where(handled_actions.c.handled_at < cutoff)
        async with self._db.write() as conn:
            return (await conn.execute(stmt)).rowcount or 0
