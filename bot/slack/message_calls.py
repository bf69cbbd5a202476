"""The Slack calls that write the messages of one page of an answer, in one thread: a
native stream (start, append, stop) or a plain post and its edits."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from bot.slack.blocks import Block
from bot.slack.client import ScheduledSlack
from bot.slack.message_render import Display, Rendering, as_message, chunks
from bot.slack.page_state import Snapshot


class MessageCalls:
    def __init__(
        self,
        client: ScheduledSlack,
        *,
        channel: str,
        thread_ts: str,
        recipient_user_id: str,
        recipient_team_id: str,
    ) -> None:
        self._client = client
        self.channel = channel
        self._thread_ts = thread_ts
        self._recipient = {
            "recipient_user_id": recipient_user_id,
            "recipient_team_id": recipient_team_id,
        }
        self.last_write = 0.0
        """When the last write was made (`time.monotonic()`): the writer paces itself."""

    async def start(self, snapshot: Snapshot, display: Display) -> str:
        response = await self._call(
            "chat_startStream",
            thread_ts=self._thread_ts,
            task_display_mode="timeline",
            chunks=chunks(snapshot.segments, snapshot.steps.values(), display),
            **self._recipient,
        )
        return str(response["ts"])

    async def append(self, ts: str, snapshot: Snapshot, display: Display) -> None:
        chunked = chunks(snapshot.segments, snapshot.steps.values(), display)
        await self._call("chat_appendStream", ts=ts, chunks=chunked)

    async def stop(
        self,
        ts: str,
        snapshot: Snapshot,
        display: Display,
        *,
        controls: Sequence[Block],
        session_status: str | None,
    ) -> None:
        await self._call(
            "chat_stopStream",
            ts=ts,
            chunks=chunks(snapshot.segments, snapshot.steps.values(), display) or None,
            blocks=list(controls) or None,
            session_status=session_status,
        )

    async def post(self, rendering: Rendering, metadata: dict[str, Any] | None) -> str:
        response = await self._client.chat_postMessage(
            channel=self.channel,
            thread_ts=self._thread_ts,
            unfurl_links=False,
            unfurl_media=False,
            metadata=metadata,
            **as_message(rendering),
        )
        self.last_write = time.monotonic()
        return str(response["ts"])

    async def update(self, ts: str, rendering: Rendering) -> None:
        await self._client.chat_update(channel=self.channel, ts=ts, **as_message(rendering))
        self.last_write = time.monotonic()

    async def _call(self, method: str, **kwargs: Any) -> Any:
        args = {k: v for k, v in kwargs.items() if v is not None}
        response = await getattr(self._client, method)(channel=self.channel, **args)
        self.last_write = time.monotonic()
        return response
