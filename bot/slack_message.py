"""One bot message in a thread, written while the answer grows.

It uses Slack's native stream (`chat.startStream` / `appendStream` / `stopStream`) and falls
back, without losing text, to `chat.postMessage` + `chat.update` when streaming is unavailable
or breaks (`message_not_in_streaming_state`, method not allowed…). Writes are throttled to at
most one per `interval` seconds; 429s are retried by the client's rate-limit handler, which
honours `Retry-After`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

logger = logging.getLogger(__name__)


class MessageWriter:
    """Appends text to one Slack message; `close()` makes it final."""

    def __init__(
        self,
        client: AsyncWebClient,
        *,
        channel: str,
        thread_ts: str,
        recipient_user_id: str,
        recipient_team_id: str,
        native: bool = True,
        interval: float = 1.0,
    ) -> None:
        self._client = client
        self._channel = channel
        self._thread_ts = thread_ts
        self._recipient = {
            "recipient_user_id": recipient_user_id,
            "recipient_team_id": recipient_team_id,
        }
        self.native = native
        self._interval = interval
        self.ts: str | None = None
        self.shown = ""  # what Slack displays now
        self._pending = ""
        self._last_write = 0.0  # any write (pacing the flushes)
        self._last_update = 0.0  # postMessage/chat.update (pacing the edits)
        self._lock = asyncio.Lock()
        self._timer: asyncio.Task[None] | None = None  # a delayed flush (owned; see close)
        self._sleeping = False
        self._open = True

    @property
    def text(self) -> str:
        """Everything written so far, shown or pending."""
        return self.shown + self._pending

    async def append(self, text: str) -> None:
        if not text:
            return
        self._pending += text
        wait = self._last_write + self._interval - time.monotonic()
        if wait <= 0:
            await self._flush()
        elif self._timer is None or self._timer.done():
            self._sleeping = True  # until the delay is over; cancelling before that is safe
            self._timer = asyncio.create_task(self._flush_later(wait))

    async def close(self, *, blocks: Sequence[dict[str, Any]] | None = None) -> None:
        """Write what is pending and end the stream (idempotent)."""
        timer, self._timer = self._timer, None
        if timer is not None:
            if self._sleeping:
                timer.cancel()  # never cancel a write in flight: its ts would be lost
            await asyncio.wait([timer])
        async with self._lock:
            if not self._open:
                return
            self._open = False
            if self.ts is None:
                if self._pending or blocks:
                    await self._post(self._pending, blocks)
                    self._pending = ""
                return
            if self.native:
                try:
                    await self._call(
                        "chat_stopStream",
                        ts=self.ts,
                        blocks=blocks,
                        markdown_text=self._pending or None,
                    )
                    self.shown, self._pending = self.shown + self._pending, ""
                    return
                except SlackApiError as error:
                    self._fall_back(error)
            if self._pending or blocks:
                await self._pace()
                await self._update(self.shown + self._pending, blocks)
                self._pending = ""

    async def replace(self, text: str) -> None:
        """Make the (closed) message show exactly `text`."""
        if self.ts is None or text == self.shown:
            return
        async with self._lock:
            await self._pace()
            await self._update(text, None)

    async def _pace(self) -> None:
        """Keep `chat.update`s of one message at least `interval` apart."""
        wait = self._last_update + self._interval - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)

    async def _flush_later(self, wait: float) -> None:
        try:
            await asyncio.sleep(wait)
        finally:
            self._sleeping = False
        try:
            await self._flush()
        except SlackApiError as error:  # the text stays pending; close() writes it
            logger.warning(
                "delayed write to %s failed: %s", self._channel, error.response.get("error")
            )

    async def _flush(self) -> None:
        async with self._lock:
            if not self._pending or not self._open:
                return
            text, self._pending = self._pending, ""
            self._last_write = time.monotonic()
            try:
                await self._write(text)
            except BaseException:
                self._pending = text + self._pending  # keep it for close() or the next flush
                raise

    async def _write(self, text: str) -> None:
        if self.native:
            try:
                if self.ts is None:
                    response = await self._call(
                        "chat_startStream",
                        thread_ts=self._thread_ts,
                        markdown_text=text,
                        **self._recipient,
                    )
                    self.ts = response["ts"]
                else:
                    await self._call("chat_appendStream", ts=self.ts, markdown_text=text)
                self.shown += text
                return
            except SlackApiError as error:
                self._fall_back(error)
        if self.ts is None:
            await self._post(text, None)
        else:
            await self._update(self.shown + text, None)

    def _fall_back(self, error: SlackApiError) -> None:
        logger.info(
            "native streaming unavailable in %s (%s); using chat.update",
            self._channel,
            error.response.get("error"),
        )
        self.native = False

    async def _post(self, text: str, blocks: Sequence[dict[str, Any]] | None) -> None:
        response = await self._client.chat_postMessage(
            channel=self._channel,
            thread_ts=self._thread_ts,
            markdown_text=text or None,
            blocks=blocks,
            text=None if text else " ",
            unfurl_links=False,
            unfurl_media=False,
        )
        self.ts = response["ts"]
        self.shown = text
        self._last_write = self._last_update = time.monotonic()

    async def _update(self, text: str, blocks: Sequence[dict[str, Any]] | None) -> None:
        assert self.ts is not None
        await self._client.chat_update(
            channel=self._channel, ts=self.ts, markdown_text=text or None, blocks=blocks
        )
        self.shown = text
        self._last_write = self._last_update = time.monotonic()

    async def _call(self, method: str, **kwargs: Any) -> Any:
        args = {k: v for k, v in kwargs.items() if v is not None}
        return await getattr(self._client, method)(channel=self._channel, **args)
