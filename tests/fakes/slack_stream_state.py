"""The state of one streamed message (chat.startStream → appendStream → stopStream).

A stream ends when the app stops it (``stopped``, ``stopped_by="app"``), when a user clicks the
agent session's Stop button (``stopped``, ``stopped_by=<user id>``), or when Slack expires it
server-side without notice (``expired``): idle longer than ``Workspace.stream_idle_timeout`` or
open longer than ``Workspace.stream_max_lifetime``. ``expired_reason`` says which ("idle" or
"lifetime"); expiry is noticed on the next look at the stream (``refresh``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any


@dataclass
class StreamState:
    """What chat.startStream/appendStream/stopStream put into a message."""

    state: str  # "streaming", "stopped" or "expired"
    last_activity: float
    recipient_user_id: str | None = None
    recipient_team_id: str | None = None
    task_display_mode: str | None = None
    markdown: str = ""
    chunks: list[dict[str, Any]] = field(default_factory=list)
    tasks: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Latest ``task_update`` per task id (insertion order = first appearance)."""
    plan_title: str | None = None
    final_blocks: list[dict[str, Any]] | None = None
    appends: int = 0
    started: float = field(default_factory=time.monotonic)
    ended: float | None = None
    """``time.monotonic()`` when it stopped or expired."""
    stopped_by: str | None = None
    """"app" (chat.stopStream) or the id of the user who clicked Stop."""
    expired_reason: str | None = None
    """"idle" or "lifetime" once expired."""

    @property
    def expired(self) -> bool:
        return self.state == "expired"

    @property
    def is_open(self) -> bool:
        return self.state == "streaming"

    def chunk_blocks(self) -> list[dict[str, Any]]:
        """Every block sent in ``blocks`` chunks so far, in order."""
        return [
            block
            for chunk in self.chunks
            if chunk.get("type") == "blocks"
            for block in chunk.get("blocks") or []
        ]

    def all_blocks(self) -> list[dict[str, Any]]:
        """The blocks the message shows: chunk blocks, then stopStream's final blocks."""
        return [*self.chunk_blocks(), *(self.final_blocks or [])]

    def refresh(self, idle_timeout: float, max_lifetime: float) -> str:
        """Expire the stream if Slack would have by now; return its state."""
        if self.state == "streaming":
            now = time.monotonic()
            if now - self.started > max_lifetime:
                self._end("expired", now, reason="lifetime")
            elif now - self.last_activity > idle_timeout:
                self._end("expired", now, reason="idle")
        return self.state

    def stop(self, by: str) -> None:
        self._end("stopped", time.monotonic(), by=by)

    def _end(self, state: str, now: float, *, by: str | None = None, reason: str | None = None):
        self.state, self.ended, self.stopped_by, self.expired_reason = state, now, by, reason
