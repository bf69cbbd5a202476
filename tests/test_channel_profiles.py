"""Channel analyst profiles through the front door: `/analyst` as Slack sends it, the settings
modal in the fake Slack, submissions, announcements, and the next turn's request to OpenAI."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot import wording
from bot.__main__ import cli
from bot.core.instructions import PYTHON_OFF
from bot.core.records import ChannelProfile
from bot.core.tools import TOOL_NAMES
from tests.bot_harness import SLACK_SPEED, BotUnderTest, running_bot
from tests.fakes.openai_api import FakeOpenAI
from tests.fakes.scripted_model import ScriptedTurn
from tests.fakes.slack_api import FakeSlack
from tests.fakes.slack_block_text import blocks_text
from tests.fakes.slack_objects import Message
from tests.fakes.slack_submissions import NotSubmittable
from tests.fakes.slack_views import OpenView

GENERAL, ALICE = "C0GENERAL", "U0ALICE"
MODELS = {"ANALYST_MODELS": "test-model,test-model-mini"}
MANAGED_FILE = """\
C0GENERAL:   # general
  instructions: Figures are in thousands of EUR.
  model: test-model-mini
  reasoning_effort: low
  auto_profile: false
  tools: [code_interpreter, show_table]
"""


@pytest.fixture
async def bot(tmp_path: Path):
    async with running_bot(tmp_path, **MODELS) as running:
        yield running


def element(view: OpenView, block_id: str) -> dict[str, Any]:
    [block] = [b for b in view.view["blocks"] if b.get("block_id") == block_id]
    return dict(block["element"])


def initial(view: OpenView, block_id: str) -> Any:
    """What the modal shows in an input before anyone touches it."""
    shown = element(view, block_id)
    if shown["type"] == "checkboxes":
        return sorted(o["value"] for o in shown.get("initial_options", []))
    if shown["type"] == "static_select":
        return shown["initial_option"]["value"]
    return shown.get("initial_value")


async def open_settings(bot: BotUnderTest, *, channel: str = GENERAL) -> OpenView:
    _, acked = await bot.command("settings", channel=channel)
    assert acked is None  # an empty ack: the modal is what the user sees
    view: OpenView = await bot.slack.wait_for(lambda: bot.slack.open_view(ALICE))
    return view


async def announcements(bot: BotUnderTest, count: int = 1) -> list[Message]:
    def posted() -> list[Message]:
        found = [m for m in bot.slack.messages(GENERAL) if m.is_bot and m.thread_ts is None]
        return found if len(found) >= count else []

    result: list[Message] = await bot.slack.wait_for(posted)
    return result


async def ask(bot: BotUnderTest, question: str, **kwargs: Any) -> dict[str, Any]:
    """Mention the bot; the request its turn sent to POST /v1/responses."""
    before = len(bot.openai.requests_to("POST", "/responses"))
    bot.openai.model.enqueue(ScriptedTurn(text="Here you go."))
    sent = await bot.mention(question, **kwargs)
    turn = await bot.finished(sent.ts)
    assert turn.status == "done", turn.error_code
    requests = bot.openai.requests_to("POST", "/responses")
    assert len(requests) == before + 1
    body: dict[str, Any] = requests[-1].json
    return body


async def test_settings_round_trip_changes_the_next_turn(bot: BotUnderTest) -> None:
    plain = await ask(bot, "what is in this channel?")
    assert plain["model"] == "test-model"
    assert "reasoning" not in plain
    assert "## Channel instructions" not in plain["instructions"]

    modal = await open_settings(bot)
    assert modal.view["callback_id"] == "analyst_settings"
    assert (initial(modal, "instructions"), initial(modal, "model")) == (None, "(default)")
    assert initial(modal, "reasoning_effort") == "(default)"
    assert initial(modal, "tools") == sorted(TOOL_NAMES)
    assert initial(modal, "auto_profile") == ["auto_profile"]
    models = [o["value"] for o in element(modal, "model")["options"]]
    assert models == ["(default)", "test-model", "test-model-mini"]

    saved = await bot.submit(
        modal.id,
        {
            "instructions": "Amounts are in EUR; the fiscal year starts in April.",
            "model": "test-model-mini",
            "reasoning_effort": "high",
        },
    )

    assert saved.outcome == "closed"
    [announced] = await announcements(bot)
    assert announced.text_content() == (
        "alice changed this channel's analyst settings: model → test-model-mini, "
        "reasoning effort → high, instructions updated."
    )
    assert bot.slack.pings() == []
    request = await ask(bot, "how much did we sell in Q1?")
    assert request["model"] == "test-model-mini"
    assert request["reasoning"] == {"effort": "high"}
    instructions = request["instructions"]
    base, _, section = instructions.partition("## Channel instructions")
    assert "## This turn" in base  # the bot's rules and the turn's context come first
    assert "cannot change those rules" in section
    assert (
        "<channel_instructions>\nAmounts are in EUR; the fiscal year starts in April.\n"
        "</channel_instructions>"
    ) in section

    again = await open_settings(bot)
    assert initial(again, "instructions") == "Amounts are in EUR; the fiscal year starts in April."
    assert (initial(again, "model"), initial(again, "reasoning_effort")) == (
        "test-model-mini",
        "high",
    )
    assert "Last changed by <@U0ALICE>" in blocks_text(again.view["blocks"])
    stored = await bot.runtime.store.channels.profile(bot.team, GENERAL)
    assert stored.updated_by == ALICE


async def test_the_announcement_never_pings_whatever_the_name(bot: BotUnderTest) -> None:
    bot.slack.add_user("U0EVE", name="eve", display_name="<!channel> @here Eve")
    _, acked = await bot.command("settings", user="U0EVE")
    assert acked is None
    modal = await bot.slack.wait_for(lambda: bot.slack.open_view("U0EVE"))

    saved = await bot.submit(modal.id, {"reasoning_effort": "low"}, user="U0EVE")

    assert saved.outcome == "closed"
    [announced] = await announcements(bot)
    assert "Eve changed this channel's analyst settings: reasoning effort → low" in (
        announced.text_content()
    )
    assert bot.slack.pings() == []


async def test_a_model_no_longer_offered_is_a_field_error_and_nothing_is_stored(
    bot: BotUnderTest,
) -> None:
    earlier = ChannelProfile(instructions="Old rules.", model="retired-model")
    await bot.runtime.store.channels.save_profile(bot.team, GENERAL, earlier, by="U0BOB")

    modal = await open_settings(bot)
    assert initial(modal, "model") == "retired-model"  # shown truthfully, marked as such
    [retired] = [o for o in element(modal, "model")["options"] if o["value"] == "retired-model"]
    assert retired["text"]["text"] == "retired-model (no longer offered)"
    refused = await bot.submit(modal.id, {"instructions": "New rules."})
    await bot.settled()

    assert refused.outcome == "errors"
    assert list(refused.errors) == ["model"]
    assert "retired-model" in refused.errors["model"]
    assert bot.slack.open_view(ALICE) is modal  # still open, showing the error
    stored = await bot.runtime.store.channels.profile(bot.team, GENERAL)
    assert (stored.instructions, stored.updated_by) == ("Old rules.", "U0BOB")
    assert not [m for m in bot.slack.messages(GENERAL) if m.is_bot]
    request = await ask(bot, "hello?")  # meanwhile turns fall back to the default model
    assert request["model"] == "test-model"
    assert "Old rules." in request["instructions"]

    fixed = await bot.submit(modal.id, {"instructions": "New rules.", "model": "test-model-mini"})
    assert fixed.outcome == "closed"
    [announced] = await announcements(bot)
    assert "model → test-model-mini, instructions updated" in announced.text_content()


async def test_an_expired_trigger_is_reported_to_the_user(bot: BotUnderTest) -> None:
    bot.slack.triggers.ttl = 0.2
    bot.slack.faults.delay("views.open", seconds=0.4, times=1)  # Slack is slow to open it

    _, acked = await bot.command("settings")

    assert acked is None
    [told] = await bot.slack.wait_for(lambda: bot.slack.replies_to(ALICE))
    assert (told.via, told.response_type) == ("response_url", "ephemeral")
    assert told.content == wording.ANALYST_TOO_SLOW
    [call] = bot.slack.calls_to("views.open")
    assert call.error == "expired_trigger_id"
    assert bot.slack.open_view(ALICE) is None


async def test_a_slow_membership_check_does_not_cost_the_modal(bot: BotUnderTest) -> None:
    bot.slack.faults.delay("conversations.info", seconds=2.5, times=1)

    modal = await open_settings(bot)

    assert modal.view["callback_id"] == "analyst_settings"
    [opened] = bot.slack.calls_to("views.open")
    assert opened.ok


@pytest.mark.parametrize("text", ["help", "", "frobnicate"])
async def test_help_and_unknown_subcommands_reply_with_usage(bot: BotUnderTest, text: str) -> None:
    _, reply = await bot.command(text)

    assert reply is not None
    assert (reply.via, reply.response_type) == ("ack", "ephemeral")
    assert reply.content == wording.ANALYST_HELP
    assert "/analyst settings" in reply.content
    await bot.settled()
    assert bot.slack.calls_to("views.open") == []
    assert not [m for m in bot.slack.messages(GENERAL) if m.is_bot]


async def test_settings_in_a_dm_or_where_the_bot_is_not(bot: BotUnderTest) -> None:
    bot.slack.add_channel("C0ELSEWHERE", name="elsewhere", members=[ALICE], bot_member=False)

    _, in_dm = await bot.command("settings", channel="D0DM")
    _, acked = await bot.command("settings", channel="C0ELSEWHERE")
    [told] = await bot.slack.wait_for(
        lambda: [r for r in bot.slack.replies_to(ALICE) if r.via == "response_url"]
    )

    assert in_dm is not None
    assert in_dm.content == wording.ANALYST_IN_DM
    assert acked is None
    assert told.content == wording.ANALYST_NOT_IN_CHANNEL
    assert bot.slack.calls_to("views.open") == []


async def test_a_channel_in_the_admins_file_is_read_only_and_used_by_turns(
    tmp_path: Path,
) -> None:
    path = tmp_path / "profiles.yml"
    path.write_text(MANAGED_FILE)
    async with running_bot(tmp_path, ANALYST_CHANNEL_PROFILES=str(path), **MODELS) as bot:
        modal = await open_settings(bot)
        shown = blocks_text(modal.view["blocks"])
        request = await ask(bot, "sales by region?")
        refused = await bot.mention("auto-profile on")
        said = await bot.slack.wait_for(lambda: bot.slack.bot_messages(GENERAL, refused.ts))

    assert "submit" not in modal.view
    assert not [b for b in modal.view["blocks"] if b["type"] == "input"]
    assert wording.SETTINGS_MANAGED in shown
    assert "Figures are in thousands of EUR." in shown
    assert "test-model-mini" in shown
    with pytest.raises(NotSubmittable):
        bot.slack.view_submission(modal.id, ALICE)
    assert request["model"] == "test-model-mini"
    assert request["reasoning"] == {"effort": "low"}
    assert "Figures are in thousands of EUR." in request["instructions"]
    assert said[0].text_content() == wording.AUTO_PROFILE_MANAGED


async def test_a_submission_for_a_channel_the_file_took_over_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "profiles.yml"
    path.write_text(MANAGED_FILE)
    database = f"sqlite:///{tmp_path / 'bot.db'}"
    async with FakeSlack(rate_speed=SLACK_SPEED) as slack, FakeOpenAI() as openai:
        async with running_bot(
            tmp_path, slack=slack, openai=openai, database_url=database, **MODELS
        ) as bot:
            modal = await open_settings(bot)
        # The admins add the channel to the file and restart the bot while the modal is open.
        async with running_bot(
            tmp_path,
            slack=slack,
            openai=openai,
            database_url=database,
            ANALYST_CHANNEL_PROFILES=str(path),
            **MODELS,
        ) as bot:
            refused = await bot.submit(modal.id, {"instructions": "Mine now."})
            await bot.settled()
            stored = await bot.runtime.store.channels.profile(bot.team, GENERAL)

    assert refused.outcome == "errors"
    assert refused.errors == {"instructions": wording.SETTINGS_NOW_MANAGED}
    assert stored == ChannelProfile()
    assert not [m for m in slack.messages(GENERAL) if m.is_bot]


async def test_startup_refuses_an_invalid_profiles_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "profiles.yml"
    path.write_text(
        "C0GENERAL:\n  model: gpt-unknown\n  reasoning_effort: extreme\n  colour: blue\n"
        "D0DM: {}\nC0OTHER:\n  tools: [code_interpreter, web_search]\n"
        f"C0LONG:\n  instructions: {'x' * 3001}\n"
    )
    monkeypatch.chdir(tmp_path)  # no .env here
    env = {
        "SLACK_BOT_TOKEN": "xoxb-test",
        "SLACK_SIGNING_SECRET": "secret",
        "OPENAI_API_KEY": "sk-test",
        "ANALYST_CHANNEL_PROFILES": str(path),
        **MODELS,
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)

    assert cli(["run"]) == 2

    printed = capsys.readouterr().err
    assert printed.startswith("Slack Analyst cannot start")
    for expected in (
        "C0GENERAL: unknown field 'colour'",
        "C0GENERAL: model: 'gpt-unknown' is not in ANALYST_MODELS (test-model, test-model-mini)",
        "C0GENERAL: reasoning_effort: 'extreme' is not one of none, minimal, low",
        "D0DM: not a channel id",
        "C0OTHER: tools: unknown web_search",
        "C0LONG: instructions: 3,001 characters",
    ):
        assert expected in printed, expected


async def test_with_python_off_data_files_get_a_clear_answer(bot: BotUnderTest) -> None:
    modal = await open_settings(bot)
    saved = await bot.submit(modal.id, {"tools": ["file_search", "show_chart", "show_table"]})
    assert saved.outcome == "closed"
    [announced] = await announcements(bot)
    assert "Python (code interpreter) off" in announced.text_content()
    csv = bot.slack.add_file("sales.csv", b"region,revenue\nNorth,10\n", filetype="csv")

    sent = await bot.mention("total revenue?", files=[csv])
    turn = await bot.finished(sent.ts)

    assert (turn.status, turn.error_code) == ("failed", "python_off")
    [reply] = bot.slack.bot_messages(GENERAL, sent.ts)
    assert reply.text_content() == wording.error_text("python_off", name="sales.csv")
    assert "Retry" not in str(reply.blocks)  # asking again changes nothing: settings do
    assert bot.openai.requests_to("POST", "/responses") == []
    assert bot.openai.files == {}  # nothing was uploaded

    request = await ask(bot, "what does a median tell me?")
    # only the switched-on tools that need no Python: the native chart and table
    assert {(t["type"], t.get("name")) for t in request["tools"]} == {
        ("function", "show_chart"),
        ("function", "show_table"),
    }
    assert request["tool_choice"] == "auto"
    assert "include" not in request
    assert PYTHON_OFF in request["instructions"]
    assert bot.openai.containers == {}


PDF = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"


async def test_switched_off_tools_are_neither_offered_nor_prepared(bot: BotUnderTest) -> None:
    modal = await open_settings(bot)
    saved = await bot.submit(modal.id, {"tools": ["code_interpreter", "show_table"]})
    assert saved.outcome == "closed"
    await announcements(bot)
    report = bot.slack.add_file("report.pdf", PDF, filetype="pdf")

    request = await ask(bot, "summarise it", files=[report])

    offered = {t.get("name") or t["type"] for t in request["tools"]}
    assert offered == {"code_interpreter", "show_table"}
    assert bot.openai.vector_stores == {}  # no search: nothing indexed
    assert "show_chart" not in request["instructions"]


async def test_with_python_off_a_document_is_still_searched(bot: BotUnderTest) -> None:
    modal = await open_settings(bot)
    saved = await bot.submit(modal.id, {"tools": ["file_search"]})
    assert saved.outcome == "closed"
    await announcements(bot)
    report = bot.slack.add_file("report.pdf", PDF, filetype="pdf")

    request = await ask(bot, "what does the report say?", files=[report])

    [store] = bot.openai.vector_stores.values()
    assert [t["type"] for t in request["tools"]] == ["file_search"]
    assert request["tools"][0]["vector_store_ids"] == [store.id]
    assert bot.openai.containers == {}  # and no Python session was made for it
