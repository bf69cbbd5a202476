"""`Intake`: what the Slack listeners hand to the core.

A question is recorded once (the store deduplicates Slack retries and the app_mention /
message twins of one message) and the worker is woken; listeners never wait on the model.
A reply in a thread that is not engaged yet is parked in the store: Slack may deliver it
before its mention, or to another replica at the same moment, and it becomes a turn (after
the mention's) once the mention is recorded, wherever that happens. In this process, a reply
that races the mention starting its thread simply waits for that mention to be recorded.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Callable

from bot import wording
from bot.core.ports import Notices
from bot.core.storage import Store
from bot.core.turns import ThreadKey, Turn

logger = logging.getLogger(__name__)

RunningIn = Callable[[ThreadKey], list[int]]


class Intake:
    def __init__(self, *, store: Store, notices: Notices, running_in: RunningIn) -> None:
        self._store = store
        self._notices = notices
        self._running_in = running_in
        self._wake: Callable[[], None] = lambda: None
        self._submitting = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._recording: dict[ThreadKey, int] = {}  # turns being recorded, per thread
        self._recordings = 0  # recordings finished (successful or not), ever
        self._recorded = asyncio.Condition()

    def on_submit(self, wake: Callable[[], None]) -> None:
        """Call `wake` whenever a turn is recorded (the worker's doorbell)."""
        self._wake = wake

    async def submit(self, turn: Turn) -> bool:
        """Record a turn (False for a duplicate) and wake the worker. If it cannot be
        recorded the asker is told so in the thread: a question is never dropped silently."""
        self._submitting += 1
        self._idle.clear()
        self._recording[turn.key] = self._recording.get(turn.key, 0) + 1
        try:
            turn_id = await self._store.turns.add(turn)
        except Exception:  # the boundary of intake: Slack already has its 200
            ref = secrets.token_hex(4)
            logger.exception(
                "could not record message %s in %s [ref %s]", turn.message_ts, turn.key, ref
            )
            await self._notices.reply(turn.key, wording.NOT_RECORDED.format(ref=ref))
            return False
        finally:
            self._submitting -= 1
            if not self._submitting:
                self._idle.set()
            self._recording[turn.key] -= 1
            if not self._recording[turn.key]:
                del self._recording[turn.key]
            self._recordings += 1
            async with self._recorded:
                self._recorded.notify_all()
        if turn_id is None:
            return False
        self._wake()
        if self._running_in(turn.key):
            await self._notices.queued(turn.key, turn.user_id)
        return True

    async def park(self, turn: Turn) -> None:
        """A reply in a thread that is not engaged (yet): kept briefly, it becomes a turn if
        its thread's mention is recorded by any replica; otherwise it is forgotten."""
        try:
            created = await self._store.turns.park(turn)
        except Exception:  # the boundary of intake: nobody asked the bot anything yet
            logger.exception("could not park message %s in %s", turn.message_ts, turn.key)
            return
        if created:
            self._wake()

    async def quiesce(self) -> None:
        """Wait (up to 5 s) for listeners still recording turns (Bolt runs them untracked)."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(5.0):
                await self._idle.wait()

    async def is_engaged(self, key: ThreadKey) -> bool:
        return await self._store.threads.is_engaged(key)

    async def engaged_or_starting(self, key: ThreadKey) -> bool:
        """Like `is_engaged`, but a reply that races the mention starting its thread (both
        arrive at once) waits for that mention to be recorded instead of being ignored."""
        recorded_before = self._recordings
        if await self.is_engaged(key):
            return True
        if key in self._recording:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(5.0), self._recorded:
                    await self._recorded.wait_for(lambda: key not in self._recording)
        elif self._recordings == recorded_before:
            return False  # nothing was recorded while we looked: the answer stands
        # A recording finished while the thread was being read: that read may be stale.
        return await self.is_engaged(key)

    async def home_opened(self, user_id: str, channel_id: str, *, team_id: str) -> None:
        await self._notices.suggest_prompts(channel_id, team_id=team_id)
