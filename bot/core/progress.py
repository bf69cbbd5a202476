"""How far a running turn got, kept in the store while it runs, so another worker can take
the turn over when the one running it dies (a crash, a kill, a deploy that hands it back).

    the model responses of the answer being shown (its rounds, in order; background mode,
    so they go on without us) + the Slack messages showing it + the server time it started

A takeover removes those messages and replays the responses into a new answer (shown once,
nothing lost, nothing twice), then follows the last one live. `ProgressKeeper` writes the
record when it changes: at once when a response starts (so a takeover never starts a second
one beside it) or a message is posted, without holding up the answer; only the attempt that
holds the turn may write it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from bot.core.ports import AnswerView
from bot.core.records import StoredTurn
from bot.core.rounds import TurnRecord
from bot.core.storage import Turns

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Progress:
    responses: tuple[str, ...] = ()
    """The responses of the answer being shown (since its last restart), in order."""
    messages: tuple[str, ...] = ()
    """The Slack messages (ts) showing it."""
    since: float = 0.0
    """Server time its first response started (container files newer are its outputs)."""

    @classmethod
    def of(cls, data: Mapping[str, Any] | None) -> Progress:
        if not data:
            return cls()
        return cls(
            tuple(str(r) for r in data.get("responses") or ()),
            tuple(str(m) for m in data.get("messages") or ()),
            float(data.get("since") or 0.0),
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "responses": list(self.responses),
            "messages": list(self.messages),
            "since": self.since,
        }

    @property
    def started(self) -> bool:
        """Something was started that a takeover continues (a response, a message)."""
        return bool(self.responses or self.messages)


SaveProgress = Callable[[StoredTurn, Progress, str | None, int | None], Awaitable[bool]]
"""(turn, progress, last response id, its last sequence number) → still this attempt's."""


def saved_in(turns: Turns) -> SaveProgress:
    """Progress kept in the turn queue (`Turns.save_progress`)."""

    async def save(
        stored: StoredTurn, progress: Progress, response_id: str | None, sequence: int | None
    ) -> bool:
        return await turns.save_progress(
            stored, progress.as_json(), response_id=response_id, last_sequence=sequence
        )

    return save


class ProgressKeeper:
    """Writes one running turn's progress while it changes."""

    def __init__(
        self,
        save: SaveProgress,
        stored: StoredTurn,
        record: TurnRecord,
        view: AnswerView,
        *,
        interval: float = 0.5,
    ) -> None:
        self._save = save
        self._stored = stored
        self._record = record
        self._view = view
        self._interval = interval
        self._saved = Progress.of(stored.progress)
        self._bell = asyncio.Event()
        self._lock = asyncio.Lock()
        self._stopping = False
        record.on_progress = self._bell.set
        view.on_message(self._noticed)

    def now(self) -> Progress:
        record = self._record
        return Progress(tuple(record.chain), tuple(self._view.messages), record.since)

    @contextlib.asynccontextmanager
    async def kept(self) -> Any:
        """Keep the progress while the block runs, and once more at its end (handed back
        or cut short: what it got to is where the next attempt starts). The keeper is never
        cancelled mid-write: a query cut short would strand its connection (and, on SQLite,
        the write lock)."""
        task = asyncio.create_task(self._run(), name=f"progress-{self._stored.id}")
        try:
            yield self
        finally:
            self._stopping = True
            self._bell.set()
            self._record.on_progress = None
            await asyncio.shield(task)

    async def _run(self) -> None:
        while not self._stopping:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._interval):
                    await self._bell.wait()
            self._bell.clear()
            await self._posted()

    async def _noticed(self) -> None:
        """A message was posted: written at once by the keeper, without holding up the
        answer (on SQLite, writes queue behind each other; a post that is not yet written
        when the worker dies is still found by its metadata, a stream is left behind)."""
        self._bell.set()

    async def _posted(self) -> None:
        """Write what changed (a takeover must find every response and message)."""
        try:
            await self.save()
        except Exception as error:  # the lease upkeep notices a store that is gone
            logger.warning(
                "turn %s: saving its progress failed (%s)", self._stored.id, type(error).__name__
            )

    async def save(self) -> None:
        async with self._lock:
            progress, sequence = self.now(), self._record.sequence
            if progress == self._saved:  # the stream position alone is not worth a write
                return
            write = self._save(self._stored, progress, self._record.response_id, sequence)
            if not await asyncio.shield(write):
                return  # another attempt holds the turn now: its record is not ours to write
            self._saved = progress
