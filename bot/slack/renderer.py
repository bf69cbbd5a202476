"""`SlackRenderer`: the one place a turn's answer is posted to Slack.

The status indicator shows what the bot is doing; text streams into the thread as it
arrives (`AnswerPages`: paged, tables as blocks, defused); code runs and file reads appear as
progress steps; `sandbox:` links are held back until the files they point to are posted. A
Cancel control is shown while code runs; the finished answer carries Show code and feedback,
a failure a Retry button. The status indicator is always cleared by `close()`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

from slack_sdk.web.async_client import AsyncWebClient

from bot import wording
from bot.core.events import (
    CodeFinished,
    CodeReady,
    CodeStarted,
    EngineEvent,
    ProducedFile,
    Step,
    StepStatus,
    TextDelta,
)
from bot.core.markdown import defuse, first_meaningful_line, log_summary
from bot.core.turns import ThreadKey
from bot.slack.blocks import answer_controls, cancel_message, retry_controls
from bot.slack.client import SLACK_FAILURES, failure_code
from bot.slack.pages import AnswerPages
from bot.slack.uploads import SlackUploads, Upload

logger = logging.getLogger(__name__)


class SlackRenderer:
    """Renders one turn into one Slack thread."""

    def __init__(
        self,
        client: AsyncWebClient,
        *,
        uploads: SlackUploads,
        key: ThreadKey,
        user_id: str,
        turn_id: int,
        native_stream: bool = True,
        interval: float = 1.0,
        soft_limit: int = 9_000,
        hard_limit: int = 11_000,
    ) -> None:
        self._client = client
        self._uploads = uploads
        self._key = key
        self._turn_id = turn_id
        self._status = ""
        self._cancel_ts: str | None = None
        self._cancel_offered = False
        self._titles: dict[str, str] = {}
        self._pages = AnswerPages(
            client,
            key=key,
            user_id=user_id,
            native=native_stream,
            interval=interval,
            soft_limit=soft_limit,
            hard_limit=hard_limit,
            on_reply=self._replied,
        )

    @property
    def reply_ts(self) -> str | None:
        return self._pages.reply_ts

    # Progress --------------------------------------------------------------------------

    async def status(self, text: str, loading: Sequence[str] = ()) -> None:
        if text == self._status:
            return
        self._status = text
        try:
            await self._client.assistant_threads_setStatus(
                channel_id=self._key.channel_id,
                thread_ts=self._key.thread_ts,
                status=defuse(text),  # file names are the sharer's to choose
                loading_messages=[defuse(m) for m in (*loading, *wording.LOADING_MESSAGES)]
                if text
                else None,
            )
        except SLACK_FAILURES as error:  # a missing status must not fail the answer
            logger.warning("setStatus failed in %s: %s", self._key, failure_code(error))

    async def title(self, text: str) -> None:
        """Name the thread (DM threads in the Messages tab) after its first question."""
        try:
            await self._client.assistant_threads_setTitle(
                channel_id=self._key.channel_id,
                thread_ts=self._key.thread_ts,
                title=defuse(" ".join(text.split())[:100]) or "Analysis",
            )
        except SLACK_FAILURES as error:
            logger.info("setTitle failed in %s: %s", self._key, failure_code(error))

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
        elif isinstance(event, CodeFinished):
            title = self._titles.get(event.run_id) or (
                f"{wording.STEP_PYTHON}: {first_meaningful_line(event.code)}"
            )
            status: StepStatus = "complete" if event.ok else "error"
            await self.step(Step(event.run_id, title, status, log_summary(event.logs)))

    # The answer ------------------------------------------------------------------------

    async def end_text(
        self, note: str | None = None, *, show_code: bool = False, controls: bool = True
    ) -> None:
        """The answer's text is complete: write what is held back, end the messages, and put
        the answer's controls (Show code, feedback) under the last one."""
        blocks = answer_controls(self._turn_id, show_code=show_code) if controls else []
        await self._pages.finish(note, blocks)

    async def attach(
        self,
        files: Sequence[ProducedFile],
        *,
        aliases: Mapping[str, str],
        failed: Sequence[str] = (),
    ) -> dict[str, str]:
        """Upload files (and tables too big for a block) into the thread in one message,
        point the answer's links at them, and say which files could not be posted; returns
        container path → permalink."""
        everything = [*files, *self._pages.table_files]
        shared = await self._uploads.share(
            self._key,
            [
                Upload(f.name, defuse(wording.file_title(f.name)), f.content, f.size)
                for f in everything
            ],
        )
        if shared.files:
            self._replied()
        posted = {info.get("name"): info for info in shared.files}
        links = {
            f.path: str(posted[f.name].get("permalink") or posted[f.name].get("url_private"))
            for f in everything
            if f.name in posted
        }
        links.update({alias: links[kept] for alias, kept in aliases.items() if kept in links})
        await self._pages.relink(links)
        missing = [*failed, *shared.failed]
        if missing:
            names = ", ".join(f"`{name}`" for name in missing)
            await self._say(wording.FILES_MISSING.format(names=names))
        return links

    async def error(self, text: str, *, retry: bool = False) -> None:
        """Tell the user what went wrong, after whatever text was already shown."""
        text = defuse(text)  # error messages may name files
        await self._pages.fail_open_steps()
        if self._pages.started:
            await self._pages.finish(None, ())  # no feedback controls on a failed answer
        blocks = retry_controls(self._turn_id) if retry else None
        await self._client.chat_postMessage(
            channel=self._key.channel_id,
            thread_ts=self._key.thread_ts,
            markdown_text=None if blocks else text,
            blocks=[{"type": "markdown", "text": text}, *blocks] if blocks else None,
            text=text[:3000] if blocks else None,
            unfurl_links=False,
            unfurl_media=False,
        )
        self._replied()

    async def restart(self, note: str) -> None:
        """Start the answer over (e.g. on a fresh container), noting why if text was shown."""
        if self._pages.has_output:
            await self.end_text(note)
        self._pages.reset()

    async def close(self) -> None:
        """End any open message, remove the Cancel control, clear the status indicator."""
        await self._pages.close()
        if self._cancel_ts is not None:
            try:
                await self._client.chat_delete(channel=self._key.channel_id, ts=self._cancel_ts)
            except SLACK_FAILURES as error:
                logger.info("removing the Cancel control failed: %s", failure_code(error))
            self._cancel_ts = None
        await self.status("")  # a no-op when a reply since the last status already cleared it

    # Internals -------------------------------------------------------------------------

    async def _say(self, text: str) -> None:
        """A short note in the thread (after the answer), defused."""
        await self._client.chat_postMessage(
            channel=self._key.channel_id,
            thread_ts=self._key.thread_ts,
            markdown_text=defuse(text),
            unfurl_links=False,
            unfurl_media=False,
        )
        self._replied()

    async def _offer_cancel(self) -> None:
        """Post the Cancel control once; it only accompanies the answer, so a failure to
        post it (a 429 past its retries, an error) is logged and the answer goes on."""
        if self._cancel_offered:
            return
        self._cancel_offered = True
        try:
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

    def _replied(self) -> None:
        # Slack clears the thread's status when the app replies in it.
        self._status = ""
