"""The Slack Web API client every part shares, scheduled by the workspace's budget, and
Socket Mode.

`ScheduledSlack` routes every limited method through the workspace's `SlackBudget` (see
`bot.slack.budget`): a call waits for its token in priority order (set with `at(priority)`
around the call), and a 429 is a signal to slow down — the bucket is emptied until
`Retry-After` and the call is made again, except interim calls, which give up at once so
their caller can coalesce them into a later write. Calls that paid for their token already
(`prepaid()`, after `budget.try_take`) skip the wait.

A workspace installed through OAuth has a client whose bot token is looked up on its first
call (`credentials`); a token Slack refuses is looked up again on the next call (a reinstall
may have replaced it), and a client whose workspace removed the app (`retire`) fails every
call at once with `NotInstalled`.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import aiohttp
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from bot.settings import Secret, Settings
from bot.slack.budget import Priority, SlackBudget

logger = logging.getLogger(__name__)

SlackApp = AsyncApp
# What a Slack call can fail with once the client's retry handlers gave up: an API error
# (`ok: false`, an interim call's 429), a transport error, a timeout. Calls that only
# accompany the work (status, title, Cancel control, notices, reads) catch these and go on.
SLACK_FAILURES = (SlackClientError, aiohttp.ClientError, TimeoutError)
DEFAULT_RETRY_AFTER_S = 1.0

_priority: contextvars.ContextVar[Priority] = contextvars.ContextVar(
    "slack_priority", default=Priority.INTERIM
)
_prepaid: contextvars.ContextVar[bool] = contextvars.ContextVar("slack_prepaid", default=False)


@contextlib.contextmanager
def at(priority: Priority) -> Iterator[None]:
    """Slack calls made inside the block wait for their tokens at this priority."""
    token = _priority.set(priority)
    try:
        yield
    finally:
        _priority.reset(token)


@contextlib.contextmanager
def prepaid() -> Iterator[None]:
    """The call inside the block already took its token (`budget.try_take`)."""
    token = _prepaid.set(True)
    try:
        yield
    finally:
        _prepaid.reset(token)


def failure_code(error: BaseException) -> str:
    """What to log about a Slack failure: Slack's error code, or the exception's type (its
    message can quote what was sent)."""
    if isinstance(error, SlackApiError):
        return str(error.response.get("error"))
    return type(error).__name__


def is_rate_limited(error: BaseException) -> bool:
    return isinstance(error, SlackApiError) and error.response.status_code == 429


# What Slack answers a bot token it no longer honours (uninstalled, revoked, replaced).
DEAD_TOKEN_ERRORS = frozenset({"invalid_auth", "token_revoked", "account_inactive", "not_authed"})
Credentials = Callable[[], Awaitable[str]]
"""Looks the workspace's bot token up (raises `NotInstalled` when there is none)."""
CallObserver = Callable[[str, str], None]
"""Told how each Web API call ended: (method, "ok" | "error" | "rate_limited" | "failed")."""


class NotInstalled(SlackClientError):
    """The app is not installed in this workspace (any more): no call can be made for it."""


class ScheduledSlack(AsyncWebClient):
    """An `AsyncWebClient` whose limited calls spend the workspace's budget."""

    def __init__(
        self,
        *args: Any,
        budget: SlackBudget,
        credentials: Credentials | None = None,
        observer: CallObserver | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.budget = budget
        self._credentials = credentials
        self._observer = observer
        self._looking_up = asyncio.Lock()
        self._retired = False

    async def bot_token(self) -> str:
        """The workspace's bot token, looked up first if need be."""
        if self._retired:
            raise NotInstalled("the app was removed from this workspace")
        if self.token is None and self._credentials is not None:
            async with self._looking_up:
                if self.token is None:
                    self.token = await self._credentials()
        if self.token is None:
            raise NotInstalled("no bot token for this workspace")
        return self.token

    def use_token(self, token: str) -> None:
        """The workspace's current token (from a fresh look at its installation)."""
        self.token = token

    def retire(self) -> None:
        """The app left this workspace: every later call fails at once."""
        self._retired, self.token = True, None

    async def api_call(self, api_method: str, **kwargs: Any) -> AsyncSlackResponse:
        if self._credentials is not None:
            token = await self.bot_token()
            try:
                return await self._scheduled(api_method, **kwargs)
            except SlackApiError as error:
                if error.response.get("error") in DEAD_TOKEN_ERRORS and self.token == token:
                    self.token = None  # look it up again next time
                raise
        return await self._scheduled(api_method, **kwargs)

    async def _scheduled(self, api_method: str, **kwargs: Any) -> AsyncSlackResponse:
        if not self.budget.limited(api_method):
            return await self._sent(api_method, **kwargs)
        channel = _channel(kwargs)
        level, paid = _priority.get(), _prepaid.get()
        _prepaid.set(False)  # the token pays for one call
        while True:
            if not paid:
                await self.budget.take(api_method, channel, level)
            paid = False
            try:
                return await self._sent(api_method, **kwargs)
            except SlackApiError as error:
                if not is_rate_limited(error):
                    raise
                retry_after = _retry_after(error)
                self.budget.refuse(api_method, channel, retry_after)
                logger.info("%s: 429, next try in %.1fs", api_method, retry_after)
                if level is Priority.INTERIM:
                    raise

    async def _sent(self, api_method: str, **kwargs: Any) -> AsyncSlackResponse:
        """One call to Slack, told to the observer (a cancelled call is not told)."""
        try:
            response = await super().api_call(api_method, **kwargs)
        except SlackApiError as error:
            self._tell(api_method, "rate_limited" if is_rate_limited(error) else "error")
            raise
        except SLACK_FAILURES:
            self._tell(api_method, "failed")
            raise
        self._tell(api_method, "ok")
        return response

    def _tell(self, api_method: str, outcome: str) -> None:
        if self._observer is not None:
            self._observer(api_method, outcome)


def _channel(kwargs: dict[str, Any]) -> str | None:
    for part in ("json", "data", "params"):
        body = kwargs.get(part)
        if isinstance(body, dict):
            channel = body.get("channel") or body.get("channel_id")
            if channel:
                return str(channel)
    return None


def _retry_after(error: SlackApiError) -> float:
    headers = error.response.headers or {}
    for name, value in headers.items():
        if name.lower() == "retry-after":
            raw = value[0] if isinstance(value, list) else value
            try:
                return max(float(raw), 0.0)
            except (TypeError, ValueError):
                break
    return DEFAULT_RETRY_AFTER_S


def slack_client(
    settings: Settings,
    session: aiohttp.ClientSession,
    *,
    credentials: Credentials | None = None,
    observer: CallObserver | None = None,
) -> ScheduledSlack:
    """A Slack Web API client on the shared aiohttp session, with its own budget: the one of
    a single-workspace bot (`SLACK_BOT_TOKEN`), one per installed workspace (`credentials`),
    or the token-less one the OAuth flow exchanges codes with. Rate limits are the budget's
    to handle, so no rate-limit retry handler sleeps in calls. `observer` hears how every
    call ended (the metrics)."""
    token = settings.slack_bot_token if credentials is None else None
    return ScheduledSlack(
        token=token.reveal() if token else None,
        base_url=settings.slack_api_url,
        session=session,
        retry_handlers=[
            AsyncConnectionErrorRetryHandler(max_retry_count=2),
            AsyncServerErrorRetryHandler(max_retry_count=1),
        ],
        budget=SlackBudget(scale=settings.slack_rate_scale),
        credentials=credentials,
        observer=observer,
    )


SlackClient = ScheduledSlack


class SocketMode:
    """Socket Mode (`SLACK_APP_TOKEN`): Slack's events over a WebSocket instead of HTTP."""

    def __init__(self, app: AsyncApp, app_token: Secret) -> None:
        self._handler = AsyncSocketModeHandler(app, app_token.reveal())

    async def connect(self) -> None:
        await self._handler.connect_async()  # type: ignore[no-untyped-call]  # untyped in Bolt

    async def close(self) -> None:
        await self._handler.close_async()  # type: ignore[no-untyped-call]
