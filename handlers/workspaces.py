"""The app leaves a workspace: `app_uninstalled`, or `tokens_revoked` naming its bot token.

Both arrive without a usable token (Bolt skips authorization for them); the workspace is the
envelope's. A revocation of user tokens only changes nothing: the bot keeps none.
"""

from __future__ import annotations

from typing import Any, Protocol

from slack_bolt.async_app import AsyncApp

from bot.slack.payloads import team_of
from handlers import on_event


class Departures(Protocol):
    async def removed(self, team_id: str) -> None: ...


def register(app: AsyncApp, departures: Departures) -> None:
    @on_event(app, "app_uninstalled")
    async def on_uninstalled(body: dict[str, Any], context: Any) -> None:
        if team := team_of(body, context):
            await departures.removed(team)

    @on_event(app, "tokens_revoked")
    async def on_tokens_revoked(event: dict[str, Any], body: dict[str, Any], context: Any) -> None:
        tokens = event.get("tokens")
        bots = tokens.get("bot") if isinstance(tokens, dict) else None
        if bots and (team := team_of(body, context)):
            await departures.removed(team)
