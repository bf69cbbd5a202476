"""`slack-analyst cleanup [--dry-run]`: the retention job once, by hand, printing what it
deleted (or, with `--dry-run`, what it would delete). Only `OPENAI_API_KEY` and the
bot's `DATABASE_URL` are needed; it is safe to run while bots are running.
"""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Sequence
from datetime import datetime
from typing import TextIO

from bot import wording
from bot.core.records import PurgedThread, RemoteObject
from bot.core.retention import CleanupReport, RetentionJob
from bot.engine import OpenAIEngine, open_client
from bot.settings import Settings
from store import Store, open_store


def retention_job(
    settings: Settings, store: Store, engine: OpenAIEngine, *, owner: str
) -> RetentionJob:
    """The retention job on this store and engine (the bot's hourly loop, or `cleanup`)."""
    return RetentionJob(
        retention=store.retention,
        deletions=store.deletions,
        retired=store.retired,
        engine=engine,
        days=settings.retention_days,
        owner=owner,
    )


async def cleanup(settings: Settings, *, dry_run: bool, out: TextIO = sys.stdout) -> int:
    """Run the job once; 0 when everything due was deleted, 1 when something failed."""
    async with open_store(settings.database_url) as store, open_client(settings) as client:
        engine = OpenAIEngine(client, model=settings.model, retention_days=settings.retention_days)
        owner = f"cleanup:{socket.gethostname()}:{os.getpid()}"
        report = await retention_job(settings, store, engine, owner=owner).run(dry_run=dry_run)
    out.write(render(report, days=settings.retention_days))
    out.flush()
    return 1 if report.failed else 0


def render(report: CleanupReport, *, days: int) -> str:
    """The report as lines for the terminal."""
    lines = [wording.CLEANUP_RULE.format(days=days, cutoff=_when(report.cutoff))]
    if report.dry_run:
        lines.append(wording.CLEANUP_DRY_RUN)
    if report.retired:
        lines.append(wording.CLEANUP_RETIRED.format(teams=", ".join(report.retired)))
    if report.threads:
        heading = wording.CLEANUP_THREADS[report.dry_run]
        lines.append(heading.format(count=len(report.threads)))
        lines += [line for thread in report.threads for line in _thread(thread)]
    if report.orphans:
        orphans = wording.CLEANUP_ORPHANS[report.dry_run]
        lines.append(orphans.format(count=len(report.orphans), objects=_objects(report.orphans)))
    if report.earlier:
        lines.append(wording.CLEANUP_EARLIER.format(objects=_objects(report.earlier)))
    if not report.dry_run and (report.deleted or report.gone or report.failed):
        lines.append(
            wording.CLEANUP_OPENAI.format(
                deleted=len(report.deleted), gone=len(report.gone), failed=len(report.failed)
            )
        )
    if report.failed:
        lines.append(wording.CLEANUP_FAILED.format(objects=_objects(report.failed)))
    lines += [wording.CLEANUP_FORGOTTEN.format(team=team) for team in report.forgotten]
    if report.more:
        lines.append(wording.CLEANUP_MORE)
    if report.empty:
        lines.append(wording.CLEANUP_NOTHING)
    return "\n".join(lines) + "\n"


def _thread(thread: PurgedThread) -> list[str]:
    retired = wording.CLEANUP_THREAD_RETIRED if thread.retired else ""
    head = wording.CLEANUP_THREAD.format(
        key=thread.key, since=_when(thread.last_active), retired=retired
    )
    if not thread.objects:
        return [head, wording.CLEANUP_NO_OBJECTS]
    return [head, wording.CLEANUP_OBJECTS.format(objects=_objects(thread.objects))]


def _objects(objects: Sequence[RemoteObject]) -> str:
    return ", ".join(wording.CLEANUP_KINDS[o.kind].format(id=o.object_id) for o in objects)


def _when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")
