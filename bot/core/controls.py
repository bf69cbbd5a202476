"""What the buttons under answers do: Cancel, Show code, Export notebook, feedback, Retry.

Button values carry turn ids, never in-memory state, so buttons keep working after a
restart; double clicks act once (the store's action log, or the turn queue's unique keys).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from bot import wording
from bot.core.exporting import NotebookExporter
from bot.core.intake import Intake
from bot.core.ports import Notices, ThreadHistory
from bot.core.records import StoredTurn
from bot.core.service import AnalystService
from bot.core.storage import Store
from bot.core.turns import ChannelType, SlackFile, ThreadKey, Turn

logger = logging.getLogger(__name__)

DOUBLE_CLICK_S = 30.0


class TurnControls:
    def __init__(
        self,
        *,
        store: Store,
        service: AnalystService,
        intake: Intake,
        notices: Notices,
        history: ThreadHistory,
        exporter: NotebookExporter,
    ) -> None:
        self._store = store
        self._exporter = exporter
        self._service = service
        self._intake = intake
        self._notices = notices
        self._history = history

    async def cancel(self, turn_id: int, user_id: str, *, at: ThreadKey | None = None) -> None:
        """Stop a running turn; only people in its thread may."""
        stored = await self._turn(turn_id, at)
        if stored is None:
            return
        key = stored.turn.key
        if stored.status not in ("queued", "running"):
            await self._notices.notify(key, user_id, wording.NOTHING_TO_CANCEL)
            return
        if not await self._in_thread(stored, user_id):
            await self._notices.notify(key, user_id, wording.NOT_IN_THREAD)
            return
        if not self._service.cancel(turn_id, by=user_id):
            # Running in another process: its worker sees the request at its next check.
            await self._store.turns.request_cancel(turn_id, by=user_id)

    async def session_stopped(self, key: ThreadKey, user_id: str) -> None:
        """Slack's own Stop button: stop the thread's running turn (whatever it is doing),
        which then says who stopped it; with nothing running, end the session's spinner."""
        running = await self._store.turns.running(key)
        if running is None:
            await self._notices.idle(key)
            return
        logger.info("turn %s stopped from Slack by %s", running.id, user_id)
        if not self._service.cancel(running.id, by=user_id):
            await self._store.turns.request_cancel(running.id, by=user_id)

    async def show_code(self, turn_id: int, user_id: str, *, at: ThreadKey | None = None) -> None:
        """Post the Python the turn ran, as a `.py` file, from the turn's record."""
        stored = await self._turn(turn_id, at)
        if stored is None:
            return
        if not stored.code_runs:
            await self._notices.notify(stored.turn.key, user_id, wording.NO_CODE)
            return
        if not await self._store.actions.claim(f"show_code:{turn_id}", window_s=DOUBLE_CLICK_S):
            return
        listing = code_listing(stored.code_runs, question=stored.turn.text)
        await self._notices.post_code(stored.turn.key, f"analysis-{turn_id}.py", listing)

    async def export_notebook(
        self, turn_id: int, user_id: str, *, at: ThreadKey | None = None
    ) -> None:
        """The whole thread as a notebook, in the thread; anyone who sees the thread may
        export it (read-only: it shows what the thread already shows)."""
        if at is None or await self._turn(turn_id, at) is not None:
            await self._exporter.export(turn_id, user_id)

    async def feedback(
        self, turn_id: int, user_id: str, value: str, *, at: ThreadKey | None = None
    ) -> None:
        stored = await self._turn(turn_id, at)
        if stored is None or value not in ("good", "bad"):
            return
        await self._store.artifacts.set_feedback(turn_id, user_id, value)
        await self._notices.notify(stored.turn.key, user_id, wording.FEEDBACK_THANKS)

    async def retry(self, turn_id: int, user_id: str, *, at: ThreadKey | None = None) -> None:
        """Ask the same question again, with the same files (once, however many clicks);
        like Cancel, only people in the thread may."""
        stored = await self._turn(turn_id, at)
        if stored is None:
            return
        if not await self._in_thread(stored, user_id):
            await self._notices.notify(stored.turn.key, user_id, wording.RETRY_NOT_IN_THREAD)
            return
        again = replace(
            stored.turn,
            message_ts=f"retry-{turn_id}",
            source="retry",
            retry_of=turn_id,
            gather_context=False,
        )
        if not await self._intake.submit(again):
            logger.info("retry of turn %s already queued (clicked again by %s)", turn_id, user_id)

    async def suggestion(
        self, key: ThreadKey, *, message_ts: str, user_id: str, file_id: str, question: str
    ) -> None:
        """A suggested question under a file's profile: asked as if the clicker typed it."""
        digest = hashlib.sha1(question.encode(), usedforsecurity=False).hexdigest()[:8]
        turn = Turn(
            key=key,
            message_ts=f"ask-{message_ts}-{digest}-{user_id}"[:64],  # one run per person
            user_id=user_id,
            text=question,
            files=(SlackFile(id=file_id),) if file_id else (),
            channel_type=channel_type_of(key.channel_id),
            source="suggestion",
        )
        await self._intake.submit(turn)

    async def _turn(self, turn_id: int, at: ThreadKey | None) -> StoredTurn | None:
        """The turn a button under a message in `at` names, if it is that thread's: a button
        older than the retention may name an id the database gave to a newer turn since."""
        stored = await self._store.turns.get(turn_id)
        if stored is None or (at is not None and stored.turn.key != at):
            return None
        return stored

    async def _in_thread(self, stored: StoredTurn, user_id: str) -> bool:
        if user_id == stored.turn.user_id or user_id in await self._store.turns.askers(
            stored.thread_id
        ):
            return True
        return user_id in await self._history.participants(stored.turn.key)


def code_listing(runs: Sequence[dict[str, Any]], *, question: str) -> str:
    """Every code run of a turn, in order, with what it printed as comments."""
    lines = [f"# {wording.CODE_SNIPPET_TITLE}", f"# Question: {' '.join(question.split())}", ""]
    for number, run in enumerate(runs, start=1):
        failed = "" if run.get("ok", True) else " (failed)"
        lines += [f"# --- Run {number}{failed} ---", str(run.get("code", "")).rstrip(), ""]
        logs = str(run.get("logs") or "").rstrip()
        if logs:
            lines += ["# Output:", *(f"# {line}" for line in logs.splitlines()), ""]
    return "\n".join(lines).rstrip() + "\n"


def channel_type_of(channel_id: str) -> ChannelType:
    return {"D": "im", "G": "group"}.get(channel_id[:1], "channel")  # type: ignore[return-value]
