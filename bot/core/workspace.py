"""A thread's workspace on the model side: conversation, container, and the files in it.

`open` gets a turn's workspace ready with its parts overlapped, so that the model can be
asked as soon as what it needs exists:

    the turn's files: complete, check all ── upload each ─────────┐
    files shared earlier in the thread (when gathered) ── upload ─┼─ place each file as soon
    the container: the thread's, or a new one (bound at once) ────┘  as it and the container
    the conversation: the thread's, or a new one (bound once the files are in)      exist

Files are checked (type, size) before anything is downloaded or created, and uploaded to
OpenAI once per workspace and Slack file — again only when that upload expired at OpenAI
(`bot.core.uploads`; a file that cannot be brought back is left out). The thread's
container is used without asking whether it is still alive: an expired one shows up as a
refused placement here, or as a refused or failed response, and `renew` then replaces it
and places every file of the thread again. The paths always come from the API.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from bot.core.events import StepStatus
from bot.core.files import FileKind, check, kind_of, stored_kind, unique_files
from bot.core.placements import Container, Placements
from bot.core.ports import Engine
from bot.core.records import StoredFile, ThreadFile, ThreadState
from bot.core.storage import Store
from bot.core.tasks import run_all, task_group
from bot.core.turns import SlackFile, ThreadKey
from bot.core.uploads import Relay, UploadLifetime, Uploads
from bot.errors import FileError

logger = logging.getLogger(__name__)

Progress = Callable[[SlackFile, StepStatus], Awaitable[None]]
"""Told when a file starts being read (`in_progress`) and when it is in (`complete`)."""
Created = Callable[[str], None]  # told each new container's id (a session OpenAI bills)


@dataclass(frozen=True)
class WorkspaceFile:
    """A file the model can use this turn."""

    name: str
    kind: FileKind
    size: int
    openai_file_id: str
    path: str | None
    """Absolute path in the container; None for images (sent as image inputs)."""
    new: bool
    """Shared with this turn's message (rather than earlier in the thread)."""
    slack_file_id: str = ""


@dataclass(frozen=True)
class Workspace:
    conversation_id: str
    container_id: str
    files: tuple[WorkspaceFile, ...]
    restarted: bool
    """The container was replaced: earlier Python state is gone."""
    fresh: bool = False
    """The container was created for this turn (so it cannot have expired since)."""

    @property
    def new_images(self) -> tuple[str, ...]:
        return tuple(f.openai_file_id for f in self.files if f.kind == "image" and f.new)

    @property
    def has_new_data(self) -> bool:
        return any(f.new and f.kind in ("data", "document") for f in self.files)

    @property
    def new_slack_ids(self) -> set[str]:
        return {f.slack_file_id for f in self.files if f.new}


class WorkspaceBuilder:
    """Gets a thread's files, conversation and container ready for a turn."""

    def __init__(
        self,
        *,
        store: Store,
        engine: Engine,
        relay: Relay,
        max_file_bytes: int,
        uploads: UploadLifetime | None = None,
    ):
        self._store = store
        self._engine = engine
        self._relay = relay
        self._max_bytes = max_file_bytes
        self._lifetime = uploads or UploadLifetime()
        self._uploads = Uploads(store=store, relay=relay, lifetime=self._lifetime, engine=engine)

    async def open(
        self,
        thread: ThreadState,
        files: Sequence[SlackFile],
        progress: Progress,
        *,
        earlier: Awaitable[Sequence[SlackFile]] | None = None,
        python: bool = True,
        usable: Callable[[SlackFile], bool] | None = None,
        created: Created = lambda _: None,
    ) -> Workspace:
        """The turn's workspace: its `files` (any unusable one fails the turn before anything
        is downloaded or created) and the files shared `earlier` in the thread (unusable
        ones, or those `usable` refuses, are skipped), in the thread's conversation and
        container, each made if new (a new container is told to `created` at once). Without
        `python` there is no container: files are uploaded for the other tools only."""
        team = thread.key.team_id
        own = await run_all([self._relay.complete(f, team_id=team) for f in unique_files(files)])
        for file in own:
            check(file, max_bytes=self._max_bytes)
        read = await self._store.threads.thread_files(thread.id)
        known, renewed = await self._uploads.renew(thread.key, read)
        # Outside the group: should a file fail, the container being made is still kept
        # (bound to the thread for its next turn) rather than lost mid-request.
        container = asyncio.create_task(
            self._container(thread, new=False, python=python, created=created)
        )
        try:
            async with task_group() as group:
                conversation = group.create_task(self._conversation(thread))
                placing = Placements(self._engine, group, container, known) if python else None
                brought = group.create_task(
                    self._bring_all(thread.key, own, earlier, progress, placing, usable)
                )
                await asyncio.shield(container)  # its failure fails the turn
        except asyncio.CancelledError:
            container.cancel()  # the turn was stopped: so is everything it started
            raise
        finally:
            await asyncio.wait([container])
        conversation_id, new_conversation = conversation.result()
        new = conversation_id if new_conversation else None
        await self._keep(thread, brought.result(), placing, new_conversation=new)
        new_ids = {f.slack_file_id for f in brought.result()}
        if placing is not None and placing.expired:
            logger.info("container %s of %s expired; a new one", thread.container_id, thread.key)
            return await self.renew(thread, new_slack_ids=new_ids, created=created)
        # Nothing brought, renewed or placed: the thread's files are as they were read.
        same = not brought.result() and not renewed and not (placing and placing.placed)
        return await self._workspace(
            thread.id, conversation_id, container.result(), new_ids, known if same else None
        )

    async def renew(
        self, thread: ThreadState, *, new_slack_ids: set[str], created: Created = lambda _: None
    ) -> Workspace:
        """A new container for the thread (its last one expired), every file placed again."""
        thread = await self._store.threads.get(thread.id)  # what this turn bound so far
        assert thread.conversation_id is not None, "renewing a workspace that was never opened"
        known, _ = await self._uploads.renew(
            thread.key, await self._store.threads.thread_files(thread.id)
        )
        async with task_group() as group:
            container = group.create_task(self._container(thread, new=True, created=created))
            placing = Placements(self._engine, group, container, known)
        await placing.record(self._store, thread.id)
        return await self._workspace(
            thread.id, thread.conversation_id, container.result(), new_slack_ids
        )

    async def _conversation(self, thread: ThreadState) -> tuple[str, bool]:
        if thread.conversation_id:
            return thread.conversation_id, False
        return await self._engine.new_conversation(thread.key), True

    async def _container(
        self, thread: ThreadState, *, new: bool, created: Created, python: bool = True
    ) -> Container:
        if not python:  # no container at all
            return Container("", new=False, restarted=False)
        if thread.container_id and not new:
            return Container(thread.container_id, new=False, restarted=False)
        container_id = await self._engine.new_container(thread.key)
        created(container_id)
        # Bound at once: should this turn fail later, the next one uses it.
        await self._store.threads.bind(thread.id, container_id=container_id)
        return Container(container_id, new=True, restarted=thread.container_id is not None)

    async def _bring_all(
        self,
        key: ThreadKey,
        own: Sequence[SlackFile],
        earlier: Awaitable[Sequence[SlackFile]] | None,
        progress: Progress,
        placing: Placements | None,
        usable: Callable[[SlackFile], bool] | None = None,
    ) -> list[StoredFile]:
        """The turn's files, then those shared earlier, in the order they were shared."""
        async with task_group() as group:
            mine = [group.create_task(self._bring(key, f, progress, placing)) for f in own]
            theirs = group.create_task(
                self._earlier(key, earlier, {f.id for f in own}, progress, placing, usable)
            )
        return [task.result() for task in mine] + theirs.result()

    async def _keep(
        self,
        thread: ThreadState,
        stored: Sequence[StoredFile],
        placing: Placements | None,
        *,
        new_conversation: str | None,
    ) -> None:
        """Write the turn's files, their places and a new conversation down."""
        for item in stored:  # in the order they were shared: the model sees this order
            await self._store.threads.attach_file(thread.id, item.id)
        if placing is not None:
            await placing.record(self._store, thread.id)
        if new_conversation:
            await self._store.threads.bind(thread.id, conversation_id=new_conversation)

    async def _bring(
        self, key: ThreadKey, file: SlackFile, progress: Progress, placing: Placements | None
    ) -> StoredFile:
        await progress(file, "in_progress")
        stored = await self._uploads.stored(key, file)
        await progress(file, "complete")
        if placing is not None:
            placing.place(stored)
        return stored

    async def _earlier(
        self,
        key: ThreadKey,
        earlier: Awaitable[Sequence[SlackFile]] | None,
        taken: set[str],
        progress: Progress,
        placing: Placements | None,
        usable: Callable[[SlackFile], bool] | None,
    ) -> list[StoredFile]:
        """Files shared earlier in the thread; unusable ones are skipped, not fatal."""
        if earlier is None:
            return []
        wanted = [
            f
            for f in unique_files(await earlier)
            if f.id not in taken and (f.is_stub or kind_of(f) is not None)
        ]

        async def bring(file: SlackFile) -> StoredFile | None:
            try:
                complete = await self._relay.complete(file, team_id=key.team_id)
                check(complete, max_bytes=self._max_bytes)
                if usable is not None and not usable(complete):
                    return None
                return await self._bring(key, complete, progress, placing)
            except FileError as error:
                logger.info("skipping earlier thread file %s: %s", file.id, error.code)
                return None

        return [item for item in await run_all([bring(f) for f in wanted]) if item is not None]

    async def _workspace(
        self,
        thread_id: int,
        conversation_id: str,
        container: Container,
        new_ids: set[str],
        known: Sequence[ThreadFile] | None = None,
    ) -> Workspace:
        if known is None:
            known = await self._store.threads.thread_files(thread_id)
        here = [
            tf
            for tf in known  # an upload OpenAI no longer has is usable only where it was placed
            if not self._lifetime.expired(tf.file)
            or (tf.container_id == container.id and tf.container_path)
        ]
        files = tuple(
            WorkspaceFile(
                name=tf.file.name,
                kind=stored_kind(tf.file),
                size=tf.file.size,
                openai_file_id=tf.file.openai_file_id,
                path=tf.container_path if tf.container_id == container.id else None,
                new=tf.file.slack_file_id in new_ids,
                slack_file_id=tf.file.slack_file_id,
            )
            for tf in here
        )
        return Workspace(conversation_id, container.id, files, container.restarted, container.new)
