"""`Answerer`: the steps of answering one question, in order.

    status → files (checked, relayed, placed) ‖ conversation ‖ container ‖ asker ‖ earlier
    messages, all at once → model stream → renderer (text, progress) → outputs downloaded
    and posted → links rewritten

It raises on failure; `AnalystService` turns failures into replies. What the turn leaves
behind (response id, usage, code runs, timings) is written into a `TurnRecord` as it goes.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Awaitable
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
from bot.core.instructions import model_request
from bot.core.ports import Directory, Engine, Renderer, ThreadHistory
from bot.core.records import StoredTurn, ThreadState
from bot.core.storage import Store
from bot.core.tasks import task_group
from bot.core.turns import PriorMessage, SlackFile, Turn, UserInfo
from bot.core.workspace import Workspace, WorkspaceBuilder
from bot.errors import ContainerExpired, TurnError

logger = logging.getLogger(__name__)

CONTEXT_MESSAGES = 50
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
    ) -> None:
        self._store = store
        self._engine = engine
        self._workspace = workspace
        self._directory = directory
        self._history = history
        self._instructions = instructions

    async def answer(self, stored: StoredTurn, renderer: Renderer, record: TurnRecord) -> None:
        turn = stored.turn
        thread = await self._store.threads.get(stored.thread_id)
        first = thread.conversation_id is None
        if first:  # the thread's first question names it
            await renderer.title(turn.text or wording.DEFAULT_TITLE)
        await renderer.status(wording.STATUS_THINKING)
        if turn.source == "suggestion":  # asked with a button: show what is being answered
            await renderer.show(TextDelta(wording.SUGGESTED_QUESTION.format(question=turn.text)))
        # The thread's first turn in an existing thread reads what was said before.
        gather = turn.gather_context or (first and turn.message_ts != turn.key.thread_ts)

        async def reading(file: SlackFile, status: StepStatus) -> None:
            if status == "in_progress":
                await renderer.status(
                    wording.STATUS_READING.format(names=file.name),
                    [wording.STEP_READING.format(name=file.name) + "…"],
                )
            await renderer.step(
                Step(f"file-{file.id}", wording.STEP_READING.format(name=file.name), status)
            )

        # All the model needs, at once: who asks, what was said before, and the workspace
        # (files, conversation, container), which overlaps its own parts.
        async with task_group() as group:
            user = group.create_task(self._directory.user(turn.user_id))
            prior = group.create_task(self._prior(turn) if gather else _nothing())
            ready = group.create_task(
                self._workspace.open(
                    thread, turn.files, reading, earlier=_files_of(prior) if gather else None
                )
            )
        workspace = ready.result()
        record.mark("ready_s")
        finished, workspace = await self._respond(
            stored,
            thread,
            workspace,
            prior.result(),
            renderer,
            record,
            user=user.result(),
            new_ids=workspace.new_slack_ids,
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
        user: UserInfo,
        new_ids: set[str],
    ) -> tuple[Finished, Workspace]:
        """Run the model on a fresh container when the thread's was found expired: once
        when the request is refused before it starts (the thread's container, unless it is
        new), once when the container dies mid-turn."""
        retried = False
        while True:
            request = model_request(
                self._instructions,
                turn_id=stored.id,
                turn=stored.turn,
                user=user,
                workspace=workspace,
                prior=prior,
            )
            response_id = record.response_id
            try:
                return await self._stream(request, renderer, record), workspace
            except ContainerExpired:
                if record.response_id == response_id:  # refused: nothing was shown
                    if workspace.fresh:
                        raise
                    logger.info("turn %s: the thread's container expired; a new one", stored.id)
                else:
                    if retried:
                        raise
                    retried = True
                    logger.info("turn %s: container expired mid-turn; retrying once", stored.id)
                    await renderer.restart(RESTART_NOTE)
                workspace = await self._workspace.renew(thread, new_slack_ids=new_ids)

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


async def _nothing() -> list[PriorMessage]:
    return []


async def _files_of(prior: Awaitable[list[PriorMessage]]) -> list[SlackFile]:
    return [file for message in await prior for file in message.files]
