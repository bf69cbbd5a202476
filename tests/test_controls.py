"""The Slack-native experience: task steps, Cancel, Show code, feedback, Retry."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot import wording
from bot.core.controls import code_listing
from bot.slack.blocks import ACTION_CANCEL, ACTION_FEEDBACK, ACTION_RETRY, ACTION_SHOW_CODE
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

CHART = tiny_png(bars=(3, 6, 9))


def two_runs_turn(**overrides: object) -> ScriptedTurn:
    fields: dict[str, object] = {
        "text": "Revenue is concentrated in the top 3. [Chart](sandbox:/mnt/data/share.png)",
        "runs": (
            CodeRun(
                "import pandas as pd\ndf = pd.read_csv('/mnt/data/x.csv')\ndf.shape",
                logs="(1000, 9)",
            ),
            CodeRun(
                "ax = df.plot.bar()\nax.figure.savefig('/mnt/data/share.png')",
                logs="saved share.png",
                files=(GeneratedFile("share.png", CHART),),
            ),
        ),
    }
    fields.update(overrides)
    return ScriptedTurn(**fields)  # type: ignore[arg-type]


def button_message(bot: BotUnderTest, ts: str, action_id: str):
    for message in bot.slack.bot_messages("C0GENERAL", ts):
        blocks = message.blocks or (message.stream.final_blocks if message.stream else None)
        for block in blocks or []:
            elements = block.get("elements") or [block.get("accessory") or {}]
            if any(e.get("action_id") == action_id for e in elements):
                return message
    return None


async def click(bot: BotUnderTest, ts: str, action_id: str, value: str, user: str = "U0ALICE"):
    message = await wait_until(
        lambda: button_message(bot, ts, action_id), what=f"a {action_id} button"
    )
    payload = bot.slack.block_actions(
        user=user, channel="C0GENERAL", message_ts=message.ts, action_id=action_id, value=value
    )
    response = await bot.events.send_interaction(payload)
    assert response.status == 200


@pytest.fixture
async def bot(tmp_path: Path):
    async with running_bot(tmp_path) as running:
        yield running


@pytest.fixture
async def fallback_bot(tmp_path: Path):
    """A workspace where Slack refuses agent sessions: no native Stop button, so the bot
    shows its own Cancel control (what these tests exercise)."""
    async with running_bot(tmp_path) as running:
        running.slack.faults.disable_agent_sessions()
        yield running


async def test_code_runs_show_as_steps_then_text_then_charts(bot: BotUnderTest) -> None:
    bot.openai.model.enqueue(two_runs_turn())
    sent = await bot.mention("what share do the top 3 have?")
    turn = await bot.finished(sent.ts)
    assert turn.status == "done"
    messages_ = bot.slack.bot_messages("C0GENERAL", sent.ts)
    answer = next(m for m in messages_ if m.is_stream)
    tasks = answer.stream.tasks
    assert [t["status"] for t in tasks.values()] == ["complete", "complete"]
    titles = [t["title"] for t in tasks.values()]
    assert titles[0] == "Running Python: df = pd.read_csv('/mnt/data/x.csv')"
    assert titles[1] == "Running Python: ax = df.plot.bar()"
    assert [t.get("details") for t in tasks.values()] == ["(1000, 9)", "saved share.png"]
    chunk_types = [c["type"] for c in answer.stream.chunks]
    assert chunk_types.index("task_update") < chunk_types.index("markdown_text")
    chart_message = next(m for m in messages_ if m.files)
    assert float(chart_message.ts) > float(answer.ts)  # the chart comes after its text
    assert [f.content for f in chart_message.files] == [CHART]
    # Slack's own Stop button (the thread's agent session) replaces our Cancel control
    assert bot.slack.session("C0GENERAL", sent.ts).status == "active"
    assert not bot.slack.calls_to("chat.delete")
    assert all(ACTION_CANCEL not in str(c.args) for c in bot.slack.calls_to("chat.postMessage"))


async def test_without_native_streaming_the_same_answer_arrives(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    async with running_bot(tmp_path) as native, running_bot(tmp_path / "b") as fallback:
        fallback.slack.faults.disable_streaming()
        results = []
        for bot in (native, fallback):
            bot.openai.model.enqueue(two_runs_turn(text_deltas=30, delta_delay=0.05))
            sent = await bot.mention("what share do the top 3 have?")
            assert (await bot.finished(sent.ts)).status == "done"
            [answer] = [
                m
                for m in bot.slack.bot_messages("C0GENERAL", sent.ts)
                if not m.files and "Revenue" in m.text_content()
            ]
            results.append((bot, answer))
        (_, streamed), (slack_fallback, updated) = results
        link = "Revenue is concentrated in the top 3."
        assert link in streamed.text_content()
        assert link in updated.text_content()
        assert not updated.is_stream
        # interim edits at most once a second; the final edit and the links' edit follow
        times = [e.time for e in updated.edits][:-2]
        assert all(b - a >= 0.95 for a, b in zip(times, times[1:], strict=False)), times
        # the steps are in the fallback message too, as lines
        assert "✓ Running Python: ax = df.plot.bar()" in updated.text_content() or any(
            "Running Python: ax = df.plot.bar()" in str(b) for b in updated.blocks or []
        )
        assert slack_fallback.slack.uploaded_files[0].content == CHART


async def test_cancel_stops_the_response_and_the_next_turn_starts(
    fallback_bot: BotUnderTest,
) -> None:
    slow = ScriptedTurn(
        text="This analysis takes a long time to explain. " * 20,
        runs=(CodeRun("long_computation()", logs="done"),),
        text_deltas=60,
        delta_delay=0.2,
    )
    fallback_bot.openai.model.enqueue(slow, ScriptedTurn(text="Second question answered."))
    first = await fallback_bot.mention("run the long analysis")
    await wait_until(lambda: fallback_bot.turn(first.ts), what="the first turn")
    second = await fallback_bot.say("and then this", thread_ts=first.ts)
    turn = await fallback_bot.turn(first.ts)
    assert turn is not None
    await click(fallback_bot, first.ts, ACTION_CANCEL, str(turn.id), user="U0ALICE")

    cancelled = await fallback_bot.finished(first.ts)
    assert cancelled.status == "cancelled"
    texts = [m.text_content() for m in fallback_bot.slack.bot_messages("C0GENERAL", first.ts)]
    assert any(wording.CANCELLED_BY.format(name="alice") in t for t in texts)
    assert button_message(fallback_bot, first.ts, ACTION_SHOW_CODE) is None  # no answer controls
    [first_response] = [
        r
        for r in fallback_bot.openai.responses.values()
        if "long analysis" in str(r.request["input"])
    ]
    await fallback_bot.openai.wait_for(
        lambda: first_response.id in fallback_bot.openai.closed_streams
    )
    assert (await fallback_bot.finished(second.ts)).status == "done"
    assert any(
        "Second question answered." in m.text_content()
        for m in fallback_bot.slack.bot_messages("C0GENERAL", first.ts)
    )


async def test_a_second_cancel_click_while_the_first_is_handled_changes_nothing(
    fallback_bot: BotUnderTest,
) -> None:
    fallback_bot.openai.model.enqueue(
        ScriptedTurn(text="Slow. " * 40, runs=(CodeRun("x = 1"),), text_deltas=40, delta_delay=0.1)
    )
    sent = await fallback_bot.mention("slow one")
    turn = await wait_until(lambda: fallback_bot.turn(sent.ts), what="the turn")
    # Writing "Cancelled by alice" takes a moment; the second click lands meanwhile.
    fallback_bot.slack.faults.delay("chat.stopStream", 0.5)
    fallback_bot.slack.faults.delay("chat.postMessage", 0.5)
    await click(fallback_bot, sent.ts, ACTION_CANCEL, str(turn.id))
    await click(fallback_bot, sent.ts, ACTION_CANCEL, str(turn.id))
    cancelled = await fallback_bot.finished(sent.ts)
    assert cancelled.status == "cancelled", cancelled.error_code
    texts = [m.text_content() for m in fallback_bot.slack.bot_messages("C0GENERAL", sent.ts)]
    assert sum(wording.CANCELLED_BY.format(name="alice") in t for t in texts) == 1
    assert not any(wording.error_text("interrupted") in t for t in texts)


async def test_only_people_in_the_thread_can_cancel(fallback_bot: BotUnderTest) -> None:
    fallback_bot.slack.add_user("U0EVE", name="eve")
    fallback_bot.slack.ws.channels["C0GENERAL"].members.add(
        "U0EVE"
    )  # in the channel, not the thread
    fallback_bot.openai.model.enqueue(
        ScriptedTurn(text="Slow. " * 40, runs=(CodeRun("x = 1"),), text_deltas=40, delta_delay=0.1)
    )
    sent = await fallback_bot.mention("slow one")
    turn = await wait_until(lambda: fallback_bot.turn(sent.ts), what="the turn")
    await click(fallback_bot, sent.ts, ACTION_CANCEL, str(turn.id), user="U0EVE")
    await fallback_bot.slack.wait_for(lambda: fallback_bot.slack.ephemerals)
    assert fallback_bot.slack.ephemerals[-1].text == wording.NOT_IN_THREAD
    assert (await fallback_bot.finished(sent.ts)).status == "done"


async def test_show_code_after_a_restart_and_feedback(tmp_path: Path) -> None:
    database = f"sqlite:///{tmp_path / 'bot.db'}"
    async with FakeSlack() as slack, FakeOpenAI() as openai:
        openai.model.enqueue(two_runs_turn())
        async with running_bot(tmp_path, database_url=database, slack=slack, openai=openai) as bot:
            sent = await bot.mention("what share do the top 3 have?")
            turn = await bot.finished(sent.ts)
        for container in openai.containers:  # the container is long gone
            openai.expire_container(container)
        async with running_bot(tmp_path, database_url=database, slack=slack, openai=openai) as bot:
            await click(bot, sent.ts, ACTION_SHOW_CODE, str(turn.id))
            await click(bot, sent.ts, ACTION_SHOW_CODE, str(turn.id))  # a double click
            await slack.wait_for(lambda: any(f.name.endswith(".py") for f in slack.uploaded_files))
            await click(bot, sent.ts, ACTION_FEEDBACK, f"good:{turn.id}", user="U0BOB")
            await slack.wait_for(lambda: slack.ephemerals)
            feedback = await bot.runtime.store.artifacts.feedback_for(turn.id)
        code_files = [f for f in slack.uploaded_files if f.name.endswith(".py")]
        assert len(code_files) == 1
        assert code_files[0].content.decode() == code_listing(
            turn.code_runs or [], question=turn.turn.text
        )
        assert "df.plot.bar()" in code_files[0].content.decode()
        assert "# (1000, 9)" in code_files[0].content.decode()
        assert feedback == {"U0BOB": "good"}
        assert slack.ephemerals[-1].text == wording.FEEDBACK_THANKS


async def test_retry_reruns_a_failed_turn_once_however_many_clicks(bot: BotUnderTest) -> None:
    bot.openai.model.enqueue(
        ScriptedTurn(failure=ResponseFailed()),  # a failed response is not retried by itself
        ScriptedTurn(text="Worked the second time."),
    )
    sent = await bot.mention("try this")
    failed = await bot.finished(sent.ts)
    assert failed.status == "failed"
    await click(bot, sent.ts, ACTION_RETRY, str(failed.id))
    await click(bot, sent.ts, ACTION_RETRY, str(failed.id))
    retried = await bot.finished(f"retry-{failed.id}")
    assert retried.status == "done"
    assert retried.turn.retry_of == failed.id
    assert retried.turn.text == "try this"
    assert len(bot.openai.requests_to("POST", "/responses")) == 2
    texts = [m.text_content() for m in bot.slack.bot_messages("C0GENERAL", sent.ts)]
    assert sum("Worked the second time." in t for t in texts) == 1


async def test_only_people_in_the_thread_can_retry(bot: BotUnderTest) -> None:
    bot.slack.add_user("U0EVE", name="eve")
    bot.slack.ws.channels["C0GENERAL"].members.add("U0EVE")  # in the channel, not the thread
    bot.openai.model.enqueue(ScriptedTurn(failure=ResponseFailed()))
    sent = await bot.mention("try this")
    failed = await bot.finished(sent.ts)
    await click(bot, sent.ts, ACTION_RETRY, str(failed.id), user="U0EVE")
    await bot.settled()
    assert bot.slack.ephemerals[-1].text == wording.RETRY_NOT_IN_THREAD
    assert bot.slack.ephemerals[-1].user == "U0EVE"
    assert await bot.turn(f"retry-{failed.id}") is None
    assert len(bot.openai.requests_to("POST", "/responses")) == 1


async def test_a_button_naming_another_threads_turn_does_nothing(bot: BotUnderTest) -> None:
    # An old button may carry an id the database has since given to a newer turn elsewhere
    # (SQLite reuses the ids of deleted rows): it acts only on its own thread's turn.
    bot.openai.model.enqueue(
        ScriptedTurn(failure=ResponseFailed()), ScriptedTurn(failure=ResponseFailed())
    )
    here = await bot.mention("first thread")
    await bot.finished(here.ts)
    there = await bot.mention("second thread")
    elsewhere = await bot.finished(there.ts)
    await click(bot, here.ts, ACTION_RETRY, str(elsewhere.id))
    await bot.settled()
    assert await bot.turn(f"retry-{elsewhere.id}") is None
    assert len(bot.openai.requests_to("POST", "/responses")) == 2


async def test_opening_the_messages_tab_pins_suggested_prompts(bot: BotUnderTest) -> None:
    from tests.fakes import slack_events

    envelope = slack_events.envelope(
        slack_events.app_home_opened("U0ALICE", "D0DM"), team_id="T0TEST", bot_user_id="UBOT"
    )
    assert (await bot.send(envelope)).status == 200
    await bot.slack.wait_for(lambda: bot.slack.calls_to("assistant.threads.setSuggestedPrompts"))
    [call] = bot.slack.calls_to("assistant.threads.setSuggestedPrompts")
    assert call.ok
    assert "thread_ts" not in call.args  # agent view: pinned to the Messages tab
    assert len(call.args["prompts"]) == len(wording.PROMPTS) <= 4


async def test_a_dm_thread_is_titled_after_its_first_question(bot: BotUnderTest) -> None:
    bot.openai.model.enqueue(ScriptedTurn(text="Sure."))
    sent = await bot.say("Which region grew fastest last quarter?", channel="D0DM")
    assert (await bot.finished(sent.ts, channel="D0DM")).status == "done"
    assert bot.slack.titles[("D0DM", sent.ts)] == ["Which region grew fastest last quarter?"]


async def test_a_question_behind_another_is_told_it_is_queued(bot: BotUnderTest) -> None:
    bot.openai.model.enqueue(
        ScriptedTurn(text="Long answer. " * 30, text_deltas=30, delta_delay=0.05),
        ScriptedTurn(text="Short answer."),
    )
    first = await bot.mention("first")
    await wait_until(
        lambda: bot.runtime.service.running_in(bot.turn_key(first.ts)),
        what="the first turn running",
    )
    second = await bot.say("second", thread_ts=first.ts, user="U0BOB")
    await bot.slack.wait_for(lambda: any(e.user == "U0BOB" for e in bot.slack.ephemerals))
    assert bot.slack.ephemerals[-1].text == wording.QUEUED
    assert (await bot.finished(second.ts)).status == "done"


async def test_a_cancel_control_slack_refuses_does_not_fail_the_answer(
    fallback_bot: BotUnderTest,
) -> None:
    """The Cancel control only accompanies the answer: a 429 (or any error) when posting it
    gives it up, and the answer carries on."""
    fallback_bot.openai.model.enqueue(two_runs_turn())
    fallback_bot.slack.faults.ratelimit("chat.postMessage", retry_after=1, times=1)
    sent = await fallback_bot.mention("what share do the top 3 have?")
    turn = await fallback_bot.finished(sent.ts)
    assert turn.status == "done", turn.error_code
    refused = [
        c for c in fallback_bot.slack.calls_to("chat.postMessage") if c.error == "ratelimited"
    ]
    assert refused  # the control was given up, not retried: the answer matters
    texts = [m.text_content() for m in fallback_bot.slack.bot_messages("C0GENERAL", sent.ts)]
    assert any("Revenue is concentrated in the top 3." in t for t in texts)
    assert not any(":warning:" in t for t in texts)
