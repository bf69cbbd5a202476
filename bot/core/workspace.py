"""A thread's workspace on the model side: conversation, container, and the files in it.

Files are checked (type, size) before anything is downloaded, uploaded to OpenAI once per
workspace and Slack file, and placed in the thread's container. A container that expired is
replaced and every file of the thread is placed again; the paths come from the API.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from bot.core.events import StepStatus
from bot.core.files import FileKind, RelayedFile, check, kind_of, safe_name
from bot.core.ports import Engine
from bot.core.records import StoredFile, ThreadState
from bot.core.storage import Store
from bot.core.tasks import run_all, task_group
from bot.core.turns import SlackFile, ThreadKey

logger = logging.getLogger(__name__)

Progress = Callable[[SlackFile, StepStatus], Awaitable[None]]
"""Told when a file starts being read (`in_progress`) and when it is in (`complete`)."""


class Relay(Protocol):
    async def complete(self, file: SlackFile) -> SlackFile: ...

    async def relay(self, file: SlackFile) -> RelayedFile: ...


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


@dataclass(frozen=True)
class Workspace:
    conversation_id: str
    container_id: str
    files: tuple[WorkspaceFile, ...]
    restarted: bool
    """The container was replaced: earlier Python state is gone."""

    @property
    def new_images(self) -> tuple[str, ...]:
        return tuple(f.openai_file_id for f in self.files if f.kind == "image" and f.new)

    @property
    def has_new_data(self) -> bool:
        return any(f.new and f.kind in ("data", "document") for f in self.files)


class WorkspaceBuilder:
    """Gets a thread's files, conversation and container ready for a turn."""

    def __init__(self, *, store: Store, engine: Engine, relay: Relay, max_file_bytes: int):
        self._store = store
        self._engine = engine
        self._relay = relay
        self._max_bytes = max_file_bytes

    async def add_files(
        self, thread: ThreadState, files: Sequence[SlackFile], progress: Progress
    ) -> set[str]:
        """Bring the turn's Slack files into the thread; returns their Slack ids."""
        complete = [await self._relay.complete(f) for f in _unique(files)]
        for file in complete:
            check(file, max_bytes=self._max_bytes)  # refuse before downloading anything

        async def read(file: SlackFile) -> StoredFile:
            await progress(file, "in_progress")
            stored = await self._store_file(thread.key, file)
            await progress(file, "complete")
            return stored

        for item in await run_all([read(f) for f in complete]):
            await self._store.threads.attach_file(thread.id, item.id)
        return {f.id for f in complete}

    async def prepare(
        self,
        thread: ThreadState,
        *,
        new_slack_ids: set[str],
        force_new_container: bool = False,
        python: bool = True,
    ) -> Workspace:
        if not python:  # the channel switched Python off: no container, only images for the model
            conversation_id, new_conversation = await self._conversation(thread)
            if new_conversation:
                await self._store.threads.bind(thread.id, conversation_id=conversation_id)
            images = await self._images(thread.id, new_slack_ids)
            return Workspace(conversation_id, "", images, restarted=False)
        async with task_group() as group:  # a failure cancels the other
            conversation = group.create_task(self._conversation(thread))
            container = group.create_task(self._container(thread, force_new_container))
        conversation_id, new_conversation = conversation.result()
        container_id, restarted, new_container = container.result()
        if new_conversation or new_container:
            await self._store.threads.bind(
                thread.id,
                conversation_id=conversation_id if new_conversation else None,
                container_id=container_id if new_container else None,
            )
        files = await self._place_all(thread.id, container_id, new_slack_ids)
        return Workspace(conversation_id, container_id, files, restarted)

    async def _conversation(self, thread: ThreadState) -> tuple[str, bool]:
        if thread.conversation_id:
            return thread.conversation_id, False
        return await self._engine.new_conversation(thread.key), True

    async def _store_file(self, key: ThreadKey, file: SlackFile) -> StoredFile:
        known = await self._store.threads.find_file(key.team_id, file.id)
        if known is not None:
            return known  # never uploaded twice
        relayed = await self._relay.relay(file)
        return await self._store.threads.save_file(
            key.team_id,
            slack_file_id=file.id,
            name=safe_name(file.name),  # the model sees it, the container makes a path of it
            mimetype=file.mimetype,
            size=relayed.size,
            sha256=relayed.sha256,
            openai_file_id=relayed.openai_file_id,
            permalink=file.permalink,
        )

    async def _container(self, thread: ThreadState, force_new: bool) -> tuple[str, bool, bool]:
        """(container id, the Python session restarted, the container is new)."""
        if thread.container_id and not force_new:
            if await self._engine.container_alive(thread.container_id):
                return thread.container_id, False, False
            logger.info(
                "container %s of %s expired; creating a new one", thread.container_id, thread.key
            )
        container_id = await self._engine.new_container(thread.key)
        return container_id, thread.container_id is not None, True

    async def _images(self, thread_id: int, new_slack_ids: set[str]) -> tuple[WorkspaceFile, ...]:
        thread_files = await self._store.threads.thread_files(thread_id)
        return tuple(
            WorkspaceFile(
                tf.file.name,
                "image",
                tf.file.size,
                tf.file.openai_file_id,
                None,
                tf.file.slack_file_id in new_slack_ids,
            )
            for tf in thread_files
            if _kind(tf.file) == "image"
        )

    async def _place_all(
        self, thread_id: int, container_id: str, new_slack_ids: set[str]
    ) -> tuple[WorkspaceFile, ...]:
        thread_files = await self._store.threads.thread_files(thread_id)

        async def place(
            stored: StoredFile, path: str | None, in_container: str | None
        ) -> str | None:
            kind = _kind(stored)
            if kind == "image":
                return None
            if in_container == container_id and path:
                return path
            placement = await self._engine.place_file(container_id, stored.openai_file_id)
            await self._store.threads.place_file(
                thread_id,
                stored.id,
                container_id=container_id,
                container_file_id=placement.container_file_id,
                path=placement.path,
            )
            return placement.path

        paths = await run_all(
            [place(tf.file, tf.container_path, tf.container_id) for tf in thread_files]
        )
        return tuple(
            WorkspaceFile(
                name=tf.file.name,
                kind=_kind(tf.file),
                size=tf.file.size,
                openai_file_id=tf.file.openai_file_id,
                path=path,
                new=tf.file.slack_file_id in new_slack_ids,
            )
            for tf, path in zip(thread_files, paths, strict=True)
        )


def _kind(stored: StoredFile) -> FileKind:
    return kind_of(SlackFile(id=stored.slack_file_id, name=stored.name)) or "data"


def _unique(files: Sequence[SlackFile]) -> list[SlackFile]:
    seen: dict[str, SlackFile] = {}
    for file in files:
        seen.setdefault(file.id, file)
    return list(seen.values())
