"""The worker: claims runnable turns from the store and runs them concurrently.

Turns of different threads run at once, up to `capacity` per process; the store guarantees
one running turn per thread. Each running turn holds a lease that the worker renews:

- a turn whose lease this worker can no longer vouch for (renewal refused because another
  worker took the turn over, or not confirmed before the lease runs out because the store
  is unreachable) is stopped at once, so two turns never run in one conversation;
- a turn's outcome is recorded until the store takes it (retried with backoff while the
  lease is kept), so a delivered answer is never reported as interrupted;
- turns whose process died (lease expired, another owner) or that a stopping worker handed
  back are taken over and continued (`bot.core.progress`); after `max_attempts` attempts a
  turn is reported as interrupted instead, which frees its thread;
- Stop/Cancel pressed on another replica reaches this worker through the store, looked for
  every `cancel_poll_s` while it runs turns.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable

from bot.core.records import StoredTurn, TurnOutcome
from bot.core.storage import Replies, Turns
from bot.core.watches import Abandoner, Canceller, Watches

logger = logging.getLogger(__name__)

Runner = Callable[[StoredTurn], Awaitable[TurnOutcome]]
Reporter = Callable[[StoredTurn], Awaitable[None]]
Redeliverer = Callable[[StoredTurn], Awaitable[bool]]
"""Delivers what an answered turn staged; True when that was an error reply."""
INTERRUPTED = TurnOutcome(status="interrupted", error_code="interrupted")
RECORD_BACKOFF_S = (0.2, 0.5, 1.0, 2.0, 5.0)


class Worker(Watches):
    def __init__(
        self,
        *,
        turns: Turns,
        run: Runner,
        report_interrupted: Reporter,
        cancel: Canceller,
        abandon: Abandoner,
        replies: Replies,
        redeliver: Redeliverer,
        owner: str,
        capacity: int,
        lease_s: float = 30.0,
        poll_s: float = 2.0,
        max_attempts: int = 3,
        cancel_poll_s: float = 1.0,
    ) -> None:
        self._max_attempts = max_attempts
        self._turns = turns
        self._run = run
        self._report_interrupted = report_interrupted
        self._cancel = cancel
        self._abandon = abandon
        self._replies = replies
        self._redeliver = redeliver
        self.owner = owner
        self._capacity = capacity
        self._lease_s = lease_s
        self._poll_s = poll_s
        self._cancel_poll_s = cancel_poll_s
        self._bell = asyncio.Event()
        self._tasks: dict[int, asyncio.Task[None]] = {}
        self._leases: dict[int, float] = {}  # turn id → until when (monotonic) it is ours
        self._settled: set[int] = set()  # ran to an outcome: recording it, never abandoned
        self._stopping = False  # draining: no more claims
        self._finished = False  # drained: the loop ends
        self._ended = asyncio.Event()
        self._reports: set[asyncio.Task[None]] = set()

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
        watch = asyncio.create_task(self._watch_leases(), name="lease-watch")
        cancels = asyncio.create_task(self._watch_cancels(), name="cancel-watch")
        try:
            yield self
        finally:
            await self.drain(grace_s)
            # Let the loop stop between store calls: cancelling a query mid-flight would
            # strand its database connection.
            self._finished = True
            self._ended.set()
            self.wake()
            _done, pending = await asyncio.wait([loop, cancels], timeout=10)
            for task in pending:
                task.cancel()
            await asyncio.gather(loop, cancels, return_exceptions=True)
            watch.cancel()
            await asyncio.gather(watch, return_exceptions=True)

    async def drain(self, grace_s: float) -> None:
        """Stop claiming; give the running turns `grace_s` to finish, then hand the rest
        back (another worker continues them). Leases are kept renewed meanwhile."""
        if not self._stopping:
            self._stopping = True
            self.wake()
        await self._drain(grace_s)

    async def _loop(self) -> None:
        next_upkeep = 0.0
        while not self._finished:
            self._bell.clear()
            claimed = []
            try:
                if time.monotonic() >= next_upkeep:
                    await self._upkeep()
                    next_upkeep = time.monotonic() + self._lease_s / 3
                if not self._stopping:
                    free = self._capacity - len(self._tasks)
                    sent = time.monotonic()
                    claimed = await self._turns.claim(self.owner, limit=free, lease_s=self._lease_s)
            except Exception:
                logger.exception("worker: store unavailable; retrying")
            for stored in claimed:  # claimed turns always start, even while stopping
                self._leases[stored.id] = sent + self._lease_s
                task = asyncio.create_task(self._run_one(stored), name=f"turn-{stored.id}")
                task.add_done_callback(_log_failure)
                self._tasks[stored.id] = task
            if claimed and len(self._tasks) < self._capacity:
                continue  # more may be waiting
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(min(self._poll_s, self._lease_s / 3)):
                    await self._bell.wait()

    async def _run_one(self, stored: StoredTurn) -> None:
        logger.info(
            "turn %s started in %s (attempt %d)", stored.id, stored.turn.key, stored.attempts
        )
        outcome: TurnOutcome | None = None
        try:
            outcome = await self._run(stored)
            self._settled.add(stored.id)
            await self._record(stored, outcome)
            logger.info(
                "turn %s %s in %.2fs",
                stored.id,
                outcome.status,
                (outcome.timings or {}).get("total_s", 0.0),
            )
        except asyncio.CancelledError:
            # Shutting down: a turn that ran to its end keeps its outcome; one whose answer
            # is staged but not yet in Slack is handed over (delivered after a restart, or
            # by another worker); one cut short is recorded (and reported) as interrupted.
            await asyncio.shield(self._stopped(stored, outcome))
            raise
        finally:
            self._tasks.pop(stored.id, None)
            self._leases.pop(stored.id, None)
            self._settled.discard(stored.id)
            self.wake()  # the thread's next turn may now run

    async def _stopped(self, stored: StoredTurn, outcome: TurnOutcome | None) -> None:
        if outcome is None and await self._replies.undelivered(stored.id):
            await self._turns.release(stored.id, owner=self.owner)
            logger.info("turn %s handed over with its answer staged", stored.id)
            return
        if outcome is None and stored.attempts < self._max_attempts:
            await self._turns.release(stored.id, owner=self.owner)
            logger.info("turn %s handed back: another worker continues it", stored.id)
            return
        await self._record_once(stored, outcome or INTERRUPTED)

    async def _deliver_one(self, stored: StoredTurn) -> None:
        """An answered turn whose worker stopped before Slack took its replies."""
        logger.info("turn %s: delivering what it staged", stored.id)
        try:
            failed = await self._redeliver(stored)
            outcome = TurnOutcome(
                status="failed" if failed else "done",
                error_code="delivered_late" if failed else None,
            )
            await self._record(stored, outcome)
        except asyncio.CancelledError:
            await asyncio.shield(self._turns.release(stored.id, owner=self.owner))
            raise
        finally:
            self._tasks.pop(stored.id, None)
            self._leases.pop(stored.id, None)
            self._settled.discard(stored.id)
            self.wake()

    async def _record(self, stored: StoredTurn, outcome: TurnOutcome) -> None:
        """Record the outcome, retrying until the store takes it (the lease is kept
        renewed meanwhile, so no worker reports this turn as interrupted)."""
        for attempt in itertools.count():
            try:
                await self._record_once(stored, outcome)
                return
            except Exception as error:  # the store is unreachable: keep the outcome, retry
                delay = RECORD_BACKOFF_S[min(attempt, len(RECORD_BACKOFF_S) - 1)]
                logger.warning(
                    "turn %s: recording its outcome failed (%s); retrying in %.1fs",
                    stored.id,
                    type(error).__name__,
                    delay,
                )
                await asyncio.sleep(delay)

    async def _record_once(self, stored: StoredTurn, outcome: TurnOutcome) -> None:
        if not await self._turns.finish(stored.id, outcome, owner=self.owner):
            logger.warning("turn %s ended after another worker took it over", stored.id)
            return
        if outcome.status == "interrupted":  # nobody else will tell the thread
            await self._report_interrupted(stored)

    async def _upkeep(self) -> None:
        if self._tasks:
            sent = time.monotonic()
            held = list(self._tasks)
            mine = await self._turns.renew(self.owner, held, lease_s=self._lease_s)
            for turn_id in held:
                if turn_id in mine:
                    self._leases[turn_id] = sent + self._lease_s
                elif turn_id in self._tasks:
                    logger.warning("turn %s: lease lost to another worker; stopping it", turn_id)
                    self._lose(turn_id)
        sent = time.monotonic()
        undelivered = (
            []
            if self._stopping
            else await self._turns.claim_undelivered(self.owner, lease_s=self._lease_s)
        )
        for stored in undelivered:
            self._leases[stored.id] = sent + self._lease_s
            self._settled.add(stored.id)  # answered: never abandoned, only delivered
            task = asyncio.create_task(self._deliver_one(stored), name=f"deliver-{stored.id}")
            task.add_done_callback(_log_failure)
            self._tasks[stored.id] = task
        if not self._stopping:
            sent = time.monotonic()
            free = self._capacity - len(self._tasks)
            for stored in await self._turns.claim_expired(
                self.owner, limit=free, lease_s=self._lease_s, max_attempts=self._max_attempts
            ):
                logger.info("turn %s: taking it over (its worker stopped)", stored.id)
                self._leases[stored.id] = sent + self._lease_s
                task = asyncio.create_task(self._run_one(stored), name=f"turn-{stored.id}")
                task.add_done_callback(_log_failure)
                self._tasks[stored.id] = task
        for stored in await self._turns.interrupt_expired(
            except_owner=self.owner, max_attempts=self._max_attempts
        ):
            logger.warning("turn %s was interrupted (its worker stopped again)", stored.id)
            # Told in the background: Slack's 429s must never hold up the lease upkeep.
            report = asyncio.ensure_future(self._report_interrupted(stored))
            report.add_done_callback(_log_failure)
            self._reports.add(report)
            report.add_done_callback(self._reports.discard)

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
