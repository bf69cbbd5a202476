"""Export notebook, through the front door: click the button under an answer, get the
thread's analysis as a valid `.ipynb` in the thread, also days later and after a restart."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import nbformat
import pytest

from bot import wording
from bot.core import exporting
from bot.core.records import StoredTurn
from bot.slack.blocks import ACTION_EXPORT_NOTEBOOK
from tests.bot_harness import BotUnderTest, running_bot, wait_until
from tests.fakes.openai_api import FakeOpenAI
from tests.fakes.scripted_model import (
    CodeRun,
    GeneratedFile,
    ResponseFailed,
    ScriptedTurn,
    tiny_png,
)
from tests.fakes.slack_api import FakeSlack
from tests.fakes.slack_file_record import FileRecord

CHANNEL = "C0GENERAL"
CHART = tiny_png(bars=(3, 6, 9))
LOAD = "import pandas as pd\ndf = pd.read_csv('/mnt/data/sales.csv')\nprint(df.shape)"
TOP = "top = df.nlargest(3, 'revenue')\nprint(top)"
PLOT = "ax = top.plot.bar(x='name', y='revenue')\nax.figure.savefig('/mnt/data/chart.png')"
FIRST = ScriptedTurn(
    text="The file has 1000 rows; the top 3 make **42%** of revenue.",
    runs=(
        CodeRun(LOAD, logs="(1000, 9)\n"),
        CodeRun(TOP, logs="  name  revenue\n0  Acme   572.8\n"),
    ),
)
SECOND = ScriptedTurn(
    text="Here it is: [the chart](sandbox:/mnt/data/chart.png)",
    runs=(CodeRun(PLOT, logs="", files=(GeneratedFile("chart.png", CHART),)),),
)


def button_ts(bot: BotUnderTest, thread_ts: str) -> str | None:
    """The last message of the thread carrying the Export notebook button."""
    found = None
    for message in bot.slack.bot_messages(CHANNEL, thread_ts):
        blocks = message.blocks or (message.stream.final_blocks if message.stream else None)
        for block in blocks or []:
            if any(e.get("action_id") == ACTION_EXPORT_NOTEBOOK for e in block.get("elements", [])):
                found = message.ts
    return found


async def click_export(bot: BotUnderTest, thread_ts: str, turn: StoredTurn, user: str) -> None:
    message_ts = await wait_until(lambda: button_ts(bot, thread_ts), what="an Export button")
    payload = bot.slack.block_actions(
        user=user,
        channel=CHANNEL,
        message_ts=message_ts,
        action_id=ACTION_EXPORT_NOTEBOOK,
        value=str(turn.id),
        block_id=f"answer-{turn.id}",
    )
    response = await bot.events.send_interaction(payload)
    assert response.status == 200


def notebooks(slack: FakeSlack) -> list[FileRecord]:
    return [f for f in slack.uploaded_files if f.name.endswith(".ipynb") and f.completed]


async def exported(bot: BotUnderTest, count: int = 1) -> nbformat.NotebookNode:
    """The `count`-th notebook posted in the thread, loaded and validated."""
    await bot.slack.wait_for(lambda: len(notebooks(bot.slack)) >= count)
    record = notebooks(bot.slack)[count - 1]
    loaded = nbformat.reads(record.content.decode("utf-8"), as_version=4)
    nbformat.validate(loaded)
    return loaded


async def two_turn_thread(bot: BotUnderTest, question: str = "what share do the top 3 have?"):
    bot.openai.model.enqueue(FIRST, SECOND)
    csv = bot.slack.add_file("sales.csv", b"name,revenue\nAcme,572.8\nGlobex,300\n")
    first = await bot.mention(question, files=[csv])
    assert (await bot.finished(first.ts)).status == "done"
    second = await bot.say("chart it", thread_ts=first.ts, user="U0BOB")
    turn = await bot.finished(second.ts)
    assert turn.status == "done"
    return first, turn


def cells(notebook: nbformat.NotebookNode, kind: str) -> list[Any]:
    return [c for c in notebook.cells if c.cell_type == kind]


@pytest.fixture
async def bot(tmp_path: Path):
    async with running_bot(tmp_path) as running:
        running.slack.add_user("U0BOB", name="bob")
        running.slack.ws.channels[CHANNEL].members.add("U0BOB")
        yield running


async def test_export_posts_the_whole_thread_as_a_valid_notebook(bot: BotUnderTest) -> None:
    root, second = await two_turn_thread(bot, "<!channel> what share do the top 3 have?")
    bot.openai.model.enqueue(ScriptedTurn(failure=ResponseFailed()))
    failed = await bot.say("and by region?", thread_ts=root.ts)
    assert (await bot.finished(failed.ts)).status == "failed"
    calls_to_openai = len(bot.openai.requests)

    await click_export(bot, root.ts, second, user="U0CAROL")  # not in the thread: may export
    notebook = await exported(bot)

    assert notebook.nbformat == 4
    assert notebook.nbformat_minor == 5
    assert notebook.metadata.kernelspec.name == "python3"
    code = cells(notebook, "code")
    assert [c.source for c in code] == [LOAD, TOP, PLOT]
    assert [c.execution_count for c in code] == [1, 2, 3]
    assert code[0].outputs == [{"output_type": "stream", "name": "stdout", "text": "(1000, 9)\n"}]
    assert "Acme   572.8" in code[1].outputs[0].text
    [image] = [o for o in code[2].outputs if o.output_type == "display_data"]
    assert base64.b64decode(image.data["image/png"]) == CHART
    markdown = [c.source for c in cells(notebook, "markdown")]
    text = "\n".join(markdown)
    assert "**alice** asked on" in text
    assert "**bob** asked on" in text
    assert "<@U0ALICE>" not in text
    assert "> <!channel> what share do the top 3 have?" in text  # verbatim: it is a file
    assert "the top 3 make **42%** of revenue." in text
    chart = next(f for f in bot.slack.uploaded_files if f.name == "chart.png")
    assert f"[the chart]({chart.to_api()['permalink']})" in text  # the link as shown
    assert "sandbox:" not in text
    assert "> and by region?" in text
    assert wording.NOTEBOOK_ENDED["failed"] in text
    assert "`sales.csv`" in markdown[0]
    [posted] = notebooks(bot.slack)
    assert posted.shares[0].thread_ts == root.ts
    assert posted.shares[0].channel == CHANNEL
    assert posted.name == "channel-what-share-do-the-top-3-have.ipynb"
    assert "<!channel>" not in posted.title  # what Slack shows is defused
    assert bot.slack.pings() == []
    assert len(bot.openai.requests) == calls_to_openai  # from the store only


async def test_a_deleted_chart_becomes_a_note(bot: BotUnderTest) -> None:
    root, second = await two_turn_thread(bot)
    chart = next(f for f in bot.slack.uploaded_files if f.name == "chart.png")
    bot.slack.delete_file(chart.id)

    await click_export(bot, root.ts, second, user="U0ALICE")
    notebook = await exported(bot)

    code = cells(notebook, "code")
    assert [c.source for c in code] == [LOAD, TOP, PLOT]
    assert not any(o.output_type == "display_data" for c in code for o in c.outputs)
    notes = "\n".join(c.source for c in cells(notebook, "markdown"))
    assert wording.NOTEBOOK_FILE_GONE.format(name="chart.png") in notes
    assert any(c.error == "file_deleted" for c in bot.slack.calls_to("files.info"))
    assert bot.slack.ephemerals == []  # the export did not fail


async def test_a_double_click_posts_one_notebook(bot: BotUnderTest) -> None:
    root, second = await two_turn_thread(bot)
    bot.slack.faults.delay("files.completeUploadExternal", 0.3)  # the second click lands meanwhile

    await click_export(bot, root.ts, second, user="U0ALICE")
    await click_export(bot, root.ts, second, user="U0ALICE")
    await exported(bot)
    await bot.settled()

    assert len(notebooks(bot.slack)) == 1
    assert len(bot.slack.calls_to("files.getUploadURLExternal")) == 2  # chart + one notebook


async def test_a_failed_upload_is_reported_to_the_clicker(bot: BotUnderTest) -> None:
    root, second = await two_turn_thread(bot)
    bot.slack.faults.error("files.completeUploadExternal", "not_in_channel")

    await click_export(bot, root.ts, second, user="U0BOB")
    await bot.slack.wait_for(lambda: bot.slack.ephemerals)

    assert notebooks(bot.slack) == []
    assert (bot.slack.ephemerals[-1].user, bot.slack.ephemerals[-1].text) == (
        "U0BOB",
        wording.EXPORT_FAILED,
    )


async def test_a_thread_with_nothing_recorded_says_so(bot: BotUnderTest) -> None:
    bot.openai.model.enqueue(ScriptedTurn(failure=ResponseFailed()))
    sent = await bot.mention("try this")
    failed = await bot.finished(sent.ts)
    message = bot.slack.bot_messages(CHANNEL, sent.ts)[-1]
    payload = bot.slack.block_actions(  # e.g. a button on a message from before the upgrade
        user="U0ALICE",
        channel=CHANNEL,
        message_ts=message.ts,
        action_id=ACTION_EXPORT_NOTEBOOK,
        value=str(failed.id),
    )
    assert (await bot.events.send_interaction(payload)).status == 200
    await bot.slack.wait_for(lambda: bot.slack.ephemerals)

    assert bot.slack.ephemerals[-1].text == wording.NOTHING_TO_EXPORT
    assert notebooks(bot.slack) == []


async def test_export_works_after_a_restart_with_the_containers_gone(tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'bot.db'}"
    async with FakeSlack() as slack, FakeOpenAI() as openai:
        slack.add_user("U0BOB", name="bob")
        slack.ws.channels[CHANNEL].members.add("U0BOB")
        async with running_bot(tmp_path, database_url=database, slack=slack, openai=openai) as bot:
            root, second = await two_turn_thread(bot)
        for container in openai.containers:  # days later: the containers are long gone
            openai.expire_container(container)
        calls_to_openai = len(openai.requests)
        async with running_bot(tmp_path, database_url=database, slack=slack, openai=openai) as bot:
            await click_export(bot, root.ts, second, user="U0ALICE")
            notebook = await exported(bot)

        assert [c.source for c in cells(notebook, "code")] == [LOAD, TOP, PLOT]
        outputs = [o for c in cells(notebook, "code") for o in c.outputs]
        images = [o.data["image/png"] for o in outputs if o.output_type == "display_data"]
        assert [base64.b64decode(i) for i in images] == [CHART]
        assert "the top 3 make **42%** of revenue." in json.dumps(notebook)
        assert len(openai.requests) == calls_to_openai


async def test_images_past_the_caps_become_notes(
    bot: BotUnderTest, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A JPEG over the per-image cap (a JPEG: the fake model streams PNGs inline as well)
    big = b"\xff\xd8\xff\xe0" + bytes(exporting.MAX_IMAGE_BYTES)
    small, other = tiny_png(bars=(30, 60)), tiny_png(bars=(60, 30))
    # room for one of the two small images after the first: the second is past the total
    monkeypatch.setattr(exporting, "MAX_IMAGES_BYTES", len(small) + len(other) - 1)
    bot.openai.model.enqueue(
        ScriptedTurn(
            text="Three charts.",
            runs=(
                CodeRun(
                    "draw()",
                    files=(
                        GeneratedFile("big.jpg", big),
                        GeneratedFile("small.png", small),
                        GeneratedFile("other.png", other),
                    ),
                ),
            ),
        )
    )
    sent = await bot.mention("draw three charts")
    turn = await bot.finished(sent.ts)
    assert turn.status == "done"

    await click_export(bot, sent.ts, turn, user="U0ALICE")
    notebook = await exported(bot)

    [run] = cells(notebook, "code")
    [embedded] = [o.data["text/plain"] for o in run.outputs if o.output_type == "display_data"]
    assert embedded in ("small.png", "other.png")
    notes = next(c.source for c in notebook.cells if c.id == "q1-files")
    assert wording.NOTEBOOK_FILE_TOO_LARGE.format(name="big.jpg") in notes
    left_out = "other.png" if embedded == "small.png" else "small.png"
    assert wording.NOTEBOOK_FILE_TOO_LARGE.format(name=left_out) in notes
    fetched = {d.file_id for d in bot.slack.downloads}
    big_file = next(f for f in bot.slack.uploaded_files if f.name == "big.jpg")
    assert big_file.id not in fetched  # its recorded size was enough to skip it
