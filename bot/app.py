"""The Bolt app factory and the HTTP front door (`POST /slack/events`, `GET /healthz`)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

import handlers
from bot.settings import Settings

logger = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
HealthCheck = Callable[[], Awaitable[dict[str, Any]]]


def build_app(settings: Settings, *, client: AsyncWebClient, intake: handlers.Intake) -> AsyncApp:
    """A Bolt app with every listener registered; building it makes no network call."""
    signing_secret = settings.slack_signing_secret
    app = AsyncApp(
        client=client,
        signing_secret=signing_secret.reveal() if signing_secret else "",
        # Socket Mode envelopes are authenticated by the app token instead.
        request_verification_enabled=settings.mode == "http",
        process_before_response=False,
        logger=logging.getLogger("slack_bolt"),
    )
    handlers.register(app, intake)

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


def web_app(app: AsyncApp, *, health: HealthCheck, events: bool = True) -> web.Application:
    """The aiohttp application serving Slack's requests and the health check.

    In Socket Mode `events` is False: requests are not signature-checked there, so the
    events route must not exist.
    """

    async def slack_events(request: web.Request) -> web.StreamResponse:
        bolt_response = await app.async_dispatch(await to_bolt_request(request))
        return await to_aiohttp_response(bolt_response)

    async def healthz(_request: web.Request) -> web.StreamResponse:
        report = await health()
        return web.json_response(report, status=200 if report.get("ok") else 503)

    application = web.Application(client_max_size=4 * 1024 * 1024)
    if events:
        application.router.add_post(EVENTS_PATH, slack_events)
    application.router.add_get("/healthz", healthz)
    return application


async def start_http(
    application: web.Application, *, port: int, host: str = "0.0.0.0"
) -> web.AppRunner:
    """Serve `application` in the running loop; returns the runner (call `cleanup()`)."""
    runner = web.AppRunner(application, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, host=host, port=port)
    await site.start()
    return runner


def bound_port(runner: web.AppRunner) -> int:
    """The port a runner listens on (useful with port 0)."""
    for address in runner.addresses:
        if isinstance(address, tuple):
            return int(address[1])
    raise RuntimeError("the HTTP server is not listening")
