"""The Bolt app factory: an `AsyncApp` on the shared Slack client, with its last-resort
error logger. The composition root registers the listeners (`handlers.register`)."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.settings import Settings

logger = logging.getLogger(__name__)


def build_app(
    settings: Settings,
    *,
    client: AsyncWebClient,
) -> AsyncApp:
    """A Bolt app without listeners; building it makes no network call."""
    signing_secret = settings.slack_signing_secret
    app = AsyncApp(
        client=client,
        signing_secret=signing_secret.reveal() if signing_secret else "",
        # Socket Mode envelopes are authenticated by the app token instead.
        request_verification_enabled=settings.mode == "http",
        process_before_response=False,
        logger=logging.getLogger("slack_bolt"),
    )

    @app.error
    async def log_unhandled(error: Exception, body: dict[str, Any]) -> None:
        # Last resort only: the service already turns turn failures into replies.
        event = body.get("event") or {}
        logger.error(
            "unhandled error in a Slack listener (type=%s event=%s channel=%s)",
            body.get("type"),
            event.get("type"),
            event.get("channel"),
            exc_info=error,
        )

    return app
