"""The HTTP front door: health, url_verification, signatures, every subscribed event acked."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml
from slack_bolt.request.async_request import AsyncBoltRequest

import handlers
from bot.runtime import open_runtime
from bot.settings import Settings
from bot.slack.analyst_command import COMMAND
from bot.slack.front_door import web_app
from bot.slack.oauth import BOT_SCOPES
from tests.bot_harness import BotUnderTest, bot_env, running_bot, wait_until
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


def test_manifest_declares_the_analyst_command_and_its_scopes() -> None:
    [command] = MANIFEST["features"]["slash_commands"]
    assert command["command"] == COMMAND
    assert command["should_escape"] is False
    assert "settings" in command["usage_hint"]
    assert 0 < len(command["description"]) <= 2000
    scopes = set(MANIFEST["oauth_config"]["scopes"]["bot"])
    # commands: /analyst; *:read: conversations.info, is the bot in the channel it configures
    assert {"commands", "channels:read", "groups:read", "mpim:read"} <= scopes


def test_oauth_installs_ask_for_the_manifest_scopes_and_events() -> None:
    assert set(BOT_SCOPES) == set(MANIFEST["oauth_config"]["scopes"]["bot"])
    assert {"app_uninstalled", "tokens_revoked"} <= set(SUBSCRIBED)


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
    elif subscription in ("app_uninstalled", "tokens_revoked"):
        # Another workspace than the one the mention comes from: its removal stops nothing here.
        gone = {"type": subscription}
        if subscription == "tokens_revoked":
            gone["tokens"] = {"oauth": [], "bot": ["UBOTGONE"]}
        return slack_events.envelope(gone, team_id="T0GONE", bot_user_id="UBOTGONE")
    elif subscription == "agent_session_stopped":
        event = slack_events.agent_session_stopped(
            channel="C0GENERAL",
            thread_ts="1700000000.000100",
            user="U0ALICE",
            streaming_message_ts=[],
        )
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
        # Nothing listens to a reaction (Bolt: 404), and the bot's own posts are ignored
        # before any listener: acknowledged all the same, and settled like the others.
        reaction = {"type": "reaction_added", "user": "U0ALICE", "reaction": "tada"}
        own = slack_events.message(
            user="UBOT", bot_id=bot.slack.ws.bot_id, channel="C0GENERAL", text="my answer"
        )
        for extra in (reaction, own):
            response = await bot.send(slack_events.envelope(extra, team_id="T0TEST"))
            assert response.status == 200
        await bot.settled()
        assert await bot.runtime.store.retired.retired() == ["T0GONE"]
        events = bot.runtime.store.events
        await wait_until(lambda: _equals(events.waiting(), 0), what="every event to be settled")


async def _equals(value: Any, expected: Any) -> bool:
    return bool(await value == expected)


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
            assert {r.resource.canonical for r in application.router.routes()} == {
                "/livez",
                "/readyz",
                "/healthz",
                "/metrics",
            }
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


# --- malformed requests ---------------------------------------------------------------------------

MARKER = "INJECTED<script>"
JSON = "application/json"
FORM = "application/x-www-form-urlencoded"


async def _still_answers(bot: BotUnderTest, answer: str) -> None:
    """A mention sent now is answered: the front door and its dispatcher still work."""
    bot.openai.model.enqueue(ScriptedTurn(text=answer))
    sent = await bot.mention("are you still there?")
    turn = await bot.finished(sent.ts)
    assert turn.status == "done", turn.error_code
    assert any(answer in m.text_content() for m in bot.slack.bot_messages("C0GENERAL", sent.ts))


class HeldDispatcher:
    """Wraps the app's `async_dispatch` (the dispatcher's only way into Bolt): the dispatcher
    stops inside Bolt on one event until `release()`, so later deliveries queue up behind it;
    events whose id is in `raising` make Bolt raise."""

    def __init__(self, bot: BotUnderTest, monkeypatch: pytest.MonkeyPatch) -> None:
        self.held_id = slack_events.new_event_id()
        self.raising: set[str] = set()
        self._entered = asyncio.Event()
        self._released = asyncio.Event()
        self._bot = bot
        real = bot.runtime.app.async_dispatch

        async def dispatch(request: AsyncBoltRequest) -> Any:
            event_id = request.body.get("event_id")
            if event_id == self.held_id:
                self._entered.set()
                await self._released.wait()
            if event_id in self.raising:
                raise RuntimeError(f"{MARKER} raised inside Bolt")
            return await real(request)

        monkeypatch.setattr(bot.runtime.app, "async_dispatch", dispatch)

    async def hold(self) -> None:
        edit = slack_events.message(
            user="U0ALICE", channel="C0OTHER", text="edited", subtype="message_changed"
        )
        held = slack_events.envelope(edit, event_id=self.held_id)
        assert (await self._bot.send(held)).status == 200
        await wait_until(self._entered.is_set, what="the dispatcher to reach the held event")

    def release(self) -> None:
        self._released.set()


async def test_signed_event_with_broken_json_is_refused_and_the_next_is_answered(
    tmp_path: Path,
) -> None:
    async with running_bot(tmp_path) as bot:
        mention = slack_events.envelope(
            slack_events.app_mention(user="U0ALICE", channel="C0GENERAL", text="<@UBOT> hi")
        )
        broken = json.dumps(mention)[:-40].encode()  # a delivery cut short
        assert (await bot.events.send_raw(broken, JSON)).status == 400
        not_an_object = json.dumps([mention]).encode()
        assert (await bot.events.send_raw(not_an_object, JSON)).status == 400
        await _still_answers(bot, "Still answering after a broken delivery.")


async def test_signed_bodies_bolt_cannot_parse_get_400_never_500(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        truncated_action = json.dumps(
            slack_events.block_actions(
                user="U0ALICE", channel="C0GENERAL", message_ts="1.2", action_id="a", value="v"
            )
        )[:-10]
        malformed = [
            (b"payload=%7Bnot-json", FORM),
            (b"payload=%5B1%5D", FORM),  # a JSON array in the payload field
            (("payload=" + truncated_action).encode(), FORM),
            (b"[1, 2]", JSON),
            (b'"event_callback"', JSON),
            (b"null", JSON),
            (b'{"type": "url_verification", "challenge": ', JSON),
        ]
        for body, content_type in malformed:
            response = await bot.events.send_raw(body, content_type)
            assert response.status == 400, (body, response.status)
        challenge = await bot.send(slack_events.url_verification("still-here"))
        assert (challenge.status, challenge.json()["challenge"]) == (200, "still-here")


async def test_malformed_signature_headers_and_unsigned_bodies_get_401(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        event = slack_events.envelope(
            slack_events.app_mention(user="U0ALICE", channel="C0GENERAL", text="<@UBOT> hi")
        )
        body = json.dumps(event).encode()
        for stamp in ("not-a-number", "", "1.5", "9" * 400):
            stamped = {"X-Slack-Request-Timestamp": stamp}
            response = await bot.events.send_raw(body, JSON, headers=stamped)
            assert response.status == 401, (stamp, response.status)
        for signature in ("", "v0=not-hex", "v0=\u00e9\u00e9"):
            signed = {"X-Slack-Signature": signature}
            response = await bot.events.send_raw(body, JSON, headers=signed)
            assert response.status == 401, (signature, response.status)
        # Unsigned bodies are refused before they are parsed, however broken they are.
        for junk, content_type in ((b"payload=%7Bnot-json", FORM), (b"[1]", JSON)):
            response = await bot.events.send_raw(junk, content_type, bad_signature=True)
            assert response.status == 401, (junk, response.status)
        assert bot.openai.requests_to("POST", "/responses") == []


async def test_an_event_that_breaks_bolt_does_not_strand_the_events_behind_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with running_bot(tmp_path) as bot:
        dispatcher = HeldDispatcher(bot, monkeypatch)
        await dispatcher.hold()
        # A JSON object, so acknowledged; Bolt's event matchers then index into the string.
        stringly = {"type": "event_callback", "event_id": slack_events.new_event_id()}
        assert (await bot.send({**stringly, "event": "type"})).status == 200
        bot.openai.model.enqueue(ScriptedTurn(text="Queued behind a broken event."))
        sent = await bot.mention("are you there?")  # queued behind both
        dispatcher.release()
        assert (await bot.finished(sent.ts)).status == "done"


async def test_the_dispatcher_survives_an_exception_from_bolt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="bot.slack.front_door")
    async with running_bot(tmp_path) as bot:
        dispatcher = HeldDispatcher(bot, monkeypatch)
        failing = slack_events.envelope(
            slack_events.message(user="U0ALICE", channel="C0OTHER", text="edited", subtype=None)
        )
        dispatcher.raising.add(failing["event_id"])
        await dispatcher.hold()
        assert (await bot.send(failing)).status == 200
        bot.openai.model.enqueue(ScriptedTurn(text="Answered after a failure in Bolt."))
        sent = await bot.mention("are you there?")  # queued behind the failing event
        dispatcher.release()
        assert (await bot.finished(sent.ts)).status == "done"
        await _still_answers(bot, "And the next one too.")
    [failure] = [r for r in caplog.records if "failed in Bolt" in r.getMessage()]
    assert failure.levelno == logging.WARNING
    assert "RuntimeError" in failure.getMessage()
    assert failing["event_id"] in failure.getMessage()
    assert MARKER not in failure.getMessage()


def _logged(record: logging.LogRecord) -> str:
    return logging.Formatter().format(record)


async def test_sender_controlled_fields_stay_out_of_error_records(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="bot.slack")
    long_channel = MARKER + "-" * 100
    async with running_bot(tmp_path) as bot:
        # A mention without a `ts` makes the listener raise: the last-resort logger runs.
        mention = {"type": "app_mention", "user": "U0ALICE", "channel": long_channel}
        assert (await bot.send(slack_events.envelope({**mention, "text": MARKER}))).status == 200
        await wait_until(
            lambda: any(
                r.name == "bot.slack.app" and r.levelno == logging.ERROR for r in caplog.records
            ),
            what="the last-resort error logger",
        )
        # Bad requests carrying the marker in their type and channel fields.
        marked = {"type": "event_callback", "event": {"type": MARKER, "channel": MARKER}}
        broken = json.dumps(marked)[:-2].encode()
        assert (await bot.events.send_raw(broken, JSON)).status == 400
        stamped = {"X-Slack-Request-Timestamp": MARKER}
        body = json.dumps(marked).encode()
        assert (await bot.events.send_raw(body, JSON, headers=stamped)).status == 401
        form = ("payload=%7B" + MARKER).encode()
        assert (await bot.events.send_raw(form, FORM)).status == 400
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert [r.getMessage() for r in errors if r.name == "bot.slack.app"] == [
        "unhandled error in a Slack listener"
    ]
    assert [_logged(r) for r in errors if MARKER in _logged(r)] == []
    front_door = [r for r in caplog.records if r.name == "bot.slack.front_door"]
    assert all(MARKER not in _logged(r) for r in front_door if r.levelno >= logging.WARNING)
    [facts] = [
        r for r in caplog.records if r.name == "bot.slack.app" and r.levelno == logging.DEBUG
    ]
    assert repr(long_channel[:64]) in facts.getMessage()
    assert long_channel[:65] not in facts.getMessage()
