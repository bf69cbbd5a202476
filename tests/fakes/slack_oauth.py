"""The fake Slack's OAuth v2 flow: the app's credentials and redirect URLs, the browser's visit
to ``/oauth/v2/authorize``, and ``oauth.v2.access``.

    slack.oauth.redirect_urls = [f"{bot_url}/slack/oauth_redirect"]   # the app's settings
    slack.oauth.visitor = Visitor("T0TWO", "U0CAROL")                 # who is signed in
    # the browser opens the bot's /slack/install and follows its link to the authorize page:
    #   allowed → 302 to the redirect URI with ``code`` and ``state`` (the app is installed)
    #   denied (``Visitor(approves=False)``) → 302 with ``error=access_denied`` and ``state``
    # the bot exchanges the code with oauth.v2.access (HTTP Basic client_id:client_secret, or
    # form fields) → access_token, token_type "bot", scope, bot_user_id, app_id, team,
    # enterprise, authed_user, is_enterprise_install

As Slack: the authorize page refuses (an HTML error page, no redirect) an unknown client_id, a
redirect_uri that is not one of the app's (none given: the first of them is used), and missing
or unknown scopes; ``team=`` picks the workspace (else the visitor's). A code works once,
within ``code_ttl`` (Slack: 10 minutes), with the redirect_uri it was issued for (if one was
given); anything else is ``invalid_code``. Wrong credentials: ``invalid_client_id``,
``bad_client_secret``; another redirect_uri: ``bad_redirect_uri``.
"""

from __future__ import annotations

import base64
import binascii
import html
import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from tests.fakes.slack_methods import BOT_SCOPES, MethodSpec, SlackError
from tests.fakes.slack_teams import Teams

CODE_TTL_S = 600.0
ACCESS_SPEC = MethodSpec(
    optional=(
        "client_id",
        "client_secret",
        "code",
        "redirect_uri",
        "grant_type",
        "refresh_token",
    )
)


@dataclass
class Visitor:
    """The person whose browser reaches the authorize page, and what they click."""

    team_id: str
    user_id: str
    approves: bool = True


@dataclass
class Grant:
    """A code handed to the app's redirect URI."""

    code: str
    team_id: str
    user_id: str
    scopes: list[str]
    user_scopes: list[str]
    redirect_uri: str | None
    """As the authorize request named it (None: it named none)."""
    issued: float
    used: bool = False


@dataclass
class Visit:
    """One GET of the authorize page and what came of it."""

    query: dict[str, str]
    outcome: str
    """"installed", "denied", or the error page's reason ("invalid_client_id", …)."""


@dataclass
class FakeOAuth:
    """The app's OAuth settings in the fake, and what happened in its flows."""

    teams: Teams
    client_id: str = "1111111111.2222222222"
    client_secret: str = field(default_factory=lambda: secrets.token_hex(16))
    redirect_urls: list[str] = field(default_factory=list)
    """The app's configured Redirect URLs (manifest ``oauth_config.redirect_urls``)."""
    scopes: list[str] = field(default_factory=lambda: BOT_SCOPES.split(","))
    """The bot scopes the app may request."""
    visitor: Visitor | None = None
    """Who is signed in (default: the first human of the first workspace)."""
    code_ttl: float = CODE_TTL_S
    grants: dict[str, Grant] = field(default_factory=dict)
    visits: list[Visit] = field(default_factory=list)

    # --- the authorize page ---------------------------------------------------------------------

    def authorize(self, request: web.Request) -> web.Response:
        query = dict(request.query)
        redirect_uri = query.get("redirect_uri")
        target = redirect_uri or (self.redirect_urls[0] if self.redirect_urls else None)
        scopes = _split(query.get("scope"))
        user_scopes = _split(query.get("user_scope"))
        visitor = self.visitor or self._default_visitor()
        ws = self.teams.find(query.get("team") or visitor.team_id)
        if query.get("client_id") != self.client_id:
            return self._refused(query, "invalid_client_id")
        if target is None or target not in self.redirect_urls:
            return self._refused(query, "bad_redirect_uri")
        if not (scopes or user_scopes) or set(scopes) - set(self.scopes):
            return self._refused(query, "invalid_scope")
        if ws is None:
            return self._refused(query, "invalid_team")
        state = {"state": query["state"]} if "state" in query else {}
        if not visitor.approves:
            self.visits.append(Visit(query, "denied"))
            return _redirect(target, {"error": "access_denied", **state})
        self.teams.install(ws)
        ws.scopes = list(scopes)  # a reinstall grants what this install asked for
        code = f"{ws.team_id[1:]}.{secrets.token_hex(16)}"
        self.grants[code] = Grant(
            code, ws.team_id, visitor.user_id, scopes, user_scopes, redirect_uri, time.monotonic()
        )
        self.visits.append(Visit(query, "installed"))
        return _redirect(target, {"code": code, **state})

    def _default_visitor(self) -> Visitor:
        primary = self.teams.primary
        humans = [u.id for u in primary.users.values() if not u.is_bot]
        return Visitor(primary.team_id, humans[0] if humans else "U0ALICE")

    def _refused(self, query: dict[str, str], reason: str) -> web.Response:
        self.visits.append(Visit(query, reason))
        why = html.escape(reason)
        page = f"<html><body><h1>Something went wrong</h1><p>{why}</p></body></html>"
        return web.Response(status=400, text=page, content_type="text/html")

    # --- oauth.v2.access ------------------------------------------------------------------------

    def access(self, args: dict[str, Any], authorization: str | None) -> dict[str, Any]:
        """The exchange of a code for the workspace's bot token."""
        ACCESS_SPEC.check(args)
        client_id, client_secret = _basic(authorization) or (
            args.get("client_id"),
            args.get("client_secret"),
        )
        if client_id != self.client_id:
            raise SlackError("invalid_client_id")
        if not secrets.compare_digest(str(client_secret or ""), self.client_secret):
            raise SlackError("bad_client_secret")
        grant = self.grants.get(str(args.get("code") or ""))
        if grant is None or grant.used or time.monotonic() - grant.issued > self.code_ttl:
            raise SlackError("invalid_code")
        grant.used = True
        if grant.redirect_uri is not None and args.get("redirect_uri") != grant.redirect_uri:
            raise SlackError("bad_redirect_uri")
        ws = self.teams.get(grant.team_id)
        if not ws.bot_token:  # uninstalled again since the code was issued
            raise SlackError("invalid_code")
        authed_user: dict[str, Any] = {"id": grant.user_id}
        if grant.user_scopes:
            authed_user.update(
                scope=",".join(grant.user_scopes),
                access_token=f"xoxp-{ws.team_id[1:]}-{secrets.token_hex(12)}",
                token_type="user",
            )
        return {
            "app_id": ws.app_id,
            "authed_user": authed_user,
            "scope": ",".join(grant.scopes),
            "token_type": "bot",
            "access_token": ws.bot_token,
            "bot_user_id": ws.bot_user_id,
            "team": {"id": ws.team_id, "name": ws.team_name},
            "enterprise": None,
            "is_enterprise_install": False,
        }


def _split(raw: str | None) -> list[str]:
    return [s.strip() for s in (raw or "").split(",") if s.strip()]


def _redirect(target: str, params: dict[str, str]) -> web.Response:
    joiner = "&" if "?" in target else "?"
    return web.Response(status=302, headers={"Location": f"{target}{joiner}{urlencode(params)}"})


def _basic(authorization: str | None) -> tuple[str, str] | None:
    scheme, _, encoded = (authorization or "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return user, password
