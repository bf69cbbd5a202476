"""`Answerer`: the steps of answering one question, in order.

    the channel's profile → budgets → status → files (checked, relayed, placed) ‖ conversation ‖
    container ‖ asker ‖ earlier messages, all at once → documents indexed for search
    → model rounds (text, progress, function tools' charts and tables: `ModelRounds`)
    → sources noted → outputs downloaded and posted → links rewritten

It raises on failure; `AnalystService` turns failures into replies. What the turn leaves
behind (response id, usage, code runs, timings, the answer as shown) is written into a
`TurnRecord` as it goes.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence

from bot import wording
from bot.core import outputs
from bot.core.budgets import Spending
from bot.core.events import Finished, Step, StepStatus, TextDelta
from bot.core.files import kind_of
from bot.core.functions import FunctionTools
from bot.core.instructions import model_request
from bot.core.library import Library, SearchIndex, searchable, sources_line
from bot.core.markdown import rewrite_links
from bot.core.ports import Directory, Engine, ProfileSource, Renderer, ThreadHistory
from bot.core.records import ChannelProfile, StoredTurn, ThreadState
from bot.core.rounds import ModelRounds, TurnRecord
from bot.core.storage import Store
from bot.core.tasks import task_group
from bot.core.tools import CODE_INTERPRETER, FILE_SEARCH
from bot.core.turns import PriorMessage, SlackFile, Turn, UserInfo
from bot.core.workspace import Workspace, WorkspaceBuilder
from bot.errors import ContainerExpired, PythonOff, SearchIndexGone

logger = logging.getLogger(__name__)

CONTEXT_MESSAGES = 50
NEEDS_PYTHON = frozenset({"data", "document"})
"""File kinds only the code interpreter can read (images go to the model directly; a
document can also be searched when search is on)."""
RESTART_NOTE = "_(the analysis session expired; starting it again with your files…)_"


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
        functions: FunctionTools,
        profiles: ProfileSource | None = None,
        spending: Spending | None = None,
    ) -> None:
        self._profiles = profiles
        self._spending = spending
        self._store = store
        self._engine = engine
        self._functions = functions
        self._library = Library(store=store, engine=engine)
        self._rounds = ModelRounds(engine, functions)
        self._workspace = workspace
        self._directory = directory
        self._history = history
        self._instructions = instructions

    async def stop_response(self, response_id: str) -> None:
        """Stop a model response nobody will read (the turn ended another way)."""
        await self._engine.stop_response(response_id)

    async def answer(
        self,
        stored: StoredTurn,
        renderer: Renderer,
        record: TurnRecord,
        *,
        resume: Sequence[str] = (),
    ) -> None:
        """Answer the turn; `resume`: the responses an earlier attempt started, replayed
        (shown again) and followed instead of asking the model anew."""
        turn = stored.turn
        profile = await self._profile(turn)
        record.model = profile.model
        if self._spending is not None:  # a used-up budget: refused before any OpenAI call
            await self._spending.check(turn)
        python, search_on = CODE_INTERPRETER in profile.tools, FILE_SEARCH in profile.tools
        if not python:  # said plainly, before anything is uploaded
            _refuse_data_files(turn.files, search=search_on)
        thread = await self._store.threads.get(stored.thread_id)
        first = thread.conversation_id is None
        if first:  # the thread's first question names it
            await renderer.title(turn.text or wording.DEFAULT_TITLE)
        await renderer.status(wording.STATUS_RESUMING if resume else wording.STATUS_THINKING)
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

        async def indexing(name: str, done: bool) -> None:
            title = wording.STEP_INDEXING.format(name=name)
            await renderer.step(Step(f"index-{name}", title, "complete" if done else "in_progress"))

        # All the model needs, at once: who asks, what was said before, and the workspace
        # (files, conversation, container), which overlaps its own parts.
        async with task_group() as group:
            user = group.create_task(self._directory.user(turn.user_id, team_id=turn.key.team_id))
            prior = group.create_task(self._prior(turn) if gather else _nothing())
            ready = group.create_task(
                self._workspace.open(
                    thread,
                    turn.files,
                    reading,
                    earlier=_files_of(prior) if gather else None,
                    python=python,
                    usable=None if python else lambda f: not _needs_python(f, search=search_on),
                    created=record.container_started,
                )
            )
        workspace = ready.result()
        names = [f.name for f in workspace.files]
        usable = {f.openai_file_id for f in workspace.files}
        search = (
            await self._library.prepare(thread, indexing, names, usable=usable)
            if search_on
            else None
        )

        async def reindex() -> SearchIndex | None:
            return await self._library.prepare(thread, indexing, names, renew=True, usable=usable)

        record.mark("ready_s")
        finished, workspace = await self._respond(
            stored,
            thread,
            workspace,
            prior.result(),
            renderer,
            record,
            user=user.result(),
            search=search,
            profile=profile,
            reindex=reindex,
            resume=resume,
        )
        notes = [
            sources_line(finished.sources, search),
            wording.NOT_INDEXED.format(names=", ".join(search.failed))
            if search and search.failed
            else None,
            wording.INCOMPLETE_NOTE if finished.incomplete_reason else None,
        ]
        note = "\n\n".join(n for n in notes if n) or None
        if finished.incomplete_reason:
            record.error_code = "engine_incomplete"
        await renderer.end_text(
            note, show_code=bool(record.code_runs), error_code=record.error_code
        )
        links = await outputs.publish(
            self._engine,
            renderer,
            self._store.artifacts,
            turn_id=stored.id,
            container_id=workspace.container_id,
            since=record.since,
            citations=finished.citations,
            code_ran=bool(record.code_runs),
        )
        # What the reader saw, kept for notebook exports (the text is not asked for again).
        shown = rewrite_links(finished.text, links, missing=wording.FILE_MISSING_NOTE)
        record.answer_text = f"{shown}\n\n{note}" if note else shown
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
        search: SearchIndex | None,
        profile: ChannelProfile,
        reindex: Callable[[], Awaitable[SearchIndex | None]],
        resume: Sequence[str] = (),
    ) -> tuple[Finished, Workspace]:
        """Run the model on a fresh container when the thread's was found expired: once
        when the request is refused before it starts (the thread's container, unless it is
        new), once when the container dies mid-turn; and once on a new vector store when
        the thread's documents' store expired."""
        retried = reindexed = False
        while True:
            request = model_request(
                self._instructions,
                turn_id=stored.id,
                turn=stored.turn,
                user=user,
                workspace=workspace,
                prior=prior,
                functions=self._functions.specs(profile.tools),
                search=search,
                profile=profile,
            )
            response_id = record.response_id
            try:
                finished = await self._rounds.run(request, renderer, record, resume=resume)
                return finished, workspace
            except SearchIndexGone:
                if reindexed or record.response_id != response_id:
                    raise
                reindexed = True
                logger.info("turn %s: the thread's vector store is gone; a new one", stored.id)
                search = await reindex()
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
                resume = ()  # what follows starts afresh on the new container
                record.chain.clear()
                workspace = await self._workspace.renew(
                    thread, new_slack_ids=workspace.new_slack_ids, created=record.container_started
                )

    async def _prior(self, turn: Turn) -> list[PriorMessage]:
        return await self._history.earlier(
            turn.key, before_ts=turn.message_ts, limit=CONTEXT_MESSAGES
        )

    async def _profile(self, turn: Turn) -> ChannelProfile:
        if self._profiles is None:
            return ChannelProfile()
        return await self._profiles.for_turn(turn.key.team_id, turn.key.channel_id)


async def _nothing() -> list[PriorMessage]:
    return []


async def _files_of(prior: Awaitable[list[PriorMessage]]) -> list[SlackFile]:
    return [file for message in await prior for file in message.files]


def _needs_python(file: SlackFile, *, search: bool) -> bool:
    """Only Python can read it (a document can also be searched, when search is on)."""
    kind = kind_of(file)
    return kind in NEEDS_PYTHON and not (search and searchable(file.name))


def _refuse_data_files(files: tuple[SlackFile, ...], *, search: bool) -> None:
    """Without Python a data file can't be analysed: say so instead of answering blind."""
    unreadable = [f.name or f.id for f in files if _needs_python(f, search=search)]
    if unreadable:
        raise PythonOff(f"{len(unreadable)} data file(s)", name=", ".join(unreadable))
