"""Slack's native Stop button on a thread's agent session (`agent_session_stopped`)."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.core.turns import ThreadKey
from bot.slack.payloads import team_of
from handlers import on_event
from handlers.actions import Controls


def register(app: AsyncApp, controls: Controls) -> None:
    @on_event(app, "agent_session_stopped")
    async def on_session_stopped(event: dict[str, Any], body: dict[str, Any], context: Any) -> None:
        channel, thread_ts = event.get("channel"), event.get("thread_ts")
        if channel and thread_ts:
            key = ThreadKey(team_of(body, context), str(channel), str(thread_ts))
            await controls.session_stopped(key, str(event.get("user") or ""))
