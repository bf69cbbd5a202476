"""The Slack Web API client every part shares, and Socket Mode.

Bolt copies the client's retry handlers into each request's client, so configuring them here
covers every Slack call the bot makes.
"""

from __future__ import annotations

import aiohttp
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from bot.settings import Secret, Settings

SlackClient = AsyncWebClient
SlackApp = AsyncApp
# What a Slack call can fail with once the client's retry handlers gave up: an API error
# (`ok: false`, a 429 past its retries), a transport error, a timeout. Calls that only
# accompany the work (status, title, Cancel control, notices, reads) catch these and go on.
SLACK_FAILURES = (SlackClientError, aiohttp.ClientError, TimeoutError)


def failure_code(error: BaseException) -> str:
    """What to log about a Slack failure: Slack's error code, or the exception's type (its
    message can quote what was sent)."""
    if isinstance(error, SlackApiError):
        return str(error.response.get("error"))
    return type(error).__name__


def slack_client(settings: Settings, session: aiohttp.ClientSession) -> AsyncWebClient:
    """The Slack Web API client (one per process, on the shared aiohttp session)."""
    token = settings.slack_bot_token
    return AsyncWebClient(
        token=token.reveal() if token else None,
        base_url=settings.slack_api_url,
        session=session,
        retry_handlers=[
            AsyncConnectionErrorRetryHandler(max_retry_count=2),
            AsyncRateLimitErrorRetryHandler(max_retry_count=3),
            AsyncServerErrorRetryHandler(max_retry_count=1),
        ],
    )


class SocketMode:
    """Socket Mode (`SLACK_APP_TOKEN`): Slack's events over a WebSocket instead of HTTP."""

    def __init__(self, app: AsyncApp, app_token: Secret) -> None:
        self._handler = AsyncSocketModeHandler(app, app_token.reveal())

    async def connect(self) -> None:
        await self._handler.connect_async()  # type: ignore[no-untyped-call]  # untyped in Bolt

    async def close(self) -> None:
        await self._handler.close_async()  # type: ignore[no-untyped-call]
