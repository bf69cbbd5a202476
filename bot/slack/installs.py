"""Installs through OAuth, kept in the bot's own database, as Bolt and slack_sdk ask for them.

    Bolt's OAuth flow ──save──▶ InstallationStore ──▶ Installs.save ──▶ store (one row per
                                                         │              workspace), un-retired,
    Bolt, per event ──▶ InstalledAuthorize ──find──┘     └▶ the workspace's client's token
    app_uninstalled / tokens_revoked ──▶ Installs.remove (row deleted, client dropped)

Why our own store rather than slack_sdk's `AsyncSQLAlchemyInstallationStore`: its tables
are made by `metadata.create_all`, outside our migrations; it keeps every install forever
(one row per install, bots and installations apart) where the bot needs the current one; it
writes past the store's SQLite write lock; and its state store selects then deletes, so two
callbacks racing with one state (two replicas) may both pass. Ours: one row per workspace
(`store.installations`), created by migration 0008, a state consumed by one DELETE.

Events are authorized by reading the workspace's row each time (no `auth.test`: the row
has the bot's ids), so an uninstall handled by one replica is seen by all at once.
"""

from __future__ import annotations

import logging
import secrets
from datetime import UTC, datetime
from logging import Logger
from typing import Any, Protocol

from slack_bolt.authorization import AuthorizeResult
from slack_bolt.authorization.async_authorize import AsyncAuthorize
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.error import BoltError
from slack_sdk.oauth.installation_store import Bot
from slack_sdk.oauth.installation_store import Installation as SlackInstallation
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.state_store.async_state_store import AsyncOAuthStateStore

from bot.core.records import Installation
from bot.slack.clients import InstalledWorkspaces

logger = logging.getLogger(__name__)


class InstallRecords(Protocol):
    """`store.installations.Installations`."""

    async def save(self, installation: Installation) -> None: ...

    async def find(self, team_id: str) -> Installation | None: ...

    async def delete(self, team_id: str) -> bool: ...

    async def issue_state(self, state: str, *, ttl_s: float) -> None: ...

    async def consume_state(self, state: str) -> bool: ...


class Retirements(Protocol):
    async def returned(self, team_id: str) -> None: ...


class Installs:
    """A workspace's installation: recorded, looked up, ended."""

    def __init__(
        self, records: InstallRecords, clients: InstalledWorkspaces, retired: Retirements
    ) -> None:
        self.records = records
        self._clients = clients
        self._retired = retired

    async def save(self, installation: Installation) -> None:
        """Record an install. A workspace that reinstalls is served again at once; what it
        had before it left is still deleted by the retention job, what it does now is kept."""
        await self.records.save(installation)
        await self._retired.returned(installation.team_id)
        self._clients.installed(installation)
        logger.info("installed in %s (by %s)", installation.team_id, installation.installer_user_id)

    async def find(self, team_id: str) -> Installation | None:
        installation = await self.records.find(team_id)
        if installation is not None:
            self._clients.installed(installation)
        return installation

    async def remove(self, team_id: str) -> None:
        """The app left the workspace: its installation and its client are gone."""
        await self.records.delete(team_id)
        self._clients.drop(team_id)


class InstalledAuthorize(AsyncAuthorize):
    """Bolt's authorization of each request: the workspace's installation, or nothing (Bolt
    then drops the request unanswered by any listener)."""

    def __init__(self, installs: Installs) -> None:
        self._installs = installs

    async def __call__(
        self,
        *,
        context: AsyncBoltContext,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None,
        actor_enterprise_id: str | None = None,
        actor_team_id: str | None = None,
        actor_user_id: str | None = None,
    ) -> AuthorizeResult | None:
        installation = await self._installs.find(team_id) if team_id else None
        if installation is None:
            logger.info("ignored a request from %s: the app is not installed there", team_id)
            return None
        return AuthorizeResult(
            enterprise_id=installation.enterprise_id,
            team_id=installation.team_id,
            team=installation.team_name,
            bot_user_id=installation.bot_user_id,
            bot_id=installation.bot_id,
            bot_token=installation.bot_token,
            bot_scopes=installation.bot_scopes,
            user_id=user_id,
        )


class InstallationStore(AsyncInstallationStore):
    """slack_sdk's installation store interface, on `Installs` (bot installs only)."""

    def __init__(self, installs: Installs) -> None:
        self._installs = installs

    @property
    def logger(self) -> Logger:
        return logger

    async def async_save(self, installation: SlackInstallation) -> None:
        if installation.is_enterprise_install or not installation.team_id:
            # The manifest does not enable org-wide deployment; refuse rather than guess.
            raise BoltError("org-wide (Enterprise Grid) installs are not supported")
        if not (installation.bot_token and installation.bot_id and installation.bot_user_id):
            raise BoltError("the install gave no bot token")
        await self._installs.save(
            Installation(
                team_id=installation.team_id,
                team_name=installation.team_name or "",
                enterprise_id=installation.enterprise_id,
                app_id=installation.app_id or "",
                bot_user_id=installation.bot_user_id,
                bot_id=installation.bot_id,
                bot_token=installation.bot_token,
                bot_scopes=",".join(installation.bot_scopes or ()),
                installer_user_id=installation.user_id,
                installed_at=datetime.now(UTC),
            )
        )

    async def async_find_bot(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        is_enterprise_install: bool | None = False,
    ) -> Bot | None:
        found = await self._installs.find(team_id) if team_id else None
        return None if found is None else _bot(found)

    async def async_find_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
        is_enterprise_install: bool | None = False,
    ) -> SlackInstallation | None:
        found = await self._installs.find(team_id) if team_id else None
        return None if found is None else _installation(found)

    async def async_delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        if team_id:
            await self._installs.remove(team_id)

    async def async_delete_installation(
        self, *, enterprise_id: str | None, team_id: str | None, user_id: str | None = None
    ) -> None:
        if team_id and user_id is None:  # the bot's install; no user tokens are kept
            await self._installs.remove(team_id)


class StateStore(AsyncOAuthStateStore):
    """The install flow's `state` values: random, good once, for `ttl_s` seconds."""

    def __init__(self, records: InstallRecords, *, ttl_s: float) -> None:
        self._records = records
        self._ttl_s = ttl_s

    @property
    def logger(self) -> Logger:
        return logger

    async def async_issue(self, *args: Any, **kwargs: Any) -> str:
        state = secrets.token_urlsafe(32)
        await self._records.issue_state(state, ttl_s=self._ttl_s)
        return state

    async def async_consume(self, state: str) -> bool:
        return bool(state) and await self._records.consume_state(state)


def _bot(installation: Installation) -> Bot:
    return Bot(
        app_id=installation.app_id,
        enterprise_id=installation.enterprise_id,
        team_id=installation.team_id,
        team_name=installation.team_name,
        bot_token=installation.bot_token,
        bot_id=installation.bot_id,
        bot_user_id=installation.bot_user_id,
        bot_scopes=installation.bot_scopes,
        installed_at=installation.installed_at,
    )


def _installation(installation: Installation) -> SlackInstallation:
    return SlackInstallation(
        app_id=installation.app_id,
        enterprise_id=installation.enterprise_id,
        team_id=installation.team_id,
        team_name=installation.team_name,
        bot_token=installation.bot_token,
        bot_id=installation.bot_id,
        bot_user_id=installation.bot_user_id,
        bot_scopes=installation.bot_scopes,
        user_id=installation.installer_user_id,
        installed_at=installation.installed_at,
    )
