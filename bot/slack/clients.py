"""`SlackClients`: the Slack client of each workspace, for every Slack call the bot makes.

    clients.for_team(turn.key.team_id).chat_postMessage(…)    # that workspace's token and budget

With `SLACK_BOT_TOKEN` (`OneWorkspace`) every workspace id gets the one client. With OAuth
installs (`InstalledWorkspaces`) each workspace gets its own `ScheduledSlack` — its own bot
token and its own rate-limit budget, as Slack counts limits per workspace — made on first use
(listeners, the worker running a turn later, a redelivery after a restart) with its token
looked up in the installation store, and dropped when the app leaves the workspace: calls
still in flight on a dropped client fail at once (`NotInstalled`), never with another
workspace's token.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Protocol

from bot.core.records import Installation
from bot.settings import Secret
from bot.slack.client import Credentials, NotInstalled, ScheduledSlack

logger = logging.getLogger(__name__)

ClientFactory = Callable[[Credentials], ScheduledSlack]


class InstallationLookup(Protocol):
    async def find(self, team_id: str) -> Installation | None: ...


class SlackClients(Protocol):
    def for_team(self, team_id: str) -> ScheduledSlack:
        """The client that speaks for the app in this workspace."""
        ...

    async def token(self, team_id: str) -> Secret:
        """The workspace's bot token (file downloads send it); `NotInstalled` if none."""
        ...

    def drop(self, team_id: str) -> None:
        """The app left the workspace: forget its client (calls in flight fail at once)."""
        ...


class OneWorkspace:
    """`SLACK_BOT_TOKEN`: the one client and token, whatever the workspace id."""

    def __init__(self, client: ScheduledSlack, token: Secret) -> None:
        self._client = client
        self._token = token

    def for_team(self, team_id: str) -> ScheduledSlack:
        return self._client

    async def token(self, team_id: str) -> Secret:
        return self._token

    def drop(self, team_id: str) -> None:
        """Nothing to forget: the token is the operator's to replace."""


class InstalledWorkspaces:
    """OAuth installs: one client per workspace, its token from the installation store."""

    def __init__(self, installations: InstallationLookup, make: ClientFactory) -> None:
        self._installations = installations
        self._make = make
        self._clients: dict[str, ScheduledSlack] = {}

    def for_team(self, team_id: str) -> ScheduledSlack:
        client = self._clients.get(team_id)
        if client is None:
            client = self._clients[team_id] = self._make(self._credentials(team_id))
        return client

    async def token(self, team_id: str) -> Secret:
        return Secret(await self.for_team(team_id).bot_token())

    def installed(self, installation: Installation) -> None:
        """A fresh look at a workspace's installation (an install, an event): its client uses
        that token from now on."""
        self.for_team(installation.team_id).use_token(installation.bot_token)

    def drop(self, team_id: str) -> None:
        client = self._clients.pop(team_id, None)
        if client is not None:
            client.retire()
            logger.info("dropped the Slack client of %s", team_id)

    def _credentials(self, team_id: str) -> Credentials:
        async def look_up() -> str:
            installation = await self._installations.find(team_id)
            if installation is None:
                raise NotInstalled(f"the app is not installed in {team_id}")
            return installation.bot_token

        return look_up
