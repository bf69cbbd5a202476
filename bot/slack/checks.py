"""What `slack-analyst doctor` asks Slack: does a token work, with which scopes; does the app
token open Socket Mode; are the OAuth client credentials Slack's.

Each check makes one Web API call on its own client (no budget, no retries but the SDK's
connection retry) and returns what Slack said; it never raises for Slack's answers or an
unreachable Slack. The wording of the findings is `bot.doctor`'s.
"""

from __future__ import annotations

from dataclasses import dataclass

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.client import SLACK_FAILURES, failure_code
from bot.slack.oauth import BOT_SCOPES

TIMEOUT_S = 15
# The manifest's `settings.event_subscriptions.bot_events` (a test checks).
BOT_EVENTS = (
    "agent_session_stopped",
    "app_home_opened",
    "app_mention",
    "app_uninstalled",
    "message.channels",
    "message.groups",
    "message.im",
    "message.mpim",
    "tokens_revoked",
)
PROBE_CODE = "slack-analyst-doctor"
"""A code Slack never issued: exchanging it tells good client credentials (`invalid_code`)
from bad ones (`invalid_client_id`, `bad_client_secret`) without installing anything."""


@dataclass(frozen=True)
class TokenCheck:
    """What `auth.test` said of a bot token."""

    error: str | None = None
    """Slack's error code (`invalid_auth`, `token_revoked`, …) or the transport error's type."""
    team: str = ""
    team_id: str = ""
    user: str = ""
    scopes: frozenset[str] | None = None
    """The token's granted scopes (`x-oauth-scopes`); None when Slack sent none."""

    @property
    def missing(self) -> tuple[str, ...]:
        """Scopes the manifest asks for that the token was not granted."""
        if self.scopes is None:
            return ()
        return tuple(s for s in BOT_SCOPES if s not in self.scopes)


async def check_token(base_url: str, token: str) -> TokenCheck:
    client = AsyncWebClient(token=token, base_url=base_url, timeout=TIMEOUT_S)
    try:
        answer = await client.auth_test()
    except SLACK_FAILURES as error:
        return TokenCheck(error=failure_code(error))
    scopes = None
    for name, value in (answer.headers or {}).items():
        if name.lower() == "x-oauth-scopes":
            raw = value[0] if isinstance(value, list) else value
            scopes = frozenset(s.strip() for s in str(raw).split(",") if s.strip())
    return TokenCheck(
        team=str(answer.get("team") or ""),
        team_id=str(answer.get("team_id") or ""),
        user=str(answer.get("user") or ""),
        scopes=scopes,
    )


async def check_app_token(base_url: str, app_token: str) -> str | None:
    """None when the app-level token opens Socket Mode, else why not."""
    client = AsyncWebClient(token=app_token, base_url=base_url, timeout=TIMEOUT_S)
    try:
        await client.apps_connections_open(app_token=app_token)
    except SLACK_FAILURES as error:
        return failure_code(error)
    return None


async def check_client(base_url: str, client_id: str, client_secret: str) -> str | None:
    """None when Slack knows the OAuth client id and secret, else its error code."""
    client = AsyncWebClient(base_url=base_url, timeout=TIMEOUT_S)
    try:
        await client.oauth_v2_access(
            client_id=client_id, client_secret=client_secret, code=PROBE_CODE
        )
    except SlackApiError as error:
        code = failure_code(error)
        return None if code in ("invalid_code", "invalid_grant_type") else code
    except SLACK_FAILURES as error:
        return failure_code(error)
    return "unexpected_success"
