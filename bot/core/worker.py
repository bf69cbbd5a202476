"""The worker: claims runnable turns from the store and runs them concurrently.

Turns of different threads run at once, up to `capacity` per process; the store guarantees
one running turn per thread. Leases are renewed while turns run; turns whose process died
(lease expired) are reported as interrupted, which frees their thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable

from bot.core.records import StoredTurn, TurnOutcome
from bot.core.storage import Turns

logger = logging.getLogger(__name__)

Runner = Callable[[StoredTurn], Awaitable[TurnOutcome]]
Reporter = Callable[[StoredTurn], Awaitable[None]]
Canceller = Callable[[int, str], bool]


class Worker:
    def __init__(
        self,
        *,
        turns: Turns,
        run: Runner,
        report_interrupted: Reporter,
        cancel: Canceller,
        owner: str,
        capacity: int,
        lease_s: float = 30.0,
        poll_s: float = 2.0,
    ) -> None:
        self._turns = turns
        self._run = run
        self._report_interrupted = report_interrupted
        self._cancel = cancel
        self.owner = owner
        self._capacity = capacity
        self._lease_s = lease_s
        self._poll_s = poll_s
        self._bell = asyncio.Event()
        self._tasks: dict[int, asyncio.Task[None]] = {}
        self._stopping = False

    @property
    def running(self) -> int:
        return len(self._tasks)

    def wake(self) -> None:
        """Something may be runnable: claim now instead of at the next poll."""
        self._bell.set()

    @contextlib.asynccontextmanager
    async def started(self, *, grace_s: float = 20.0) -> AsyncIterator[Worker]:
        """Run the claim loop for the duration of the block; drain on exit."""
        loop = asyncio.create_task(self._loop(), name="turn-worker")
        try:
            yield self
        finally:
            # Let the loop stop between store calls: cancelling a query mid-flight would
            # strand its database connection.
            self._stopping = True
            self.wake()
            _done, pending = await asyncio.wait([loop], timeout=10)
            for task in pending:
                task.cancel()
            await asyncio.gather(loop, return_exceptions=True)
            await self._drain(grace_s)

    async def _loop(self) -> None:
        next_upkeep = 0.0
        while not self._stopping:
            self._bell.clear()
            claimed = []
            try:
                if time.monotonic() >= next_upkeep:
                    await self._upkeep()
                    next_upkeep = time.monotonic() + self._lease_s / 3
                free = self._capacity - len(self._tasks)
                claimed = await self._turns.claim(self.owner, limit=free, lease_s=self._lease_s)
            except Exception:
                logger.exception("worker: store unavailable; retrying")
            for stored in claimed:  # claimed turns always start, even while stopping
                task = asyncio.create_task(self._run_one(stored), name=f"turn-{stored.id}")
                task.add_done_callback(_log_failure)
                self._tasks[stored.id] = task
            if claimed and len(self._tasks) < self._capacity:
                continue  # more may be waiting
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._poll_s):
                    await self._bell.wait()

    async def _run_one(self, stored: StoredTurn) -> None:
        logger.info(
            "turn %s started in %s (attempt %d)", stored.id, stored.turn.key, stored.attempts
        )
        try:
            outcome = await self._run(stored)
            if not await self._turns.finish(stored.id, outcome, owner=self.owner):
                logger.warning("turn %s finished after losing its lease", stored.id)
            logger.info(
                "turn %s %s in %.2fs",
                stored.id,
                outcome.status,
                (outcome.timings or {}).get("total_s", 0.0),
            )
        except asyncio.CancelledError:
            await asyncio.shield(self._interrupted(stored))
            raise
        finally:
            self._tasks.pop(stored.id, None)
            self.wake()  # the thread's next turn may now run

    async def _interrupted(self, stored: StoredTurn) -> None:
        outcome = TurnOutcome(status="interrupted", error_code="interrupted")
        if await self._turns.finish(stored.id, outcome, owner=self.owner):
            await self._report_interrupted(stored)

    async def _upkeep(self) -> None:
        if self._tasks:
            mine = await self._turns.renew(self.owner, list(self._tasks), lease_s=self._lease_s)
            for lost in set(self._tasks) - mine:
                logger.warning("turn %s: lease lost to another worker", lost)
            # Cancel buttons pressed on another replica.
            for turn_id, by in (await self._turns.cancel_requests(self.owner)).items():
                self._cancel(turn_id, by)
        for stored in await self._turns.interrupt_expired():
            logger.warning("turn %s was interrupted (its worker stopped)", stored.id)
            await self._report_interrupted(stored)

    async def _drain(self, grace_s: float) -> None:
        tasks = list(self._tasks.values())
        if not tasks:
            return
        logger.info("waiting up to %.0fs for %d running turn(s)", grace_s, len(tasks))
        _done, pending = await asyncio.wait(tasks, timeout=grace_s)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)


def _log_failure(task: asyncio.Task[None]) -> None:
    # The service reports turn errors itself; what reaches here is the store failing.
    if not task.cancelled() and task.exception() is not None:
        logger.error(
            "%s could not be recorded as finished", task.get_name(), exc_info=task.exception()
        )
