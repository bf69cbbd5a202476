"""What the retention job deletes locally: idle threads, files no live thread uses, and what
is left of a workspace that removed the app.

A thread is due when it had no activity (`threads.updated_at`: a question recorded in it, or
the bot binding an OpenAI object to it) since the cutoff, or when its workspace removed the
app after the thread was started (`removed`: workspace → when; a thread started after the
app was installed again is kept), and no turn of it is queued or running. `purge` deletes
one thread in one transaction that first re-checks all of that on the row itself (a
conditional UPDATE, which also locks it), so a question arriving meanwhile either keeps the
thread or lands in a new one, and two replicas never both purge it. The same transaction
queues the thread's OpenAI objects (`store.deletions`): a crash leaves either the thread as
it was or its objects queued.

Files are per workspace and may be shared by several threads: a file goes with the last
thread using it, and only when it was uploaded before the cutoff (or the removal): a newer
upload is being used by a turn right now.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, exists, false, or_, select, update

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


def _removed(table: Any, removed: Mapping[str, datetime]) -> ColumnElement[bool]:
    """Rows made before their workspace removed the app."""
    return or_(
        false(),
        *(and_(table.c.team_id == t, table.c.created_at <= at) for t, at in removed.items()),
    )


def _file_due(cutoff: datetime, removed: Mapping[str, datetime]) -> ColumnElement[bool]:
    return or_(files.c.created_at < cutoff, _removed(files, removed))


class RetentionStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def expired(
        self, *, cutoff: datetime, removed: Mapping[str, datetime], limit: int
    ) -> list[ExpiredThread]:
        """Threads due for deletion, least recently active first."""
        retired = _removed(threads, removed)
        query = (
            select(threads, retired.label("retired"))
            .where(or_(threads.c.updated_at < cutoff, retired), ~_LIVE_TURN)
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
                removed_at=removed[row.team_id] if row.retired else None,
            )
            for row in rows
        ]

    async def purge(self, thread: ExpiredThread, *, cutoff: datetime) -> PurgedThread | None:
        """Delete the thread's records and queue its OpenAI objects; None when it is no
        longer due (new activity, a queued turn, or another replica purged it)."""
        due: list[ColumnElement[bool]] = [threads.c.id == thread.id, ~_LIVE_TURN]
        removed = {} if thread.removed_at is None else {thread.key.team_id: thread.removed_at}
        if removed:
            due.append(_removed(threads, removed))
        else:
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
                    _file_due(cutoff, removed),
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
        made = {link.openai_file_id: link.created_at for link in links}
        last_user: dict[int, list[RemoteObject]] = {}
        for file_id, thread_ids in users.items():
            if any(t not in order for t in thread_ids):
                continue  # a live thread (or one beyond this run) still uses it
            last = max(thread_ids, key=order.__getitem__)
            removed_at = candidates[order[last]].removed_at
            if made[file_id] < cutoff or (removed_at and made[file_id] <= removed_at):
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
        self,
        *,
        cutoff: datetime,
        removed: Mapping[str, datetime],
        limit: int,
        dry_run: bool = False,
    ) -> list[tuple[str, RemoteObject]]:
        """Uploads no thread uses (left by a turn that failed between upload and attach),
        made before the cutoff or before their workspace removed the app: deleted and
        queued (or, in a dry run, listed). Returns (workspace, object) pairs."""
        unused = ~exists().where(thread_files.c.file_id == files.c.id)
        due = _file_due(cutoff, removed)
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

    async def finish_workspace(self, team_id: str, *, removed_at: datetime) -> bool:
        """Delete what is left of a workspace that removed the app (its channel settings and
        feedback from before) once its threads and uploads from before and its queued
        OpenAI objects are gone; False while some remain."""
        before = {team_id: removed_at}
        unused = ~exists().where(thread_files.c.file_id == files.c.id)
        remaining = [
            exists().where(_removed(threads, before)),
            exists().where(_removed(files, before), unused),
            exists().where(deletions.c.team_id == team_id),
        ]
        settings_before = and_(
            channel_settings.c.team_id == team_id, channel_settings.c.updated_at <= removed_at
        )
        async with self._db.write() as conn:
            for query in remaining:
                if (await conn.execute(select(query))).scalar():
                    return False
            await conn.execute(delete(channel_settings).where(settings_before))
            await conn.execute(delete(feedback).where(_removed(feedback, before)))
        return True

    async def sweep_actions(self, *, cutoff: datetime) -> int:
        """Forget button clicks older than the cutoff (they only guard double clicks)."""
        stmt = delete(handled_actions).where(handled_actions.c.handled_at < cutoff)
        async with self._db.write() as conn:
            return (await conn.execute(stmt)).rowcount or 0
