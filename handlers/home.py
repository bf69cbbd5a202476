"""The Messages tab (agent view): `app_home_opened`."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp

from handlers import Intake


def register(app: AsyncApp, intake: Intake) -> None:
    @app.event("app_home_opened")
    async def on_home_opened(event: dict[str, Any]) -> None:
        # Acked so Slack does not retry; suggested prompts arrive with the Slack UX work.
        return None
