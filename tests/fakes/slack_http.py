"""Reading requests the way slack_sdk sends them, and the raw HTTP tricks the fake plays."""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

from aiohttp import web

from tests.fakes.slack_methods import SlackError


def bearer(request: web.Request) -> str | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() or None if scheme == "Bearer" else None


async def read_args(request: web.Request) -> tuple[dict[str, Any], str | None]:
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


def drop(request: web.Request) -> web.Response:
    """Close the connection without answering; the client sees ServerDisconnectedError."""
    if request.transport is not None:
        request.transport.abort()
    return web.Response()


async def held(request: web.Request, release: asyncio.Event) -> bool:
    """Wait for `release`; False if the client closed the connection first."""
    while not release.is_set():
        transport = request.transport
        if transport is None or transport.is_closing():
            return False
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(0.02):
                await release.wait()
    return True
