"""`Flusher`: one owned task that writes a page's interim content while it grows.

The producer (the model's stream) only records and pokes; the flusher waits at least
`interval` between writes, retries soon when the budget had no spare token (the content
keeps accumulating: fewer, larger writes), and after `keepalive_s` of silence asks the writer
to keep its stream alive. Stopping waits for a write in flight, never cancels it (its result,
e.g. a new message's ts, must not be lost).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable

KEEPALIVE_S = 20.0  # under the ~30 s Slack lets a stream idle
RETRY_S = 0.5  # how soon a write the budget could not take is tried again


class Flusher:
    def __init__(
        self,
        write: Callable[[], Awaitable[bool]],
        *,
        keep_alive: Callable[[], None],
        lock: asyncio.Lock,
        interval: float,
        last_write: Callable[[], float],
        keepalive_s: float = KEEPALIVE_S,
    ) -> None:
        self._write = write
        self._last_write = last_write
        self._keep_alive = keep_alive
        self._lock = lock
        self._interval = interval
        self._keepalive_s = keepalive_s
        self._wake = asyncio.Event()
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def poke(self) -> None:
        """There is something to write."""
        self._wake.set()
        if self._task is None and not self._stop.is_set():
            self._task = asyncio.create_task(self._loop(), name="slack-writer")

    async def stop(self) -> None:
        self._stop.set()
        self._wake.set()  # out of a keep-alive wait
        task, self._task = self._task, None
        if task is not None:
            await asyncio.gather(task, return_exceptions=True)

    async def _loop(self) -> None:
        while not self._stop.is_set():
            if not await _until(self._wake, self._keepalive_s):
                self._keep_alive()
                continue
            self._wake.clear()
            await _until(self._stop, self._last_write() + self._interval - time.monotonic())
            if self._stop.is_set():
                return
            async with self._lock:
                done = await self._write()
            if not done:
                await _until(self._stop, RETRY_S)
                self._wake.set()


async def _until(event: asyncio.Event, seconds: float) -> bool:
    """Wait for `event` at most `seconds`; whether it is set."""
    if seconds > 0 and not event.is_set():
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await event.wait()
    return event.is_set()
