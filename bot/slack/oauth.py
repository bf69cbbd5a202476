"""The OAuth install flow, on Bolt's `AsyncOAuthFlow`, served by the bot's own front door:

    GET /slack/install          a page with the "Add to Slack" link; a fresh `state` is stored
                                (good once, 10 minutes) and set as a cookie in this browser
    → Slack's approval page     the installer picks the workspace and allows the scopes
    GET /slack/oauth_redirect   the state must match the cookie and be unused; the code is
                                exchanged (`oauth.v2.access`) and the installation saved
                                (`bot.slack.installs`); a page says how it went

Denied approvals, replayed or foreign states and expired codes end on an error page and
store nothing.
"""

from __future__ import annotations

import logging
import re

from slack_bolt.oauth.async_callback_options import (
    AsyncCallbackOptions,
    AsyncFailureArgs,
    AsyncSuccessArgs,
)
from slack_bolt.oauth.async_oauth_flow import AsyncOAuthFlow
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.web.async_client import AsyncWebClient

from bot.settings import Settings
from bot.slack import install_pages
from bot.slack.installs import InstallationStore, Installs, StateStore

logger = logging.getLogger(__name__)

# The bot scopes the app asks for: the manifest's `oauth_config.scopes.bot` (a test checks).
BOT_SCOPES = (
    "app_mentions:read",
    "assistant:write",
    "channels:history",
    "channels:read",
    "chat:write",
    "commands",
    "files:read",
    "files:write",
    "groups:history",
    "groups:read",
    "im:history",
    "mpim:history",
    "mpim:read",
    "users:read",
)
STATE_TTL_S = 600
_TEAM_ID = re.compile(r"T[A-Z0-9]{2,30}")
_PAGE_HEADERS = {"Content-Type": "text/html; charset=utf-8"}


class InstallFlow(AsyncOAuthFlow):
    """Bolt's flow with the bot's pages (and a `?team=` hint checked before it is passed on)."""

    async def build_authorize_url(self, state: str, request: AsyncBoltRequest) -> str:
        teams = request.query.get("team") or []
        team = teams[0] if teams and _TEAM_ID.fullmatch(teams[0]) else None
        return self.settings.authorize_url_generator.generate(state=state, team=team)

    async def build_install_page_html(self, url: str, request: AsyncBoltRequest) -> str:
        return install_pages.install_page(url)


def install_flow(settings: Settings, client: AsyncWebClient, installs: Installs) -> InstallFlow:
    """The flow for `SLACK_CLIENT_ID`/`SLACK_CLIENT_SECRET`; `client` has no token (the code
    exchange authenticates with the client credentials)."""
    assert settings.slack_client_id is not None
    assert settings.slack_client_secret is not None
    oauth_settings = AsyncOAuthSettings(
        client_id=settings.slack_client_id,
        client_secret=settings.slack_client_secret.reveal(),
        scopes=list(BOT_SCOPES),
        user_scopes=[],
        redirect_uri=settings.slack_redirect_uri,
        authorization_url=settings.slack_authorize_url,
        installation_store=InstallationStore(installs),
        installation_store_bot_only=True,
        state_store=StateStore(installs.records, ttl_s=STATE_TTL_S),
        state_expiration_seconds=STATE_TTL_S,
        callback_options=AsyncCallbackOptions(success=_installed, failure=_failed),
        logger=logging.getLogger("slack_bolt"),
    )
    return InstallFlow(client=client, settings=oauth_settings)


async def _installed(args: AsyncSuccessArgs) -> BoltResponse:
    installation = args.installation
    page = install_pages.installed_page(
        team_name=installation.team_name or "",
        team_id=installation.team_id or "",
        app_id=installation.app_id or "",
    )
    return _page(200, page, args.settings)


async def _failed(args: AsyncFailureArgs) -> BoltResponse:
    # The reason is Bolt's word or the `error` Slack put in the redirect: logged cut short.
    logger.info("an install did not complete: %s", args.reason[:40])
    page = install_pages.failed_page(args.reason, install_path=args.settings.install_path)
    return _page(args.suggested_status_code, page, args.settings)


def _page(status: int, body: str, settings: AsyncOAuthSettings) -> BoltResponse:
    """An HTML page that also ends the browser's state cookie (it served its one use)."""
    cookie = settings.state_utils.build_set_cookie_for_deletion()
    return BoltResponse(status=status, body=body, headers={**_PAGE_HEADERS, "Set-Cookie": cookie})
