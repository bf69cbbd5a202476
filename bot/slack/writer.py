"""One bot message in a thread, written while the answer grows.

The message holds text, blocks (tables) and progress steps, in order. It is written with
Slack's native stream (`chat.startStream` / `appendStream` / `stopStream`, steps as
`task_update` chunks, tables as `blocks` chunks) and falls back, without losing anything, to
`chat.postMessage` + `chat.update` when streaming is unavailable or breaks
(`message_not_in_streaming_state`, not allowed in this conversation…). Writes are throttled to
one per `interval` seconds; 429s are retried by the client's handler honouring `Retry-After`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.events import Step
from bot.slack.blocks import Block, markdown, step_chunk, step_line

logger = logging.getLogger(__name__)

Display = Callable[[str], str]
Segment = str | Block


class MessageWriter:
    """Appends to one Slack message; `close()` makes it final, `redisplay()` edits it after."""

    def __init__(
        self,
        client: AsyncWebClient,
        *,
        channel: str,
        thread_ts: str,
        recipient_user_id: str,
        recipient_team_id: str,
        display: Display,
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
        self._display = display
        self.native = native
        self._interval = interval
        self.ts: str | None = None
        self._content: list[Segment] = []  # everything written, raw text and blocks
        self._steps: dict[str, Step] = {}
        self._pending: list[Block] = []  # native chunks not sent yet
        self._controls: list[Block] = []
        self._shown: tuple[str | None, list[Block] | None] | None = None  # last full render
        self._last_write = 0.0  # any write (pacing the flushes)
        self._last_update = 0.0  # postMessage/chat.update (pacing the edits)
        self._lock = asyncio.Lock()
        self._timer: asyncio.Task[None] | None = None  # a delayed flush (owned; see close)
        self._sleeping = False
        self._open = True

    @property
    def block_count(self) -> int:
        return sum(1 for s in self._content if not isinstance(s, str))

    @property
    def text(self) -> str:
        """All text written so far (raw)."""
        return "".join(s for s in self._content if isinstance(s, str))

    async def append(self, text: str) -> None:
        if text:
            if self._content and isinstance(self._content[-1], str):
                self._content[-1] += text
            else:
                self._content.append(text)
            self._queue({"type": "markdown_text", "text": self._display(text)})
            await self._soon()

    async def add_block(self, block: Block) -> None:
        """A block (e.g. a table) at this point of the message."""
        self._content.append(block)
        self._queue({"type": "blocks", "blocks": [block]})
        await self._soon()

    async def step(self, step: Step) -> None:
        """Show or update a progress step."""
        self._steps[step.id] = step
        self._queue(step_chunk(step))
        await self._soon()

    async def fail_open_steps(self) -> None:
        """Mark steps still in progress as failed (the turn stopped)."""
        for step in list(self._steps.values()):
            if step.status in ("pending", "in_progress"):
                self._steps[step.id] = replace(step, status="error")
                self._queue(step_chunk(self._steps[step.id]))

    async def close(self, *, controls: Sequence[Block] = ()) -> None:
        """Write what is pending, add the final controls and end the stream (idempotent)."""
        timer, self._timer = self._timer, None
        if timer is not None:
            if self._sleeping:
                timer.cancel()  # never cancel a write in flight: its ts would be lost
            await asyncio.wait([timer])
        async with self._lock:
            if not self._open:
                return
            self._open = False
            self._controls = list(controls)
            if self.ts is None:
                if self._content or self._controls:
                    await self._post()
                return
            if self.native:
                try:
                    await self._stop()
                    return
                except SlackApiError as error:
                    self._fall_back(error)
            await self._pace()
            await self._update()

    async def redisplay(self, display: Display) -> None:
        """Show the (closed) message's text through another display (e.g. rewritten links)."""
        self._display = display
        if self.ts is None or self._render() == self._shown:
            return
        async with self._lock:
            await self._pace()
            await self._update()

    # Writing -----------------------------------------------------------------------------

    def _queue(self, chunk: Block) -> None:
        last = self._pending[-1] if self._pending else None
        if last and last["type"] == chunk["type"] == "markdown_text":
            last["text"] += chunk["text"]
        elif chunk["type"] == "task_update":
            self._pending = [c for c in self._pending if c.get("id") != chunk["id"]] + [chunk]
        else:
            self._pending.append(chunk)

    async def _soon(self) -> None:
        wait = self._last_write + self._interval - time.monotonic()
        if wait <= 0:
            await self._flush()
        elif self._timer is None or self._timer.done():
            self._sleeping = True  # until the delay is over; cancelling before that is safe
            self._timer = asyncio.create_task(self._flush_later(wait))

    async def _flush_later(self, wait: float) -> None:
        try:
            await asyncio.sleep(wait)
        finally:
            self._sleeping = False
        try:
            await self._flush()
        except SlackApiError as error:  # the content stays pending; close() writes it
            logger.warning(
                "delayed write to %s failed: %s", self._channel, error.response.get("error")
            )

    async def _flush(self) -> None:
        async with self._lock:
            if not self._pending or not self._open:
                return
            chunks, self._pending = self._pending, []
            self._last_write = time.monotonic()
            try:
                await self._write(chunks)
            except BaseException:
                self._pending = chunks + self._pending  # retried by the next flush or close()
                raise

    async def _write(self, chunks: list[Block]) -> None:
        if self.native:
            try:
                if self.ts is None:
                    response = await self._call(
                        "chat_startStream",
                        thread_ts=self._thread_ts,
                        task_display_mode="timeline",
                        chunks=chunks,
                        **self._recipient,
                    )
                    self.ts = response["ts"]
                else:
                    await self._call("chat_appendStream", ts=self.ts, chunks=chunks)
                return
            except SlackApiError as error:
                self._fall_back(error)
        if self.ts is None:
            await self._post()
        else:
            await self._update()

    async def _stop(self) -> None:
        await self._call(
            "chat_stopStream",
            ts=self.ts,
            chunks=self._pending or None,
            blocks=self._controls or None,
        )
        self._pending = []

    def _fall_back(self, error: SlackApiError) -> None:
        logger.info(
            "native streaming unavailable in %s (%s); using chat.update",
            self._channel,
            error.response.get("error"),
        )
        self.native = False

    async def _post(self) -> None:
        text, blocks = self._render()
        response = await self._client.chat_postMessage(
            channel=self._channel,
            thread_ts=self._thread_ts,
            markdown_text=text,
            blocks=blocks,
            text=_fallback_text(blocks) if blocks else None,
            unfurl_links=False,
            unfurl_media=False,
        )
        self.ts = response["ts"]
        self._written(text, blocks)

    async def _update(self) -> None:
        assert self.ts is not None
        text, blocks = self._render()
        await self._client.chat_update(
            channel=self._channel,
            ts=self.ts,
            markdown_text=text,
            blocks=blocks,
            text=_fallback_text(blocks) if blocks else None,
        )
        self._written(text, blocks)

    def _written(self, text: str | None, blocks: list[Block] | None) -> None:
        self._shown = (text, blocks)
        self._pending = []
        self._last_write = self._last_update = time.monotonic()

    async def _pace(self) -> None:
        """Keep `chat.update`s of one message at least `interval` apart."""
        wait = self._last_update + self._interval - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)

    async def _call(self, method: str, **kwargs: Any) -> Any:
        args = {k: v for k, v in kwargs.items() if v is not None}
        return await getattr(self._client, method)(channel=self._channel, **args)

    # Rendering (fallback and final edits) ----------------------------------------------

    def _render(self) -> tuple[str | None, list[Block] | None]:
        """The whole message as `markdown_text`, or as blocks when it has blocks/controls."""
        steps = "\n".join(step_line(step) for step in self._steps.values())
        if not self._controls and all(isinstance(s, str) for s in self._content):
            text = self._display(self.text)
            return "\n\n".join(part for part in (steps, text) if part) or " ", None
        blocks: list[Block] = [markdown(steps)] if steps else []
        for segment in self._content:
            if isinstance(segment, str):
                if segment.strip():
                    blocks.append(markdown(self._display(segment)))
            else:
                blocks.append(segment)
        return None, blocks + self._controls


def _fallback_text(blocks: Sequence[Block]) -> str:
    """The notification text of a message made of blocks."""
    texts = [b["text"] for b in blocks if b.get("type") == "markdown"]
    return (" ".join(texts) or "Answer")[:3000]
