"""Faults the fake Slack injects on demand (``slack.faults``).

``method`` is a Web API method name ("chat.postMessage"), ``"*"`` for every method, or one of the
raw routes: ``UPLOAD`` (POST to an upload URL), ``DOWNLOAD`` (GET of a file URL on the files
host) and ``CDN`` (GET of a presigned URL on the CDN host). Faults with ``times`` are consumed one
per matching request; ``times=None`` lasts until ``clear()``.

A ``ratelimit`` fault is a 429 of its own, separate from the token buckets of ``slack.limits``
(it neither needs nor takes a token).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

UPLOAD = "<upload>"
DOWNLOAD = "<download>"
CDN = "<cdn>"


@dataclass
class Fault:
    kind: str  # "ratelimit", "error", "delay" or "drop"
    method: str
    times: int | None
    retry_after: int = 1
    error: str = "internal_error"
    seconds: float = 0.0
    until: float | None = None
    """`time.monotonic()` after which the fault is over (a storm); None: until used up."""

    def matches(self, method: str) -> bool:
        if self.until is not None and time.monotonic() >= self.until:
            return False
        return self.method in (method, "*") and (self.times is None or self.times > 0)

    def consume(self) -> None:
        if self.times is not None:
            self.times -= 1


class Faults:
    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self.html_downloads = False
        self.streaming_error: str | None = None
        self.agent_sessions_error: str | None = None
        self.html_files: set[str] = set()
        self.held_files: dict[str, asyncio.Event] = {}

    def html_for(self, file_id: str) -> None:
        """Downloads of this one file answer the HTML login page (as without access to it)."""
        self.html_files.add(file_id)

    def hold(self, file_id: str) -> None:
        """Downloads of this file wait (the response not started) until ``release(file_id)``;
        a client that gives up meanwhile is recorded in ``slack.aborted_downloads``."""
        self.held_files[file_id] = asyncio.Event()

    def release(self, file_id: str) -> None:
        event = self.held_files.pop(file_id, None)
        if event is not None:
            event.set()

    def ratelimit(
        self,
        method: str,
        retry_after: int = 1,
        times: int | None = 1,
        *,
        for_s: float | None = None,
    ) -> None:
        """HTTP 429, header ``Retry-After``, body ``{"ok": false, "error": "ratelimited"}``;
        ``times`` calls, or (``for_s``) every call for that many seconds: a 429 storm."""
        until = None if for_s is None else time.monotonic() + for_s
        self._faults.append(
            Fault("ratelimit", method, None if for_s else times, retry_after, until=until)
        )

    def error(self, method: str, error: str = "internal_error", times: int | None = 1) -> None:
        """HTTP 200 ``{"ok": false, "error": error}`` without running the method."""
        self._faults.append(Fault("error", method, times, error=error))

    def delay(self, method: str, seconds: float, times: int | None = None) -> None:
        """Answer normally, ``seconds`` late."""
        self._faults.append(Fault("delay", method, times, seconds=seconds))

    def drop(self, method: str, times: int | None = 1) -> None:
        """Close the connection without an answer (the client sees ServerDisconnectedError).

        Note: AsyncWebClient's default retry handler retries one connection error, so a single
        drop is invisible to a default client; use ``times=2`` or ``retry_handlers=[]``.
        """
        self._faults.append(Fault("drop", method, times))

    def disable_streaming(self, error: str = "channel_type_not_supported") -> None:
        """chat.startStream fails with ``error`` (as where streaming is unavailable)."""
        self.streaming_error = error

    def html_for_downloads(self, enabled: bool = True) -> None:
        """File URLs answer the HTML login page even with a valid token (missing files:read)."""
        self.html_downloads = enabled

    def disable_agent_sessions(self, error: str = "missing_scope") -> None:
        """Refuse agent sessions as for an app not declared an agent: agents.sessions.setStatus,
        agents.sessions.rename and chat.stopStream with ``session_status`` fail with ``error``
        (default ``missing_scope``, ``needed: assistant:write``: declaring an app an agent is
        what adds that scope, per docs.slack.dev/ai/agent-sessions)."""
        self.agent_sessions_error = error

    def clear(self) -> None:
        """Remove every fault and switch the modes (downloads, streaming, sessions) off."""
        self._faults.clear()
        self.html_downloads = False
        self.streaming_error = None
        self.agent_sessions_error = None
        self.html_files.clear()
        for file_id in list(self.held_files):
            self.release(file_id)

    def take_delay(self, method: str) -> float:
        total = 0.0
        for fault in self._faults:
            if fault.kind == "delay" and fault.matches(method):
                fault.consume()
                total += fault.seconds
        return total

    def take(self, method: str) -> Fault | None:
        """The first pending ratelimit/error/drop fault for ``method``, consumed."""
        for fault in self._faults:
            if fault.kind != "delay" and fault.matches(method):
                fault.consume()
                return fault
        return None
