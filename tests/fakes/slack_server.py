"""The HTTP side of the fake Slack: routes, token check, argument check, faults, call records.

Requests are accepted exactly as slack_sdk sends them: JSON bodies (chat.*, assistant setStatus and
setSuggestedPrompts), query strings on POST with an empty form body (auth.test, chat.delete,
reactions.add, setTitle, files.getUploadURLExternal, files.completeUploadExternal), query strings
on GET (conversations.*, users.info, files.info), and form bodies. Errors are HTTP 200
``{"ok": false, "error": …}``; rate limits are HTTP 429 with ``Retry-After``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import secrets
import time
from collections.abc import Callable
from typing import Any, Self, TypeVar

from aiohttp import web

from tests.fakes import slack_chat, slack_conversations, slack_files, slack_streams
from tests.fakes.slack_faults import DOWNLOAD, UPLOAD, Faults
from tests.fakes.slack_methods import SPECS, SlackError
from tests.fakes.slack_state import Call, ResponseUrlPost, Workspace

logger = logging.getLogger(__name__)
T = TypeVar("T")
Handler = Callable[[Workspace, dict[str, Any]], dict[str, Any]]

HANDLERS: dict[str, Handler] = {
    "auth.test": slack_conversations.auth_test,
    "users.info": slack_conversations.users_info,
    "conversations.info": slack_conversations.conversations_info,
    "conversations.replies": slack_conversations.conversations_replies,
    "assistant.threads.setStatus": slack_conversations.set_status,
    "assistant.threads.setSuggestedPrompts": slack_conversations.set_suggested_prompts,
    "assistant.threads.setTitle": slack_conversations.set_title,
    "chat.postMessage": slack_chat.post_message,
    "chat.update": slack_chat.update,
    "chat.delete": slack_chat.delete,
    "chat.postEphemeral": slack_chat.post_ephemeral,
    "reactions.add": slack_chat.add_reaction,
    "chat.startStream": slack_streams.start,
    "chat.appendStream": slack_streams.append,
    "chat.stopStream": slack_streams.stop,
    "files.info": slack_files.files_info,
    "files.getUploadURLExternal": slack_files.get_upload_url,
    "files.completeUploadExternal": slack_files.complete_upload,
    "apps.connections.open": lambda ws, args: {},  # answered by the token check below
}
# Sent back in ``x-oauth-scopes`` like Slack does: the scopes the design's manifest grants.
BOT_SCOPES = ",".join([
    "app_mentions:read", "channels:history", "groups:history", "im:history", "mpim:history",
    "chat:write", "files:read", "files:write", "assistant:write", "reactions:write", "users:read",
    "channels:read",
])  # fmt: skip


class _ChangeFeed:
    """Wakes every waiter on each state change (``wait_for`` re-checks its predicate then).

    Like ``asyncio.Condition.notify_all``, but callable from plain methods too (the sync set-up
    helpers such as ``post_user_message`` change state without awaiting a lock)."""

    def __init__(self) -> None:
        self._waiters: list[asyncio.Future[None]] = []

    def notify(self) -> None:
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)
        self._waiters.clear()

    async def wait(self, seconds: float) -> None:
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        await asyncio.wait([waiter], timeout=seconds)


class SlackServer:
    """Serves one ``Workspace`` on 127.0.0.1 (port 0 = any free port) and records every call."""

    def __init__(self, ws: Workspace, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.ws = ws
        self.calls: list[Call] = []
        self._host, self._port = host, port
        self._runner: web.AppRunner | None = None
        self._changes = _ChangeFeed()
        self._update_times: list[float] = []

    # --- lifecycle and addresses ----------------------------------------------------------------

    async def start(self) -> Self:
        app = web.Application(client_max_size=64 * 1024**2)
        app.router.add_route("*", "/api/{method}", self._handle_api)
        app.router.add_post("/upload/v1/{upload_id}", self._handle_upload)
        app.router.add_get("/files-pri/{team_file}/download/{name}", self._handle_download)
        app.router.add_get("/files-pri/{team_file}/{name}", self._handle_download)
        app.router.add_post("/actions/{hook}", self._handle_response_url)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, self._host, self._port).start()
        self._port = self._runner.addresses[0][1]
        self.ws.root_url = self.url
        for record in self.ws.files.values():  # files added before start() get the real address
            record.root_url = self.url
        return self

    async def close(self) -> None:
        self._changes.notify()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def host(self) -> str:
        return f"{self._host}:{self._port}"

    @property
    def url(self) -> str:
        return f"http://{self.host}/"

    @property
    def base_url(self) -> str:
        return f"{self.url}api/"

    @property
    def bot_token(self) -> str:
        return self.ws.bot_token

    @property
    def faults(self) -> Faults:
        return self.ws.faults

    @property
    def stream_idle_timeout(self) -> float:
        return self.ws.stream_idle_timeout

    @stream_idle_timeout.setter
    def stream_idle_timeout(self, seconds: float) -> None:
        self.ws.stream_idle_timeout = seconds

    # --- Web API --------------------------------------------------------------------------------

    async def _handle_api(self, request: web.Request) -> web.StreamResponse:
        method, arrived = request.match_info["method"], time.monotonic()
        parse_error: SlackError | None = None
        try:
            args, warning = await _read_args(request)
        except SlackError as error:
            args, warning, parse_error = {}, None, error
        token = _bearer(request) or args.pop("token", None)
        args.pop("token", None)
        await asyncio.sleep(self.faults.take_delay(method))
        fault = self.faults.take(method)
        if fault is not None and fault.kind == "drop":
            self._record(
                Call(method, args, arrived, False, "connection_dropped", {}), request, token
            )
            return _drop(request)
        body: dict[str, Any]
        retry_after: int | None = None
        if fault is not None and fault.kind == "ratelimit":
            status, body, retry_after = (
                429,
                {"ok": False, "error": "ratelimited"},
                fault.retry_after,
            )
        elif fault is not None:
            status, body, retry_after = 200, {"ok": False, "error": fault.error}, None
        elif parse_error is not None:
            status, body, retry_after = 200, parse_error.to_response(), None
        else:
            status, body, retry_after = self._answer(method, args, token)
        if warning and body.get("ok"):
            body["warning"] = warning
            body.setdefault("response_metadata", {})["warnings"] = [warning]
        headers = {"x-slack-req-id": secrets.token_hex(16), "x-oauth-scopes": BOT_SCOPES}
        if retry_after is not None:
            headers["Retry-After"] = str(retry_after)
        call = Call(method, args, arrived, bool(body.get("ok")), body.get("error"), body)
        self._record(call, request, token)
        return web.json_response(body, status=status, headers=headers)

    def _answer(
        self, method: str, args: dict[str, Any], token: str | None
    ) -> tuple[int, dict[str, Any], int | None]:
        try:
            if method == "files.upload":
                raise SlackError(
                    "method_deprecated", "[ERROR] files.upload is retired; use files_upload_v2"
                )
            handler = HANDLERS.get(method)
            if handler is None:
                raise SlackError("unknown_method", req_method=method)
            if not token:
                raise SlackError("not_authed")
            if method == "apps.connections.open" and token == self.bot_token:
                raise SlackError("not_allowed_token_type")
            if token != self.bot_token:
                raise SlackError("invalid_auth")
            SPECS[method].check(args)
            if method == "chat.update" and (retry_after := self._update_budget()) is not None:
                return 429, {"ok": False, "error": "ratelimited"}, retry_after
            return 200, {"ok": True, **handler(self.ws, args)}, None
        except SlackError as error:
            return 200, error.to_response(), None

    def _update_budget(self) -> int | None:
        """Seconds to wait when ``faults.update_rate_limit`` is exhausted, else None (and count)."""
        per_minute = self.faults.update_per_minute
        now = time.monotonic()
        self._update_times = [t for t in self._update_times if now - t < 60]
        if per_minute is not None and len(self._update_times) >= per_minute:
            return max(1, math.ceil(60 - (now - self._update_times[0])))
        self._update_times.append(now)
        return None

    def _record(self, call: Call, request: web.Request, token: str | None) -> None:
        call.http_method, call.token = request.method, token
        self.calls.append(call)
        logger.info("%s %s -> %s", request.method, call.method, call.error or "ok")
        self._changes.notify()

    # --- raw routes: upload URL, file hosting, response_url ------------------------------------

    async def _raw_fault(self, route: str, request: web.Request) -> web.StreamResponse | None:
        await asyncio.sleep(self.faults.take_delay(route))
        fault = self.faults.take(route)
        if fault is None:
            return None
        if fault.kind == "drop":
            return _drop(request)
        status = 429 if fault.kind == "ratelimit" else 500
        return web.Response(status=status, text=fault.error, headers={"Retry-After": "1"})

    async def _handle_upload(self, request: web.Request) -> web.StreamResponse:
        response = await self._raw_fault(UPLOAD, request)
        if response is None:
            response = await slack_files.receive_upload(self.ws, request)
        self._changes.notify()
        return response

    async def _handle_download(self, request: web.Request) -> web.StreamResponse:
        file_id = request.match_info["team_file"].rsplit("-", 1)[-1]
        held = self.faults.held_files.get(file_id)
        if held is not None:
            self.ws.held_downloads.append(file_id)
            self._changes.notify()
            try:
                released = await _held(request, held)
            finally:
                self.ws.held_downloads.remove(file_id)
            if not released:
                self.ws.aborted_downloads.append(file_id)
                self._changes.notify()
                return web.Response(status=499, text="client gone")
        response = await self._raw_fault(DOWNLOAD, request)
        if response is None:
            response = slack_files.serve_file(self.ws, request)
        self._changes.notify()
        return response

    async def _handle_response_url(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.ws.response_posts.append(
            ResponseUrlPost(request.match_info["hook"], body, time.monotonic())
        )
        self._changes.notify()
        return web.Response(text="ok")

    async def wait_for(
        self,
        predicate: Callable[[], T],
        timeout: float = 5.0,  # noqa: ASYNC109 - a deadline argument is this helper's API
        message: str | None = None,
        *,
        poll: float | None = None,
    ) -> T:
        """Return the predicate's first truthy value, re-checked after every change in the fake
        (and every ``poll`` seconds, for conditions that depend on time alone, like stream idle
        expiry). A predicate may also ``assert``; at the deadline the last failure is reported."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        last_error = ""
        result: T | None
        while True:
            try:
                result = predicate()
            except AssertionError as error:
                result, last_error = None, str(error)
            if result:
                return result
            remaining = deadline - loop.time()
            if remaining <= 0:
                recent = "\n".join(f"  {c.method}: {c.error or 'ok'}" for c in self.calls[-10:])
                what = message or getattr(predicate, "__name__", repr(predicate))
                raise AssertionError(
                    f"wait_for timed out after {timeout}s: {what}"
                    + (f"\nlast assertion: {last_error}" if last_error else "")
                    + f"\nlast Web API calls:\n{recent or '  (none)'}"
                )
            await self._changes.wait(remaining if poll is None else min(poll, remaining))


# --- request helpers ----------------------------------------------------------------------------


def _bearer(request: web.Request) -> str | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() or None if scheme == "Bearer" else None


async def _read_args(request: web.Request) -> tuple[dict[str, Any], str | None]:
    """Query string, then form or JSON body, merged (body wins), plus Slack's charset warning."""
    args: dict[str, Any] = dict(request.query)
    if request.method != "POST" or not request.can_read_body:
        return args, None
    charset = request.charset
    if request.content_type == "application/json":
        try:
            body = json.loads(await request.text())
        except json.JSONDecodeError:
            raise SlackError("invalid_json") from None
        if not isinstance(body, dict):
            raise SlackError("invalid_json")
        args.update(body)
        return args, None if charset else "missing_charset"
    form = await request.post()
    args.update({k: v for k, v in form.items() if isinstance(v, str)})
    superfluous = charset and request.content_type == "application/x-www-form-urlencoded"
    return args, "superfluous_charset" if superfluous else None


def _drop(request: web.Request) -> web.Response:
    """Close the connection without answering; the client sees ServerDisconnectedError."""
    if request.transport is not None:
        request.transport.abort()
    return web.Response()


async def _held(request: web.Request, release: asyncio.Event) -> bool:
    """Wait for `release`; False if the client closed the connection first."""
    while not release.is_set():
        transport = request.transport
        if transport is None or transport.is_closing():
            return False
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(0.02):
                await release.wait()
    return True
