"""`Answerer`: the steps of answering one question, in order.

    status → files (check, relay, place) → conversation + container → model stream
    → renderer (text, progress, function tools' charts and tables: `ModelRounds`)
    → outputs downloaded and posted → links rewritten

It raises on failure; `AnalystService` turns failures into replies. What the turn leaves
behind (response id, usage, code runs, timings) is written into a `TurnRecord` as it goes.
"""

from __future__ import annotations

import logging

from bot import wording
from bot.core import outputs
from bot.core.events import Finished, Step, StepStatus, TextDelta
from bot.core.files import kind_of
from bot.core.functions import FunctionTools
from bot.core.instructions import model_request
from bot.core.library import Indexing, Library, SearchIndex, searchable, sources_line
from bot.core.markdown import rewrite_links
from bot.core.ports import Directory, Engine, ProfileSource, Renderer, ThreadHistory
from bot.core.records import ChannelProfile, StoredTurn, ThreadState
from bot.core.rounds import ModelRounds, TurnRecord
from bot.core.storage import Store
from bot.core.tasks import task_group
from bot.core.tools import CODE_INTERPRETER, FILE_SEARCH
from bot.core.turns import PriorMessage, SlackFile, Turn
from bot.core.workspace import Progress, Workspace, WorkspaceBuilder
from bot.errors import ContainerExpired, FileError, PythonOff

logger = logging.getLogger(__name__)

CONTEXT_MESSAGES = 50
NEEDS_PYTHON = frozenset({"data", "document"})
"""File kinds only the code interpreter can read (images go to the model directly)."""
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
    ) -> None:
        self._profiles = profiles
        self._store = store
        self._engine = engine
        self._functions = functions
        self._library = Library(store=store, engine=engine)
        self._rounds = ModelRounds(engine, functions)
        self._workspace = workspace
        self._directory = directory
        self._history = history
        self._instructions = instructions

    async def answer(self, stored: StoredTurn, renderer: Renderer, record: TurnRecord) -> None:
        turn = stored.turn
        profile = await self._profile(turn)
        python = CODE_INTERPRETER in profile.tools
        if not python:  # said plainly, before anything is uploaded
            _refuse_data_files(turn.files, search=FILE_SEARCH in profile.tools)
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

        async def indexing(name: str, done: bool) -> None:
            title = wording.STEP_INDEXING.format(name=name)
            await renderer.step(Step(f"index-{name}", title, "complete" if done else "in_progress"))

        new_ids = await self._workspace.add_files(thread, turn.files, reading)
        new_ids |= await self._context_files(
            thread, prior, reading, python=python, search=FILE_SEARCH in profile.tools
        )
        async with task_group() as group:  # documents are indexed while files are placed
            placing = group.create_task(
                self._workspace.prepare(thread, new_slack_ids=new_ids, python=python)
            )
            searching = group.create_task(self._search(thread, indexing, profile))
        workspace, search = placing.result(), searching.result()
        record.mark("ready_s")
        finished, workspace = await self._respond(
            stored,
            thread,
            workspace,
            prior,
            renderer,
            record,
            new_ids=new_ids,
            search=search,
            profile=profile,
        )
        notes = [
            sources_line(finished.sources, search),
            wording.NOT_INDEXED.format(names=", ".join(search.failed))
            if search and search.failed
            else None,
            wording.INCOMPLETE_NOTE if finished.incomplete_reason else None,
        ]
        note = "\n\n".join(n for n in notes if n) or None
        await renderer.end_text(note, show_code=bool(record.code_runs))
        if finished.incomplete_reason:
            record.error_code = "engine_incomplete"
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
        new_ids: set[str],
        search: SearchIndex | None,
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
                functions=self._functions.specs(profile.tools),
                search=search,
                profile=profile,
            )
            try:
                return await self._rounds.run(request, renderer, record), workspace
            except ContainerExpired:
                if attempt:
                    raise
                logger.info("turn %s: container expired mid-turn; retrying once", stored.id)
                await renderer.restart(RESTART_NOTE)
                workspace = await self._workspace.prepare(
                    thread, new_slack_ids=new_ids, force_new_container=True
                )
        raise AssertionError("unreachable")

    async def _prior(self, turn: Turn) -> list[PriorMessage]:
        return await self._history.earlier(
            turn.key, before_ts=turn.message_ts, limit=CONTEXT_MESSAGES
        )

    async def _search(
        self, thread: ThreadState, indexing: Indexing, profile: ChannelProfile
    ) -> SearchIndex | None:
        if FILE_SEARCH not in profile.tools:  # switched off for the channel
            return None
        return await self._library.prepare(thread, indexing)

    async def _profile(self, turn: Turn) -> ChannelProfile:
        if self._profiles is None:
            return ChannelProfile()
        return await self._profiles.for_turn(turn.key.team_id, turn.key.channel_id)

    async def _context_files(
        self,
        thread: ThreadState,
        prior: list[PriorMessage],
        reading: Progress,
        *,
        python: bool,
        search: bool,
    ) -> set[str]:
        """Files shared earlier in the thread; unusable ones are skipped, not fatal."""
        added: set[str] = set()
        for message in prior:
            for file in message.files:
                if not file.is_stub and kind_of(file) is None:
                    continue
                if not python and _needs_python(file, search=search):
                    continue
                try:
                    added |= await self._workspace.add_files(thread, [file], reading)
                except FileError as error:
                    logger.info("skipping earlier thread file %s: %s", file.id, error.code)
        return added


def _needs_python(file: SlackFile, *, search: bool) -> bool:
    """Only Python can read it (a document can also be searched, when search is on)."""
    kind = kind_of(file)
    return kind in NEEDS_PYTHON and not (search and searchable(file.name))


def _refuse_data_files(files: tuple[SlackFile, ...], *, search: bool) -> None:
    """Without Python a data file can't be analysed: say so instead of answering blind."""
    unreadable = [f.name or f.id for f in files if _needs_python(f, search=search)]
    if unreadable:
        raise PythonOff(f"{len(unreadable)} data file(s)", name=", ".join(unreadable))
