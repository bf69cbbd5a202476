"""`AnalystService`: runs a turn from question to answer; the one place failures become replies.

    submit(turn) → store (deduplicated) → worker claims → run(stored turn):
        status → files (check, relay, place) → conversation + container → model stream
        → renderer (text, progress) → outputs downloaded and posted → links rewritten

Every `TurnError` becomes its own message; anything else becomes a generic apology with a
short reference id that is also in the logs. The status indicator is always cleared.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from bot import messages, outputs
from bot.errors import ContainerExpired, EngineTimeout, FileError, TurnError
from bot.events import (
    CodeFinished,
    Finished,
    ModelRequest,
    ResponseStarted,
    Step,
    StepStatus,
    TextDelta,
)
from bot.files import kind_of
from bot.instructions import model_request
from bot.ports import Directory, Engine, Renderer, Store, Surface, ThreadHistory
from bot.records import StoredTurn, ThreadState, TurnOutcome
from bot.turns import PriorMessage, SlackFile, ThreadKey, Turn
from bot.workspace import Progress, Workspace, WorkspaceBuilder

logger = logging.getLogger(__name__)

RendererFactory = Callable[[Turn, int], Renderer]
"""(turn, turn id) → the renderer that shows that turn."""
CONTEXT_MESSAGES = 50
# Failures a Retry cannot fix (the user must change the file or the question).
FINAL_ERRORS = frozenset({"file_unsupported", "file_too_large", "file_empty", "engine_refused"})
RESTART_NOTE = "_(the analysis session expired; starting it again with your files…)_"


@dataclass
class _Record:
    """What a turn leaves behind, filled in as it runs."""

    started: float = field(default_factory=time.monotonic)
    response_id: str | None = None
    since: float = 0.0
    usage: dict[str, Any] | None = None
    code_runs: list[dict[str, Any]] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    error_code: str | None = None

    def mark(self, name: str) -> None:
        self.timings.setdefault(name, round(time.monotonic() - self.started, 3))


class AnalystService:
    """Answers turns. Knows the store, engine and renderer only through `bot.ports`."""

    def __init__(
        self,
        *,
        store: Store,
        engine: Engine,
        workspace: WorkspaceBuilder,
        renderers: RendererFactory,
        directory: Directory,
        history: ThreadHistory,
        instructions: str,
        turn_timeout_s: float,
        surface: Surface,
    ) -> None:
        self._surface = surface
        self._store = store
        self._engine = engine
        self._workspace = workspace
        self._renderers = renderers
        self._directory = directory
        self._history = history
        self._instructions = instructions
        self._timeout = turn_timeout_s
        self._wake: Callable[[], None] = lambda: None
        self._submitting = 0
        self._intake_idle = asyncio.Event()
        self._intake_idle.set()
        self._recording: dict[ThreadKey, int] = {}  # turns being recorded, per thread
        self._recorded = asyncio.Condition()
        self._running: dict[int, tuple[asyncio.Task[Any], ThreadKey]] = {}
        self._cancels: dict[int, str] = {}  # turn id → who cancelled it

    def on_submit(self, wake: Callable[[], None]) -> None:
        """Call `wake` whenever a turn is recorded (the worker's doorbell)."""
        self._wake = wake

    # Intake (called by Slack listeners) ---------------------------------------------------

    async def submit(self, turn: Turn) -> bool:
        self._submitting += 1
        self._intake_idle.clear()
        self._recording[turn.key] = self._recording.get(turn.key, 0) + 1
        try:
            turn_id = await self._store.turns.add(turn)
        finally:
            self._submitting -= 1
            if not self._submitting:
                self._intake_idle.set()
            self._recording[turn.key] -= 1
            if not self._recording[turn.key]:
                del self._recording[turn.key]
            async with self._recorded:
                self._recorded.notify_all()
        if turn_id is None:
            return False
        self._wake()
        if self.running_in(turn.key):
            await self._renderers(turn, turn_id).queued()
        return True

    async def quiesce(self) -> None:
        """Wait (up to 5 s) for listeners still recording turns (Bolt runs them untracked)."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(5.0):
                await self._intake_idle.wait()

    async def is_engaged(self, key: ThreadKey) -> bool:
        return await self._store.threads.is_engaged(key)

    async def engaged_or_starting(self, key: ThreadKey) -> bool:
        """Like `is_engaged`, but a reply that races the mention starting its thread (both
        arrive at once) waits for that mention to be recorded instead of being ignored."""
        if await self.is_engaged(key):
            return True
        if key not in self._recording:
            return False
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(5.0), self._recorded:
                await self._recorded.wait_for(lambda: key not in self._recording)
        return await self.is_engaged(key)

    async def home_opened(self, user_id: str, channel_id: str) -> None:
        await self._surface.suggest_prompts(channel_id)

    # Running a turn (called by the worker) -------------------------------------------------

    async def run(self, stored: StoredTurn) -> TurnOutcome:
        renderer = self._renderers(stored.turn, stored.id)
        record = _Record()
        error_ref = cancelled_by = None
        task = asyncio.current_task()
        assert task is not None
        self._running[stored.id] = (task, stored.turn.key)
        try:
            async with asyncio.timeout(self._timeout):
                await self._answer(stored, renderer, record)
        except asyncio.CancelledError:
            cancelled_by = self._cancels.pop(stored.id, None)
            if cancelled_by is None:
                raise  # shutdown: the worker reports the turn as interrupted
            task.uncancel()
            record.error_code = "cancelled"
            name = (await self._directory.user(cancelled_by)).display_name
            await _safely(
                renderer.end_text(messages.CANCELLED_BY.format(name=name), controls=False),
                f"noting that turn {stored.id} was cancelled",
            )
        except TurnError as error:
            record.error_code = error.code
            logger.info("turn %s failed: %s (%s)", stored.id, error.code, error.detail)
            await self._tell(
                renderer, messages.for_error(error), stored, retry=error.code not in FINAL_ERRORS
            )
        except TimeoutError:
            record.error_code = EngineTimeout.code
            await self._tell(renderer, messages.error_text(EngineTimeout.code), stored)
        except Exception:
            error_ref = secrets.token_hex(4)
            record.error_code = "internal"
            logger.exception("turn %s failed unexpectedly [ref %s]", stored.id, error_ref)
            await self._tell(renderer, messages.error_text("internal", ref=error_ref), stored)
        finally:
            del self._running[stored.id]
            self._cancels.pop(stored.id, None)
            await self._close(renderer, stored)
        record.mark("total_s")
        return TurnOutcome(
            status=("cancelled" if cancelled_by else "failed" if record.error_code else "done"),
            response_id=record.response_id,
            reply_ts=renderer.reply_ts,
            usage=record.usage,
            timings=record.timings,
            code_runs=record.code_runs,
            error_code=record.error_code,
            error_ref=error_ref,
            cancelled_by=cancelled_by,
        )

    def cancel(self, turn_id: int, *, by: str) -> bool:
        """Stop a turn running in this process (its stream is closed); False if not here."""
        running = self._running.get(turn_id)
        if running is None:
            return False
        self._cancels[turn_id] = by
        running[0].cancel(f"cancelled by {by}")
        return True

    def running_in(self, key: ThreadKey) -> list[int]:
        """Turns of this thread running in this process."""
        return [turn_id for turn_id, (_, thread) in self._running.items() if thread == key]

    async def report_interrupted(self, stored: StoredTurn) -> None:
        """Tell a thread that its turn died with its worker (the thread is free again)."""
        renderer = self._renderers(stored.turn, stored.id)
        await self._tell(renderer, messages.error_text("interrupted"), stored, retry=True)
        await self._close(renderer, stored)

    async def _answer(self, stored: StoredTurn, renderer: Renderer, record: _Record) -> None:
        turn = stored.turn
        await renderer.status(messages.STATUS_THINKING)
        if turn.source == "suggestion":  # asked with a button: show what is being answered
            await renderer.show(TextDelta(messages.SUGGESTED_QUESTION.format(question=turn.text)))
        thread = await self._store.threads.get(stored.thread_id)
        first = thread.conversation_id is None
        if first and turn.channel_type == "im":
            await renderer.title(turn.text or messages.DEFAULT_TITLE)
        # The thread's first turn in an existing thread reads what was said before.
        gather = turn.gather_context or (first and turn.message_ts != turn.key.thread_ts)
        prior = await self._prior(turn) if gather else []

        async def reading(file: SlackFile, status: StepStatus) -> None:
            if status == "in_progress":
                await renderer.status(
                    messages.STATUS_READING.format(names=file.name),
                    [messages.STEP_READING.format(name=file.name) + "…"],
                )
            await renderer.step(
                Step(f"file-{file.id}", messages.STEP_READING.format(name=file.name), status)
            )

        new_ids = await self._workspace.add_files(thread, turn.files, reading)
        new_ids |= await self._context_files(thread, prior, reading)
        workspace = await self._workspace.prepare(thread, new_slack_ids=new_ids)
        record.mark("ready_s")
        finished, workspace = await self._respond(
            stored, thread, workspace, prior, renderer, record, new_ids=new_ids
        )
        note = messages.INCOMPLETE_NOTE if finished.incomplete_reason else None
        await renderer.end_text(note, show_code=bool(record.code_runs))
        if finished.incomplete_reason:
            record.error_code = "engine_incomplete"
        await self._post_outputs(stored, workspace, finished, renderer, record)

    async def _respond(
        self,
        stored: StoredTurn,
        thread: ThreadState,
        workspace: Workspace,
        prior: list[PriorMessage],
        renderer: Renderer,
        record: _Record,
        *,
        new_ids: set[str],
    ) -> tuple[Finished, Workspace]:
        """Run the model; on a container that died mid-turn, once more on a fresh one."""
        user = await self._directory.user(stored.turn.user_id)
        for attempt in range(2):
            request = model_request(
                self._instructions,
                turn_id=stored.id,
                turn=stored.turn,
                user=user,
                workspace=workspace,
                prior=prior,
            )
            try:
                return await self._stream(stored, request, renderer, record), workspace
            except ContainerExpired:
                if attempt:
                    raise
                logger.info("turn %s: container expired mid-turn; retrying once", stored.id)
                await renderer.restart(RESTART_NOTE)
                workspace = await self._workspace.prepare(
                    thread, new_slack_ids=new_ids, force_new_container=True
                )
        raise AssertionError("unreachable")

    async def _stream(
        self, stored: StoredTurn, request: ModelRequest, renderer: Renderer, record: _Record
    ) -> Finished:
        finished: Finished | None = None
        async for event in self._engine.respond(request):
            if isinstance(event, ResponseStarted):
                record.response_id, record.since = event.response_id, event.created_at
                record.mark("model_started_s")
            elif isinstance(event, CodeFinished):
                record.code_runs.append({"code": event.code, "logs": event.logs, "ok": event.ok})
            elif isinstance(event, Finished):
                record.usage = event.usage
                record.mark("model_finished_s")
                finished = event
            elif "first_event_s" not in record.timings:
                record.mark("first_event_s")
            await renderer.show(event)
        if finished is None:  # the engine raises instead; this is a safety net
            raise TurnError("the model stream ended without a result")
        return finished

    async def _post_outputs(
        self,
        stored: StoredTurn,
        workspace: Workspace,
        finished: Finished,
        renderer: Renderer,
        record: _Record,
    ) -> None:
        await outputs.publish(
            self._engine,
            renderer,
            self._store.artifacts,
            turn_id=stored.id,
            container_id=workspace.container_id,
            since=record.since,
            citations=finished.citations,
            code_ran=bool(record.code_runs),
        )
        record.mark("posted_s")

    async def _prior(self, turn: Turn) -> list[PriorMessage]:
        return await self._history.earlier(
            turn.key, before_ts=turn.message_ts, limit=CONTEXT_MESSAGES
        )

    async def _context_files(
        self, thread: ThreadState, prior: list[PriorMessage], reading: Progress
    ) -> set[str]:
        """Files shared earlier in the thread; unusable ones are skipped, not fatal."""
        added: set[str] = set()
        for message in prior:
            for file in message.files:
                if not file.is_stub and kind_of(file) is None:
                    continue
                try:
                    added |= await self._workspace.add_files(thread, [file], reading)
                except FileError as error:
                    logger.info("skipping earlier thread file %s: %s", file.id, error.code)
        return added

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
