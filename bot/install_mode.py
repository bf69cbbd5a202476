"""How the bot reaches Slack, read from the environment: one workspace with a bot token, or
installs in many workspaces through OAuth; Socket Mode or HTTP.

    SLACK_BOT_TOKEN                               one workspace, as before
    SLACK_CLIENT_ID + SLACK_CLIENT_SECRET         OAuth installs (no bot token; HTTP mode:
      (+ SLACK_SIGNING_SECRET, SLACK_REDIRECT_URI)  Slack must reach the install pages anyway)
    SLACK_APP_TOKEN                               Socket Mode (one workspace only)
    SLACK_SIGNING_SECRET                          HTTP mode

Every problem goes to the reader, so `Settings.from_env` names them all in one error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from bot.env_reader import EnvReader, Secret

OAUTH_REDIRECT_PATH = "/slack/oauth_redirect"
CLIENT_ID = re.compile(r"[0-9]+\.[0-9]+")


@dataclass(frozen=True)
class SlackAccess:
    bot_token: Secret | None = None
    client_id: str | None = None
    client_secret: Secret | None = None
    redirect_uri: str | None = None
    app_token: Secret | None = None
    signing_secret: Secret | None = None

    @classmethod
    def read(cls, reader: EnvReader) -> SlackAccess:
        bot_token = reader.secret("SLACK_BOT_TOKEN", prefix="xoxb-")
        app_token = reader.secret("SLACK_APP_TOKEN", prefix="xapp-")
        signing_secret = reader.secret("SLACK_SIGNING_SECRET")
        client_id, client_secret = _client(reader, bot_token)
        redirect_uri = reader.url("SLACK_REDIRECT_URI")
        if client_id is None:
            _check_one_workspace(reader, app_token=app_token, signing_secret=signing_secret)
        else:
            _check_oauth(reader, app_token=app_token, signing_secret=signing_secret)
            if redirect_uri is not None and urlsplit(redirect_uri).path != OAUTH_REDIRECT_PATH:
                reader.problem(f"SLACK_REDIRECT_URI: its path must be {OAUTH_REDIRECT_PATH}")
        return cls(
            bot_token=bot_token,
            client_id=client_id,
            client_secret=client_secret,
            redirect_uri=redirect_uri if client_id is not None else None,
            app_token=app_token,
            signing_secret=signing_secret,
        )


def _client(reader: EnvReader, bot_token: Secret | None) -> tuple[str | None, Secret | None]:
    """The OAuth client pair, when the bot installs through OAuth (else two Nones)."""
    client_id = reader.text("SLACK_CLIENT_ID")
    client_secret = reader.secret("SLACK_CLIENT_SECRET")
    if bot_token is not None:
        if client_id or client_secret:
            reader.problem(
                "SLACK_BOT_TOKEN and SLACK_CLIENT_ID/SLACK_CLIENT_SECRET: set the bot token for "
                "one workspace, or the client ID and secret to install in many through OAuth, "
                "not both (Bolt would ignore the token)"
            )
        return None, None
    if client_id is None and client_secret is None:
        reader.problem(
            "SLACK_BOT_TOKEN: missing (or set SLACK_CLIENT_ID and SLACK_CLIENT_SECRET to "
            "install in many workspaces through OAuth)"
        )
        return None, None
    if client_id is None:
        reader.problem("SLACK_CLIENT_ID: missing (OAuth installs need the client ID and secret)")
    elif not CLIENT_ID.fullmatch(client_id):
        reader.problem("SLACK_CLIENT_ID: expected Slack's form, digits.digits")
    if client_secret is None:
        reader.problem("SLACK_CLIENT_SECRET: missing (OAuth installs need the ID and secret)")
    return client_id or "", client_secret


def _check_one_workspace(
    reader: EnvReader, *, app_token: Secret | None, signing_secret: Secret | None
) -> None:
    if app_token is None and signing_secret is None:
        reader.problem(
            "SLACK_APP_TOKEN or SLACK_SIGNING_SECRET: set SLACK_APP_TOKEN (xapp-…) for Socket "
            "Mode, or SLACK_SIGNING_SECRET for HTTP mode (POST /slack/events)"
        )


def _check_oauth(
    reader: EnvReader, *, app_token: Secret | None, signing_secret: Secret | None
) -> None:
    """OAuth installs run in HTTP mode: the installer's browser and Slack's redirect must
    reach the bot over HTTPS anyway, and events then come the same way."""
    if app_token is not None:
        reader.problem(
            "SLACK_APP_TOKEN: OAuth installs (SLACK_CLIENT_ID) run in HTTP mode; unset it and "
            "set SLACK_SIGNING_SECRET"
        )
    if signing_secret is None:
        reader.problem("SLACK_SIGNING_SECRET: missing (OAuth installs run in HTTP mode)")
