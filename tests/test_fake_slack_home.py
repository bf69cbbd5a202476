"""The fake Slack's App Home tab (`views.publish`), driven with slack_sdk's AsyncWebClient: the
home-view limits and errors Slack documents, and the method's Tier 4 rate limit."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.budget import PER_MINUTE
from tests.fakes.slack_api import FakeSlack
from tests.fakes.slack_limits import TIERS

ALICE = "U0ALICE"


def section(text: str = "Hello") -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def home(*blocks: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"type": "home", "blocks": list(blocks) or [section()], **fields}


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as fake:
        yield fake


@pytest.fixture
def client(slack: FakeSlack) -> AsyncWebClient:
    return AsyncWebClient(token=slack.bot_token, base_url=slack.base_url)


async def error_of(client: AsyncWebClient, **args: Any) -> SlackApiError:
    with pytest.raises(SlackApiError) as info:
        await client.views_publish(**args)
    return info.value


async def test_a_home_view_is_published_per_user_and_replaced(
    slack: FakeSlack, client: AsyncWebClient
) -> None:
    first = await client.views_publish(user_id=ALICE, view=home(callback_id="home"))
    view = first["view"]
    assert (view["type"], view["callback_id"], view["team_id"]) == (
        "home",
        "home",
        slack.ws.team_id,
    )
    assert view["title"] is view["submit"] is None

    second = await client.views_publish(
        user_id=ALICE, view=home(section("Updated")), hash=view["hash"]
    )
    assert second["view"]["id"] == view["id"]  # one Home tab per user
    shown = slack.ws.home_views[ALICE]
    assert shown.view["blocks"][0]["text"]["text"] == "Updated"
    assert len(shown.versions) == 2
    stale = await error_of(client, user_id=ALICE, view=home(), hash=view["hash"])
    assert stale.response["error"] == "hash_conflict"
    assert "U0BOB" not in slack.ws.home_views


@pytest.mark.parametrize(
    ("view", "message"),
    [
        (home(*[section() for _ in range(101)]), "no more than 100 items"),
        (home(blocks=[]), "must have 1 to 100 items"),
        ({"type": "modal", "blocks": [section()]}, 'must be "home"'),
        (home(title={"type": "plain_text", "text": "Usage"}), "not allowed in a home view"),
        (home({"type": "table", "rows": []}), "unsupported block type"),
        (home(section("x" * 3001)), "less than 3001 characters"),
        (home(private_metadata="m" * 3001), "private_metadata"),
    ],
)
async def test_an_invalid_home_view_is_refused(
    slack: FakeSlack, client: AsyncWebClient, view: dict[str, Any], message: str
) -> None:
    refused = await error_of(client, user_id=ALICE, view=view)
    assert refused.response["error"] == "invalid_arguments"
    assert message in " ".join(refused.response["response_metadata"]["messages"])
    assert ALICE not in slack.ws.home_views


async def test_a_view_over_250_kb_is_too_large(client: AsyncWebClient) -> None:
    blocks = [section("x" * 2900) for _ in range(100)]  # each block is valid, the whole is not
    refused = await error_of(client, user_id=ALICE, view=home(*blocks))
    assert refused.response["error"] == "view_too_large"


async def test_unknown_users_bots_and_a_disabled_home_tab(
    slack: FakeSlack, client: AsyncWebClient
) -> None:
    for user in ("U0NOBODY", slack.ws.bot_user_id):
        refused = await error_of(client, user_id=user, view=home())
        assert refused.response["error"] == "invalid_arguments"
    slack.ws.home_tab_enabled = False  # the manifest's home_tab_enabled: false
    refused = await error_of(client, user_id=ALICE, view=home())
    assert refused.response["error"] == "not_enabled"


async def test_views_publish_is_tier_4(slack: FakeSlack, client: AsyncWebClient) -> None:
    assert TIERS["views.publish"] == 100
    assert PER_MINUTE["views.publish"] == 100.0  # the bot budgets for the same tier
    for _ in range(100):
        await client.views_publish(user_id=ALICE, view=home())
    limited = await error_of(client, user_id=ALICE, view=home())
    assert limited.response.status_code == 429
    assert int(limited.response.headers["Retry-After"]) >= 1
