"""`Removal`: the app left a workspace (`app_uninstalled`, or its bot token revoked).

    installation deleted, client dropped  →  later events from the workspace are ignored
    queued turns cancelled, running ones stopped (here at once, on other replicas at their
      worker's next look at the store)    →  nothing more is said or sent for it
    workspace retired                     →  the retention job deletes its data, and no
                                             worker claims its turns (one recorded as the
                                             app left included) unless it comes back

Both events may arrive, in any order, and more than once: every step is idempotent. A
reinstall before the retention job ran un-retires the workspace (`bot.slack.installs`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Protocol

from bot.core.service import UNINSTALLED
from bot.core.storage import Store

logger = logging.getLogger(__name__)

StopRunning = Callable[[str], list[int]]
"""Stops the workspace's turns running in this process; returns their ids."""


class Installations(Protocol):
    async def remove(self, team_id: str) -> None:
        """Forget the workspace's installation and its Slack client."""
        ...


class Removal:
    def __init__(
        self, *, store: Store, installations: Installations | None, stop_running: StopRunning
    ) -> None:
        self._store = store
        self._installations = installations  # None: one workspace, its token is the operator's
        self._stop_running = stop_running

    async def removed(self, team_id: str) -> None:
        """Everything of the workspace stops, and its data is scheduled for deletion."""
        if self._installations is not None:
            await self._installations.remove(team_id)
        elsewhere = await self._store.turns.stop_workspace(team_id, by=UNINSTALLED)
        here = self._stop_running(team_id)
        await self._store.retired.retire(team_id)
        logger.info(
            "the app left %s: %d running turn(s) stopped here, %d asked to stop",
            team_id,
            len(here),
            len(set(elsewhere) - set(here)),
        )
