"""The retention job: deletes what the bot keeps about threads nobody used for
`ANALYST_RETENTION_DAYS`, at OpenAI and in its own database, and tells nobody.

A thread is idle since its last activity (`threads.updated_at`: its last question, or the
bot binding a conversation, container or vector store to it). A thread of a workspace that
removed the app (`store.retired`) is due whatever its age, unless it was started after the
removal (the app was installed again). A run, bounded to `limit` threads:

1. each due thread with no queued or running turn is purged in one transaction that
   re-checks it (`store.retention`): its turns (questions, answers, code), replies,
   artifacts and files go, its feedback stays as figures without the answer, and its
   conversation, container, vector store and the uploads no other thread uses are queued;
2. uploads no thread uses (a turn failed between upload and attach) are queued too;
3. queued OpenAI objects are claimed and deleted (a 404 counts as deleted); one that fails
   stays queued for the next run;
4. a removed workspace with nothing left from before its removal is finished (its channel
   settings and feedback from before deleted) and forgotten.

Every step is safe to run on several replicas at once and to cut short: claims are made in
the database, and local records go before remote objects, which stay queued until deleted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from bot.core.ports import Engine
from bot.core.records import PendingDeletion, PurgedThread, RemoteObject
from bot.core.storage import Deletions, Retention, Retired
from bot.errors import EngineError

logger = logging.getLogger(__name__)

FIRST_RUN_AFTER_S = 60.0
"""The bot's first run, after start-up settled (or after the interval, if shorter)."""
CLAIM_S = 600.0
"""How long a replica holds queued objects it is deleting; a failed one waits this long."""


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class CleanupReport:
    """What a run deleted or, in a dry run, would delete."""

    dry_run: bool
    cutoff: datetime
    """Threads idle since before this are due."""
    threads: tuple[PurgedThread, ...] = ()
    orphans: tuple[RemoteObject, ...] = ()
    """Uploads no thread used."""
    earlier: tuple[RemoteObject, ...] = ()
    """Dry run: objects queued by earlier runs and not deleted yet."""
    deleted: tuple[RemoteObject, ...] = ()
    gone: tuple[RemoteObject, ...] = ()
    """Already deleted at OpenAI (404)."""
    failed: tuple[RemoteObject, ...] = ()
    """Left queued for the next run."""
    retired: tuple[str, ...] = ()
    """Workspaces that removed the app, whose data is being deleted."""
    forgotten: tuple[str, ...] = ()
    """Of those, the ones with nothing left."""
    more: bool = False
    """The run stopped at its limit: more threads are due."""

    @property
    def empty(self) -> bool:
        return not (
            self.threads or self.orphans or self.earlier or self.deleted or self.gone
        ) and not (self.failed or self.forgotten)


@dataclass
class _Outcome:
    deleted: list[RemoteObject] = field(default_factory=list)
    gone: list[RemoteObject] = field(default_factory=list)
    failed: list[RemoteObject] = field(default_factory=list)


class RetentionJob:
    def __init__(
        self,
        *,
        retention: Retention,
        deletions: Deletions,
        retired: Retired,
        engine: Engine,
        days: int,
        owner: str,
        limit: int = 500,
        concurrency: int = 8,
        now: Callable[[], datetime] = _now,
    ) -> None:
        self._retention = retention
        self._deletions = deletions
        self._retired = retired
        self._engine = engine
        self._days = days
        self._owner = owner
        self._limit = limit
        self._concurrency = concurrency
        self._now = now
        self._stopping = False
        self._wake = asyncio.Event()
        self.runs = 0
        """Runs the bot's loop has completed (observable by tests)."""

    async def run(self, *, dry_run: bool = False) -> CleanupReport:
        cutoff = self._now() - timedelta(days=self._days)
        removed = await self._retired.retired_since()
        due = await self._retention.expired(cutoff=cutoff, removed=removed, limit=self._limit)
        more = len(due) >= self._limit
        if dry_run:
            orphans = await self._retention.orphan_files(
                cutoff=cutoff, removed=removed, limit=self._limit, dry_run=True
            )
            return CleanupReport(
                dry_run=True,
                cutoff=cutoff,
                threads=tuple(await self._retention.plan(due, cutoff=cutoff)),
                orphans=tuple(o for _, o in orphans),
                earlier=tuple(p.object for p in await self._deletions.pending(limit=self._limit)),
                retired=tuple(removed),
                more=more,
            )
        purged = []
        for thread in due:
            if self._stopping:
                break
            if (done := await self._retention.purge(thread, cutoff=cutoff)) is not None:
                purged.append(done)
                logger.info(
                    "retention: thread %s deleted (idle since %s%s); %d OpenAI object(s) queued",
                    done.key,
                    done.last_active.isoformat(timespec="minutes"),
                    ", workspace removed the app" if done.retired else "",
                    len(done.objects),
                )
        orphans = await self._retention.orphan_files(
            cutoff=cutoff, removed=removed, limit=self._limit
        )
        outcome = await self._delete_queued()
        forgotten = [team for team, at in removed.items() if await self._finish(team, at)]
        await self._retention.sweep_actions(cutoff=cutoff)
        return CleanupReport(
            dry_run=False,
            cutoff=cutoff,
            threads=tuple(purged),
            orphans=tuple(o for _, o in orphans),
            deleted=tuple(outcome.deleted),
            gone=tuple(outcome.gone),
            failed=tuple(outcome.failed),
            retired=tuple(removed),
            forgotten=tuple(forgotten),
            more=more,
        )

    async def _finish(self, team_id: str, removed_at: datetime) -> bool:
        if self._stopping or not await self._retention.finish_workspace(
            team_id, removed_at=removed_at
        ):
            return False
        await self._retired.forget(team_id)
        logger.info("retention: every record of workspace %s is deleted", team_id)
        return True

    async def _delete_queued(self) -> _Outcome:
        """Delete queued objects, a claimed batch at a time, at most `limit` × 8 per run."""
        outcome = _Outcome()
        budget = self._limit * 8
        gate = asyncio.Semaphore(self._concurrency)
        while budget > 0 and not self._stopping:
            batch = await self._deletions.claim(
                self._owner, limit=min(budget, self._concurrency * 4), lease_s=CLAIM_S
            )
            if not batch:
                break
            budget -= len(batch)
            results = await asyncio.gather(*(self._delete(p, gate) for p in batch))
            for pending, result in zip(batch, results, strict=True):
                {True: outcome.deleted, False: outcome.gone, None: outcome.failed}[result].append(
                    pending.object
                )
            settled = [p.id for p, r in zip(batch, results, strict=True) if r is not None]
            await self._deletions.done(settled)
        return outcome

    async def _delete(self, pending: PendingDeletion, gate: asyncio.Semaphore) -> bool | None:
        """True: deleted; False: already gone; None: failed (stays queued)."""
        obj = pending.object
        methods: dict[str, Callable[[str], Awaitable[bool]]] = {
            "conversation": self._engine.delete_conversation,
            "container": self._engine.delete_container,
            "vector_store": self._engine.delete_vector_store,
            "file": self._engine.delete_file,
        }
        async with gate:
            try:
                return await methods[obj.kind](obj.object_id)
            except EngineError as error:
                logger.warning(
                    "retention: deleting %s %s failed (%s); retried later",
                    obj.kind,
                    obj.object_id,
                    type(error).__name__,
                )
                return None

    # The bot's hourly loop ----------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def started(self, *, interval_s: float) -> AsyncIterator[RetentionJob]:
        """Run every `interval_s` for the duration of the block; stop between steps on exit."""
        task = asyncio.create_task(self._loop(interval_s), name="retention")
        try:
            yield self
        finally:
            self._stopping = True
            self._wake.set()
            _done, pending = await asyncio.wait([task], timeout=10)
            for late in pending:
                late.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def _loop(self, interval_s: float) -> None:
        wait = min(FIRST_RUN_AFTER_S, interval_s)
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait):
                    await self._wake.wait()
            if self._stopping:
                return
            try:
                report = await self.run()
            except Exception:
                logger.exception("retention run failed; trying again at the next one")
            else:
                _log(report)
            self.runs += 1
            wait = interval_s


def _log(report: CleanupReport) -> None:
    if report.empty:
        return
    logger.info(
        "retention: %d thread(s) and %d unused upload(s) deleted; at OpenAI %d object(s) "
        "deleted, %d already gone, %d failed%s",
        len(report.threads),
        len(report.orphans),
        len(report.deleted),
        len(report.gone),
        len(report.failed),
        "; more are due" if report.more else "",
    )
