"""The HTTP front door: `POST /slack/events` (signed), the operational endpoints (`GET /livez`,
`/readyz`, `/healthz`, `/metrics`: see `bot.probes`), and with OAuth installs
`GET /slack/install` and `GET /slack/oauth_redirect`."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections import deque
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any, Protocol

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.signature import SignatureVerifier

from bot.slack.inbox import SETTLEMENT, Delivery, EventInbox
from bot.slack.install_routes import InstallPages

logger = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
RECORD_WITHIN_S = 2.0
"""How long an event's record may hold up its 200 (Slack waits 3 s, then delivers again)."""
# Slack's event ids (`Ev0PV52K21`); anything else in `event_id` is not logged.
_EVENT_ID = re.compile(r"Ev[0-9A-Z]{1,40}")


class HealthChecks(Protocol):
    """What the operational endpoints answer (`bot.probes.Probes`)."""

    content_type: str

    def live(self) -> dict[str, Any]: ...

    async def ready(self) -> dict[str, Any]: ...

    async def healthz(self) -> dict[str, Any]: ...

    async def scrape(self) -> bytes: ...


class EventsEndpoint:
    """`POST /slack/events`.

    Every request's signature is checked first, before its body is parsed: anything unsigned,
    stale, or with a malformed timestamp or signature header is answered 401, as Bolt does.
    A signed body is parsed once, by Bolt's own request type; a body it cannot parse
    (broken JSON, a JSON value that is not an object, a malformed `payload=` form field) is
    answered 400 and goes no further.

    A signed Events API delivery (`event_callback`) is recorded in the inbox
    (`bot.slack.inbox`), acknowledged, and queued for Bolt: Slack never delivers an
    acknowledged event again, so a process that dies before handling it leaves the record
    for another replica. A copy of an event already recorded is acknowledged and dropped; an
    event the store cannot record is still acknowledged and handled here (its listener tells
    the asker if the question cannot be recorded either). Bolt auto-acks events before their
    listeners run anyway; acking before dispatching keeps the answer to Slack independent of
    everything else the process is doing. One owned task hands queued events to Bolt one at
    a time, yielding between them so a burst of deliveries is acknowledged before the
    listener work it brings; an event that fails inside Bolt is logged and handed back to the
    inbox, never the end of that task. Everything else (url_verification, interactivity)
    goes through Bolt synchronously.
    """

    def __init__(
        self, app: AsyncApp, signing_secret: str, *, inbox: EventInbox | None = None
    ) -> None:
        self._app = app
        self._verifier = SignatureVerifier(signing_secret)
        self._inbox = inbox
        self._queue: deque[tuple[AsyncBoltRequest, Delivery | None]] = deque()
        self._dispatcher: asyncio.Task[None] | None = None

    async def handle(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        if not self._is_signed(raw, request.headers):
            logger.debug("refused a request without a valid signature")
            return web.json_response({"error": "invalid request"}, status=401)
        headers: dict[str, str | Sequence[str]] = dict(request.headers)
        try:
            # Bolt parses the body here (JSON, form fields, a `payload=` field).
            bolt_request = AsyncBoltRequest(
                body=raw.decode(), query=request.query_string, headers=headers
            )
            if not isinstance(bolt_request.body, dict):
                raise TypeError("the request body is not an object")
        except Exception as error:
            return _refused(error)
        if bolt_request.body.get("type") == "event_callback":
            delivery = None
            if self._inbox is not None:
                try:
                    async with asyncio.timeout(RECORD_WITHIN_S):
                        delivery = await self._inbox.record(bolt_request.body)
                except Exception as error:  # handled here all the same, as without an inbox
                    logger.warning(
                        "could not record event %s before acknowledging it (%s)",
                        _event_id(bolt_request.body),
                        type(error).__name__,
                    )
                else:
                    if delivery is None:  # a copy of an event already recorded
                        return web.Response(status=200)
            self._queue.append((bolt_request, delivery))
            self._ensure_dispatcher()
            return web.Response(status=200)
        try:
            bolt_response = await self._app.async_dispatch(bolt_request)
        except Exception as error:  # a body Bolt's middleware or matchers cannot handle
            return _refused(error)
        return await to_aiohttp_response(bolt_response)

    async def drain(self) -> None:
        """Wait until every acknowledged event has been handed to its listener."""
        while True:
            self._ensure_dispatcher()  # a dispatcher that ended early left events behind
            dispatcher = self._dispatcher
            if dispatcher is None or dispatcher.done():
                break
            await asyncio.gather(dispatcher, return_exceptions=True)
        if self._inbox is not None:
            await self._inbox.flush()

    async def recovering(self, _application: web.Application) -> AsyncIterator[None]:
        """While the server runs: keep the inbox's leases and handle the events of replicas
        that died (an aiohttp cleanup context)."""
        if self._inbox is None:
            yield
            return
        task = asyncio.create_task(self._inbox.recover(self._redeliver))
        try:
            yield
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    def _redeliver(self, body: Mapping[str, Any], delivery: Delivery) -> None:
        """Queue a recorded event again, signed anew (Bolt checks every request's signature
        and its age)."""
        raw = json.dumps(body)
        timestamp = str(int(time.time()))
        signature = self._verifier.generate_signature(timestamp=timestamp, body=raw) or ""
        headers: dict[str, str | Sequence[str]] = {
            "content-type": "application/json",
            "x-slack-request-timestamp": timestamp,
            "x-slack-signature": signature,
        }
        self._queue.append((AsyncBoltRequest(body=raw, headers=headers), delivery))
        self._ensure_dispatcher()

    def _is_signed(self, body: bytes, headers: Mapping[str, str]) -> bool:
        try:
            return self._verifier.is_valid_request(body, headers)
        except (ArithmeticError, TypeError, ValueError):
            # A non-numeric or out-of-range timestamp, a non-ASCII signature, a body that is
            # not UTF-8: none of them carries a valid signature.
            return False

    def _ensure_dispatcher(self) -> None:
        if self._queue and (self._dispatcher is None or self._dispatcher.done()):
            self._dispatcher = asyncio.create_task(self._dispatch_queued())

    async def _dispatch_queued(self) -> None:
        while self._queue:
            request, delivery = self._queue.popleft()
            settlement = None
            if delivery is not None and self._inbox is not None:
                settlement = self._inbox.settlement(delivery)
                request.context[SETTLEMENT] = settlement
            handled = False
            try:
                response = await self._app.async_dispatch(request)
                handled = response.status < 500
            except Exception as error:
                logger.warning(
                    "an acknowledged event failed in Bolt (%s, event_id=%s)",
                    type(error).__name__,
                    _event_id(request.body),
                )
                logger.debug("the failure of an acknowledged event", exc_info=error)
            else:
                if response.status != 200:
                    logger.warning(
                        "an acknowledged event was not handled (Bolt answered %d, event_id=%s)",
                        response.status,
                        _event_id(request.body),
                    )
            finally:
                if settlement is not None:
                    settlement.end(ok=handled)
            await asyncio.sleep(0)  # acknowledge newly arrived deliveries first


def _refused(error: Exception) -> web.Response:
    """400 for a signed request whose body Bolt cannot parse or handle.

    Only the exception's type is logged: its message may quote the sender's body.
    """
    logger.warning("refused a signed request with a malformed body (%s)", type(error).__name__)
    logger.debug("the malformed request's failure", exc_info=error)
    return web.json_response({"error": "malformed request body"}, status=400)


def _event_id(body: Mapping[str, Any]) -> str | None:
    event_id = body.get("event_id")
    return event_id if isinstance(event_id, str) and _EVENT_ID.fullmatch(event_id) else None


def web_app(
    app: AsyncApp,
    *,
    health: HealthChecks,
    signing_secret: str | None,
    inbox: EventInbox | None = None,
) -> tuple[web.Application, EventsEndpoint | None]:
    """The aiohttp application serving Slack's requests and the operational endpoints.

    Without a signing secret (Socket Mode) there is no events route: Socket Mode envelopes
    are not signature-checked, so the route must not exist. With an `inbox`, events are
    recorded before they are acknowledged, and the server's lifetime is the inbox's. The
    install pages exist when the app installs through OAuth.
    """
    application = web.Application(client_max_size=4 * 1024 * 1024)
    endpoint = EventsEndpoint(app, signing_secret, inbox=inbox) if signing_secret else None
    if endpoint is not None:
        application.router.add_post(EVENTS_PATH, endpoint.handle)
        application.cleanup_ctx.append(endpoint.recovering)
    if app.oauth_flow is not None:
        InstallPages(app.oauth_flow).add_routes(application)
    _add_probes(application, health)
    return application, endpoint


def _add_probes(application: web.Application, health: HealthChecks) -> None:
    async def livez(_request: web.Request) -> web.StreamResponse:
        return web.json_response(health.live())

    async def readyz(_request: web.Request) -> web.StreamResponse:
        return _probe(await health.ready())

    async def healthz(_request: web.Request) -> web.StreamResponse:
        return _probe(await health.healthz())

    async def metrics(_request: web.Request) -> web.StreamResponse:
        body = await health.scrape()
        return web.Response(body=body, headers={"Content-Type": health.content_type})

    application.router.add_get("/livez", livez)
    application.router.add_get("/readyz", readyz)
    application.router.add_get("/healthz", healthz)
    application.router.add_get("/metrics", metrics)


def _probe(report: dict[str, Any]) -> web.Response:
    return web.json_response(report, status=200 if report.get("ok") else 503)


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
