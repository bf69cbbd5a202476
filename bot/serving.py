"""Run the bot until SIGINT/SIGTERM: HTTP mode, or Socket Mode (with /healthz on PORT)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

from bot.runtime import open_runtime
from bot.settings import Settings
from bot.slack.client import SocketMode
from bot.slack.front_door import start_http, web_app

logger = logging.getLogger(__name__)


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
            runtime.app,
            health=runtime.health,
            signing_secret=secret.reveal() if secret else None,
            inbox=runtime.inbox,
        )
        runner = await start_http(application, port=settings.port)
        socket_mode = None
        if settings.mode == "socket":
            assert settings.slack_app_token is not None  # Settings requires it in Socket Mode
            socket_mode = SocketMode(runtime.app, settings.slack_app_token)
            await socket_mode.connect()
            runtime.health.slack_ready = True
        logger.info("Slack Analyst is running (%s mode, port %d)", settings.mode, settings.port)
        try:
            await stop.wait()
        finally:
            logger.info("shutting down")
            runtime.begin_drain()
            # Events still arriving are recorded for the other replicas; running turns get
            # the grace period, then are handed back. The sockets close last; events
            # acknowledged by then are handed to their listeners.
            await runtime.worker.drain(settings.shutdown_grace_s)
            if socket_mode is not None:
                await socket_mode.close()
            await runner.cleanup()
            if endpoint is not None:
                await endpoint.drain()
