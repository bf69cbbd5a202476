"""A thread's visible status while the bot works on a turn.

Where Slack has agent sessions, the turn sets the thread's session to `processing` (titled
after the thread's first question), which shows Slack's own Stop button, and to `active` when
the answer is done or failed (the answer's final `chat.stopStream` carries that change when
it can, saving a call). Where sessions are refused, `assistant.threads.setStatus` shows a
status text instead, and is cleared explicitly at the end. The first sign is spent at a high
priority; status texts after it are interim (given up when the budget is short).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from slack_sdk.errors import SlackApiError

from bot import wording
from bot.core.markdown import defuse
from bot.core.turns import ThreadKey
from bot.slack.budget import Priority
from bot.slack.client import SLACK_FAILURES, ScheduledSlack, at, failure_code, prepaid

logger = logging.getLogger(__name__)

PROCESSING, ACTIVE = "processing", "active"
TITLE_CHARS = 100
# What Slack answers an app it does not let use agent sessions (not declared an agent, the
# plan lacks the feature, an older API): then the workspace uses status texts instead.
REFUSALS = frozenset(
    {
        "not_allowed",
        "not_allowed_token_type",
        "feature_not_enabled",
        "agent_not_enabled",
        "not_an_agent",
        "missing_scope",
        "unknown_method",
        "method_deprecated",
        "access_denied",
    }
)


class SessionSupport:
    """Which workspaces give the app agent sessions (learned from the first try in each),
    and the status changes still waiting for their turn in the budget."""

    def __init__(self) -> None:
        self._refused: dict[str, str] = {}
        self.pending: set[asyncio.Task[None]] = set()

    def refused_in(self, team_id: str) -> str | None:
        """The error Slack refused sessions with in this workspace; None while they work."""
        return self._refused.get(team_id)

    def refuse(self, team_id: str, code: str) -> None:
        self._refused[team_id] = code

    def later(self, change: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        """Run a status change in the background (owned here until it is done)."""
        task = asyncio.create_task(change, name="thread-status")
        self.pending.add(task)
        task.add_done_callback(self.pending.discard)
        return task

    async def drain(self, timeout_s: float = 5.0) -> None:
        """Give waiting status changes a moment at shutdown."""
        if self.pending:
            await asyncio.wait(list(self.pending), timeout=timeout_s)


class ThreadStatus:
    """One turn's status in its thread. Status changes never hold the turn up: they wait
    for their budget in the background (in order, per thread: one bucket, FIFO)."""

    def __init__(
        self,
        client: ScheduledSlack,
        support: SessionSupport,
        key: ThreadKey,
        user_id: str,
        *,
        on_sign: Callable[[], None] | None = None,
    ) -> None:
        self._client = client
        self._on_sign = on_sign
        self._support = support
        self._key = key
        self._user_id = user_id
        self._sign: asyncio.Task[None] | None = None
        self._shown: str | None = None  # "session" or "status", once the sign is shown
        self._text = ""

    @property
    def native(self) -> bool:
        """The thread shows Slack's own Stop button (agent sessions work here)."""
        return self._support.refused_in(self._key.team_id) is None

    @property
    def working(self) -> bool:
        return self._sign is not None

    @property
    def session(self) -> bool:
        """The thread's agent session is `processing` (a final stop may end it)."""
        return self._shown == "session"

    async def start(self, text: str, *, title: str | None) -> None:
        """The first visible sign: the session is `processing` (or the status shows)."""
        if self._sign is None:
            self._sign = self._support.later(self._give_sign(text, title))

    async def progress(self, text: str, loading: Sequence[str] = ()) -> None:
        """What the bot is doing now: a status text where there are no sessions (a session
        shows progress as the answer's steps instead). Given up when the budget is short."""
        if self._shown != "status" or text == self._text:
            return
        if self._client.budget.try_take("assistant.threads.setStatus", self._key.channel_id):
            with prepaid():
                await self._status(text, loading, priority=Priority.INTERIM)

    async def done(self, *, already: bool = False) -> None:
        """The turn ended: the session goes `active` (unless the final write did it) or the
        status text is cleared; a sign still waiting for its budget is not given at all."""
        sign, self._sign = self._sign, None
        if sign is None:
            return
        if not sign.done():
            sign.cancel()
            return
        if self._shown == "session" and not already:
            self._support.later(self._end_session())
        elif self._shown == "status":
            self._support.later(self._clear_status())

    async def _give_sign(self, text: str, title: str | None) -> None:
        if self.native:
            try:
                with at(Priority.SIGN):
                    await self._session(PROCESSING, title=title)
                self._shown = "session"
                self._signed()
                return
            except SlackApiError as error:
                if failure_code(error) not in REFUSALS:
                    logger.warning("agent session in %s failed: %s", self._key, failure_code(error))
                    return
                self._refused(error)
            except SLACK_FAILURES as error:
                logger.warning("agent session in %s failed: %s", self._key, failure_code(error))
                return
        if await self._status(text, (), priority=Priority.SIGN):
            self._signed()
        self._shown = "status"

    async def _clear_status(self) -> None:
        await self._status("", (), priority=Priority.SIGN)

    def _signed(self) -> None:
        if self._on_sign is not None:
            self._on_sign()

    async def _end_session(self) -> None:
        try:
            with at(Priority.SIGN):
                await self._session(ACTIVE)
        except SLACK_FAILURES as error:
            logger.warning("ending the session in %s failed: %s", self._key, failure_code(error))

    async def _session(self, status: str, *, title: str | None = None) -> None:
        await self._client.agents_sessions_setStatus(
            channel_id=self._key.channel_id,
            thread_ts=self._key.thread_ts,
            status=status,
            title=defuse(" ".join(title.split())[:TITLE_CHARS]) if title else None,
            initiator_user_id=self._user_id if status == PROCESSING else None,
        )

    async def _status(self, text: str, loading: Sequence[str], *, priority: Priority) -> bool:
        """Set (or clear) the status text; False when Slack refused it."""
        self._text = text
        try:
            with at(priority):
                await self._client.assistant_threads_setStatus(
                    channel_id=self._key.channel_id,
                    thread_ts=self._key.thread_ts,
                    status=defuse(text),  # file names are the sharer's to choose
                    loading_messages=[defuse(m) for m in (*loading, *wording.LOADING_MESSAGES)]
                    if text
                    else None,
                )
        except SLACK_FAILURES as error:  # a missing status must not fail the answer
            logger.warning("setStatus failed in %s: %s", self._key, failure_code(error))
            return False
        return True

    def _refused(self, error: SlackApiError) -> None:
        code = failure_code(error)
        logger.info("agent sessions refused (%s); using assistant.threads.setStatus", code)
        self._support.refuse(self._key.team_id, code)
