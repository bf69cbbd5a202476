"""The fake Slack with several workspaces: tokens, isolation, the OAuth v2 flow, removal."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import aiohttp
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from tests.fakes.slack_api import FakeSlack, Visitor
from tests.fakes.slack_team import FakeTeam

REDIRECT = "https://analyst.example.com/slack/oauth_redirect"
SCOPES = "app_mentions:read,chat:write,files:read"


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as fake:
        fake.oauth.redirect_urls = [REDIRECT]
        yield fake


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def _other(slack: FakeSlack, *, installed: bool = True) -> FakeTeam:
    other = slack.add_team("T0TWO", name="Other Corp", installed=installed)
    other.add_user("U0CAROL", name="carol", real_name="Carol Diaz")
    other.add_channel("C0SALES", name="sales", members=["U0CAROL"])
    return other


def _client(slack: FakeSlack, token: str) -> AsyncWebClient:
    return AsyncWebClient(token=token, base_url=slack.base_url, retry_handlers=[])


async def _error(call: Any) -> str:
    with pytest.raises(SlackApiError) as info:
        await call
    return str(info.value.response["error"])


async def _authorize(
    http: aiohttp.ClientSession, slack: FakeSlack, **params: str
) -> tuple[int, dict[str, list[str]], str]:
    """The browser opens the authorize page: (status, redirect query, body)."""
    query = {"client_id": slack.oauth.client_id, "scope": SCOPES, "state": "s-1", **params}
    url = f"{slack.url}oauth/v2/authorize?{urlencode(query)}"
    async with http.get(url, allow_redirects=False) as response:
        location = response.headers.get("Location", "")
        return response.status, parse_qs(urlsplit(location).query), await response.text()


async def _exchange(slack: FakeSlack, code: str, **extra: str) -> Any:
    client = AsyncWebClient(base_url=slack.base_url, retry_handlers=[])
    arguments = {"client_id": slack.oauth.client_id, "client_secret": slack.oauth.client_secret}
    return await client.oauth_v2_access(code=code, **{**arguments, **extra})


# --- tokens and isolation -------------------------------------------------------------------------


async def test_each_token_sees_only_its_own_workspace(slack: FakeSlack) -> None:
    other = _other(slack)
    first, second = _client(slack, slack.bot_token), _client(slack, other.bot_token)

    mine = await second.auth_test()
    await second.chat_postMessage(channel="C0SALES", text="hello sales")
    across = await _error(first.chat_postMessage(channel="C0SALES", text="wrong workspace"))
    their_user = await _error(first.users_info(user="U0CAROL"))
    unknown = await _error(_client(slack, "xoxb-never-issued").auth_test())

    assert (mine["team_id"], mine["user_id"], mine["team"]) == ("T0TWO", "U0TWOBOT", "Other Corp")
    assert mine["bot_id"] != (await first.auth_test())["bot_id"]
    assert (across, their_user, unknown) == ("channel_not_found", "user_not_found", "invalid_auth")
    assert [m.text for m in other.messages("C0SALES")] == ["hello sales"]
    assert slack.messages("C0GENERAL") == []
    assert [c.team for c in other.calls] == ["T0TWO", "T0TWO"]
    assert {c.team for c in slack.calls} == {"T0TEST", "T0TWO", None}


async def test_files_and_rate_limits_belong_to_their_workspace(
    slack: FakeSlack, http: aiohttp.ClientSession
) -> None:
    other = _other(slack)
    file = other.add_file("q3.csv", b"a,b\n1,2\n", user="U0CAROL", channel="C0SALES")
    url = file["url_private_download"]

    async with http.get(url, headers={"Authorization": f"Bearer {other.bot_token}"}) as own:
        own_body = await own.read()
    async with http.get(url, headers={"Authorization": f"Bearer {slack.bot_token}"}) as foreign:
        foreign_type = foreign.content_type
    second = _client(slack, other.bot_token)
    for _ in range(20):  # chat.startStream is Tier 2: 20 a minute per workspace
        with contextlib.suppress(SlackApiError):  # a refused call takes its token too
            await second.api_call("chat.startStream", json={"channel": "C0SALES"})
    first_left = slack.limits.tokens("chat.startStream")

    assert own_body == b"a,b\n1,2\n"
    assert foreign_type == "text/html"  # the login page: not this token's file
    assert other.limits.tokens("chat.startStream") < 1
    assert first_left == 20


# --- the OAuth v2 flow ----------------------------------------------------------------------------


async def test_authorize_then_exchange_installs_the_app(
    slack: FakeSlack, http: aiohttp.ClientSession
) -> None:
    other = _other(slack, installed=False)
    slack.oauth.visitor = Visitor("T0TWO", "U0CAROL")
    assert other.bot_token == ""

    status, redirect, _ = await _authorize(http, slack, redirect_uri=REDIRECT)
    access = await _exchange(slack, redirect["code"][0], redirect_uri=REDIRECT)
    again = await _error(_exchange(slack, redirect["code"][0], redirect_uri=REDIRECT))
    identity = await _client(slack, access["access_token"]).auth_test()

    assert (status, redirect["state"]) == (302, ["s-1"])
    assert access.data == {
        "ok": True,
        "app_id": "A0ANALYST",
        "authed_user": {"id": "U0CAROL"},
        "scope": SCOPES,
        "token_type": "bot",
        "access_token": other.bot_token,
        "bot_user_id": "U0TWOBOT",
        "team": {"id": "T0TWO", "name": "Other Corp"},
        "enterprise": None,
        "is_enterprise_install": False,
    }
    assert again == "invalid_code"  # a code works once
    assert identity["team_id"] == "T0TWO"
    assert [v.outcome for v in slack.oauth.visits] == ["installed"]


async def test_denied_and_refused_visits(slack: FakeSlack, http: aiohttp.ClientSession) -> None:
    slack.oauth.visitor = Visitor("T0TEST", "U0ALICE", approves=False)
    denied = await _authorize(http, slack)
    slack.oauth.visitor = None
    bad_client = await _authorize(http, slack, client_id="9.9")
    bad_redirect = await _authorize(http, slack, redirect_uri="https://evil.example/cb")
    no_scope = await _authorize(http, slack, scope="")
    unknown_scope = await _authorize(http, slack, scope="admin")

    assert denied[:2] == (302, {"error": ["access_denied"], "state": ["s-1"]})
    for status, redirect, body in (bad_client, bad_redirect, no_scope, unknown_scope):
        assert (status, redirect) == (400, {})
        assert "went wrong" in body
    assert [v.outcome for v in slack.oauth.visits] == [
        "denied",
        "invalid_client_id",
        "bad_redirect_uri",
        "invalid_scope",
        "invalid_scope",
    ]
    assert slack.oauth.grants == {}


async def test_the_exchange_checks_credentials_expiry_and_redirect(
    slack: FakeSlack, http: aiohttp.ClientSession
) -> None:
    codes = [(await _authorize(http, slack, redirect_uri=REDIRECT))[1]["code"][0] for _ in range(4)]

    wrong_secret = await _error(_exchange(slack, codes[0], client_secret="nope"))
    wrong_client = await _error(_exchange(slack, codes[1], client_id="9.9"))
    wrong_redirect = await _error(_exchange(slack, codes[2], redirect_uri="https://x.example/"))
    slack.oauth.code_ttl = 0.0
    expired = await _error(_exchange(slack, codes[3], redirect_uri=REDIRECT))
    unknown = await _error(_exchange(slack, "123.abc", redirect_uri=REDIRECT))

    assert (wrong_secret, wrong_client) == ("bad_client_secret", "invalid_client_id")
    assert (wrong_redirect, expired, unknown) == (
        "bad_redirect_uri",
        "invalid_code",
        "invalid_code",
    )


# --- removal ------------------------------------------------------------------------------------


async def test_uninstall_kills_the_token_and_reinstall_issues_a_new_one(
    slack: FakeSlack, http: aiohttp.ClientSession
) -> None:
    other = _other(slack)
    old = other.bot_token
    removal = other.uninstall()
    dead = await _error(_client(slack, old).auth_test())
    first_still_works = await _client(slack, slack.bot_token).auth_test()
    slack.oauth.visitor = Visitor("T0TWO", "U0CAROL")
    _, redirect, _ = await _authorize(http, slack)
    access = await _exchange(slack, redirect["code"][0])

    assert dead == "token_revoked"
    assert first_still_works["team_id"] == "T0TEST"
    assert removal.tokens_revoked["event"] == {
        "type": "tokens_revoked",
        "tokens": {"oauth": [], "bot": ["U0TWOBOT"]},
    }
    assert removal.app_uninstalled["event"] == {"type": "app_uninstalled"}
    for envelope in (removal.tokens_revoked, removal.app_uninstalled):
        assert (envelope["team_id"], envelope["type"]) == ("T0TWO", "event_callback")
        assert envelope["event_id"].startswith("Ev")
    assert access["access_token"] not in ("", old)
    assert (await _client(slack, access["access_token"]).auth_test())["team_id"] == "T0TWO"
