"""`Answerer`: the steps of answering one question, in order.

    status → files (check, relay, place) → conversation + container → model stream
    → renderer (text, progress) → outputs downloaded and posted → links rewritten

It raises on failure; `AnalystService` turns failures into replies. What the turn leaves
behind (response id, usage, code runs, timings) is written into a `TurnRecord` as it goes.
"""

from __future__ import annotations

import contextlib
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from bot import wording
from bot.core import outputs
from bot.core.events import (
    CodeFinished,
    Finished,
    ModelRequest,
    ResponseStarted,
    Step,
    StepStatus,
    TextDelta,
)
from bot.core.files import kind_of
from bot.core.instructions import model_request
from bot.core.ports import Directory, Engine, ProfileSource, Renderer, ThreadHistory
from bot.core.records import ChannelProfile, StoredTurn, ThreadState
from bot.core.storage import Store
from bot.core.tools import CODE_INTERPRETER
from bot.core.turns import PriorMessage, SlackFile, Turn
from bot.core.workspace import Progress, Workspace, WorkspaceBuilder
from bot.errors import ContainerExpired, FileError, PythonOff, TurnError

logger = logging.getLogger(__name__)

CONTEXT_MESSAGES = 50
NEEDS_PYTHON = frozenset({"data", "document"})
"""File kinds only the code interpreter can read (images go to the model directly)."""
RESTART_NOTE = "_(the analysis session expired; starting it again with your files…)_"


@dataclass
class TurnRecord:
    """What a turn leaves behind, filled in as it runs."""

    started: float = field(default_factory=time.monotonic)
    response_id: str | None = None
    since: float = 0.0
    """Server time the response started: container files created after it are outputs."""
    usage: dict[str, Any] | None = None
    code_runs: list[dict[str, Any]] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    error_code: str | None = None

    def mark(self, name: str) -> None:
        self.timings.setdefault(name, round(time.monotonic() - self.started, 3))


class Answerer:
    """Answers one stored turn into its renderer (knows the world only through ports)."""

    def __init__(
        self,
        *,
        store: Store,
        engine: Engine,
        workspace: WorkspaceBuilder,
        directory: Directory,
        history: ThreadHistory,
        instructions: str,
        profiles: ProfileSource | None = None,
    ) -> None:
        self._profiles = profiles
        self._store = store
        self._engine = engine
        self._workspace = workspace
        self._directory = directory
        self._history = history
        self._instructions = instructions

    async def answer(self, stored: StoredTurn, renderer: Renderer, record: TurnRecord) -> None:
        turn = stored.turn
        profile = await self._profile(turn)
        python = CODE_INTERPRETER in profile.tools
        if not python:  # said plainly, before anything is uploaded
            _refuse_data_files(turn.files)
        thread = await self._store.threads.get(stored.thread_id)
        first = thread.conversation_id is None
        if first:  # the thread's first question names it
            await renderer.title(turn.text or wording.DEFAULT_TITLE)
        await renderer.status(wording.STATUS_THINKING)
        if turn.source == "suggestion":  # asked with a button: show what is being answered
            await renderer.show(TextDelta(wording.SUGGESTED_QUESTION.format(question=turn.text)))
        # The thread's first turn in an existing thread reads what was said before.
        gather = turn.gather_context or (first and turn.message_ts != turn.key.thread_ts)
        prior = await self._prior(turn) if gather else []

        async def reading(file: SlackFile, status: StepStatus) -> None:
            if status == "in_progress":
                await renderer.status(
                    wording.STATUS_READING.format(names=file.name),
                    [wording.STEP_READING.format(name=file.name) + "…"],
                )
            await renderer.step(
                Step(f"file-{file.id}", wording.STEP_READING.format(name=file.name), status)
            )

        new_ids = await self._workspace.add_files(thread, turn.files, reading)
        new_ids |= await self._context_files(thread, prior, reading, python=python)
        workspace = await self._workspace.prepare(thread, new_slack_ids=new_ids, python=python)
        record.mark("ready_s")
        finished, workspace = await self._respond(
            stored, thread, workspace, prior, renderer, record, new_ids=new_ids, profile=profile
        )
        note = wording.INCOMPLETE_NOTE if finished.incomplete_reason else None
        await renderer.end_text(note, show_code=bool(record.code_runs))
        if finished.incomplete_reason:
            record.error_code = "engine_incomplete"
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

    async def _respond(
        self,
        stored: StoredTurn,
        thread: ThreadState,
        workspace: Workspace,
        prior: list[PriorMessage],
        renderer: Renderer,
        record: TurnRecord,
        *,
        new_ids: set[str],
        profile: ChannelProfile,
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
                profile=profile,
            )
            try:
                return await self._stream(request, renderer, record), workspace
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
        self, request: ModelRequest, renderer: Renderer, record: TurnRecord
    ) -> Finished:
        finished: Finished | None = None
        # aclosing: whatever stops this loop (a Slack failure, a cancel) closes the model's
        # stream at once, not whenever the generator happens to be collected.
        async with contextlib.aclosing(self._engine.respond(request)) as events:
            async for event in events:
                if isinstance(event, ResponseStarted):
                    record.response_id, record.since = event.response_id, event.created_at
                    record.mark("model_started_s")
                elif isinstance(event, CodeFinished):
                    record.code_runs.append(
                        {"code": event.code, "logs": event.logs, "ok": event.ok}
                    )
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

    async def _prior(self, turn: Turn) -> list[PriorMessage]:
        return await self._history.earlier(
            turn.key, before_ts=turn.message_ts, limit=CONTEXT_MESSAGES
        )

    async def _profile(self, turn: Turn) -> ChannelProfile:
        if self._profiles is None:
            return ChannelProfile()
        return await self._profiles.for_turn(turn.key.team_id, turn.key.channel_id)

    async def _context_files(
        self, thread: ThreadState, prior: list[PriorMessage], reading: Progress, *, python: bool
    ) -> set[str]:
        """Files shared earlier in the thread; unusable ones are skipped, not fatal."""
        added: set[str] = set()
        for message in prior:
            for file in message.files:
                if not file.is_stub and kind_of(file) is None:
                    continue
                if not python and kind_of(file) in NEEDS_PYTHON:
                    continue
                try:
                    added |= await self._workspace.add_files(thread, [file], reading)
                except FileError as error:
                    logger.info("skipping earlier thread file %s: %s", file.id, error.code)
        return added


def _refuse_data_files(files: tuple[SlackFile, ...]) -> None:
    """Without Python a data file can't be analysed: say so instead of answering blind."""
    unreadable = [f.name or f.id for f in files if kind_of(f) in NEEDS_PYTHON]
    if unreadable:
        raise PythonOff(f"{len(unreadable)} data file(s)", name=", ".join(unreadable))
