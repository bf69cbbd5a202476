"""The composition root: opens every long-lived resource once, wires the parts, runs the bot.

aiohttp session ─┬─ Slack AsyncWebClient ─┬─ Bolt app (handlers)  ─┐
                 │                        ├─ SlackRenderer        │
                 │                        └─ Slack readers        ├─ AnalystService ── Worker
                 └─ FileRelay ────────────── OpenAIEngine ────────┤
store (SQLite/PostgreSQL) ────────────────────────────────────────┘
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import signal
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from bot.app import build_app, start_http, web_app
from bot.controls import TurnControls
from bot.engine import OpenAIEngine, open_client
from bot.file_drop import FileDropProfiler
from bot.files import FileRelay
from bot.render_slack import SlackRenderer
from bot.service import AnalystService
from bot.settings import Secret, Settings
from bot.slack_surface import SlackSurface
from bot.turns import Turn
from bot.worker import Worker
from bot.workspace import WorkspaceBuilder
from handlers.slack_reads import SlackDirectory, SlackFileResolver, SlackThreadHistory
from store import Store, open_store

logger = logging.getLogger(__name__)


@dataclass
class Runtime:
    """Everything a running bot is made of (tests reach in through this)."""

    settings: Settings
    app: AsyncApp
    service: AnalystService
    worker: Worker
    store: Store
    slack: AsyncWebClient

    async def health(self) -> dict[str, Any]:
        try:
            async with self.store.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
            database = "ok"
        except (SQLAlchemyError, OSError) as error:  # the health check reports, never raises
            database = type(error).__name__
        return {
            "ok": database == "ok",
            "mode": self.settings.mode,
            "database": database,
            "running_turns": self.worker.running,
        }


def slack_client(settings: Settings, session: aiohttp.ClientSession) -> AsyncWebClient:
    """The Slack Web API client every part shares (Bolt copies its retry handlers)."""
    token = settings.slack_bot_token
    return AsyncWebClient(
        token=token.reveal() if token else None,
        base_url=settings.slack_api_url,
        session=session,
        retry_handlers=[
            AsyncConnectionErrorRetryHandler(max_retry_count=2),
            AsyncRateLimitErrorRetryHandler(max_retry_count=3),
            AsyncServerErrorRetryHandler(max_retry_count=1),
        ],
    )


@contextlib.asynccontextmanager
async def open_runtime(settings: Settings, *, native_stream: bool = True) -> AsyncIterator[Runtime]:
    """Open resources, wire the bot, start the worker; close everything on exit."""
    assert settings.slack_bot_token is not None
    async with contextlib.AsyncExitStack() as stack:
        session = await stack.enter_async_context(
            aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=10, sock_read=120)
            )
        )
        store = await stack.enter_async_context(open_store(settings.database_url))
        openai_client = await stack.enter_async_context(open_client(settings))
        slack = slack_client(settings, session)
        engine = OpenAIEngine(
            openai_client,
            model=settings.model,
            rate_limit_budget_s=settings.rate_limit_wait_s,
            idle_timeout_s=settings.stream_idle_timeout_s,
        )
        directory = SlackDirectory(slack)
        relay = FileRelay(
            session,
            token=settings.slack_bot_token,
            allowed_hosts=settings.slack_file_hosts,
            max_bytes=settings.max_file_bytes,
            uploader=engine,
            resolve=SlackFileResolver(slack),
        )

        history = SlackThreadHistory(slack, directory)
        surface = SlackSurface(slack)

        def renderer(turn: Turn, turn_id: int) -> SlackRenderer:
            return SlackRenderer(
                slack,
                key=turn.key,
                user_id=turn.user_id,
                turn_id=turn_id,
                native_stream=native_stream,
            )

        service = AnalystService(
            store=store,
            engine=engine,
            workspace=WorkspaceBuilder(
                store=store, engine=engine, relay=relay, max_file_bytes=settings.max_file_bytes
            ),
            renderers=renderer,
            directory=directory,
            history=history,
            instructions=settings.instructions,
            turn_timeout_s=settings.turn_timeout_s,
            surface=surface,
        )
        worker = Worker(
            turns=store.turns,
            run=service.run,
            report_interrupted=service.report_interrupted,
            cancel=lambda turn_id, by: service.cancel(turn_id, by=by),
            owner=f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}",
            capacity=settings.max_concurrent_turns,
        )
        service.on_submit(worker.wake)
        controls = TurnControls(store=store, service=service, renderers=renderer, history=history)
        drops = FileDropProfiler(store=store, fetcher=relay, poster=surface)
        app = build_app(settings, client=slack, intake=service, controls=controls, drops=drops)
        await stack.enter_async_context(worker.started())
        stack.push_async_callback(service.quiesce)  # runs before the worker drains
        yield Runtime(settings, app, service, worker, store, slack)


async def serve(settings: Settings) -> None:
    """Run until SIGINT/SIGTERM: HTTP mode, or Socket Mode (with /healthz on PORT)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    async with open_runtime(settings) as runtime:
        secret = settings.slack_signing_secret if settings.mode == "http" else None
        application, endpoint = web_app(
            runtime.app, health=runtime.health, signing_secret=secret.reveal() if secret else None
        )
        runner = await start_http(application, port=settings.port)
        socket_mode = None
        if settings.mode == "socket":
            socket_mode = AsyncSocketModeHandler(runtime.app, _reveal(settings.slack_app_token))
            await socket_mode.connect_async()  # type: ignore[no-untyped-call]  # untyped in Bolt
        logger.info("Slack Analyst is running (%s mode, port %d)", settings.mode, settings.port)
        try:
            await stop.wait()
        finally:
            logger.info("shutting down")
            if socket_mode is not None:
                await socket_mode.close_async()  # type: ignore[no-untyped-call]
            await runner.cleanup()
            if endpoint is not None:
                await endpoint.drain()


def _reveal(secret: Secret | None) -> str:
    assert secret is not None
    return secret.reveal()
