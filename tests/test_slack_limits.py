"""Slack as it really is: rate-limit tiers, one table per message, streams that refuse edits
and expire, downloads through a CDN, agent sessions with a native Stop, and an outbox that
delivers a finished answer after a restart. The fake Slack enforces all of it."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import aiohttp

from bot import wording
from bot.core.records import StagedReply
from bot.slack.blocks import ACTION_CANCEL
from bot.slack.delivery import SlackDelivery, marker
from bot.slack.sessions import SessionSupport
from bot.slack.uploads import SlackUploads, Upload
from tests.bot_harness import BotUnderTest, running_bot, wait_until
from tests.fakes.openai_api import FakeOpenAI
from tests.fakes.scripted_model import CodeRun, ScriptedTurn
from tests.fakes.slack_api import FakeSlack

BURST = 50


def answer_texts(bot: BotUnderTest, ts: str, channel: str = "C0GENERAL") -> list[str]:
    return [m.text_content() for m in bot.slack.bot_messages(channel, ts) if not m.files]


def numbered_answers(request: dict) -> ScriptedTurn:
    """Each question gets its own answer, so lost and duplicated answers can be counted."""
    question = str(request["input"]).split("question ")[-1].split("'")[0].split('"')[0]
    return ScriptedTurn(text=f"Answer to question {question}: the total is 42. END-{question}.")


async def test_a_burst_of_50_mentions_in_one_channel_is_answered_in_full(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        bot.openai.model.responder = numbered_answers
        sent = [await bot.mention(f"question {i}") for i in range(BURST)]
        turns = [await bot.finished(m.ts, within=60) for m in sent]
        assert [t.status for t in turns] == ["done"] * BURST, [t.error_code for t in turns]
        for i, message in enumerate(sent):
            texts = answer_texts(bot, message.ts)
            assert sum(f"END-{i}." in t for t in texts) == 1, texts  # once, never lost
        refused = bot.slack.rate_limited()
        assert sum(refused.values()) <= 5, refused  # the budget keeps the bot out of 429s


async def test_a_burst_from_one_person_looks_them_up_once(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        bot.slack.faults.delay("users.info", 0.5)  # every turn starts before the answer
        sent = await asyncio.gather(*(bot.mention(f"question {i}") for i in range(10)))
        turns = [await bot.finished(m.ts) for m in sent]
        assert [t.status for t in turns] == ["done"] * 10
        assert len(bot.slack.calls_to("users.info")) == 1  # users.info is rate-limited


async def test_an_answer_with_three_tables_shows_all_three(tmp_path: Path) -> None:
    table = "| region | revenue |\n|---|---:|\n| north | 10 |\n| south | 20 |\n"
    text = f"First:\n\n{table}\nSecond:\n\n{table}\nThird:\n\n{table}\nThat is all."
    async with running_bot(tmp_path) as bot:
        bot.openai.model.enqueue(ScriptedTurn(text=text))
        sent = await bot.mention("three tables please")
        assert (await bot.finished(sent.ts)).status == "done"
        messages = bot.slack.bot_messages("C0GENERAL", sent.ts)
        tables = [
            [
                b
                for b in (m.blocks or (m.stream.all_blocks() if m.stream else []))
                if b.get("type") == "table"
            ]
            for m in messages
        ]
        assert sum(len(t) for t in tables) == 3
        assert all(len(t) <= 1 for t in tables)  # one table block per message
        assert "That is all." in " ".join(m.text_content() for m in messages)
        assert not [c for c in bot.slack.calls if c.error == "invalid_blocks"]


async def test_no_edit_ever_goes_to_an_open_stream(tmp_path: Path) -> None:
    slow = ScriptedTurn(
        text="Step by step. " * 60 + "[chart](sandbox:/mnt/data/c.png)",
        text_deltas=60,
        delta_delay=0.02,
        runs=(CodeRun("plot()", logs="ok"),),
    )
    async with running_bot(tmp_path) as bot:
        bot.openai.model.enqueue(slow)
        sent = await bot.mention("explain slowly")
        assert (await bot.finished(sent.ts)).status == "done"
        conflicts = [c for c in bot.slack.calls if c.error == "streaming_state_conflict"]
        assert conflicts == []
        assert bot.slack.calls_to("chat.startStream")


async def test_a_stream_that_expires_mid_answer_is_finished_in_a_new_message(
    tmp_path: Path,
) -> None:
    words = [f"w{i}" for i in range(40)]
    async with FakeSlack(stream_idle_timeout=0.3) as slack, FakeOpenAI() as openai:
        # The model goes quiet for longer than Slack lets a stream idle, mid-answer.
        openai.model.enqueue(
            ScriptedTurn(text=" ".join(words) + ".", text_deltas=4, delta_delay=0.6)
        )
        async with running_bot(tmp_path, slack=slack, openai=openai) as bot:
            sent = await bot.mention("long pauses")
            assert (await bot.finished(sent.ts)).status == "done"
            texts = answer_texts(bot, sent.ts)
            joined = " ".join(texts)
            assert all(joined.count(f"{w} ") + joined.count(f"{w}.") == 1 for w in words), texts
            assert len(texts) >= 2  # the stream expired and the rest went to a new message


async def test_a_download_through_the_cdn_never_carries_the_token(tmp_path: Path) -> None:
    data = b"region,revenue\n" + b"".join(f"r{i},{i}\n".encode() for i in range(5000))
    async with running_bot(tmp_path) as bot:
        bot.openai.model.enqueue(ScriptedTurn(text="Read it."))
        shared = bot.slack.add_file("sales.csv", data, filetype="csv")
        sent = await bot.mention("read this", files=[shared])
        assert (await bot.finished(sent.ts)).status == "done"
        [upload] = bot.openai.files.values()
        assert upload.size == len(data)
        assert [d.served for d in bot.slack.downloads] == ["redirect"]
        assert bot.slack.cdn_requests
        assert all(r.authorization is None for r in bot.slack.cdn_requests)
        assert all(r.status == 200 for r in bot.slack.cdn_requests)


async def stop_and_expect(bot: BotUnderTest, sent_ts: str) -> None:
    envelope = bot.slack.stop_session("C0GENERAL", sent_ts, "U0BOB")
    stopped_at = asyncio.get_running_loop().time()
    assert (await bot.send(envelope)).status == 200
    turn = await bot.finished(sent_ts, within=5)
    assert asyncio.get_running_loop().time() - stopped_at < 2.0
    assert turn.status == "cancelled"
    texts = answer_texts(bot, sent_ts)
    assert any(wording.CANCELLED_BY.format(name="bob") in t for t in texts)
    await bot.slack.wait_for(
        lambda: (s := bot.slack.session("C0GENERAL", sent_ts)) and s.status != "processing"
    )


async def test_the_native_stop_button_stops_a_text_answer_and_the_next_turn_runs(
    tmp_path: Path,
) -> None:
    async with running_bot(tmp_path) as bot:
        bot.openai.model.enqueue(
            ScriptedTurn(text="A long answer. " * 50, text_deltas=50, delta_delay=0.1),
            ScriptedTurn(text="The follow-up answer."),
        )
        first = await bot.mention("a long question")
        await bot.slack.wait_for(
            lambda: (s := bot.slack.session("C0GENERAL", first.ts)) and s.status == "processing"
        )
        # the long answer is the one being written when Stop is pressed
        await wait_until(lambda: bot.openai.model.pending == 1, what="the first answer under way")
        second = await bot.say("and then this", thread_ts=first.ts, user="U0BOB")
        await stop_and_expect(bot, first.ts)
        assert (await bot.finished(second.ts)).status == "done"
        assert any("The follow-up answer." in t for t in answer_texts(bot, first.ts))


async def test_the_native_stop_button_stops_a_code_run(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot:
        bot.openai.model.enqueue(
            ScriptedTurn(
                text="Done.",
                runs=(CodeRun("long_computation()", logs="ok"),),
                code_delta_delay=0.5,
            )
        )
        sent = await bot.mention("compute for a while")
        await bot.slack.wait_for(lambda: bot.slack.calls_to("chat.startStream"))
        await stop_and_expect(bot, sent.ts)
        # Slack's own Stop button is there: no Cancel control of ours
        assert all(ACTION_CANCEL not in str(c.args) for c in bot.slack.calls_to("chat.postMessage"))


async def test_an_answer_finished_but_not_posted_is_posted_once_after_a_restart(
    tmp_path: Path,
) -> None:
    database = f"sqlite:///{tmp_path / 'bot.db'}"
    async with FakeSlack() as slack, FakeOpenAI() as openai:
        openai.model.enqueue(ScriptedTurn(text="The answer survives a restart. END."))
        # Slack takes no message at all for a while: the answer cannot be posted.
        for method in ("chat.startStream", "chat.postMessage"):
            slack.faults.ratelimit(method, retry_after=60, times=None)
        async with running_bot(
            tmp_path,
            database_url=database,
            slack=slack,
            openai=openai,
            ANALYST_SHUTDOWN_GRACE_S="1",
        ) as bot:
            sent = await bot.mention("what survives?")
            turn = await wait_until(lambda: bot.turn(sent.ts), what="the turn")
            await wait_until(
                lambda: bot.runtime.store.replies.undelivered(turn.id), what="the staged answer"
            )
        # The process stopped with the answer staged; Slack takes messages again.
        slack.faults.clear()
        async with running_bot(tmp_path, database_url=database, slack=slack, openai=openai) as bot:
            finished = await bot.finished(sent.ts, within=20)
            assert finished.status == "done"
            texts = answer_texts(bot, sent.ts)
            assert sum("The answer survives a restart. END." in t for t in texts) == 1
            assert await bot.runtime.store.replies.undelivered(turn.id) == []
        assert len(openai.requests_to("POST", "/responses")) == 1  # not asked twice


async def test_a_page_split_over_two_messages_is_completed_in_its_own_part_after_a_takeover(
    tmp_path: Path,
) -> None:
    """A stream Slack ended mid-page continues the page in a second message (part 1). A worker
    that died after posting that part, before recording it, left the page staged without a
    message: the takeover must complete part 1, not overwrite part 0 with part 1's text."""
    async with running_bot(tmp_path) as bot:
        bot.openai.model.enqueue(ScriptedTurn(text="The first answer."))
        sent = await bot.mention("a question")
        stored = await bot.finished(sent.ts)
        client = bot.runtime.slack.for_team(bot.team)
        page = 2000  # the third round's first page: apart from the answer already shown
        for part, text in enumerate(["Part zero, shown before Slack ended the stream.", "Part"]):
            await client.chat_postMessage(
                channel="C0GENERAL",
                thread_ts=sent.ts,
                markdown_text=text,
                metadata=marker(stored.id, page, part),
            )
        final = {"kind": "answer", "message": {"markdown_text": "Part one, complete."}, "part": 1}
        await bot.runtime.store.replies.stage(stored.id, [StagedReply(page, final)])
        delivery = SlackDelivery(bot.runtime.slack, bot.runtime.store.replies, SessionSupport())
        await delivery.redeliver(stored)
        texts = answer_texts(bot, sent.ts)
        assert texts[-2:] == [
            "Part zero, shown before Slack ended the stream.",
            "Part one, complete.",
        ]
        assert await bot.runtime.store.replies.undelivered(stored.id) == []


async def test_files_a_dead_attempt_shared_are_reused_by_the_takeover_not_shared_twice(
    tmp_path: Path,
) -> None:
    async with running_bot(tmp_path) as bot, aiohttp.ClientSession() as session:
        bot.openai.model.enqueue(ScriptedTurn(text="An earlier turn's chart."))
        sent = await bot.mention("a question")
        await bot.finished(sent.ts)
        key = bot.turn_key(sent.ts)
        uploads = SlackUploads(bot.runtime.slack, session)

        def files(*names: str) -> list[Upload]:
            return [Upload(n, n, io.BytesIO(n.encode()), len(n)) for n in names]

        earlier = await uploads.share(key, files("chart.png"))  # a previous turn's
        # The attempt that will die starts; a person shares a file of the same name as one of
        # its files meanwhile.
        first_message = await bot.runtime.slack.for_team(bot.team).chat_postMessage(
            channel="C0GENERAL", thread_ts=sent.ts, text="The dead attempt's answer."
        )
        mine = bot.slack.add_file("summary.csv", b"a,b\n1,2\n", channel="C0GENERAL")
        person = bot.slack.post_user_message(
            "C0GENERAL", "U0ALICE", "here", thread_ts=sent.ts, files=[mine]
        )
        dead = await uploads.share(key, files("chart.png", "summary.csv"))
        shares = len(bot.slack.calls_to("files.completeUploadExternal"))
        taken_over = await uploads.share(
            key, files("chart.png", "summary.csv", "new.png"), reuse_after=first_message["ts"]
        )
        ids = {f["name"]: f["id"] for f in taken_over.files}
        assert ids["chart.png"] == dead.files[0]["id"] != earlier.files[0]["id"]
        assert ids["summary.csv"] == dead.files[1]["id"]  # not the person's file
        assert person.ts > first_message["ts"]
        assert len(bot.slack.calls_to("files.completeUploadExternal")) == shares + 1  # new.png
        assert [f["name"] for f in taken_over.files] == ["chart.png", "summary.csv", "new.png"]
