"""The HTTP side of the fake Slack: routes, token check, argument check, faults, call records.

Requests are accepted exactly as slack_sdk sends them: JSON bodies (chat.*, assistant setStatus and
setSuggestedPrompts), query strings on POST with an empty form body (auth.test, chat.delete,
reactions.add, setTitle, files.getUploadURLExternal, files.completeUploadExternal), query strings
on GET (conversations.*, users.info, files.info), and form bodies. Errors are HTTP 200
``{"ok": false, "error": …}``; rate limits are HTTP 429 with ``Retry-After``: Slack's per-method
token buckets (``slack_limits``, ``self.limits``, on by default) and ``faults.ratelimit``.

Two hosts serve files: the files host (this server, ``127.0.0.1``: ``url_private*``, token
checked) and the CDN (``slack_cdn``, ``localhost`` on its own port), to which the files host
redirects an authorised download while ``cdn_redirects`` is on (the default).

Several workspaces (``slack_teams``): each bot token opens its own, with its own state, faults
and rate limits; the OAuth flow (``slack_oauth``: ``/oauth/v2/authorize``, ``oauth.v2.access``)
installs the app in them.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Callable
from typing import Any, Self

from aiohttp import web

from tests.fakes import (
    slack_chat,
    slack_conversations,
    slack_files,
    slack_home,
    slack_sessions,
    slack_streams,
    slack_views,
)
from tests.fakes.slack_cdn import Cdn
from tests.fakes.slack_faults import Faults
from tests.fakes.slack_http import bearer, drop, read_args
from tests.fakes.slack_limits import PER_CHANNEL, RateLimits
from tests.fakes.slack_methods import SPECS, SlackError, arg_str
from tests.fakes.slack_oauth import FakeOAuth
from tests.fakes.slack_raw_routes import RawRoutes
from tests.fakes.slack_state import Call, Workspace
from tests.fakes.slack_teams import Teams
from tests.fakes.slack_waiting import ChangeFeed, Waiting

logger = logging.getLogger(__name__)
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
    "agents.sessions.setStatus": slack_sessions.set_status,
    "agents.sessions.rename": slack_sessions.rename,
    "views.open": slack_views.views_open,
    "views.update": slack_views.views_update,
    "views.push": slack_views.views_push,
    "views.publish": slack_home.views_publish,
    "apps.connections.open": lambda ws, args: {},  # answered by the token check below
}


class SlackServer(RawRoutes, Waiting):
    """Serves its workspaces on 127.0.0.1 (port 0 = any free port) and records every call;
    ``ws`` is the first workspace (every helper's default)."""

    def __init__(
        self,
        ws: Workspace,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        rate_limits: bool = True,
        rate_speed: float = 1.0,
        cdn_redirects: bool = True,
    ) -> None:
        self.ws = ws
        self.calls: list[Call] = []
        self.limits = RateLimits(enabled=rate_limits, speed=rate_speed)
        """The first workspace's rate limits (others copy its settings when added)."""
        self.teams = Teams(ws, self.limits)
        self.oauth = FakeOAuth(self.teams)
        self.cdn = Cdn(self.teams.file)
        self.cdn_redirects = cdn_redirects
        """Authorised downloads answer 302 to the CDN (True) or the bytes themselves (False)."""
        self._host, self._port = host, port
        self._runner: web.AppRunner | None = None
        self._changes = ChangeFeed()

    # --- lifecycle and addresses ----------------------------------------------------------------

    async def start(self) -> Self:
        app = web.Application(client_max_size=64 * 1024**2)
        app.router.add_route("*", "/api/{method}", self._handle_api)
        app.router.add_post("/upload/v1/{upload_id}", self._handle_upload)
        app.router.add_get("/files-pri/{team_file}/download/{name}", self._handle_download)
        app.router.add_get("/files-pri/{team_file}/{name}", self._handle_download)
        app.router.add_post("/actions/{team}/{hook}", self._handle_response_url)
        app.router.add_post("/commands/{team}/{hook}", self._handle_response_url)
        app.router.add_get("/oauth/v2/authorize", self._handle_authorize)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, self._host, self._port).start()
        self._port = self._runner.addresses[0][1]
        for ws in self.teams:
            ws.root_url = self.url
            for record in ws.files.values():  # files added before start() get the real address
                record.root_url = self.url
        await self.cdn.start(self._handle_cdn)
        return self

    async def close(self) -> None:
        self._changes.notify()
        await self.cdn.close()
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

    @property
    def stream_max_lifetime(self) -> float:
        return self.ws.stream_max_lifetime

    @stream_max_lifetime.setter
    def stream_max_lifetime(self, seconds: float) -> None:
        self.ws.stream_max_lifetime = seconds

    @property
    def cdn_host(self) -> str:
        """``localhost:<port>`` of the CDN (for the bot's allowed redirect hosts)."""
        return self.cdn.host

    # --- Web API --------------------------------------------------------------------------------

    async def _handle_api(self, request: web.Request) -> web.StreamResponse:
        method, arrived = request.match_info["method"], time.monotonic()
        parse_error: SlackError | None = None
        try:
            args, warning = await read_args(request)
        except SlackError as error:
            args, warning, parse_error = {}, None, error
        token = bearer(request) or args.pop("token", None)
        args.pop("token", None)
        faults = self._workspace_of(token).faults
        await asyncio.sleep(faults.take_delay(method))
        fault = faults.take(method)
        if fault is not None and fault.kind == "drop":
            self._record(
                Call(method, args, arrived, False, "connection_dropped", {}), request, token
            )
            return drop(request)
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
        elif method == "oauth.v2.access":
            status, body, retry_after = 200, self._exchange(args, request), None
        else:
            status, body, retry_after = self._answer(method, args, token)
        if warning and body.get("ok"):
            warnings = [*body.get("response_metadata", {}).get("warnings", []), warning]
            body["warning"] = ",".join(warnings)
            body.setdefault("response_metadata", {})["warnings"] = warnings
        headers = {"x-slack-req-id": secrets.token_hex(16)}
        if token and (live := self._live_workspace(token)) is not None:
            headers["x-oauth-scopes"] = ",".join(live.scopes)  # as Slack: the token's grant
        if retry_after is not None:
            headers["Retry-After"] = str(retry_after)
        call = Call(method, args, arrived, bool(body.get("ok")), body.get("error"), body)
        self._record(call, request, token)
        return web.json_response(body, status=status, headers=headers)

    def _live_workspace(self, token: str) -> Workspace | None:
        try:
            return self.teams.opened_by(token)
        except SlackError:
            return None

    def _workspace_of(self, token: str | None) -> Workspace:
        """The workspace a token belongs (or belonged) to; the first one when it names none."""
        team = self.teams.team_of(token)
        return self.teams.get(team) if team is not None else self.ws

    def _exchange(self, args: dict[str, Any], request: web.Request) -> dict[str, Any]:
        try:
            return {"ok": True, **self.oauth.access(args, request.headers.get("Authorization"))}
        except SlackError as error:
            return error.to_response()

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
            if method == "apps.connections.open" and self.teams.is_bot_token(token):
                raise SlackError("not_allowed_token_type")
            ws = self.teams.opened_by(token)
            limits = self.teams.limits(ws)
            retry_after = limits.take(method, self._limit_channel(ws, method, args))
            if retry_after is not None:
                return 429, {"ok": False, "error": "ratelimited"}, retry_after
            SPECS[method].check(args)
            return 200, {"ok": True, **handler(ws, args)}, None
        except SlackError as error:
            return 200, error.to_response(), None

    def _limit_channel(self, ws: Workspace, method: str, args: dict[str, Any]) -> str | None:
        """The channel whose bucket a per-channel method draws on (a user ID means their DM)."""
        if method not in PER_CHANNEL:
            return None
        try:
            channel = arg_str(args, PER_CHANNEL[method])
        except SlackError:
            return None
        return slack_chat.resolve_channel(ws, channel)

    def _record(self, call: Call, request: web.Request, token: str | None) -> None:
        call.http_method, call.token = request.method, token
        call.team = self.teams.team_of(token)
        self.calls.append(call)
        logger.info("%s %s -> %s", request.method, call.method, call.error or "ok")
        self._changes.notify()
