"""The fake Slack's routes that are not Web API methods: the upload URL, file hosting (the files
host and the CDN), response URLs, and the OAuth authorize page (a mixin of ``SlackServer``).
Each serves the workspace the request belongs to (named in its path, or owning its file or
upload), with that workspace's faults."""

from __future__ import annotations

import asyncio
import json
import time

from aiohttp import web

from tests.fakes import slack_commands, slack_files
from tests.fakes.slack_cdn import Cdn
from tests.fakes.slack_faults import CDN, DOWNLOAD, UPLOAD
from tests.fakes.slack_http import drop, held
from tests.fakes.slack_oauth import FakeOAuth
from tests.fakes.slack_state import ResponseUrlPost, Workspace
from tests.fakes.slack_teams import Teams
from tests.fakes.slack_waiting import ChangeFeed


class RawRoutes:
    ws: Workspace
    teams: Teams
    cdn: Cdn
    cdn_redirects: bool
    oauth: FakeOAuth
    _changes: ChangeFeed

    async def _raw_fault(
        self, route: str, request: web.Request, ws: Workspace
    ) -> web.StreamResponse | None:
        await asyncio.sleep(ws.faults.take_delay(route))
        fault = ws.faults.take(route)
        if fault is None:
            return None
        if fault.kind == "drop":
            return drop(request)
        status = 429 if fault.kind == "ratelimit" else 500
        return web.Response(status=status, text=fault.error, headers={"Retry-After": "1"})

    async def _handle_upload(self, request: web.Request) -> web.StreamResponse:
        ws = self.teams.with_upload(request.match_info["upload_id"]) or self.ws
        response = await self._raw_fault(UPLOAD, request, ws)
        if response is None:
            response = await slack_files.receive_upload(ws, request)
        self._changes.notify()
        return response

    async def _handle_download(self, request: web.Request) -> web.StreamResponse:
        team, _, file_id = request.match_info["team_file"].rpartition("-")
        ws = self.teams.find(team) or self.ws
        hold = ws.faults.held_files.get(file_id)
        if hold is not None:
            ws.held_downloads.append(file_id)
            self._changes.notify()
            try:
                released = await held(request, hold)
            finally:
                ws.held_downloads.remove(file_id)
            if not released:
                ws.aborted_downloads.append(file_id)
                self._changes.notify()
                return web.Response(status=499, text="client gone")
        response = await self._raw_fault(DOWNLOAD, request, ws)
        if response is None:
            redirect = self.cdn.presign if self.cdn_redirects else None
            response = slack_files.serve_file(ws, request, redirect)
        self._changes.notify()
        return response

    async def _handle_cdn(self, request: web.Request) -> web.StreamResponse:
        record = self.teams.file(request.match_info["file_id"])
        ws = self.teams.find(record.team_id) if record is not None else None
        response = await self._raw_fault(CDN, request, ws or self.ws)
        if response is None:
            response = self.cdn.serve(request)
        self._changes.notify()
        return response

    async def _handle_response_url(self, request: web.Request) -> web.Response:
        kind, hook = request.path.split("/")[1], request.match_info["hook"]
        ws = self.teams.find(request.match_info["team"]) or self.ws
        raw = await request.read()
        status, text = slack_commands.response_url_post(ws, kind, hook, raw)
        if status == 200:
            body = json.loads(raw)
            ws.response_posts.append(ResponseUrlPost(hook, body, time.monotonic()))
        self._changes.notify()
        return web.Response(status=status, text=text)

    async def _handle_authorize(self, request: web.Request) -> web.Response:
        response = self.oauth.authorize(request)
        self._changes.notify()
        return response
