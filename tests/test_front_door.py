"""The HTTP front door: health, url_verification, signatures, every subscribed event acked."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import yaml

import handlers
from tests.bot_harness import running_bot
from tests.conftest import REPO
from tests.fakes import slack_events

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
