"""`SlackRenderer`: the one place answers are posted to Slack.

Text streams into the thread as it arrives, paged into several messages when long (never
truncated), with model output defused (no pings) and `sandbox:` links held back until the
files they point to are posted. The status indicator is set while working and always
cleared by `close()`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Mapping, Sequence

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot import messages
from bot.events import CodeStarted, EngineEvent, ProducedFile, TextDelta
from bot.markdown import LinkHolder, Paginator, defuse, hide_links, rewrite_links
from bot.slack_message import MessageWriter
from bot.turns import ThreadKey

logger = logging.getLogger(__name__)


class SlackRenderer:
    """Renders one turn into one Slack thread."""

    def __init__(
        self,
        client: AsyncWebClient,
        *,
        key: ThreadKey,
        user_id: str,
        native_stream: bool = True,
        interval: float = 1.0,
        soft_limit: int = 9_000,
        hard_limit: int = 11_000,
    ) -> None:
        self._client = client
        self._key = key
        self._user_id = user_id
        self._native = native_stream
        self._interval = interval
        self._limits = (soft_limit, hard_limit)
        self._status = ""
        self._reset()

    def _reset(self) -> None:
        self._holder = LinkHolder()
        soft, hard = self._limits
        self._pages = Paginator(soft=soft, hard=hard, marker=messages.CONTINUED)
        self._writers: list[MessageWriter] = []
        self._raw: list[str] = []  # model text per message, links intact

    @property
    def reply_ts(self) -> str | None:
        return next((w.ts for w in self._writers if w.ts), None)

    @property
    def has_output(self) -> bool:
        return any(w.text for w in self._writers)

    async def status(self, text: str) -> None:
        if text == self._status:
            return
        self._status = text
        try:
            await self._client.assistant_threads_setStatus(
                channel_id=self._key.channel_id,
                thread_ts=self._key.thread_ts,
                status=text,
                loading_messages=list(messages.LOADING_MESSAGES) if text else None,
            )
        except SlackApiError as error:  # a missing status must not fail the answer
            logger.warning("setStatus failed in %s: %s", self._key, error.response.get("error"))

    async def show(self, event: EngineEvent) -> None:
        if isinstance(event, TextDelta):
            await self._text(self._holder.feed(event.text))
        elif isinstance(event, CodeStarted):
            await self.status(messages.STATUS_RUNNING_PYTHON)

    async def end_text(self, note: str | None = None) -> None:
        """The answer's text is complete: write what is held back and end the messages."""
        await self._text(self._holder.flush())
        if note:
            await self._text(("\n\n" if self.has_output else "") + note)
        for writer in self._writers:
            await self._tracked(writer, writer.close())

    async def post_files(self, files: Sequence[ProducedFile]) -> dict[str, str]:
        """Upload files into the thread in one message; returns container path → permalink."""
        if not files:
            return {}
        response = await self._client.files_upload_v2(
            channel=self._key.channel_id,
            thread_ts=self._key.thread_ts,
            file_uploads=[{"content": f.data, "filename": f.name, "title": f.name} for f in files],
        )
        self._replied()
        posted = {info.get("name"): info for info in response.get("files") or []}
        return {
            f.path: str(posted[f.name].get("permalink") or posted[f.name].get("url_private"))
            for f in files
            if f.name in posted
        }

    async def relink(self, links: Mapping[str, str]) -> None:
        """Point the posted text's sandbox links at the uploaded files."""
        for writer, raw in zip(self._writers, self._raw, strict=True):
            final = defuse(rewrite_links(raw, links, missing=messages.FILE_MISSING_NOTE))
            await writer.replace(final)

    async def error(self, text: str) -> None:
        """Tell the user what went wrong, after whatever text was already shown."""
        if self._writers:
            await self.end_text()
        await self._client.chat_postMessage(
            channel=self._key.channel_id,
            thread_ts=self._key.thread_ts,
            markdown_text=text,
            unfurl_links=False,
            unfurl_media=False,
        )
        self._replied()

    async def restart(self, note: str) -> None:
        """Start the answer over (e.g. on a fresh container), noting why if text was shown."""
        if self.has_output:
            await self.end_text(note)
        self._reset()

    async def close(self) -> None:
        """End any open message and clear the status indicator, whatever happened."""
        for writer in self._writers:
            try:
                await self._tracked(writer, writer.close())
            except SlackApiError as error:
                logger.warning(
                    "closing a message in %s failed: %s", self._key, error.response.get("error")
                )
        await self.status("")  # a no-op when a reply since the last status already cleared it

    def _replied(self) -> None:
        # Slack clears the thread's status when the app replies in it.
        self._status = ""

    async def _tracked(self, writer: MessageWriter, write: Awaitable[None]) -> None:
        """Run a write; note it when it posted the writer's message (a reply)."""
        before = writer.ts
        await write
        if before is None and writer.ts is not None:
            self._replied()

    async def _text(self, text: str) -> None:
        if not text:
            return
        for piece in self._pages.feed(text):
            if piece.new_page or not self._writers:
                if self._writers:
                    await self._tracked(self._writers[-1], self._writers[-1].close())
                self._writers.append(self._new_writer())
                self._raw.append("")
            self._raw[-1] += piece.text
            writer = self._writers[-1]
            update = writer.append(defuse(hide_links(piece.text)))
            await (update if writer.ts else self._tracked(writer, update))

    def _new_writer(self) -> MessageWriter:
        return MessageWriter(
            self._client,
            channel=self._key.channel_id,
            thread_ts=self._key.thread_ts,
            recipient_user_id=self._user_id,
            recipient_team_id=self._key.team_id,
            native=self._native,
            interval=self._interval,
        )
