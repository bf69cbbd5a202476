"""`SlackBudget`: one workspace's Slack rate limits, spent in priority order.

Slack limits every Web API method per workspace (and `chat.postMessage` per channel too), the
same budget for every turn the bot runs at once. The budget mirrors Slack's published tiers
as token buckets (a minute's worth of burst, refilled continuously), so the bot waits its turn
instead of collecting 429s, and it learns from the 429s it still gets (`Retry-After` empties a
bucket until then). Writes wait in priority order: the final answer and error replies first,
then the first visible sign of a turn, then interim updates, which do not wait at all: they
take a token only when one is spare (`try_take`) and are otherwise coalesced by the caller.

    Tier 2 (20/min)  chat.startStream, chat.stopStream
    Tier 3 (50/min)  chat.update, chat.delete, agents.sessions.*, assistant.threads.setTitle /
                     setSuggestedPrompts, conversations.replies, conversations.info
    Tier 4 (100/min) chat.appendStream, files.* uploads, files.info, users.info, chat.postEphemeral,
                     views.open / update / push / publish
    special          chat.postMessage, assistant.threads.setStatus: ~1/s per channel (burst 3),
                     postMessage also ~300/min per workspace
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import IntEnum


class Priority(IntEnum):
    """Who goes first when the budget is short (lower first)."""

    FINAL = 0
    """The answer's final text, error replies, files: never given up."""
    SIGN = 1
    """The first visible sign of a turn (the agent session) and its end."""
    INTERIM = 2
    """Streaming appends, progress, controls, notices: given up first."""


TIER_2, TIER_3, TIER_4 = 20.0, 50.0, 100.0
PER_MINUTE: dict[str, float] = {
    "chat.startStream": TIER_2,
    "chat.stopStream": TIER_2,
    "chat.update": TIER_3,
    "chat.delete": TIER_3,
    "agents.sessions.setStatus": TIER_3,
    "agents.sessions.rename": TIER_3,
    "assistant.threads.setTitle": TIER_3,
    "assistant.threads.setSuggestedPrompts": TIER_3,
    "conversations.replies": TIER_3,
    "conversations.info": TIER_3,
    "chat.appendStream": TIER_4,
    "files.getUploadURLExternal": TIER_4,
    "files.completeUploadExternal": TIER_4,
    "files.info": TIER_4,
    "users.info": TIER_4,
    "chat.postEphemeral": TIER_4,
    "views.open": TIER_4,
    "views.update": TIER_4,
    "views.push": TIER_4,
    "views.publish": TIER_4,
}
PER_CHANNEL_PER_SECOND = {"chat.postMessage": 1.0, "assistant.threads.setStatus": 1.0}
CHANNEL_BURST = 3.0
WORKSPACE_POSTS_PER_MINUTE = 300.0
SPARE = 0.25
"""Share of a bucket interim writes leave for final ones."""
MARGIN = 0.95
"""Of Slack's published rates the bot spends (its clock and Slack's never agree exactly)."""

Clock = Callable[[], float]


@dataclass
class _Waiter:
    priority: int
    order: int
    future: asyncio.Future[None] = field(compare=False)

    def __lt__(self, other: _Waiter) -> bool:
        return (self.priority, self.order) < (other.priority, other.order)


class Bucket:
    """Tokens for one method (and channel): `capacity` at most, `rate` per second."""

    def __init__(self, capacity: float, rate: float, clock: Clock) -> None:
        self.capacity, self.rate, self._clock = capacity, rate, clock
        self.tokens, self._updated = capacity, clock()
        self._blocked_until = 0.0
        self._waiters: list[_Waiter] = []
        self._timer: asyncio.TimerHandle | None = None

    def _refill(self) -> float:
        now = self._clock()
        self.tokens = min(self.capacity, self.tokens + (now - self._updated) * self.rate)
        self._updated = now
        return now

    def wait(self) -> float:
        """Seconds until a token is free (0 when one is)."""
        now = self._refill()
        until_token = max(0.0, (1.0 - self.tokens) / self.rate)
        return max(until_token, self._blocked_until - now)

    def eta(self) -> float:
        """Seconds until a newcomer would get a token (after those already waiting)."""
        now = self._refill()
        queued = sum(1 for w in self._waiters if not w.future.done())
        return max(0.0, self._blocked_until - now, (queued + 1.0 - self.tokens) / self.rate)

    def try_take(self, *, spare: float = 0.0) -> bool:
        """Take a token now if nobody waits and `spare` of the bucket stays free."""
        if self._waiters or self.wait() > 0 or self.tokens < 1.0 + spare * self.capacity:
            return False
        self.tokens -= 1.0
        return True

    async def take(self, priority: Priority, order: int) -> None:
        """Wait for a token; waiters are served by priority, then arrival."""
        if not self._waiters and self.wait() == 0:
            self.tokens -= 1.0
            return
        waiter = _Waiter(int(priority), order, asyncio.get_running_loop().create_future())
        heapq.heappush(self._waiters, waiter)
        self._serve()
        try:
            await waiter.future
        except asyncio.CancelledError:
            if waiter.future.done() and not waiter.future.cancelled():
                self.tokens += 1.0  # granted as we were cancelled: give it back
            self._waiters = [w for w in self._waiters if w is not waiter]
            heapq.heapify(self._waiters)
            self._serve()
            raise

    def refuse(self, retry_after: float) -> None:
        """Slack said 429: nothing until `retry_after` seconds from now."""
        now = self._refill()
        self.tokens = min(self.tokens, 0.0)
        self._blocked_until = max(self._blocked_until, now + retry_after)
        self._serve()

    def _serve(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        while self._waiters:
            head = self._waiters[0]
            if head.future.done():  # cancelled meanwhile
                heapq.heappop(self._waiters)
                continue
            delay = self.wait()
            if delay > 0:
                loop = asyncio.get_running_loop()
                self._timer = loop.call_later(delay, self._serve)
                return
            heapq.heappop(self._waiters)
            self.tokens -= 1.0
            head.future.set_result(None)


class SlackBudget:
    """The rate-limit budget of one workspace (`scale` multiplies Slack's published rates)."""

    def __init__(self, *, scale: float = 1.0, clock: Clock = time.monotonic) -> None:
        self._scale = scale
        self._clock = clock
        self._buckets: dict[tuple[str, str], Bucket] = {}
        self._order = itertools.count()
        self.refused: dict[str, int] = {}
        """429s Slack answered despite the budget, per method."""

    def limited(self, method: str) -> bool:
        return method in PER_MINUTE or method in PER_CHANNEL_PER_SECOND

    def buckets(self, method: str, channel: str | None) -> list[Bucket]:
        """The buckets a call of `method` in `channel` spends from."""
        found = []
        if method in PER_MINUTE:
            found.append(self._bucket(method, "", PER_MINUTE[method] / 60.0, PER_MINUTE[method]))
        if method in PER_CHANNEL_PER_SECOND:
            rate = PER_CHANNEL_PER_SECOND[method]
            found.append(self._bucket(method, channel or "", rate, CHANNEL_BURST))
        if method == "chat.postMessage":
            found.append(
                self._bucket(
                    method, "*", WORKSPACE_POSTS_PER_MINUTE / 60.0, WORKSPACE_POSTS_PER_MINUTE
                )
            )
        return found

    async def take(self, method: str, channel: str | None, priority: Priority) -> None:
        order = next(self._order)
        for bucket in self.buckets(method, channel):
            await bucket.take(priority, order)

    def eta(self, *methods: str, channel: str | None) -> float:
        """When calls of all these methods could be made, in seconds from now."""
        return max((b.eta() for m in methods for b in self.buckets(m, channel)), default=0.0)

    def try_take(self, method: str, channel: str | None) -> bool:
        """An interim write's token, only when one is spare (never waits)."""
        buckets = self.buckets(method, channel)
        if not all(b.wait() == 0 and b.tokens >= 1.0 + SPARE * b.capacity for b in buckets):
            return False
        return all(b.try_take(spare=SPARE) for b in buckets)

    def refuse(self, method: str, channel: str | None, retry_after: float) -> None:
        self.refused[method] = self.refused.get(method, 0) + 1
        for bucket in self.buckets(method, channel):
            bucket.refuse(retry_after)

    def _bucket(self, method: str, scope: str, rate: float, capacity: float) -> Bucket:
        key = (method, scope)
        if key not in self._buckets:
            # Refills are counted a little slow: Slack's clock and the bot's never agree.
            self._buckets[key] = Bucket(capacity, rate * self._scale * MARGIN, self._clock)
        return self._buckets[key]
