"""Every workspace the fake Slack serves, and which bot token opens which.

A bot token opens exactly one workspace: its calls see that workspace's channels, users and
files and nothing else (a channel of another workspace is ``channel_not_found``, as in
Slack). A token Slack no longer honours (the app was uninstalled, or its tokens revoked)
answers ``token_revoked``; one Slack never issued answers ``invalid_auth``. Each workspace has
its own rate limits (Slack counts them per workspace and app).

Installing the app (the OAuth flow, ``slack_oauth``) gives a workspace a live bot token —
the one it already has if it is still live, as Slack does on a reinstall — and the bot user;
uninstalling or revoking kills the token for good.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator

from tests.fakes.slack_file_record import FileRecord
from tests.fakes.slack_limits import RateLimits
from tests.fakes.slack_methods import SlackError
from tests.fakes.slack_objects import User
from tests.fakes.slack_state import Workspace


class Teams:
    """The fake's workspaces (the first one is the default of every helper)."""

    def __init__(self, primary: Workspace, limits: RateLimits) -> None:
        self.primary = primary
        self._by_id: dict[str, Workspace] = {primary.team_id: primary}
        self._limits: dict[str, RateLimits] = {primary.team_id: limits}
        self._dead: dict[str, str] = {}
        """Tokens Slack issued and no longer honours: token -> team id."""

    def add(self, ws: Workspace) -> Workspace:
        if ws.team_id in self._by_id:
            raise ValueError(f"workspace {ws.team_id} exists already")
        primary_limits = self._limits[self.primary.team_id]
        self._by_id[ws.team_id] = ws
        self._limits[ws.team_id] = RateLimits(
            enabled=primary_limits.enabled, speed=primary_limits.speed
        )
        return ws

    def get(self, team_id: str) -> Workspace:
        ws = self._by_id.get(team_id)
        if ws is None:
            raise KeyError(f"no workspace {team_id} in the fake")
        return ws

    def find(self, team_id: str) -> Workspace | None:
        return self._by_id.get(team_id)

    def __iter__(self) -> Iterator[Workspace]:
        return iter(list(self._by_id.values()))

    def limits(self, ws: Workspace) -> RateLimits:
        return self._limits[ws.team_id]

    # --- tokens ---------------------------------------------------------------------------------

    def opened_by(self, token: str) -> Workspace:
        """The workspace a bot token opens, or Slack's error for a token that opens none."""
        for ws in self._by_id.values():
            if ws.bot_token and secrets.compare_digest(ws.bot_token, token):
                return ws
        raise SlackError("token_revoked" if token in self._dead else "invalid_auth")

    def team_of(self, token: str | None) -> str | None:
        """The workspace a token belongs (or belonged) to, for the call records."""
        if not token:
            return None
        live = next((ws for ws in self._by_id.values() if ws.bot_token == token), None)
        return live.team_id if live is not None else self._dead.get(token)

    def is_bot_token(self, token: str) -> bool:
        return token.startswith("xoxb-") and self.team_of(token) is not None

    def install(self, ws: Workspace) -> str:
        """The app is installed in ``ws``: its bot user exists and it has a live bot token
        (a new one unless it still has one)."""
        if ws.bot_user_id not in ws.users:
            ws.users[ws.bot_user_id] = User(
                id=ws.bot_user_id,
                name="analyst",
                real_name="Data Analyst",
                display_name="analyst",
                team_id=ws.team_id,
                is_bot=True,
                bot_id=ws.bot_id,
            )
        if not ws.bot_token:
            ws.bot_token = f"xoxb-{ws.team_id[1:]}-{secrets.token_hex(12)}"
        return ws.bot_token

    def revoke(self, ws: Workspace) -> list[str]:
        """Kill the workspace's bot token (uninstall, revocation); returns the bot users whose
        tokens died (``tokens_revoked`` lists them)."""
        if not ws.bot_token:
            return []
        self._dead[ws.bot_token] = ws.team_id
        ws.bot_token = ""
        return [ws.bot_user_id]

    # --- lookups across workspaces ---------------------------------------------------------------

    def file(self, file_id: str) -> FileRecord | None:
        return next((ws.files[file_id] for ws in self if file_id in ws.files), None)

    def with_upload(self, upload_id: str) -> Workspace | None:
        return next((ws for ws in self if upload_id in ws.uploads), None)
