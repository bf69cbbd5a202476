"""The surfaces `slack-analyst doctor` checks, on the fakes: Slack's `x-oauth-scopes` header
(the token's own grant) and OpenAI's models endpoint and API-key check, as the real services
answer them."""

from __future__ import annotations

from collections.abc import AsyncIterator

import openai
import pytest
from openai import AsyncOpenAI, DefaultAioHttpClient
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from tests.fakes.openai_api import FakeOpenAI
from tests.fakes.slack_api import FakeSlack

pytest_plugins = ["tests.fakes.openai_fixtures"]


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as fake:
        yield fake


async def test_auth_test_sends_the_tokens_granted_scopes(slack: FakeSlack) -> None:
    client = AsyncWebClient(token=slack.bot_token, base_url=slack.base_url)
    answer = await client.auth_test()
    granted = answer.headers["x-oauth-scopes"].split(",")
    assert "chat:write" in granted
    assert answer["team_id"] == slack.ws.team_id

    slack.ws.scopes = [s for s in slack.ws.scopes if s != "files:read"]
    narrower = await client.auth_test()
    assert "files:read" not in narrower.headers["x-oauth-scopes"].split(",")


async def test_a_token_slack_never_issued_gets_no_scopes(slack: FakeSlack) -> None:
    client = AsyncWebClient(token="xoxb-never-issued", base_url=slack.base_url)
    with pytest.raises(SlackApiError) as caught:
        await client.auth_test()
    assert caught.value.response["error"] == "invalid_auth"
    assert "x-oauth-scopes" not in {k.lower() for k in caught.value.response.headers}


async def test_models_are_retrieved_and_unknown_ones_are_404(
    fake_openai: FakeOpenAI, openai_client: AsyncOpenAI
) -> None:
    fake_openai.models.add("gpt-old", shutdown_date="2026-12-11")
    model = await openai_client.models.retrieve("test-model")
    assert (model.id, model.object) == ("test-model", "model")
    old = await openai_client.models.retrieve("gpt-old")
    assert old.shutdown_date == "2026-12-11"  # type: ignore[attr-defined]
    with pytest.raises(openai.NotFoundError) as caught:
        await openai_client.models.retrieve("gpt-unknown")
    assert caught.value.code == "model_not_found"
    listed = [m.id async for m in openai_client.models.list()]
    assert "gpt-old" in listed
    assert "gpt-unknown" not in listed


async def test_a_key_the_account_does_not_have_is_refused_everywhere(
    fake_openai: FakeOpenAI,
) -> None:
    fake_openai.api_keys = {"sk-test"}
    wrong = AsyncOpenAI(
        base_url=fake_openai.base_url,
        api_key="sk-wrong-0000",
        http_client=DefaultAioHttpClient(),
        max_retries=0,
    )
    async with wrong:
        with pytest.raises(openai.AuthenticationError) as caught:
            await wrong.models.retrieve("test-model")
        assert caught.value.code == "invalid_api_key"
        assert "sk-wrong-0000" not in caught.value.message  # the key is masked
        with pytest.raises(openai.AuthenticationError):
            await wrong.conversations.create()
    async with fake_openai.client() as right:
        assert (await right.models.retrieve("test-model")).id == "test-model"
