"""The Messages tab (agent view): `app_home_opened` shows suggested prompts."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.slack.payloads import team_of
from handlers import Intake


def register(app: AsyncApp, intake: Intake) -> None:
    @app.event("app_home_opened")
    async def on_home_opened(event: dict[str, Any], body: dict[str, Any], context: Any) -> None:
        if event.get("tab") == "messages" and event.get("channel"):
            await intake.home_opened(
                str(event["user"]), str(event["channel"]), team_id=team_of(body, context)
            )
