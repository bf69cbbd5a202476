"""`SlackRenderer`: the one place a turn's answer is posted to Slack.

The thread's agent session (or, where Slack refuses sessions, a status text) shows that the
bot works; text streams into the thread as it arrives (`AnswerPages`: paged, tables as
blocks, defused, never waiting on Slack); code runs and file reads appear as progress steps;
`sandbox:` links are held back until the files they point to are posted. The final answer and
error replies go through the outbox (`SlackDelivery`): staged, then written at the highest
priority. The answer carries Show code and feedback, a failure a Retry button. A Cancel
control is shown while code runs only where Slack's own Stop button is missing.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence

from bot import wording
from bot.core.events import (
    CodeFinished,
    CodeReady,
    CodeStarted,
    EngineEvent,
    PostedFile,
    ProducedFile,
    SearchFinished,
    SearchStarted,
    Step,
    StepStatus,
    TextDelta,
)
from bot.core.markdown import defuse, first_meaningful_line, log_summary
from bot.core.records import StagedReply
from bot.core.turns import ThreadKey
from bot.core.visuals import Visual
from bot.slack.blocks import Block, answer_controls, cancel_message, markdown, retry_controls
from bot.slack.budget import Priority
from bot.slack.client import SLACK_FAILURES, ScheduledSlack, at, failure_code, prepaid
from bot.slack.delivery import ERROR_SEQ, SlackDelivery
from bot.slack.message_render import as_message
from bot.slack.pages import AnswerPages
from bot.slack.retraction import retract
from bot.slack.sessions import ACTIVE, SessionSupport, ThreadStatus
from bot.slack.uploads import SlackUploads, Upload, posted_file

logger = logging.getLogger(__name__)


class SlackRenderer:
    """Renders one turn into one Slack thread."""

    def __init__(
        self,
        client: ScheduledSlack,
        *,
        uploads: SlackUploads,
        delivery: SlackDelivery,
        sessions: SessionSupport,
        key: ThreadKey,
        user_id: str,
        turn_id: int,
        native_stream: bool = True,
        on_sign: Callable[[], None] | None = None,
        interval: float = 1.0,
        soft_limit: int = 9_000,
        hard_limit: int = 11_000,
    ) -> None:
        self._client = client
        self._uploads = uploads
        self._delivery = delivery
        self._key = key
        self._turn_id = turn_id
        self._sessions = sessions
        self._thread = ThreadStatus(client, sessions, key, user_id, on_sign=on_sign)
        self._session_ended = False
        self._title: str | None = None
        self._cancel_ts: str | None = None
        self._cancel_offered = False
        self._dead_since: str | None = None  # a takeover: the dead attempt's first message
        self._errors = 0
        self._titles: dict[str, str] = {}
        self._pages = AnswerPages(
            client,
            key=key,
            user_id=user_id,
            native=native_stream,
            interval=interval,
            soft_limit=soft_limit,
            hard_limit=hard_limit,
            metadata={"turn_id": turn_id},
        )

    @property
    def reply_ts(self) -> str | None:
        return self._pages.reply_ts

    # Progress --------------------------------------------------------------------------

    async def title(self, text: str) -> None:
        """The thread's first question names its session (and a DM thread, in the Messages
        tab)."""
        self._title = text
        if self._key.channel_id.startswith("D"):  # in the background: never holds the turn
            self._sessions.later(self._set_title(text))

    async def status(self, text: str, loading: Sequence[str] = ()) -> None:
        if not self._thread.working:
            await self._thread.start(text, title=self._title)
        elif text:
            await self._thread.progress(text, loading)

    async def step(self, step: Step) -> None:
        await self._pages.step(step)

    async def show(self, event: EngineEvent) -> None:
        if isinstance(event, TextDelta):
            await self._pages.feed(event.text)
        elif isinstance(event, CodeStarted):
            self._titles[event.run_id] = wording.STEP_PYTHON
            await self.status(wording.STATUS_RUNNING_PYTHON, [wording.STEP_PYTHON + "…"])
            await self.step(Step(event.run_id, wording.STEP_PYTHON, "in_progress"))
            await self._offer_cancel()
        elif isinstance(event, CodeReady):
            title = f"{wording.STEP_PYTHON}: {first_meaningful_line(event.code)}"
            self._titles[event.run_id] = title
            await self.step(Step(event.run_id, title, "in_progress"))
        elif isinstance(event, SearchStarted):
            await self.step(Step(event.call_id, wording.STEP_SEARCHING, "in_progress"))
        elif isinstance(event, SearchFinished):
            details = "; ".join(event.queries)[:300]
            done: StepStatus = "complete" if event.ok else "error"
            await self.step(Step(event.call_id, wording.STEP_SEARCHING, done, details))
        elif isinstance(event, CodeFinished):
            title = self._titles.get(event.run_id) or (
                f"{wording.STEP_PYTHON}: {first_meaningful_line(event.code)}"
            )
            status: StepStatus = "complete" if event.ok else "error"
            await self.step(Step(event.run_id, title, status, log_summary(event.logs)))

    async def visual(self, visual: Visual) -> None:
        await self._pages.visual(visual)

    # The answer ------------------------------------------------------------------------

    async def end_text(
        self,
        note: str | None = None,
        *,
        show_code: bool = False,
        controls: bool = True,
        error_code: str | None = None,
    ) -> None:
        """The answer's text is complete: stage its final pages in the outbox, then end the
        messages (the answer's controls under the last one) at the highest priority."""
        blocks = answer_controls(self._turn_id, show_code=show_code) if controls else []
        await self._final(note, blocks, error_code)

    async def attach(
        self,
        files: Sequence[ProducedFile],
        *,
        aliases: Mapping[str, str],
        failed: Sequence[str] = (),
    ) -> dict[str, PostedFile]:
        """Upload files (and tables too big for a block) into the thread in one message,
        point the answer's links at them, and say which files could not be posted; returns
        container path → permalink and Slack file id."""
        everything = [*files, *self._pages.table_files]
        with at(Priority.FINAL):
            shared = await self._uploads.share(
                self._key,
                [
                    Upload(f.name, defuse(wording.file_title(f.name)), f.content, f.size)
                    for f in everything
                ],
                reuse_after=self._dead_since,
            )
            posted = {info.get("name"): info for info in shared.files}
            placed = {f.path: posted_file(posted[f.name]) for f in everything if f.name in posted}
            placed.update(
                {alias: placed[kept] for alias, kept in aliases.items() if kept in placed}
            )
            await self._pages.relink({path: where.link for path, where in placed.items()})
            missing = [*failed, *shared.failed]
            if missing:
                names = ", ".join(f"`{name}`" for name in missing)
                await self._client.chat_postMessage(
                    channel=self._key.channel_id,
                    thread_ts=self._key.thread_ts,
                    markdown_text=defuse(wording.FILES_MISSING.format(names=names)),
                    unfurl_links=False,
                    unfurl_media=False,
                )
        return placed

    async def error(self, text: str, *, retry: bool = False) -> None:
        """Tell the user what went wrong, after whatever text was already shown; the reply
        goes through the outbox like an answer."""
        text = defuse(text)  # error messages may name files
        await self._pages.fail_open_steps()
        blocks = retry_controls(self._turn_id) if retry else []
        message = (
            {"blocks": [markdown(text), *blocks], "text": text[:3000]}
            if blocks
            else {"markdown_text": text}
        )
        self._errors += 1
        seq = ERROR_SEQ + self._errors
        if self._pages.started:  # staged with the error: a worker dying between them
            error = StagedReply(seq, {"kind": "error", "message": message})  # leaves both
            await self._delivery.stage(self._turn_id, [error])
            await self._final(None, [])  # no feedback controls on a failed answer
        await self._delivery.post(self._key, self._turn_id, seq, message)

    async def restart(self, note: str) -> None:
        """Start the answer over (e.g. on a fresh container), noting why if text was shown."""
        if self._pages.has_output:
            await self._pages.finish(note, [])
        self._pages.reset()

    async def close(self) -> None:
        """End any open message, remove the Cancel control, end the session or status."""
        await self._pages.close()
        if self._cancel_ts is not None:
            try:
                await self._client.chat_delete(channel=self._key.channel_id, ts=self._cancel_ts)
            except SLACK_FAILURES as error:
                logger.info("removing the Cancel control failed: %s", failure_code(error))
            self._cancel_ts = None
        await self._thread.done(already=self._session_ended)

    @property
    def messages(self) -> list[str]:
        cancel = [self._cancel_ts] if self._cancel_ts else []
        return self._pages.messages() + cancel

    def on_message(self, listener: Callable[[], Awaitable[None]]) -> None:
        self._pages.on_message = listener

    async def retract(self, messages: Sequence[str]) -> None:
        """Delete what a dead worker's attempt at this turn showed; the files it shared are
        kept, and `attach` reuses them."""
        self._dead_since = min(messages, key=float, default=None)
        await retract(self._client, self._key, self._turn_id, messages)

    # Internals -------------------------------------------------------------------------

    async def _final(
        self, note: str | None, controls: list[Block], error_code: str | None = None
    ) -> None:
        await self._pages.complete(note)
        kind = {"kind": "answer", "error_code": error_code} if error_code else {"kind": "answer"}
        staged = [
            StagedReply(number, {**kind, "message": as_message(rendering), "part": part}, ts)
            for number, part, ts, rendering in self._pages.unfinished(controls)
        ]
        await self._delivery.stage(self._turn_id, staged)
        session = ACTIVE if self._thread.session else None
        if await self._pages.finish(None, controls, session_status=session):
            self._session_ended = True
        done = {reply.seq for reply in staged}
        for number, ts in self._pages.posted():
            if number in done:
                await self._delivery.delivered(self._turn_id, number, ts)

    async def _set_title(self, text: str) -> None:
        try:
            await self._client.assistant_threads_setTitle(
                channel_id=self._key.channel_id,
                thread_ts=self._key.thread_ts,
                title=defuse(" ".join(text.split())[:100]) or "Analysis",
            )
        except SLACK_FAILURES as error:
            logger.info("setTitle failed in %s: %s", self._key, failure_code(error))

    async def _offer_cancel(self) -> None:
        """Post the Cancel control once, where Slack shows no Stop button of its own; it
        only accompanies the answer, so it is given up when the budget is short or Slack
        refuses it."""
        if self._cancel_offered or self._thread.native:
            return
        self._cancel_offered = True
        if not self._client.budget.try_take("chat.postMessage", self._key.channel_id):
            return
        try:
            with prepaid():
                response = await self._client.chat_postMessage(
                    channel=self._key.channel_id,
                    thread_ts=self._key.thread_ts,
                    text=wording.CANCEL_HINT,
                    blocks=cancel_message(self._turn_id, wording.CANCEL_HINT),
                )
        except SLACK_FAILURES as error:
            logger.warning(
                "posting the Cancel control in %s failed: %s", self._key, failure_code(error)
            )
            return
        self._cancel_ts = response["ts"]
