"""Waiting for the bot: ``wait_for`` re-checks a predicate after every change in the fake."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar

from tests.fakes.slack_state import Call

T = TypeVar("T")


class ChangeFeed:
    """Wakes every waiter on each state change (``wait_for`` re-checks its predicate then).

    Like ``asyncio.Condition.notify_all``, but callable from plain methods too (the sync set-up
    helpers such as ``post_user_message`` change state without awaiting a lock)."""

    def __init__(self) -> None:
        self._waiters: list[asyncio.Future[None]] = []

    def notify(self) -> None:
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)
        self._waiters.clear()

    async def wait(self, seconds: float) -> None:
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        await asyncio.wait([waiter], timeout=seconds)


class Waiting:
    """Mixin of the fake's server: ``wait_for`` over its change feed and call records."""

    calls: list[Call]
    _changes: ChangeFeed

    async def wait_for(
        self,
        predicate: Callable[[], T],
        timeout: float = 5.0,  # noqa: ASYNC109 - a deadline argument is this helper's API
        message: str | None = None,
        *,
        poll: float | None = None,
    ) -> T:
        """Return the predicate's first truthy value, re-checked after every change in the fake
        (and every ``poll`` seconds, for conditions that depend on time alone, like stream idle
        expiry). A predicate may also ``assert``; at the deadline the last failure is reported."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        last_error = ""
        result: T | None
        while True:
            try:
                result = predicate()
            except AssertionError as error:
                result, last_error = None, str(error)
            if result:
                return result
            remaining = deadline - loop.time()
            if remaining <= 0:
                recent = "\n".join(f"  {c.method}: {c.error or 'ok'}" for c in self.calls[-10:])
                what = message or getattr(predicate, "__name__", repr(predicate))
                raise AssertionError(
                    f"wait_for timed out after {timeout}s: {what}"
                    + (f"\nlast assertion: {last_error}" if last_error else "")
                    + f"\nlast Web API calls:\n{recent or '  (none)'}"
                )
            await self._changes.wait(remaining if poll is None else min(poll, remaining))
