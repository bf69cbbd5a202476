"""The analyst end to end: mention with a file, streamed answer, charts, follow-ups."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import text

from bot import wording
from tests.bot_harness import BotUnderTest, running_bot
from tests.conftest import DATASETS
from tests.fakes.scripted_model import CodeRun, GeneratedFile, ScriptedTurn, tiny_png

FORTUNE = DATASETS / "fortune-style-1000-synthetic.csv"
CHART = tiny_png(bars=(90, 70, 55, 40))


def chart_turn(text_prefix: str = "Top 10 companies by revenue") -> ScriptedTurn:
    return ScriptedTurn(
        text=(
            f"{text_prefix}: Northwind leads with $572,754m.\n\n"
            "| rank | name | revenue |\n|---|---|---|\n| 1 | Northwind | 572754 |\n\n"
            "Here is the chart: [Revenue chart](sandbox:/mnt/data/top10_revenue.png)"
        ),
        runs=(
            CodeRun("import pandas as pd\ndf = pd.read_csv(path)\ndf.head()", logs="1000 rows"),
            CodeRun(
                "ax = top10.plot.bar()\nax.figure.savefig('/mnt/data/top10_revenue.png')",
                logs="saved",
                files=(GeneratedFile("top10_revenue.png", CHART),),
            ),
        ),
    )


@pytest.fixture
async def bot(tmp_path: Path):
    async with running_bot(tmp_path) as running:
        yield running


def fortune_file(bot: BotUnderTest) -> dict:
    return bot.slack.add_file(
        FORTUNE.name, FORTUNE.read_bytes(), filetype="csv", mimetype="text/csv"
    )


async def test_mention_with_csv_streams_answer_and_posts_the_chart(bot: BotUnderTest) -> None:
    bot.openai.model.enqueue(chart_turn())
    csv = fortune_file(bot)
    sent = await bot.mention("top 10 companies by revenue, as a chart", files=[csv])
    turn = await bot.finished(sent.ts)
    assert turn.status == "done", turn.error_code

    # The thread's agent session: processing at once (Slack's Stop button shows), titled
    # after the question, active again at the end; the file read shows as a step.
    session = bot.slack.session("C0GENERAL", sent.ts)
    assert session is not None
    assert [change.status for change in session.history] == ["processing", "active"]
    assert session.title == "top 10 companies by revenue, as a chart"
    assert not bot.slack.status_history("C0GENERAL", sent.ts)  # no status texts needed
    [stream] = [m for m in bot.slack.bot_messages("C0GENERAL", sent.ts) if m.is_stream]
    assert "Reading fortune-style-1000-synthetic.csv" in str(stream.stream.tasks)

    # The answer is in the thread under the mention, and was streamed.
    replies = bot.slack.bot_messages("C0GENERAL", sent.ts)
    text_messages = [m for m in replies if not m.files]
    assert text_messages, "no answer text in the thread"
    answer = text_messages[0].text_content()
    assert "Northwind leads" in answer
    assert bot.slack.calls_to("chat.startStream")

    # The chart is in that thread with identical bytes, and the link points at it.
    [uploaded] = bot.slack.uploaded_files
    assert uploaded.content == CHART
    assert any(share.thread_ts == sent.ts for share in uploaded.shares)
    assert "sandbox:" not in answer
    assert uploaded.to_api()["permalink"] in answer

    # The CSV went to OpenAI byte for byte and into the container the model used.
    [upload] = [f for f in bot.openai.files.values() if f.filename == FORTUNE.name]
    assert upload.purpose == "user_data"
    assert upload.size == FORTUNE.stat().st_size

    # The turn record keeps usage, code and logs.
    assert turn.usage
    assert turn.usage["output_tokens"] > 0
    assert [run["logs"] for run in turn.code_runs or []] == ["1000 rows", "saved"]
    assert "savefig" in (turn.code_runs or [])[1]["code"]
    assert turn.reply_ts == text_messages[0].ts


async def test_request_carries_context_paths_and_forces_python(bot: BotUnderTest) -> None:
    bot.openai.model.enqueue(chart_turn())
    csv = fortune_file(bot)
    sent = await bot.mention("what is in this file?", files=[csv])
    await bot.finished(sent.ts)

    [request] = [r.json for r in bot.openai.requests_to("POST", "/responses")]
    container = bot.openai.containers[request["tools"][0]["container"]]
    [placed] = [f for f in container.files.values() if f.source == "user"]
    assert placed.path in request["instructions"]  # the model is told the exact path
    assert placed.path != "/mnt/data/" + FORTUNE.name
    assert "alice" in request["instructions"]  # who is asking, from users.info
    assert "Europe/Paris" in request["instructions"]
    assert request["tool_choice"] == {"type": "code_interpreter"}
    assert request["include"] == ["code_interpreter_call.outputs"]
    assert request["truncation"] == "auto"
    assert request["stream"] is True
    assert request["conversation"].startswith("conv_")
    assert request["model"] == "test-model"
    conversation = bot.openai.conversations[request["conversation"]]
    assert conversation.metadata["slack_thread_ts"] == sent.ts


async def test_follow_up_without_mention_reuses_conversation_and_container(
    bot: BotUnderTest,
) -> None:
    bot.openai.model.enqueue(chart_turn(), ScriptedTurn(text="Margins are highest in tech."))
    csv = fortune_file(bot)
    first = await bot.mention("top 10 by revenue", files=[csv])
    await bot.finished(first.ts)

    follow = await bot.say("and the margins?", thread_ts=first.ts)
    turn = await bot.finished(follow.ts)
    assert turn.status == "done"

    requests = [r.json for r in bot.openai.requests_to("POST", "/responses")]
    assert len(requests) == 2
    assert requests[0]["conversation"] == requests[1]["conversation"]
    assert requests[0]["tools"] == requests[1]["tools"]
    assert requests[1]["tool_choice"] == "auto"  # no new data files with the follow-up
    assert len(bot.openai.requests_to("POST", "/files")) == 1  # the CSV is not re-uploaded
    assert len(bot.openai.requests_to("POST", "/containers")) == 1
    texts = [m.text_content() for m in bot.slack.bot_messages("C0GENERAL", first.ts)]
    assert any("Margins are highest" in t for t in texts)


async def test_follow_up_after_container_expiry_reattaches_files(bot: BotUnderTest) -> None:
    bot.openai.model.enqueue(chart_turn(), ScriptedTurn(text="Still here, with your data."))
    csv = fortune_file(bot)
    first = await bot.mention("top 10 by revenue", files=[csv])
    await bot.finished(first.ts)
    [first_request] = [r.json for r in bot.openai.requests_to("POST", "/responses")]
    old_container = first_request["tools"][0]["container"]
    bot.openai.expire_container(old_container)

    follow = await bot.say("now by profit", thread_ts=first.ts)
    turn = await bot.finished(follow.ts)
    assert turn.status == "done", turn.error_code

    second = bot.openai.requests_to("POST", "/responses")[-1].json
    new_container = second["tools"][0]["container"]
    assert new_container != old_container
    placed = [f for f in bot.openai.containers[new_container].files.values() if f.source == "user"]
    assert len(placed) == 1
    assert placed[0].path in second["instructions"]
    assert "restarted" in second["instructions"]
    texts = " ".join(m.text_content() for m in bot.slack.bot_messages("C0GENERAL", first.ts))
    assert "Still here" in texts
    assert ":warning:" not in texts


async def test_retries_and_twins_give_exactly_one_answer(bot: BotUnderTest) -> None:
    bot.openai.model.enqueue(ScriptedTurn(text="One answer only."))
    sent = bot.slack.post_user_message("C0GENERAL", "U0ALICE", "hello", mention_bot=True)
    assert sent.app_mention_event is not None
    deliveries = [
        bot.send(sent.app_mention_event),
        bot.send(sent.app_mention_event, retry_num=1),
        bot.send(sent.app_mention_event, retry_num=2),
        bot.send(sent.message_event),
    ]
    responses = await asyncio.gather(*deliveries)
    assert [r.status for r in responses] == [200, 200, 200, 200]
    await bot.finished(sent.ts)
    assert len(bot.openai.requests_to("POST", "/responses")) == 1
    answers = list(bot.slack.bot_messages("C0GENERAL", sent.ts))
    assert len(answers) == 1
    assert "One answer only." in answers[0].text_content()


async def test_two_quick_messages_in_a_thread_run_in_order(bot: BotUnderTest) -> None:
    bot.openai.model.enqueue(
        ScriptedTurn(text="First answer.", text_deltas=20, delta_delay=0.02),
        ScriptedTurn(text="Second answer."),
    )
    first = await bot.mention("first question")
    # No wait: the follow-up may race the mention that starts the thread.
    second = await bot.say("second question", thread_ts=first.ts)
    turn_one = await bot.finished(first.ts)
    turn_two = await bot.finished(second.ts)
    assert (turn_one.status, turn_two.status) == ("done", "done")
    assert turn_one.finished_at is not None
    assert turn_two.started_at is not None
    assert turn_two.started_at >= turn_one.finished_at
    assert all(r.status == 200 for r in bot.openai.requests_to("POST", "/responses"))
    texts = [m.text_content() for m in bot.slack.bot_messages("C0GENERAL", first.ts)]
    assert texts.index(next(t for t in texts if "First answer" in t)) < texts.index(
        next(t for t in texts if "Second answer" in t)
    )


async def test_mention_in_existing_thread_uses_earlier_messages_and_files(
    bot: BotUnderTest,
) -> None:
    csv = fortune_file(bot)
    root = bot.slack.post_user_message("C0GENERAL", "U0BOB", "Q3 numbers attached", files=[csv])
    bot.slack.post_user_message(
        "C0GENERAL", "U0ALICE", "revenue looks odd for Contoso", thread_ts=root.ts
    )
    bot.openai.model.enqueue(ScriptedTurn(text="Contoso's revenue is an outlier."))
    sent = await bot.mention("can you check?", thread_ts=root.ts)
    turn = await bot.finished(sent.ts)
    assert turn.status == "done", turn.error_code

    request = bot.openai.requests_to("POST", "/responses")[-1].json
    text = request["input"][0]["content"][0]["text"]
    assert "Q3 numbers attached" in text
    assert "revenue looks odd for Contoso" in text
    assert "- bob: Q3 numbers attached" in text  # each earlier author by name
    assert "- alice: revenue looks odd" in text
    assert "can you check?" in text
    assert FORTUNE.name in request["instructions"]
    container = bot.openai.containers[request["tools"][0]["container"]]
    assert [f.source for f in container.files.values()] == ["user"]


async def test_dm_with_a_file_is_answered_in_a_dm_thread(bot: BotUnderTest) -> None:
    bot.openai.model.enqueue(chart_turn("In your DM"))
    csv = fortune_file(bot)
    sent = await bot.say("chart revenue please", channel="D0DM", files=[csv])
    turn = await bot.finished(sent.ts, channel="D0DM")
    assert turn.status == "done", turn.error_code
    replies = bot.slack.bot_messages("D0DM", sent.ts)
    assert any("In your DM" in m.text_content() for m in replies)
    [uploaded] = bot.slack.uploaded_files
    assert any(s.channel == "D0DM" and s.thread_ts == sent.ts for s in uploaded.shares)


async def test_bots_edits_and_unengaged_threads_are_ignored(bot: BotUnderTest) -> None:
    root = bot.slack.post_user_message("C0GENERAL", "U0BOB", "humans talking")
    reply = await bot.say("still humans", thread_ts=root.ts)
    await bot.settled()  # the listener ran: a turn it recorded would be there now
    assert await bot.turn(reply.ts) is None
    assert bot.openai.requests_to("POST", "/responses") == []


async def test_a_question_that_cannot_be_recorded_is_answered_with_an_apology(
    bot: BotUnderTest,
) -> None:
    """Slack has its 200 before the turn is written: if writing fails the asker is told."""
    async with bot.runtime.store.engine.begin() as conn:
        await conn.execute(
            text(
                "CREATE TRIGGER refuse_turns BEFORE INSERT ON turns "
                "BEGIN SELECT RAISE(ABORT, 'injected fault'); END"
            )
        )
    sent = await bot.mention("top 10 companies by revenue")
    await bot.settled()
    [reply] = [m.text_content() for m in bot.slack.bot_messages("C0GENERAL", sent.ts)]
    assert reply.startswith(wording.NOT_RECORDED.split("{ref}")[0])
    assert await bot.turn(sent.ts) is None
    assert bot.openai.requests_to("POST", "/responses") == []


async def test_a_file_name_never_becomes_a_path_outside_the_data_folder(bot: BotUnderTest) -> None:
    bot.openai.model.enqueue(ScriptedTurn(text="It has two rows."))
    shared = bot.slack.add_file("../../etc/passwd.csv", b"a,b\n1,2\n3,4\n", filetype="csv")
    sent = await bot.mention("how many rows?", files=[shared])
    turn = await bot.finished(sent.ts)
    assert turn.status == "done", turn.error_code
    [upload] = bot.openai.files.values()
    assert upload.filename == "passwd.csv"
    [container] = bot.openai.containers.values()
    [placed] = container.files.values()
    assert ".." not in placed.path
    assert placed.path.startswith("/mnt/data/")
    [request] = bot.openai.requests_to("POST", "/responses")
    instructions = request.json["instructions"]
    assert "passwd.csv" in instructions
    assert "../" not in instructions
