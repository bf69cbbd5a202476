"""The HTTP front door: `POST /slack/events` (signed) and `GET /healthz`."""

from __future__ import annotations

import asyncio
import logging
import re
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.signature import SignatureVerifier

logger = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
# Events handed to Bolt between two chances for new deliveries to be acknowledged.
DISPATCH_SLICE = 10
_EVENT_CALLBACK = re.compile(r'"type"\s*:\s*"event_callback"')
HealthCheck = Callable[[], Awaitable[dict[str, Any]]]


class EventsEndpoint:
    """`POST /slack/events`.

    A signed Events API delivery (`event_callback`) is acknowledged at once and queued for
    Bolt. Bolt auto-acks events before their listeners run anyway; acking first keeps the
    answer to Slack independent of everything else the process is doing. One owned task
    hands queued events to Bolt, a few per loop iteration, so a burst of deliveries is
    acknowledged before the listener work it brings. Everything else (url_verification,
    interactivity, bad signatures) goes through Bolt synchronously, which also answers
    invalid signatures with 401.
    """

    def __init__(self, app: AsyncApp, signing_secret: str) -> None:
        self._app = app
        self._verifier = SignatureVerifier(signing_secret)
        self._queue: deque[tuple[str, str, dict[str, str | Sequence[str]]]] = deque()
        self._dispatcher: asyncio.Task[None] | None = None

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.text()
        if self._is_signed_event(body, request.headers):
            self._queue.append((body, request.query_string, dict(request.headers)))
            if self._dispatcher is None or self._dispatcher.done():
                self._dispatcher = asyncio.create_task(self._dispatch_queued())
            return web.Response(status=200)
        bolt_response = await self._app.async_dispatch(await to_bolt_request(request))
        return await to_aiohttp_response(bolt_response)

    async def drain(self) -> None:
        """Wait until every acknowledged event has been handed to its listener."""
        if self._dispatcher is not None:
            await asyncio.gather(self._dispatcher, return_exceptions=True)

    def _is_signed_event(self, body: str, headers: Mapping[str, str]) -> bool:
        # A JSON string value cannot contain an unescaped `"type":"event_callback"`, so this
        # finds the envelope's own type without parsing the body (Bolt parses it next).
        if not _EVENT_CALLBACK.search(body):
            return False
        try:
            return self._verifier.is_valid_request(body, headers)
        except ValueError:  # a malformed timestamp header: Bolt answers it
            return False

    async def _dispatch_queued(self) -> None:
        while self._queue:
            body, query, headers = self._queue.popleft()
            request = AsyncBoltRequest(body=body, query=query, headers=headers)
            response = await self._app.async_dispatch(request)
            if response.status != 200:
                logger.warning(
                    "an acknowledged event was not handled (Bolt answered %d)", response.status
                )
            await asyncio.sleep(0)  # acknowledge newly arrived deliveries first


def web_app(
    app: AsyncApp, *, health: HealthCheck, signing_secret: str | None
) -> tuple[web.Application, EventsEndpoint | None]:
    """The aiohttp application serving Slack's requests and the health check.

    Without a signing secret (Socket Mode) there is no events route: Socket Mode envelopes
    are not signature-checked, so the route must not exist.
    """

    async def healthz(_request: web.Request) -> web.StreamResponse:
        report = await health()
        return web.json_response(report, status=200 if report.get("ok") else 503)

    application = web.Application(client_max_size=4 * 1024 * 1024)
    endpoint = EventsEndpoint(app, signing_secret) if signing_secret else None
    if endpoint is not None:
        application.router.add_post(EVENTS_PATH, endpoint.handle)
    application.router.add_get("/healthz", healthz)
    return application, endpoint


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
