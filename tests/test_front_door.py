"""The HTTP front door: health, url_verification, signatures, every subscribed event acked."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import yaml
from slack_bolt.request.async_request import AsyncBoltRequest

import handlers
from bot.runtime import open_runtime
from bot.settings import Settings
from bot.slack.front_door import web_app
from tests.bot_harness import bot_env, running_bot
from tests.conftest import REPO
from tests.fakes import slack_events
from tests.fakes.openai_api import FakeOpenAI
from tests.fakes.scripted_model import ScriptedTurn
from tests.fakes.slack_api import FakeSlack

MANIFEST = yaml.safe_load((REPO / "manifest.yml").read_text())
SUBSCRIBED = MANIFEST["settings"]["event_subscriptions"]["bot_events"]


def _event_type(subscription: str) -> str:
    """`message.channels` → `message` (the Events API type the listener sees)."""
    return subscription.split(".")[0]


def test_manifest_subscriptions_match_the_registered_listeners() -> None:
    assert {_event_type(s) for s in SUBSCRIBED} == set(handlers.EVENT_TYPES)
    assert {"message.channels", "message.groups", "message.im", "message.mpim"} <= set(SUBSCRIBED)


def test_manifest_is_complete_for_the_agent_view_and_scopes() -> None:
    features = MANIFEST["features"]
    assert features["app_home"]["messages_tab_enabled"] is True
    assert features["app_home"]["messages_tab_read_only_enabled"] is False
    assert features["agent_view"]["agent_description"]
    assert 1 <= len(features["agent_view"]["suggested_prompts"]) <= 4
    scopes = set(MANIFEST["oauth_config"]["scopes"]["bot"])
    assert {
        "app_mentions:read",
        "chat:write",
        "files:read",
        "files:write",
        "channels:history",
        "groups:history",
        "im:history",
        "mpim:history",
        "users:read",
    } <= scopes
    assert MANIFEST["settings"]["interactivity"]["is_enabled"] is True
    assert MANIFEST["settings"]["socket_mode_enabled"] is True


def _sample_event(subscription: str) -> dict:
    channel_types = {
        "message.channels": "channel",
        "message.groups": "group",
        "message.im": "im",
        "message.mpim": "mpim",
    }
    if subscription == "app_mention":
        event = slack_events.app_mention(
            user="U0ALICE", channel="C0GENERAL", text="<@UBOT> hi", ts="1700000000.000100"
        )
    elif subscription == "app_home_opened":
        event = slack_events.app_home_opened("U0ALICE", "D0DM")
    else:
        event = slack_events.message(
            user="U0ALICE",
            channel="C0OTHER",
            text="just chatting",
            ts="1700000000.000200",
            channel_type=channel_types[subscription],
            subtype="message_changed",
        )
    return slack_events.envelope(event, team_id="T0TEST", bot_user_id="UBOT")


async def test_health_challenge_and_signatures(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot, aiohttp.ClientSession() as http:
        async with http.get(f"{bot.url}/healthz") as health:
            assert health.status == 200
            assert (await health.json())["ok"] is True

        challenge = slack_events.url_verification("challenge-xyz")
        good = await bot.send(challenge)
        assert good.status == 200
        assert good.json()["challenge"] == "challenge-xyz"

        bad = await bot.send(challenge, bad_signature=True)
        assert bad.status == 401
        stale = await bot.send(challenge, timestamp=1_600_000_000)
        assert stale.status == 401


async def test_every_subscribed_event_type_is_acked_never_404(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        for subscription in SUBSCRIBED:
            response = await bot.send(_sample_event(subscription))
            assert response.status == 200, (subscription, response.body)
        # The mention was a question; the edits, the home tab and other channels were not.
        turn = await bot.finished("1700000000.000100")
        assert turn.turn.text == "hi"
        assert await bot.turn("1700000000.000200", channel="C0OTHER") is None


async def test_badly_signed_events_are_refused_and_never_recorded(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        forged = bot.slack.post_user_message("C0GENERAL", "U0BOB", "forged", mention_bot=True)
        genuine = bot.slack.post_user_message("C0GENERAL", "U0ALICE", "hello", mention_bot=True)
        assert forged.app_mention_event is not None
        assert genuine.app_mention_event is not None
        bad = await bot.send(forged.app_mention_event, bad_signature=True)
        stale = await bot.send(forged.app_mention_event, timestamp=1_600_000_000)
        assert (bad.status, stale.status) == (401, 401)
        assert (await bot.send(genuine.app_mention_event)).status == 200
        assert (await bot.finished(genuine.ts)).status == "done"
        assert await bot.turn(forged.ts) is None
        assert len(bot.openai.requests_to("POST", "/responses")) == 1


async def test_socket_mode_delivers_events_without_an_http_events_route(tmp_path: Path) -> None:
    async with FakeSlack() as slack, FakeOpenAI() as openai:
        env = {
            **bot_env(slack, openai, f"sqlite:///{tmp_path / 'bot.db'}"),
            "SLACK_APP_TOKEN": "xapp-1-A0ANALYST-test",
            "SLACK_SIGNING_SECRET": "",
        }
        settings = Settings.from_env(env)
        assert settings.mode == "socket"
        openai.model.enqueue(ScriptedTurn(text="Over the socket."))
        async with open_runtime(settings) as runtime:
            application, endpoint = web_app(runtime.app, health=runtime.health, signing_secret=None)
            assert endpoint is None  # unsigned socket-mode apps must not take HTTP events
            assert {r.resource.canonical for r in application.router.routes()} == {"/healthz"}
            sent = slack.post_user_message("C0GENERAL", "U0ALICE", "hi", mention_bot=True)
            request = AsyncBoltRequest(
                mode="socket_mode",
                body=sent.app_mention_event,
                headers={"x-slack-retry-num": ["0"]},
            )
            response = await runtime.app.async_dispatch(request)
            assert response.status == 200
            await slack.wait_for(
                lambda: any(
                    "Over the socket." in m.text_content()
                    for m in slack.bot_messages("C0GENERAL", sent.ts)
                )
            )
