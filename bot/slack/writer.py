"""One page of an answer in a thread, written while the answer grows.

`append`, `add_block` and `step` only record (`PageState`); the `Flusher` writes what
accumulated when the budget has a spare token: Slack's native stream when one can start (else
the page is posted whole at the end), `chat.postMessage` + `chat.update` where streaming is
refused. `close()` is the final write, at the highest priority, through 429s. An open stream
is never edited; a stream Slack ends early keeps what it showed and the rest continues in a
new message (nothing lost or shown twice); a long code run keeps its stream alive.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from slack_sdk.errors import SlackApiError

from bot.core.events import Step
from bot.slack.blocks import Block
from bot.slack.budget import Priority
from bot.slack.client import ScheduledSlack, at, failure_code, is_rate_limited, prepaid
from bot.slack.flusher import Flusher
from bot.slack.message_calls import MessageCalls
from bot.slack.message_render import Display, Rendering, Segment
from bot.slack.page_state import PageState, Part, Snapshot

logger = logging.getLogger(__name__)


class MessageWriter:
    """Appends to one page of an answer; `close()` makes it final, `redisplay()` edits it."""

    def __init__(
        self,
        client: ScheduledSlack,
        calls: MessageCalls,
        *,
        display: Display,
        native: bool = True,
        interval: float = 1.0,
        metadata: dict[str, Any] | None = None,
        after: MessageWriter | None = None,
        on_message: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self._on_message = on_message or (lambda: asyncio.sleep(0))
        self._client = client
        self._calls = calls
        self._channel = calls.channel
        self._display = display
        self.native = native
        self._metadata = metadata
        self._after = after
        self.placed = asyncio.Event()
        """Set once the page has its place in the thread (its first message, or closed)."""
        self._page = PageState()
        self._lock = asyncio.Lock()
        self._flusher = Flusher(
            self._write,
            keep_alive=self._keep_alive,
            lock=self._lock,
            interval=interval,
            last_write=lambda: calls.last_write,
        )
        self._closed = False

    # What it holds ------------------------------------------------------------------------

    @property
    def ts(self) -> str | None:
        """The page's first message, once posted."""
        return self._page.parts[0].ts

    @property
    def last_ts(self) -> str | None:
        """The page's last message (a stream Slack ended continues in another)."""
        return self._page.current.ts

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def page(self) -> PageState:
        """What the page holds (text, blocks, steps) and what each message shows."""
        return self._page

    # Writing ------------------------------------------------------------------------------

    async def add(self, segment: Segment) -> None:
        """Text, or a block (e.g. a table), at this point of the message."""
        if segment:
            self._page.add(segment)
            self._flusher.poke()

    async def step(self, step: Step) -> None:
        """Show or update a progress step."""
        self._page.step(step)
        self._flusher.poke()

    async def close(
        self, *, controls: Sequence[Block] = (), session_status: str | None = None
    ) -> bool:
        """Write what is left, with the final controls, at the highest priority (idempotent).
        True when `session_status` went with the final write (a stream's stop)."""
        await self._flusher.stop()
        async with self._lock:
            if self._closed:
                return False
            self._closed = True
            try:
                if self._after is not None:  # pages keep their order in the thread
                    await self._after.placed.wait()
                with at(Priority.FINAL):
                    return await self._finish(list(controls), session_status)
            finally:
                self.placed.set()

    async def redisplay(self, display: Display) -> None:
        """Show the (closed) page's text through another display (e.g. rewritten links)."""
        self._display = display
        async with self._lock:
            for part in self._page.parts:
                rendering = self._page.render(part, Snapshot([], {}), part.controls, display)
                if part.ts is None or part.open or rendering == part.shown:
                    continue
                with at(Priority.FINAL):
                    await self._update(part, rendering, Snapshot([], {}))

    # Interim writes (the flusher's) -------------------------------------------------------

    async def _write(self) -> bool:
        """One interim write if the budget has a spare token; False to try again later."""
        part, page, budget = self._page.current, self._page, self._client.budget
        if self._closed or not page.pending:
            return True
        if part.ts is None:
            if self._after is not None and not self._after.placed.is_set():
                return False  # the previous page is not in the thread yet
            method = "chat.startStream" if self.native else "chat.postMessage"
            if not budget.try_take(method, self._channel):
                return False  # no stream yet: the page may be posted whole at the end
            with prepaid():
                return await self._start(part)
        method = "chat.appendStream" if part.open else "chat.update"
        if not budget.try_take(method, self._channel):
            return False
        with prepaid():
            if part.open:
                return await self._append(part)
            snapshot = page.whole(part)
            rendering = page.render(part, snapshot, (), self._display)
            return await _interim(self._update(part, rendering, snapshot))

    async def _start(self, part: Part) -> bool:
        snapshot = self._page.whole(part)
        if not self.native:
            rendering = self._page.render(part, snapshot, (), self._display)
            return await _interim(self._post(part, rendering, snapshot))
        try:
            ts = await self._calls.start(snapshot, self._display)
        except SlackApiError as error:
            if not is_rate_limited(error):
                self._fall_back(error)
            return False
        part.ts, part.stream, part.open = ts, True, True
        await self._on_message()
        self._page.sent(part, snapshot)
        self.placed.set()
        return True

    async def _append(self, part: Part) -> bool:
        snapshot = self._page.changes()
        assert part.ts is not None
        try:
            await self._calls.append(part.ts, snapshot, self._display)
        except SlackApiError as error:
            if not is_rate_limited(error):
                self._ended(error)
            return False
        self._page.sent(part, snapshot)
        return True

    def _keep_alive(self) -> None:
        """A long silence (a code run): re-send the running step so the stream lives."""
        running = self._page.running_step()
        if self._page.current.open and running is not None:
            self._page.dirty[running.id] = running
            self._flusher.poke()

    # The final write ----------------------------------------------------------------------

    async def _finish(self, controls: list[Block], session_status: str | None) -> bool:
        page, part = self._page, self._page.current
        if part.open and part.ts is not None:
            snapshot = page.changes()
            try:
                await self._calls.stop(
                    part.ts,
                    snapshot,
                    self._display,
                    controls=controls,
                    session_status=session_status,
                )
            except SlackApiError as error:
                self._ended(error)  # the rest goes to a new message, below
            else:
                page.sent(part, snapshot)
                part.open, part.controls = False, controls
                part.shown = page.render(part, Snapshot([], {}), controls, self._display)
                return session_status is not None
            part = page.current
        part.controls = controls
        snapshot = page.whole(part)
        rendering = page.render(part, snapshot, controls, self._display)
        if part.ts is None:
            if not (snapshot.segments or snapshot.steps or controls):
                return False
            if self.native and self._streaming_is_sooner():
                return await self._stream_whole(part, snapshot, controls, session_status)
            await self._post(part, rendering, snapshot)
            return False
        await self._update(part, rendering, snapshot)
        return False

    def _streaming_is_sooner(self) -> bool:
        """A page never started can be posted (`chat.postMessage`: per channel) or streamed
        whole (`startStream` + `stopStream`: per workspace); whichever budget frees first."""
        budget = self._client.budget
        post = budget.eta("chat.postMessage", channel=self._channel)
        stream = budget.eta("chat.startStream", "chat.stopStream", channel=self._channel)
        return stream < post

    async def _stream_whole(
        self, part: Part, snapshot: Snapshot, controls: list[Block], session_status: str | None
    ) -> bool:
        if not await self._start(part) or part.ts is None:
            rendering = self._page.render(part, snapshot, controls, self._display)
            await self._post(part, rendering, snapshot)
            return False
        await self._calls.stop(
            part.ts,
            Snapshot([], {}),
            self._display,
            controls=controls,
            session_status=session_status,
        )
        part.open, part.controls = False, controls
        part.shown = self._page.render(part, Snapshot([], {}), controls, self._display)
        return session_status is not None

    # Slack calls ----------------------------------------------------------------------------

    async def _post(self, part: Part, rendering: Rendering, snapshot: Snapshot) -> None:
        part.ts = await self._calls.post(rendering, self._marker())
        await self._on_message()
        part.shown = rendering
        self._page.sent(part, snapshot)
        self.placed.set()

    async def _update(self, part: Part, rendering: Rendering, snapshot: Snapshot) -> None:
        assert part.ts is not None
        assert not part.open  # Slack refuses edits of an open stream
        await self._calls.update(part.ts, rendering)
        part.shown = rendering
        self._page.sent(part, snapshot)

    def _ended(self, error: SlackApiError) -> None:
        """Slack ended the stream (expired, stopped by the user, refused): it keeps what it
        showed; what was not sent continues in a new message."""
        code, channel = failure_code(error), self._channel
        logger.info("stream in %s ended (%s); continuing in a new message", channel, code)
        self._page.new_part()

    def _fall_back(self, error: SlackApiError) -> None:
        code, channel = failure_code(error), self._channel
        logger.info("native streaming unavailable in %s (%s); using chat.update", channel, code)
        self.native = False

    def _marker(self) -> dict[str, Any] | None:
        """Which turn, page and part the message is (see `bot.slack.delivery.marker`)."""
        if self._metadata is None:
            return None
        payload = {**self._metadata, "part": len(self._page.parts) - 1}
        return {"event_type": "analyst_reply", "event_payload": payload}


async def _interim(write: Awaitable[None]) -> bool:
    """An interim post or edit; a 429 or another refusal leaves it for later."""
    try:
        await write
    except SlackApiError as error:
        if not is_rate_limited(error):
            logger.info("interim write refused: %s", failure_code(error))
        return False
    return True
