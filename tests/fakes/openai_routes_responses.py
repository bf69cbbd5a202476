"""HTTP handlers for ``/responses``: create (JSON or SSE), retrieve (JSON or resumed SSE),
cancel, delete, input items. SSE framing is the real one: ``event: <type>\\ndata: <json>\\n\\n``.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp import web

from tests.fakes.openai_http import incoming
from tests.fakes.openai_responses import ResponseRun, ResponsesService
from tests.fakes.openai_routes import json_ok, paginate
from tests.fakes.openai_state import ApiError
from tests.fakes.scripted_model import Drop


def sse_frame(event: dict[str, Any]) -> bytes:
    data = json.dumps(event, separators=(",", ":"), ensure_ascii=False)
    return f"event: {event['type']}\ndata: {data}\n\n".encode()


def _abort(request: web.Request) -> None:
    if request.transport is not None:
        request.transport.abort()


class ResponseRoutes:
    def __init__(self, service: ResponsesService) -> None:
        self.service = service

    def register(self, router: web.UrlDispatcher) -> None:
        router.add_route("POST", "/v1/responses", self.create)
        router.add_route("GET", "/v1/responses/{response_id}", self.retrieve)
        router.add_route("DELETE", "/v1/responses/{response_id}", self.delete)
        router.add_route("POST", "/v1/responses/{response_id}/cancel", self.cancel)
        router.add_route("GET", "/v1/responses/{response_id}/input_items", self.input_items)

    async def create(self, request: web.Request) -> web.StreamResponse:
        body = incoming(request).json
        if not isinstance(body, dict):
            raise ApiError(400, "The request body must be a JSON object.")
        if body.get("background") and not body.get("stream"):
            run = self.service.start(body)
            return json_ok(run.response)  # queued; the work goes on server-side
        run = self.service.start(body)
        if body.get("stream"):
            return await self._stream(request, run, after=-1)
        return await self._await_result(request, run)

    async def _await_result(self, request: web.Request, run: ResponseRun) -> web.StreamResponse:
        try:
            await run.finished()
        except asyncio.CancelledError:
            self.service.abandon(run)
            raise
        if run.drop_at is not None:
            _abort(request)
            raise asyncio.CancelledError
        if run.error_event is not None:  # what a mid-stream error becomes without streaming
            error = run.error_event.get("error") or run.error_event
            kind = error.get("type") or "server_error"
            raise ApiError(
                400 if kind == "invalid_request_error" else 500,
                error["message"],
                type=kind,
                param=error.get("param"),
                code=error.get("code"),
            )
        return json_ok(run.response)

    async def _stream(
        self, request: web.Request, run: ResponseRun, after: int, obfuscate: bool = True
    ) -> web.StreamResponse:
        response = web.StreamResponse(
            headers={
                "Content-Type": "text/event-stream; charset=utf-8",
                "Cache-Control": "no-cache",
            }
        )
        await response.prepare(request)
        dropped = False
        try:
            async for event in run.follow(after):
                if isinstance(event, Drop):
                    dropped = True
                    break
                if not obfuscate:
                    event = {key: value for key, value in event.items() if key != "obfuscation"}
                await response.write(sse_frame(event))
        except asyncio.CancelledError:
            self.service.abandon(run)
            raise
        except ConnectionResetError:  # the client went away (a killed bot): nothing to answer
            self.service.abandon(run)
            return response
        if dropped:  # a scripted transport fault: cut the TCP connection mid-body
            _abort(request)
            raise asyncio.CancelledError
        await response.write_eof()
        return response

    async def retrieve(self, request: web.Request) -> web.StreamResponse:
        run = self.service.get(request.match_info["response_id"])
        if request.query.get("stream") != "true":
            return json_ok(run.response)
        if not (run.background and run.streamed):
            raise ApiError(
                400,
                "Streaming a stored response is only possible for responses created with "
                "background=true and stream=true.",
                param="stream",
            )
        after = int(request.query.get("starting_after", "-1"))
        obfuscate = request.query.get("include_obfuscation") != "false"
        return await self._stream(request, run, after=after, obfuscate=obfuscate)

    async def cancel(self, request: web.Request) -> web.Response:
        run = await self.service.cancel(request.match_info["response_id"])
        return json_ok(run.response)

    async def delete(self, request: web.Request) -> web.Response:
        run = self.service.get(request.match_info["response_id"])
        del self.service.runs[run.id]
        return json_ok({"id": run.id, "object": "response", "deleted": True})

    async def input_items(self, request: web.Request) -> web.Response:
        run = self.service.get(request.match_info["response_id"])
        return json_ok(paginate(run.input_items, request.query))
