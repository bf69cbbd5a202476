"""The Bolt app factory: an `AsyncApp` on the shared Slack client, with its last-resort
error logger. The composition root registers the listeners (`handlers.register`).

With OAuth installs the app also has the install flow (`bot.slack.oauth`) and authorizes each
request with the workspace's installation (`bot.slack.installs`); the client it is given
then has no token of its own."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot.settings import Settings
from bot.slack.installs import InstalledAuthorize, Installs
from bot.slack.oauth import install_flow

logger = logging.getLogger(__name__)
# How much of one sender-controlled field a debug record may carry.
LOGGED_FIELD_CHARS = 64


def build_app(
    settings: Settings,
    *,
    client: AsyncWebClient,
    installs: Installs | None = None,
    back: Callable[[str], Awaitable[None]] | None = None,
) -> AsyncApp:
    """A Bolt app without listeners; building it makes no network call. `installs`: the app
    installs through OAuth (else the client's token is the one workspace's, and `back` is
    told that workspace once, at its first request the token authorizes)."""
    signing_secret = settings.slack_signing_secret
    oauth: dict[str, Any] = {}
    if installs is not None:
        flow = install_flow(settings, client, installs)
        # The flow's settings passed too, so Bolt does not build default ones (file stores
        # under $HOME) from SLACK_CLIENT_ID/SECRET in the environment.
        oauth = {
            "oauth_flow": flow,
            "oauth_settings": flow.settings,
            "authorize": InstalledAuthorize(installs),
        }
    app = AsyncApp(
        client=client,
        signing_secret=signing_secret.reveal() if signing_secret else "",
        # Socket Mode envelopes are authenticated by the app token instead.
        request_verification_enabled=settings.mode == "http",
        process_before_response=False,
        logger=logging.getLogger("slack_bolt"),
        **oauth,
    )
    if back is not None:
        _first_authorized(app, back)

    @app.error
    async def log_unhandled(error: Exception, body: dict[str, Any]) -> None:
        # Last resort only: the service already turns turn failures into replies. The body's
        # fields are the sender's words, so they stay out of the error record.
        logger.error("unhandled error in a Slack listener", exc_info=error)
        if logger.isEnabledFor(logging.DEBUG):
            body = body if isinstance(body, dict) else {}
            event = body.get("event")
            event = event if isinstance(event, dict) else {}
            logger.debug(
                "the request behind that error: type=%r event=%r channel=%r",
                _clipped(body.get("type")),
                _clipped(event.get("type")),
                _clipped(event.get("channel")),
            )

    return app


def _first_authorized(app: AsyncApp, back: Callable[[str], Awaitable[None]]) -> None:
    """With one token, being (re)installed is being started with a token Slack accepts: the
    first request it authorizes (auth.test found the bot) names the workspace, which is then
    served again (what it had before it left is still deleted by the retention job)."""
    pending = True

    @app.middleware
    async def workspace_is_back(
        context: AsyncBoltContext, next: Callable[[], Awaitable[None]]
    ) -> None:
        nonlocal pending
        if pending and context.bot_id and context.team_id:
            pending = False
            await back(context.team_id)
        await next()


def _clipped(value: object, limit: int = LOGGED_FIELD_CHARS) -> str | None:
    """A request field short enough to log: a string cut to `limit`, anything else its repr."""
    if value is None:
        return None
    return (value if isinstance(value, str) else repr(value))[:limit]
