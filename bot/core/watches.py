"""The worker's watches over its running turns (mixed into `bot.core.worker.Worker`):

- the lease watch stops a turn whose lease runs out unconfirmed (the store is unreachable),
  since another worker may take it over as soon as it expires;
- the cancel watch stops turns somebody asked to cancel on another replica (Cancel, Slack's
  Stop), looked for every `cancel_poll_s` while this worker runs turns.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from bot.core.storage import Turns

logger = logging.getLogger(__name__)

Canceller = Callable[[int, str], bool]
Abandoner = Callable[[int], bool]


class Watches:
    _turns: Turns
    _cancel: Canceller
    _abandon: Abandoner
    owner: str
    _lease_s: float
    _cancel_poll_s: float
    _finished: bool
    _ended: asyncio.Event
    _tasks: dict[int, asyncio.Task[None]]
    _leases: dict[int, float]
    _settled: set[int]

    async def _watch_leases(self) -> None:
        """Stop turns whose lease runs out unconfirmed (the store is unreachable): another
        worker may take them over as soon as it expires."""
        margin = self._lease_s / 6
        while True:
            await asyncio.sleep(min(1.0, margin))
            now = time.monotonic()
            for turn_id, until in list(self._leases.items()):
                if now > until - margin and turn_id in self._tasks:
                    logger.warning(
                        "turn %s: lease not confirmed for %.0fs; stopping it",
                        turn_id,
                        self._lease_s,
                    )
                    self._lose(turn_id)

    async def _watch_cancels(self) -> None:
        """Stop turns somebody asked to cancel on another replica (one indexed query a
        second while this worker runs turns; nothing when it runs none)."""
        while not self._finished:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._cancel_poll_s):
                    await self._ended.wait()  # set when the worker stops
            if not self._tasks or self._finished:
                continue
            try:
                requests = await self._turns.cancel_requests(self.owner)
            except Exception:  # the store is unreachable: the lease watch handles that
                logger.warning("worker: could not read cancel requests; retrying")
                continue
            for turn_id, by in requests.items():
                self._cancel(turn_id, by)

    def _lose(self, turn_id: int) -> None:
        self._leases.pop(turn_id, None)
        if turn_id not in self._settled:
            self._abandon(turn_id)
