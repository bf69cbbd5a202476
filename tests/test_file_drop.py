"""Dropping a data file in a channel: a local profile with suggested questions, no AI cost."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select

from bot import wording
from bot.slack.blocks import ACTION_SUGGESTION
from store.schema import turns
from tests.bot_harness import BotUnderTest, running_bot, wait_until
from tests.conftest import DATASETS
from tests.fakes.scripted_model import ScriptedTurn

# (file, rows, columns) as the datasets README describes them
DATASET_SHAPES = [
    ("fortune-style-1000-synthetic.csv", 1000, None),
    ("forbes2000-2004.csv", 2000, 9),
    ("womens-clothing-reviews-first1000.csv", 1000, 11),
]

NASTY = {
    "semicolons.csv": (b"name;amount\nA;1.234,5\nB;2,5\n", 2, 2),
    "latin1.csv": ("city,price\nSão Paulo,€10\nCafé,€12\n".encode("cp1252"), 2, 2),
    "bom.tsv": ("\ufeffa\tb\n1\t2\n3\t4\n5\t6\n".encode(), 3, 2),
    "quoted.csv": (b'id,comment\n1,"line one\nline two"\n2,"said ""hi"""\n', 2, 2),
    "ragged.csv": (b"a,b,c\n1,2\n3,4,5,6\n7,8,9\n", 3, 3),
    "header-only.csv": (b"region,revenue\n", 0, 2),
}


@pytest.fixture
async def bot(tmp_path: Path):
    async with running_bot(tmp_path) as running:
        yield running


def profile_message(bot: BotUnderTest, ts: str):
    for message in bot.slack.bot_messages("C0GENERAL", ts):
        if any(b.get("type") == "header" for b in message.blocks or []):
            return message
    return None


async def drop(bot: BotUnderTest, name: str, content: bytes, filetype: str | None = None):
    shared = bot.slack.add_file(name, content, filetype=filetype)
    return await bot.say("", files=[shared])


def counts(message) -> tuple[int, int]:
    summary = next(b["text"] for b in message.blocks if b["type"] == "markdown")
    shape = summary.split("*")[1]  # "*2,000 rows × 9 columns*"
    rows, _, columns = shape.partition(" rows × ")
    return int(rows.replace(",", "")), int(columns.split()[0])


@pytest.mark.parametrize(("name", "rows", "columns"), DATASET_SHAPES)
async def test_each_dataset_gets_a_profile_and_three_questions(
    bot: BotUnderTest, name: str, rows: int, columns: int | None
) -> None:
    sent = await drop(bot, name, (DATASETS / name).read_bytes())
    message = await wait_until(lambda: profile_message(bot, sent.ts), what="the profile")
    got_rows, got_columns = counts(message)
    assert got_rows == rows
    if columns is not None:
        assert got_columns == columns
    buttons = [e for b in message.blocks if b["type"] == "actions" for e in b["elements"]]
    assert len(buttons) == 3
    assert all(
        b["action_id"] == ACTION_SUGGESTION and len(b["text"]["text"]) <= 75 for b in buttons
    )
    assert [b["type"] for b in message.blocks].count("table") == 1  # one per message
    await bot.slack.wait_for(lambda: len(bot.slack.bot_messages("C0GENERAL", sent.ts)) == 2)
    sample = bot.slack.bot_messages("C0GENERAL", sent.ts)[-1]
    assert [b["type"] for b in sample.blocks or []].count("table") == 1  # the sample rows
    assert bot.openai.requests == []  # no AI cost for a quick look
    assert await bot.runtime.store.threads.is_engaged(bot.turn_key(sent.ts))


@pytest.mark.parametrize("name", sorted(NASTY))
async def test_messy_files_are_profiled(bot: BotUnderTest, name: str) -> None:
    content, rows, columns = NASTY[name]
    sent = await drop(bot, name, content)
    message = await wait_until(lambda: profile_message(bot, sent.ts), what="the profile")
    assert counts(message) == (rows, columns)


async def test_a_binary_file_named_csv_gets_a_clear_message(bot: BotUnderTest) -> None:
    sent = await drop(bot, "photo.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(200))
    await bot.slack.wait_for(lambda: bot.slack.bot_messages("C0GENERAL", sent.ts))
    [reply] = bot.slack.bot_messages("C0GENERAL", sent.ts)
    assert "photo.csv" in reply.text_content()
    assert "binary" in reply.text_content()


async def test_clicking_a_suggestion_answers_it_in_the_thread(bot: BotUnderTest) -> None:
    name = "fortune-style-1000-synthetic.csv"
    sent = await drop(bot, name, (DATASETS / name).read_bytes())
    message = await wait_until(lambda: profile_message(bot, sent.ts), what="the profile")
    button = next(e for b in message.blocks if b["type"] == "actions" for e in b["elements"])
    question = json.loads(button["value"])["q"]
    bot.openai.model.enqueue(ScriptedTurn(text="Here is the top 10."))
    payload = bot.slack.block_actions(
        user="U0BOB",
        channel="C0GENERAL",
        message_ts=message.ts,
        action_id=ACTION_SUGGESTION,
        value=button["value"],
    )
    assert (await bot.events.send_interaction(payload)).status == 200
    turn = await wait_until(lambda: _only_turn(bot), what="the suggested question's turn")
    done = await bot.finished(turn.turn.message_ts)
    assert done.status == "done"
    assert (done.turn.user_id, done.turn.text, done.turn.source) == (
        "U0BOB",
        question,
        "suggestion",
    )
    request = bot.openai.requests_to("POST", "/responses")[-1].json
    assert request["tool_choice"] == {"type": "code_interpreter"}
    assert name in request["instructions"]
    answer = [m.text_content() for m in bot.slack.bot_messages("C0GENERAL", sent.ts)]
    assert any(question in t and "Here is the top 10." in t for t in answer)


async def _only_turn(bot: BotUnderTest):
    """The one turn in the store (a button click has no Slack message ts to look up)."""
    async with bot.runtime.store.engine.connect() as conn:
        row = (await conn.execute(select(turns.c.message_ts))).first()
    return await bot.turn(row.message_ts) if row else None


async def test_auto_profile_can_be_switched_off_per_channel(bot: BotUnderTest) -> None:
    bot.slack.add_channel("C0QUIET", name="quiet", members=["U0ALICE"])
    sent = await bot.mention("auto-profile off", channel="C0QUIET")
    await bot.slack.wait_for(lambda: bot.slack.bot_messages("C0QUIET", sent.ts))
    assert bot.slack.bot_messages("C0QUIET", sent.ts)[0].text_content() == (
        wording.AUTO_PROFILE_OFF
    )
    shared = bot.slack.add_file("sales.csv", b"a,b\n1,2\n")
    quiet = await bot.say("", channel="C0QUIET", files=[shared])
    loud = await drop(bot, "sales2.csv", b"a,b\n1,2\n")
    await wait_until(lambda: profile_message(bot, loud.ts), what="the other channel's profile")
    await bot.settled()
    assert bot.slack.bot_messages("C0QUIET", quiet.ts) == []
    assert bot.openai.requests == []


async def test_a_command_delivered_twice_is_acknowledged_once(bot: BotUnderTest) -> None:
    sent = await bot.mention("auto-profile off", deliver="both")  # app_mention + message
    await bot.send(sent.message_event, retry_num=1)  # and a Slack retry
    await bot.settled()
    texts = [m.text_content() for m in bot.slack.bot_messages("C0GENERAL", sent.ts)]
    assert texts == [wording.AUTO_PROFILE_OFF]


async def test_names_and_headers_from_a_file_never_ping(bot: BotUnderTest) -> None:
    """A file name, CSV headers and cells become the profile, the status, the steps and an
    error message: none of it may notify anyone."""
    content = b"<!here> region,@channel revenue\n<!everyone>,10\nsouth,20\n"
    dropped = bot.slack.add_file("<!channel> sales.csv", content, filetype="csv")
    sent = await bot.say("", files=[dropped])
    await wait_until(lambda: profile_message(bot, sent.ts), what="the profile")
    bot.openai.model.enqueue(ScriptedTurn(text="Fine."))
    asked = await bot.mention("what is in it?", files=[dropped])
    assert (await bot.finished(asked.ts)).status == "done"
    odd = bot.slack.add_file("<!here> notes.exe", b"MZ\x90\x00", filetype="binary")
    refused = await bot.mention("and this?", files=[odd])
    assert (await bot.finished(refused.ts)).error_code == "file_unsupported"
    everything = " ".join(str(c.args) for c in bot.slack.calls)
    assert "sales.csv" in everything
    assert "notes.exe" in everything
    assert bot.slack.pings() == []
