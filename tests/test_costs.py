"""What it costs, through the front door: usage recorded per turn as the fake OpenAI reported
it, budgets that refuse a turn before any OpenAI call, the 80% notice, the App Home tab."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot import wording
from bot.core.records import TurnUsage
from bot.core.usage import day_of, month_of
from tests.bot_harness import BotUnderTest, running_bot
from tests.fakes import slack_events
from tests.fakes.scripted_model import (
    CallFunction,
    CodeRun,
    Drop,
    FileSearch,
    ResponseFailed,
    ScriptedTurn,
)

PRICES = """
models:
  test-model: {input: 2.0, cached_input: 0.5, output: 10.0}   # USD per 1M tokens
container_session: 0.03
file_search_call: 0.0025
"""
PDF = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
CSV = b"region,revenue\nNorth,10\nSouth,7\n"
TABLE = {"caption": "Revenue", "columns": ["region", "revenue"], "rows": [["North", 10]]}


def usage_of(input_tokens: int, cached: int, output: int, reasoning: int) -> dict[str, Any]:
    return {
        "input_tokens": input_tokens,
        "input_tokens_details": {"cached_tokens": cached, "cache_write_tokens": 0},
        "output_tokens": output,
        "output_tokens_details": {"reasoning_tokens": reasoning},
        "total_tokens": input_tokens + output,
    }


def prices_file(tmp_path: Path, text: str = PRICES) -> str:
    path = tmp_path / "prices.yml"
    path.write_text(text)
    return str(path)


@pytest.fixture
async def bot(tmp_path: Path) -> AsyncIterator[BotUnderTest]:
    async with running_bot(tmp_path, ANALYST_PRICES=prices_file(tmp_path)) as running:
        yield running


def reported(bot: BotUnderTest, turn_id: int) -> list[dict[str, Any]]:
    """The usage objects the fake OpenAI reported for the turn's responses."""
    runs = bot.openai.responses.values()
    return [
        run.response["usage"]
        for run in runs
        if run.request["metadata"]["turn_id"] == str(turn_id) and run.response.get("usage")
    ]


def expected_cost(usages: list[dict[str, Any]], *, containers: int, searches: int) -> float:
    fresh = sum(u["input_tokens"] - u["input_tokens_details"]["cached_tokens"] for u in usages)
    cached = sum(u["input_tokens_details"]["cached_tokens"] for u in usages)
    output = sum(u["output_tokens"] for u in usages)
    tokens = (fresh * 2.0 + cached * 0.5 + output * 10.0) / 1_000_000
    return round(tokens + containers * 0.03 + searches * 0.0025, 6)


async def recorded(bot: BotUnderTest, turn_id: int) -> TurnUsage:
    [usage] = await bot.runtime.store.usage.for_turn(turn_id)
    return usage


def assert_matches(usage: TurnUsage, usages: list[dict[str, Any]]) -> None:
    assert usage.input_tokens == sum(u["input_tokens"] for u in usages)
    assert usage.cached_input_tokens == sum(
        u["input_tokens_details"]["cached_tokens"] for u in usages
    )
    assert usage.output_tokens == sum(u["output_tokens"] for u in usages)
    assert usage.reasoning_tokens == sum(
        u["output_tokens_details"]["reasoning_tokens"] for u in usages
    )


async def test_text_code_and_search_turns_record_what_openai_reported(bot: BotUnderTest) -> None:
    # A code turn: a new thread, so a new container; the CSV goes to Python.
    bot.openai.model.enqueue(
        ScriptedTurn(
            text="North leads.",
            runs=(CodeRun("df.groupby('region').sum()", logs="North 10"),),
            usage=usage_of(1800, 600, 420, 128),
        )
    )
    csv = bot.slack.add_file("sales.csv", CSV, filetype="csv")
    sent = await bot.mention("who leads?", files=[csv])
    code_turn = await bot.finished(sent.ts)
    assert code_turn.status == "done", code_turn.error_code

    # A text follow-up in two rounds (a native table, then words): the same container.
    bot.openai.model.enqueue(
        ScriptedTurn(
            text="", calls=(CallFunction("show_table", TABLE),), usage=usage_of(900, 0, 50, 0)
        ),
        ScriptedTurn(text="As the table shows.", usage=usage_of(1000, 800, 30, 12)),
    )
    follow = await bot.say("as a table?", thread_ts=sent.ts)
    text_turn = await bot.finished(follow.ts)
    assert text_turn.status == "done", text_turn.error_code

    # A search turn: a document in a new thread.
    report = bot.slack.add_file("report.pdf", PDF, filetype="pdf")
    bot.openai.model.enqueue(
        ScriptedTurn(text="A strike.", searches=(FileSearch("why", cite=("report.pdf",)),))
    )
    asked = await bot.mention("why did revenue fall?", files=[report])
    search_turn = await bot.finished(asked.ts)
    assert search_turn.status == "done", search_turn.error_code

    for turn, responses, containers, searches in (
        (code_turn, 1, 1, 0),
        (text_turn, 2, 0, 0),
        (search_turn, 1, 1, 1),
    ):
        usage = await recorded(bot, turn.id)
        usages = reported(bot, turn.id)
        assert len(usages) == responses
        assert_matches(usage, usages)
        assert (usage.responses, usage.unmetered) == (responses, 0)
        assert (usage.container_sessions, usage.file_searches) == (containers, searches)
        assert usage.cost_usd == expected_cost(usages, containers=containers, searches=searches)
        assert (usage.team_id, usage.channel_id, usage.user_id) == (
            bot.team,
            "C0GENERAL",
            "U0ALICE",
        )
        assert usage.thread_ts == turn.turn.key.thread_ts
        assert usage.model == "test-model"
    assert len(bot.openai.containers) == 2  # what the container counts above say


async def test_a_failed_response_counts_what_it_reported_and_a_lost_one_is_unknown(
    bot: BotUnderTest,
) -> None:
    bot.openai.model.enqueue(
        ScriptedTurn(text="Partial " * 10, failure=ResponseFailed(after_text_deltas=2))
    )
    sent = await bot.mention("first")
    failed = await bot.finished(sent.ts)
    assert failed.status == "failed"
    usage = await recorded(bot, failed.id)
    [usages] = [reported(bot, failed.id)]
    assert len(usages) == 1
    assert usages[0]["output_tokens"] > 0
    assert_matches(usage, usages)
    assert (usage.responses, usage.unmetered, usage.container_sessions) == (1, 0, 1)

    # The connection keeps dropping mid-answer: nobody knows what the response used.
    lost = Drop(after_text_deltas=2, connections=9)
    bot.openai.model.enqueue(ScriptedTurn(text="Lost " * 10, failure=lost))
    again = await bot.mention("second")
    dropped = await bot.finished(again.ts)
    assert dropped.status == "failed"
    usage = await recorded(bot, dropped.id)
    assert (usage.responses, usage.unmetered) == (1, 1)
    assert usage.input_tokens is usage.output_tokens is usage.reasoning_tokens is None
    assert usage.cost_usd == 0.03  # what is known: its container


async def test_a_model_without_a_price_has_an_unknown_cost(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with running_bot(tmp_path) as bot:  # no price file: test-model has no price
        for text in ("one", "two"):
            sent = await bot.mention(text)
            turn = await bot.finished(sent.ts)
            usage = await recorded(bot, turn.id)
            assert usage.cost_usd is None
            assert usage.output_tokens == reported(bot, turn.id)[0]["output_tokens"]
    warnings = [r for r in caplog.records if "no price for model test-model" in r.getMessage()]
    assert len(warnings) == 1  # once, not per turn


async def seed(
    bot: BotUnderTest, cost: float, *, at: datetime | None = None, **fields: Any
) -> None:
    row: dict[str, Any] = {
        "team_id": bot.team,
        "channel_id": "C0GENERAL",
        "user_id": "U0ALICE",
        "thread_ts": "1.000001",
        "turn_id": 0,
        "model": "test-model",
        "responses": 1,
        "unmetered": 0,
        "input_tokens": 1000,
        "cached_input_tokens": 0,
        "output_tokens": 100,
        "reasoning_tokens": 0,
        "container_sessions": 0,
        "file_searches": 0,
        "cost_usd": cost,
        "created_at": at or datetime.now(UTC),
    }
    await bot.runtime.store.usage.record(TurnUsage(**(row | fields)))


def alices_day() -> tuple[datetime, datetime]:
    return day_of(datetime.now(UTC), ZoneInfo("Europe/Paris"))  # her Slack time zone


async def test_a_budget_reached_mid_day_refuses_the_next_turn(tmp_path: Path) -> None:
    env = {"ANALYST_PRICES": prices_file(tmp_path), "ANALYST_USER_DAILY_USD": "0.05"}
    async with running_bot(tmp_path, **env) as bot:
        start, resets = alices_day()
        await seed(bot, 5.0, at=start - timedelta(seconds=1))  # yesterday: not counted
        await seed(bot, 0.04)  # this morning
        first = await bot.mention("first question")  # 0.04 < 0.05: answered
        answered = await bot.finished(first.ts)
        assert answered.status == "done"
        spent = await bot.runtime.store.usage.spent(bot.team, since=start, user_id="U0ALICE")
        assert spent >= 0.05  # the new container alone costs 0.03
        responses = len(bot.openai.requests_to("POST", "/responses"))
        containers, files = len(bot.openai.containers), len(bot.openai.files)

        csv = bot.slack.add_file("sales.csv", CSV, filetype="csv")
        second = await bot.mention("and now?", files=[csv])
        refused = await bot.finished(second.ts)

        assert (refused.status, refused.error_code) == ("failed", "budget_user_daily")
        [reply] = bot.slack.bot_messages("C0GENERAL", second.ts)
        expected = wording.error_text(
            "budget_user_daily",
            spent=wording.usd(spent),
            limit="$0.05",
            reset=wording.moment(resets, "Europe/Paris"),
        )
        assert reply.text_content() == expected
        assert "midnight" in expected
        assert "Europe/Paris" in expected
        assert "Retry" not in str(reply.blocks)
        # Nothing went to OpenAI: no model call, no upload, no container, no download.
        assert len(bot.openai.requests_to("POST", "/responses")) == responses
        assert (len(bot.openai.containers), len(bot.openai.files)) == (containers, files)
        assert not [d for d in bot.slack.downloads if d.file_id == csv["id"]]
        assert await bot.runtime.store.usage.for_turn(refused.id) == []

        # Bob has his own day: he is still answered.
        bobs = await bot.mention("my question", user="U0BOB")
        assert (await bot.finished(bobs.ts)).status == "done"


@pytest.mark.parametrize(
    ("setting", "code"),
    [
        ("ANALYST_CHANNEL_MONTHLY_USD", "budget_channel_monthly"),
        ("ANALYST_WORKSPACE_MONTHLY_USD", "budget_workspace_monthly"),
    ],
)
async def test_a_monthly_budget_used_up_refuses_until_the_first(
    tmp_path: Path, setting: str, code: str
) -> None:
    async with running_bot(tmp_path, **{setting: "2"}) as bot:
        start, resets = month_of(datetime.now(UTC))
        await seed(bot, 50.0, at=start - timedelta(seconds=1))  # last month
        await seed(bot, 2.0, user_id="U0BOB")
        await seed(bot, 0.5, channel_id="C0OTHER")
        bot.slack.add_channel("C0OTHER", name="other", members=["U0ALICE"])

        sent = await bot.mention("a question")
        refused = await bot.finished(sent.ts)

        [reply] = bot.slack.bot_messages("C0GENERAL", sent.ts)
        assert (refused.status, refused.error_code) == ("failed", code)
        limit, reset = "$2.00", wording.moment(resets, "UTC")
        if code == "budget_channel_monthly":  # only this channel's 2.00 counts
            assert reply.text_content() == wording.error_text(
                code, spent="$2.00", limit=limit, reset=reset
            )
            elsewhere = await bot.mention("there?", channel="C0OTHER")
            assert (await bot.finished(elsewhere.ts, channel="C0OTHER")).status == "done"
        else:
            assert reply.text_content() == wording.error_text(
                code, spent="$2.50", limit=limit, reset=reset
            )
        assert reset.startswith("00:00 on")
        assert f" 1 {resets:%b %Y}" in reset
        assert len(bot.openai.requests_to("POST", "/responses")) <= 1


async def test_the_80_percent_notice_is_given_once(tmp_path: Path) -> None:
    prices = PRICES.replace("container_session: 0.03", "container_session: 0.10")
    env = {"ANALYST_PRICES": prices_file(tmp_path, prices), "ANALYST_USER_DAILY_USD": "1"}
    async with running_bot(tmp_path, **env) as bot:
        await seed(bot, 0.75)
        sent = await bot.mention("first")  # + a container (0.10): past 80%
        assert (await bot.finished(sent.ts)).status == "done"
        start, resets = alices_day()
        spent = await bot.runtime.store.usage.spent(bot.team, since=start, user_id="U0ALICE")
        assert 0.8 <= spent < 1.0

        [notice] = [e for e in bot.slack.ephemerals if "Heads-up" in (e.text or "")]
        assert (notice.user, notice.channel, notice.thread_ts) == ("U0ALICE", "C0GENERAL", sent.ts)
        assert notice.text == wording.BUDGET_NEAR["user_daily"].format(
            spent=wording.usd(spent),
            limit="$1.00",
            share=f"{spent:.0%}",
            reset=wording.moment(resets, "Europe/Paris"),
        )

        follow = await bot.say("second", thread_ts=sent.ts)  # still between 80% and 100%
        assert (await bot.finished(follow.ts)).status == "done"
        assert len([e for e in bot.slack.ephemerals if "Heads-up" in (e.text or "")]) == 1


async def open_home(bot: BotUnderTest, user: str) -> dict[str, Any]:
    event = slack_events.app_home_opened(user, "D0HOME", tab="home")
    envelope = slack_events.envelope(event, team_id=bot.team, bot_user_id=bot.slack.ws.bot_user_id)
    before = len(bot.slack.calls_to("views.publish"))
    assert (await bot.send(envelope)).status == 200
    await bot.slack.wait_for(lambda: len(bot.slack.calls_to("views.publish")) > before)
    assert bot.slack.calls_to("views.publish")[-1].ok
    return bot.slack.ws.home_views[user].view


def home_text(view: dict[str, Any]) -> str:
    texts = []
    for block in view["blocks"]:
        if "text" in block:
            texts.append(block["text"]["text"])
        texts += [element.get("text", "") for element in block.get("elements", [])]
    return "\n".join(texts)


async def test_the_home_tab_shows_the_viewers_usage_and_admins_the_workspaces(
    tmp_path: Path,
) -> None:
    env = {"ANALYST_USER_DAILY_USD": "2", "ANALYST_WORKSPACE_MONTHLY_USD": "100"}
    async with running_bot(tmp_path, **env, ANALYST_ADMINS="U0CAROL") as bot:
        bot.slack.add_user("U0DANA", name="dana", is_admin=True)
        bot.slack.add_user("U0CAROL", name="carol")
        now = datetime.now(UTC)
        start, _ = alices_day()
        month, _ = month_of(now)
        earlier = now - timedelta(days=3)
        await seed(bot, 0.25)
        await seed(bot, 0.5, at=earlier)
        await seed(bot, 3.0, user_id="U0BOB", channel_id="C0DATA")
        await seed(bot, 0.0, user_id="U0BOB", cost_usd=None)  # unknown: not counted

        view = await open_home(bot, "U0ALICE")
        text = home_text(view)
        assert view["type"] == "home"
        assert f"*Today:* $0.25 · 1 question(s) of your $2.00 daily budget ({0.125:.0%})" in text
        month_cost, month_turns = (0.75, 2) if earlier >= month else (0.25, 1)
        assert f"*This month:* {wording.usd(month_cost)} · {month_turns} question(s)" in text
        assert wording.HOME_ADMIN_HEADER not in text  # not an admin
        assert "U0BOB" not in text

        for admin in ("U0DANA", "U0CAROL"):  # a Slack admin; one listed in ANALYST_ADMINS
            text = home_text(await open_home(bot, admin))
            assert wording.HOME_ADMIN_HEADER in text
            total = 3.0 + month_cost
            assert f"*Workspace:* {wording.usd(total)} · {month_turns + 2} question(s)" in text
            assert f"of its $100.00 monthly budget ({total / 100:.0%})" in text
            assert text.index("<#C0DATA>") < text.index("<#C0GENERAL>")  # costliest first
            assert text.index("<@U0BOB>") < text.index("<@U0ALICE>")
            assert wording.HOME_UNKNOWN.format(count=1) in text
        assert start <= now
