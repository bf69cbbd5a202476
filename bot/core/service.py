"""`AnalystService`: runs a stored turn; the one place failures become replies.

    worker claims → run(stored turn) → Answerer.answer → TurnOutcome

Every `TurnError` becomes its own message; anything else becomes a generic apology with a
short reference id that is also in the logs. A Cancel ends the turn with "Cancelled by …".
The status indicator is always cleared.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

from bot import wording
from bot.core.answering import Answerer
from bot.core.budgets import Spending
from bot.core.ports import Directory, Renderer
from bot.core.progress import Progress, ProgressKeeper, SaveProgress
from bot.core.records import FinalStatus, StoredTurn, TurnOutcome
from bot.core.rounds import TurnRecord
from bot.core.turns import ThreadKey, Turn
from bot.errors import EngineTimeout, TurnError

logger = logging.getLogger(__name__)

RendererFactory = Callable[[Turn, int], Renderer]
"""(turn, turn id) → the renderer that shows that turn."""
# Failures a Retry cannot fix (the user must change the file or the question).
FINAL_ERRORS = frozenset(
    {"file_unsupported", "file_too_large", "file_empty", "engine_refused", "python_off"}
    | {"budget_user_daily", "budget_channel_monthly", "budget_workspace_monthly"}
)
ABANDONED = "<lease lost>"  # not a user id: Slack ids never contain "<"
UNINSTALLED = "<uninstalled>"
"""Why a turn is stopped when the app left its workspace (nothing can be said there)."""


class AnalystService:
    """Runs turns and reports how they ended."""

    def __init__(
        self,
        *,
        answerer: Answerer,
        renderers: RendererFactory,
        directory: Directory,
        turn_timeout_s: float,
        spending: Spending | None = None,
        save_progress: SaveProgress | None = None,
    ) -> None:
        self._save_progress = save_progress
        self._answerer = answerer
        self._spending = spending
        self._renderers = renderers
        self._directory = directory
        self._timeout = turn_timeout_s
        self._running: dict[int, tuple[asyncio.Task[Any], ThreadKey]] = {}
        # Why a running turn is being stopped: who pressed Cancel, or ABANDONED.
        self._stops: dict[int, str] = {}

    async def run(self, stored: StoredTurn) -> TurnOutcome:
        renderer = self._renderers(stored.turn, stored.id)
        record = TurnRecord()
        resumed = Progress.of(stored.progress)
        record.chain, record.since = list(resumed.responses), resumed.since
        error_ref = cancelled_by = None
        handed_back = False
        task = asyncio.current_task()
        assert task is not None
        self._running[stored.id] = (task, stored.turn.key)
        try:
            async with asyncio.timeout(self._timeout), self._kept(stored, record, renderer):
                if resumed.started:
                    logger.info(
                        "turn %s taken over (attempt %d): %d response(s), %d message(s) to replace",
                        stored.id,
                        stored.attempts,
                        len(resumed.responses),
                        len(resumed.messages),
                    )
                    await renderer.retract(resumed.messages)
                await self._answerer.answer(stored, renderer, record, resume=resumed.responses)
        except asyncio.CancelledError:
            stop = self._stops.get(stored.id)
            if stop is None:
                # Shutting down: the turn is handed back as it stands (its response goes on
                # in the background) and another worker, or this one restarted, continues it.
                handed_back = True
                raise
            task.uncancel()
            if stop == ABANDONED:
                # Another worker may own the turn now: it (or our worker) tells the thread.
                record.error_code = "lease_lost"
                record.open_response = None  # it goes on for whoever took the turn over
            elif stop == UNINSTALLED:
                record.error_code = "uninstalled"  # its token is dead: nothing to tell
            else:
                cancelled_by, record.error_code = stop, "cancelled"
                team = stored.turn.key.team_id
                name = (await self._directory.user(stop, team_id=team)).display_name
                await _safely(
                    renderer.end_text(wording.CANCELLED_BY.format(name=name), controls=False),
                    f"noting that turn {stored.id} was cancelled",
                )
        except TurnError as error:
            record.error_code = error.code
            logger.info("turn %s failed: %s (%s)", stored.id, error.code, error.detail)
            await self._tell(
                renderer, wording.for_error(error), stored, retry=error.code not in FINAL_ERRORS
            )
        except TimeoutError:
            record.error_code = EngineTimeout.code
            await self._tell(renderer, wording.error_text(EngineTimeout.code), stored)
        except Exception:
            error_ref = secrets.token_hex(4)
            record.error_code = "internal"
            logger.exception("turn %s failed unexpectedly [ref %s]", stored.id, error_ref)
            await self._tell(renderer, wording.error_text("internal", ref=error_ref), stored)
        finally:
            del self._running[stored.id]
            self._stops.pop(stored.id, None)
            if not handed_back:
                if record.open_response is not None:  # nobody will read it: stop it
                    await _safely(
                        self._answerer.stop_response(record.open_response),
                        f"stopping turn {stored.id}'s response",
                    )
                await self._close(renderer, stored)
                if self._spending is not None:  # whatever the ending: what ran is billed
                    await _safely(
                        self._spending.settle(stored, record), f"recording turn {stored.id}'s usage"
                    )
        record.mark("total_s")
        return TurnOutcome(
            status=_status(record.error_code),
            response_id=record.response_id,
            reply_ts=renderer.reply_ts,
            usage=record.usage,
            timings=record.timings,
            code_runs=record.code_runs,
            error_code=record.error_code,
            error_ref=error_ref,
            cancelled_by=cancelled_by,
            answer_text=record.answer_text,
        )

    def _kept(
        self, stored: StoredTurn, record: TurnRecord, renderer: Renderer
    ) -> contextlib.AbstractAsyncContextManager[object]:
        """The turn's progress kept in the store while it runs (for a takeover)."""
        if self._save_progress is None:
            return contextlib.nullcontext()
        keeper = ProgressKeeper(self._save_progress, stored, record, renderer)
        return keeper.kept()

    def cancel(self, turn_id: int, *, by: str) -> bool:
        """Stop a turn running in this process (its stream is closed) and say who stopped
        it; False if it does not run here. Idempotent: the first stop wins."""
        return self._stop(turn_id, by)

    def abandon(self, turn_id: int) -> bool:
        """Stop a turn this process may no longer own (its lease was lost), saying nothing."""
        return self._stop(turn_id, ABANDONED)

    def stop_workspace(self, team_id: str) -> list[int]:
        """Stop every turn of a workspace the app left that runs in this process."""
        turn_ids = [t for t, (_, key) in self._running.items() if key.team_id == team_id]
        for turn_id in turn_ids:
            self._stop(turn_id, UNINSTALLED)
        return turn_ids

    def _stop(self, turn_id: int, why: str) -> bool:
        running = self._running.get(turn_id)
        if running is None:
            return False
        if turn_id not in self._stops:  # a second click must not cut the first one short
            self._stops[turn_id] = why
            running[0].cancel(f"turn {turn_id} stopped")
        return True

    def running_in(self, key: ThreadKey) -> list[int]:
        """Turns of this thread running in this process."""
        return [turn_id for turn_id, (_, thread) in self._running.items() if thread == key]

    async def report_interrupted(self, stored: StoredTurn) -> None:
        """Tell a thread that its turn died with its worker (the thread is free again)."""
        renderer = self._renderers(stored.turn, stored.id)
        await self._tell(renderer, wording.error_text("interrupted"), stored, retry=True)
        await self._close(renderer, stored)

    async def _tell(
        self, renderer: Renderer, text: str, stored: StoredTurn, *, retry: bool = True
    ) -> None:
        await _safely(
            renderer.error(text, retry=retry), f"posting the error message for turn {stored.id}"
        )

    async def _close(self, renderer: Renderer, stored: StoredTurn) -> None:
        await _safely(renderer.close(), f"cleaning up after turn {stored.id}")


async def _safely(action: Awaitable[None], what: str) -> None:
    """Run a best-effort step after a failure; a second failure is logged, not raised."""
    try:
        await action
    except Exception:
        logger.exception("failed: %s", what)


def _status(error_code: str | None) -> FinalStatus:
    if error_code is None:
        return "done"
    if error_code in ("cancelled", "uninstalled"):
        return "cancelled"
    if error_code == "lease_lost":
        return "interrupted"
    return "failed"
