"""Function tools through the front door: `show_chart` and `show_table` become native Slack
blocks in the answer; invalid calls go back to the model, which fixes them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.bot_harness import BotUnderTest, running_bot
from tests.fakes.scripted_model import CallFunction, CodeRun, ScriptedTurn, function_outputs

CHART = {
    "title": "Revenue by region",
    "type": "bar",
    "categories": ["North", "South", "East"],
    "series": [{"name": "2025", "values": [120.5, 80, 95]}],
}


@pytest.fixture
async def bot(tmp_path: Path):
    async with running_bot(tmp_path) as running:
        yield running


def blocks_of(bot: BotUnderTest, ts: str, kind: str) -> list[list[dict[str, Any]]]:
    """Per bot message of the thread, its blocks of `kind`."""
    found = []
    for message in bot.slack.bot_messages("C0GENERAL", ts):
        blocks = message.blocks or (message.stream.all_blocks() if message.stream else [])
        found.append([b for b in blocks if b.get("type") == kind])
    return found


def texts(bot: BotUnderTest, ts: str) -> str:
    return " ".join(m.text_content() for m in bot.slack.bot_messages("C0GENERAL", ts))


async def test_a_chart_call_becomes_a_native_chart_in_the_answer(bot: BotUnderTest) -> None:
    bot.openai.model.enqueue(
        ScriptedTurn(
            text="Here is revenue by region.",
            runs=(CodeRun("df.groupby('region').revenue.sum()", logs="ok"),),
            calls=(CallFunction("show_chart", CHART),),
        ),
        ScriptedTurn(text="North leads with 120.5."),
    )
    sent = await bot.mention("revenue by region as a chart")
    assert (await bot.finished(sent.ts)).status == "done"

    [chart] = [b for blocks in blocks_of(bot, sent.ts, "data_visualization") for b in blocks]
    assert chart["title"] == "Revenue by region"
    assert chart["chart"]["type"] == "bar"
    assert chart["chart"]["axis_config"]["categories"] == ["North", "South", "East"]
    assert chart["chart"]["series"][0]["data"][0] == {"label": "North", "value": 120.5}
    shown = texts(bot, sent.ts)
    assert shown.index("Here is revenue by region.") < shown.index("North leads with 120.5.")

    first, second = bot.openai.model.seen
    offered = {t["name"]: t for t in first["tools"] if t["type"] == "function"}
    assert set(offered) == {"show_chart", "show_table"}
    assert all(t["strict"] for t in offered.values())
    [output] = function_outputs(second).values()
    assert json.loads(output)["ok"] is True
    assert not [m for m in second["input"] if m.get("type") == "message"]  # no new question


async def test_an_invalid_chart_goes_back_to_the_model_which_fixes_it(bot: BotUnderTest) -> None:
    too_many = {
        **CHART,
        "categories": [f"Company {i}" for i in range(30)],
        "series": [{"name": "revenue", "values": list(range(30))}],
    }
    errors: list[str] = []

    def model(request: dict[str, Any]) -> ScriptedTurn:
        outputs = [json.loads(o) for o in function_outputs(request).values()]
        if not outputs:
            return ScriptedTurn(text="", calls=(CallFunction("show_chart", too_many),))
        if not outputs[0]["ok"]:
            errors.append(outputs[0]["error"])
            return ScriptedTurn(text="", calls=(CallFunction("show_chart", CHART),))
        return ScriptedTurn(text="Top three regions shown.")

    bot.openai.model.responder = model
    sent = await bot.mention("revenue of every company as a chart")
    assert (await bot.finished(sent.ts)).status == "done"

    [error] = errors
    assert "1 to 20 categories (got 30)" in error
    assert "matplotlib" in error
    charts = [b for blocks in blocks_of(bot, sent.ts, "data_visualization") for b in blocks]
    assert [c["title"] for c in charts] == ["Revenue by region"]  # only the valid one
    assert "Top three regions shown." in texts(bot, sent.ts)
    assert not [c for c in bot.slack.calls if c.error == "invalid_blocks"]


async def test_malformed_arguments_are_answered_not_fatal(bot: BotUnderTest) -> None:
    bot.openai.model.enqueue(
        ScriptedTurn(text="", calls=(CallFunction("show_table", '{"caption": "x", "rows": [1,'),)),
        ScriptedTurn(text="I will describe it in words instead."),
    )
    sent = await bot.mention("a table please")
    assert (await bot.finished(sent.ts)).status == "done"
    [output] = function_outputs(bot.openai.model.seen[1]).values()
    assert "not valid JSON" in json.loads(output)["error"]
    assert "in words instead" in texts(bot, sent.ts)


async def test_a_long_table_is_a_data_table_and_a_csv_file(bot: BotUnderTest) -> None:
    rows = [[f"Company {i}", 1000 - i, None if i % 10 == 0 else i / 4] for i in range(150)]
    table = {"caption": "Companies by revenue", "columns": ["company", "revenue", "margin"]}
    bot.openai.model.enqueue(
        ScriptedTurn(
            text="All companies:", calls=(CallFunction("show_table", table | {"rows": rows}),)
        ),
        ScriptedTurn(text="Company 0 is first."),
    )
    sent = await bot.mention("every company by revenue")
    assert (await bot.finished(sent.ts)).status == "done"

    [block] = [b for blocks in blocks_of(bot, sent.ts, "data_table") for b in blocks]
    header, first, *rest = block["rows"]
    assert [c["text"] for c in header] == ["company", "revenue", "margin"]
    assert first[1] == {"type": "raw_number", "value": 1000, "text": "1000"}
    assert block["page_size"] == 10
    assert len(rest) == 99  # a data table holds 100 rows; the rest are in the file
    [csv] = [f for f in bot.slack.uploaded_files if f.name.endswith(".csv")]
    assert csv.name == "Companies by revenue.csv"
    lines = csv.content.decode().splitlines()
    assert len(lines) == 151
    assert lines[1] == "Company 0,1000,"
    assert "first 100 of 150 rows" in block["caption"]
    assert csv.name in block["caption"]


async def test_tables_and_charts_keep_to_slack_limits_per_message(bot: BotUnderTest) -> None:
    small = {"caption": "Totals", "columns": ["region", "total"], "rows": [["N", 1], ["S", 2]]}
    calls = (
        CallFunction("show_table", small),
        CallFunction("show_table", small | {"caption": "Totals again"}),
        CallFunction("show_chart", CHART),
        CallFunction("show_chart", CHART | {"title": "Second"}),
        CallFunction("show_chart", CHART | {"title": "Third", "type": "line"}),
    )
    bot.openai.model.enqueue(
        ScriptedTurn(text="| a | b |\n|---|---|\n| 1 | 2 |\n\nFive visuals:", calls=calls),
        ScriptedTurn(text="That is everything."),
    )
    sent = await bot.mention("all the views")
    assert (await bot.finished(sent.ts)).status == "done"

    tables = blocks_of(bot, sent.ts, "table")
    data_tables = blocks_of(bot, sent.ts, "data_table")
    charts = blocks_of(bot, sent.ts, "data_visualization")
    assert sum(map(len, tables)) == 1
    assert sum(map(len, data_tables)) == 2
    assert sum(map(len, charts)) == 3
    assert all(len(t) + len(d) <= 1 for t, d in zip(tables, data_tables, strict=True))
    assert all(len(c) <= 2 for c in charts)
    assert not [c for c in bot.slack.calls if c.error]


async def test_rounds_of_calls_are_capped_and_the_model_must_answer(bot: BotUnderTest) -> None:
    def model(request: dict[str, Any]) -> ScriptedTurn:
        if request.get("tool_choice") == "none":
            return ScriptedTurn(text="Enough charts: here is the summary.")
        return ScriptedTurn(text="", calls=(CallFunction("show_chart", CHART),))

    bot.openai.model.responder = model
    sent = await bot.mention("chart everything forever")
    assert (await bot.finished(sent.ts)).status == "done"
    requests = bot.openai.model.seen
    assert len(requests) == 7
    assert [r.get("tool_choice") for r in requests][-1] == "none"
    assert "here is the summary" in texts(bot, sent.ts)


async def test_a_call_left_unanswered_by_an_earlier_turn_does_not_block_the_thread(
    bot: BotUnderTest,
) -> None:
    bot.openai.model.enqueue(ScriptedTurn(text="First answer."))
    sent = await bot.mention("first question")
    assert (await bot.finished(sent.ts)).status == "done"
    # A turn stopped between the model's call and the bot's answer leaves the call pending
    # in the conversation; the service refuses new input until it is answered.
    [conversation] = bot.openai.conversations.values()
    conversation.items.append(
        {
            "id": "fc_dangling",
            "type": "function_call",
            "status": "completed",
            "call_id": "call_dangling",
            "name": "show_chart",
            "arguments": "{}",
        }
    )
    bot.openai.model.enqueue(ScriptedTurn(text="Second answer."))
    reply = await bot.say("and a follow-up", thread_ts=sent.ts)
    assert (await bot.finished(reply.ts)).status == "done"
    assert "Second answer." in texts(bot, sent.ts)
    assert "call_dangling" in function_outputs(bot.openai.model.seen[-1])
