"""Slack's rate limits in the fake: per workspace, per method, as token buckets.

Tiers follow the reference (``slack.md`` §5 and "Update 2026-12", from java-slack-sdk's
``MethodsRateLimits`` and slack-morphism's table). A tiered method's bucket holds one minute's
worth of requests (Slack allows bursts) and refills continuously at its per-minute rate.
``chat.postMessage`` is special: about one message a second per channel with a short burst (a
bucket of 3 per channel, refilled 1/s) plus a workspace-wide cap of 300 a minute;
``assistant.threads.setStatus`` is special the same way, in buckets of its own. Methods not
listed (``auth.test``, …) are not limited.

Every authenticated request to a limited method takes a token, whether or not it then fails
(bad arguments, unknown channel…); the fake's own helpers (``post_user_message``, …) and the raw
file routes are not Web API calls and take none. A request that finds no token is answered
HTTP 429 ``{"ok": false, "error": "ratelimited"}`` with ``Retry-After`` = whole seconds until
the next token (rounded up, at least 1) and does nothing. ``speed`` compresses time for tests:
buckets refill ``speed`` times faster in real time, and ``Retry-After`` is in real seconds.
Switch with ``slack.limits.enabled`` / ``.speed``; ``slack.limits.reset()`` refills every bucket.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from dataclasses import dataclass

TIER_2, TIER_3, TIER_4 = 20, 50, 100
TIERS: dict[str, int] = {
    "chat.startStream": TIER_2,
    "chat.stopStream": TIER_2,
    "chat.update": TIER_3,
    "chat.delete": TIER_3,
    "agents.sessions.setStatus": TIER_3,
    "agents.sessions.rename": TIER_3,
    "conversations.replies": TIER_3,
    "assistant.threads.setSuggestedPrompts": TIER_3,
    "assistant.threads.setTitle": TIER_3,
    "chat.appendStream": TIER_4,
    "files.getUploadURLExternal": TIER_4,
    "files.completeUploadExternal": TIER_4,
    "users.info": TIER_4,
    "files.info": TIER_4,
    "chat.postEphemeral": TIER_4,
    "views.open": TIER_4,
    "views.update": TIER_4,
    "views.push": TIER_4,
    "views.publish": TIER_4,
    "conversations.info": TIER_3,
}
# Special methods: method -> its channel argument; a bucket per channel (burst, per second).
PER_CHANNEL: dict[str, str] = {
    "chat.postMessage": "channel",
    "assistant.threads.setStatus": "channel_id",
}
CHANNEL_BURST, CHANNEL_PER_SECOND = 3, 1.0
# Workspace-wide caps on top of the per-channel buckets (per minute).
WORKSPACE_CAPS: dict[str, int] = {"chat.postMessage": 300}


@dataclass
class Bucket:
    """``tokens`` as of ``updated`` (in the limiter's compressed clock, seconds)."""

    capacity: float
    per_second: float
    tokens: float
    updated: float

    def refill(self, now: float) -> None:
        elapsed = max(0.0, now - self.updated)
        self.tokens = min(self.capacity, self.tokens + elapsed * self.per_second)
        self.updated = now

    def wait(self) -> float:
        """Compressed seconds until one token is there (0 when there is one now)."""
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.per_second


class RateLimits:
    """Every bucket of one workspace, and the 429s they caused (``answered``)."""

    def __init__(self, *, enabled: bool = True, speed: float = 1.0) -> None:
        self.enabled = enabled
        self._speed = self._checked(speed)
        self._base_real = time.monotonic()
        self._base_clock = 0.0
        self._buckets: dict[tuple[str, str], Bucket] = {}
        self.answered: Counter[str] = Counter()
        """method -> how many requests the buckets refused with 429."""

    @staticmethod
    def _checked(speed: float) -> float:
        if speed <= 0:
            raise ValueError("speed must be positive")
        return float(speed)

    @property
    def speed(self) -> float:
        return self._speed

    @speed.setter
    def speed(self, speed: float) -> None:
        """Change the compression from now on (time already passed keeps the old speed)."""
        self._base_clock, self._base_real = self._clock(), time.monotonic()
        self._speed = self._checked(speed)

    def _clock(self) -> float:
        return self._base_clock + (time.monotonic() - self._base_real) * self._speed

    def reset(self) -> None:
        """Every bucket full again (the records of past 429s are kept)."""
        self._buckets.clear()

    def _bucket(self, key: tuple[str, str], per_minute: float, capacity: float) -> Bucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            now = self._clock()
            bucket = self._buckets[key] = Bucket(capacity, per_minute / 60, capacity, now)
        return bucket

    def buckets_for(self, method: str, channel: str | None) -> list[Bucket]:
        """The buckets a call of ``method`` (in ``channel``) must take a token from."""
        buckets = []
        if method in PER_CHANNEL:
            key = (method, f"channel:{channel or ''}")
            buckets.append(self._bucket(key, CHANNEL_PER_SECOND * 60, CHANNEL_BURST))
        if method in WORKSPACE_CAPS:
            cap = WORKSPACE_CAPS[method]
            buckets.append(self._bucket((method, "workspace"), cap, cap))
        if method in TIERS:
            buckets.append(self._bucket((method, "workspace"), TIERS[method], TIERS[method]))
        return buckets

    def take(self, method: str, channel: str | None = None) -> int | None:
        """Take a token for one call: None if allowed, else the ``Retry-After`` seconds (the
        call is refused and nothing is taken from any bucket)."""
        if not self.enabled:
            return None
        buckets = self.buckets_for(method, channel)
        now = self._clock()
        for bucket in buckets:
            bucket.refill(now)
        wait = max((bucket.wait() for bucket in buckets), default=0.0)
        if wait > 0:
            self.answered[method] += 1
            return max(1, math.ceil(wait / self._speed))
        for bucket in buckets:
            bucket.tokens -= 1
        return None

    def tokens(self, method: str, channel: str | None = None) -> float:
        """Tokens left now in the tightest bucket for ``method`` (for assertions)."""
        buckets = self.buckets_for(method, channel)
        now = self._clock()
        for bucket in buckets:
            bucket.refill(now)
        return min((bucket.tokens for bucket in buckets), default=math.inf)
