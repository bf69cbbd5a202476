"""Who may use it: allowed channels and people, and Slack Connect guests from other
organisations. A refused person is told once why and whom to ask; nothing is recorded, no
file is downloaded, nothing reaches OpenAI."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot import wording
from bot.errors import ConfigError
from bot.settings import Settings
from bot.slack.blocks import ACTION_RETRY
from tests.bot_harness import BotUnderTest, running_bot
from tests.fakes.scripted_model import ScriptedTurn

CSV = b"region,revenue\nNorth,10\nSouth,20\n"


def refusals(bot: BotUnderTest, user: str) -> list[str]:
    return [e.text or "" for e in bot.slack.ephemerals if e.user == user]


def nothing_happened(bot: BotUnderTest) -> None:
    assert bot.openai.requests == []  # nothing reached OpenAI, not even an upload
    assert bot.slack.downloads == []  # no file was fetched from Slack


async def test_only_allowed_people_are_answered_and_the_others_are_told_once(
    tmp_path: Path,
) -> None:
    async with running_bot(
        tmp_path, ANALYST_ALLOWED_USERS="U0ALICE", ANALYST_ACCESS_CONTACT="#data-platform"
    ) as bot:
        sales = bot.slack.add_file("sales.csv", CSV, filetype="csv")
        sent = await bot.mention("total revenue?", user="U0BOB", files=[sales], deliver="both")
        await bot.settled()
        again = await bot.mention("hello?", user="U0BOB", thread_ts=sent.ts)
        await bot.settled()

        assert await bot.turn(sent.ts) is None
        assert await bot.turn(again.ts) is None
        nothing_happened(bot)
        [told] = refusals(bot, "U0BOB")  # twins and a second try: one message
        assert told.startswith(wording.ACCESS_REFUSED["user"])
        assert "#data-platform" in told

        bot.openai.model.enqueue(ScriptedTurn(text="Alice gets an answer."))
        mine = await bot.mention("and for me?")
        assert (await bot.finished(mine.ts)).status == "done"


async def test_channels_outside_the_list_and_direct_messages_are_refused(tmp_path: Path) -> None:
    async with running_bot(tmp_path, ANALYST_ALLOWED_CHANNELS="C0DATA") as bot:
        bot.slack.add_channel("C0DATA", name="data", members=["U0ALICE"])
        in_general = await bot.mention("anything?")
        in_dm = await bot.say("hi there", channel="D0DM")
        await bot.settled()
        assert await bot.turn(in_general.ts) is None
        assert await bot.turn(in_dm.ts, channel="D0DM") is None
        nothing_happened(bot)
        texts = refusals(bot, "U0ALICE")
        assert any(t.startswith(wording.ACCESS_REFUSED["channel"]) for t in texts)
        assert any(t.startswith(wording.ACCESS_REFUSED["dm"]) for t in texts)
        assert all(wording.ACCESS_ASK_ADMIN in t for t in texts)

        bot.openai.model.enqueue(ScriptedTurn(text="Answered in #data."))
        sent = await bot.mention("in the right place", channel="C0DATA")
        assert (await bot.finished(sent.ts, channel="C0DATA")).status == "done"


async def test_dm_in_the_channel_list_allows_direct_messages(tmp_path: Path) -> None:
    async with running_bot(tmp_path, ANALYST_ALLOWED_CHANNELS="C0DATA, dm") as bot:
        bot.openai.model.enqueue(ScriptedTurn(text="Hello in a DM."))
        sent = await bot.say("hi there", channel="D0DM")
        assert (await bot.finished(sent.ts, channel="D0DM")).status == "done"


async def test_a_slack_connect_guest_is_refused_and_their_files_never_fetched(
    tmp_path: Path,
) -> None:
    async with running_bot(tmp_path) as bot:
        bot.slack.add_user("U0GUEST", name="guest", team_id="T0EXTERNAL")
        bot.slack.add_channel(
            "C0SHARED", name="shared", is_ext_shared=True, members=["U0ALICE", "U0GUEST"]
        )
        sales = bot.slack.add_file("sales.csv", CSV, filetype="csv", user="U0GUEST")
        sent = await bot.mention("sum this", channel="C0SHARED", user="U0GUEST", files=[sales])
        await bot.settled()
        assert await bot.turn(sent.ts, channel="C0SHARED") is None
        nothing_happened(bot)
        [told] = refusals(bot, "U0GUEST")
        assert told.startswith(wording.ACCESS_REFUSED["external"])

        # a colleague in the same shared channel is answered as usual
        bot.openai.model.enqueue(ScriptedTurn(text="For a colleague."))
        mine = await bot.mention("and for me?", channel="C0SHARED")
        assert (await bot.finished(mine.ts, channel="C0SHARED")).status == "done"


async def test_guests_are_answered_when_external_people_are_allowed(tmp_path: Path) -> None:
    async with running_bot(tmp_path, ANALYST_ALLOW_EXTERNAL="true") as bot:
        bot.slack.add_user("U0GUEST", name="guest", team_id="T0EXTERNAL")
        bot.slack.add_channel("C0SHARED", is_ext_shared=True, members=["U0GUEST"])
        bot.openai.model.enqueue(ScriptedTurn(text="Welcome, guest."))
        sent = await bot.mention("hello", channel="C0SHARED", user="U0GUEST")
        assert (await bot.finished(sent.ts, channel="C0SHARED")).status == "done"


async def test_a_refused_person_cannot_ask_through_buttons_or_profile_a_drop(
    tmp_path: Path,
) -> None:
    async with running_bot(tmp_path, ANALYST_ALLOWED_USERS="U0ALICE") as bot:
        bot.openai.model.enqueue(ScriptedTurn(text="An answer for Alice."))
        sent = await bot.mention("first")
        turn = await bot.finished(sent.ts)
        [answer] = [m for m in bot.slack.bot_messages("C0GENERAL", sent.ts) if not m.files]
        requests = len(bot.openai.requests)
        click = bot.slack.block_actions(
            user="U0BOB",
            channel="C0GENERAL",
            message_ts=answer.ts,
            action_id=ACTION_RETRY,
            value=str(turn.id),
        )
        assert (await bot.send(click)).status == 200
        dropped = bot.slack.add_file("drop.csv", CSV, filetype="csv", user="U0BOB")
        await bot.say("", user="U0BOB", files=[dropped])  # no question: a file drop
        await bot.settled()
        assert len(bot.openai.requests) == requests
        assert bot.slack.downloads == []
        assert len(refusals(bot, "U0BOB")) == 1  # the click; a drop is not answered at all


async def test_settings_are_refused_to_people_outside_the_list(tmp_path: Path) -> None:
    async with running_bot(tmp_path, ANALYST_ALLOWED_USERS="U0ALICE") as bot:
        _, answer = await bot.command("settings", user="U0BOB")
        assert answer is not None
        assert answer.text.startswith(wording.ACCESS_REFUSED["user"])
        assert bot.slack.open_view("U0BOB") is None


def test_bad_ids_are_configuration_errors() -> None:
    env = {
        "OPENAI_API_KEY": "sk-test",
        "SLACK_BOT_TOKEN": "xoxb-1",
        "SLACK_SIGNING_SECRET": "s",
        "ANALYST_ALLOWED_CHANNELS": "general, C0DATA",
        "ANALYST_ALLOWED_USERS": "alice",
        "ANALYST_ALLOW_EXTERNAL": "maybe",
    }
    with pytest.raises(ConfigError) as caught:
        Settings.from_env(env)
    problems = str(caught.value)
    assert "ANALYST_ALLOWED_CHANNELS: 'general' not channel ids" in problems
    assert "ANALYST_ALLOWED_USERS: 'alice' not user ids" in problems
    assert "ANALYST_ALLOW_EXTERNAL" in problems
