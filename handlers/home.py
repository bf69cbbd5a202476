"""The app's tabs: `app_home_opened` shows suggested prompts in the Messages tab (agent view)
and the person's usage in the Home tab."""

from __future__ import annotations

from typing import Any, Protocol

from slack_bolt.async_app import AsyncApp

from bot.slack.payloads import team_of
from handlers import Intake, on_event


class Home(Protocol):
    async def opened(self, team_id: str, user_id: str) -> None:
        """The user opened the Home tab: show them their usage."""
        ...


def register(app: AsyncApp, intake: Intake, home: Home) -> None:
    @on_event(app, "app_home_opened")
    async def on_home_opened(event: dict[str, Any], body: dict[str, Any], context: Any) -> None:
        if event.get("tab") == "messages" and event.get("channel"):
            await intake.home_opened(
                str(event["user"]), str(event["channel"]), team_id=team_of(body, context)
            )
        elif event.get("tab") == "home" and event.get("user"):
            await home.opened(team_of(body, context), str(event["user"]))
