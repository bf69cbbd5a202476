"""Putting a thread's files in its container: each file once, as soon as both the file and
the container exist (the container may still be being created when the first file is in).

The container's own API says where each file landed; `record` writes that down. A placement
refused because the thread's container expired is noted (`expired`) for the workspace to
replace the container; on a container created for this turn it is an error.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from bot.core.events import Placement
from bot.core.files import stored_kind
from bot.core.ports import Engine
from bot.core.records import StoredFile, ThreadFile
from bot.core.storage import Store
from bot.errors import ContainerExpired


@dataclass(frozen=True)
class Container:
    """The container a turn uses."""

    id: str
    new: bool
    """Created for this turn: it cannot have expired, so a refusal is no expiry to fix."""
    restarted: bool
    """It replaced the thread's earlier container (earlier Python state is gone)."""


class Placements:
    """One turn's placements into one container (tasks of the caller's task group)."""

    def __init__(
        self,
        engine: Engine,
        group: asyncio.TaskGroup,
        container: asyncio.Task[Container],
        known: Sequence[ThreadFile],
    ) -> None:
        self._engine = engine
        self._group = group
        self._container = container
        self._known = {tf.file.id: tf for tf in known}
        self._asked: set[int] = set()
        self._made: dict[int, tuple[str, Placement]] = {}
        self.expired = False
        """The container refused a file because it expired."""
        for tf in known:  # the thread's earlier files, unless already in this container
            self.place(tf.file)

    def place(self, stored: StoredFile) -> None:
        """Place `stored` once the container exists (images are not placed: they go with
        the message)."""
        if stored.id in self._asked or stored_kind(stored) == "image":
            return
        self._asked.add(stored.id)
        self._group.create_task(self._place(stored))

    async def _place(self, stored: StoredFile) -> None:
        # Shielded: a failing file cancels this wait, not the container's creation.
        container = await asyncio.shield(self._container)
        there = self._known.get(stored.id)
        if there is not None and there.container_id == container.id and there.container_path:
            return
        try:
            placement = await self._engine.place_file(container.id, stored.openai_file_id)
        except ContainerExpired:
            if container.new:
                raise
            self.expired = True
            return
        self._made[stored.id] = (container.id, placement)

    @property
    def placed(self) -> bool:
        """Some file was placed (and must be recorded)."""
        return bool(self._made)

    async def record(self, store: Store, thread_id: int) -> None:
        """Write down where each file landed (once the files are attached to the thread)."""
        for file_id, (container_id, placement) in self._made.items():
            await store.threads.place_file(
                thread_id,
                file_id,
                container_id=container_id,
                container_file_id=placement.container_file_id,
                path=placement.path,
            )
