"""Several replicas behind a load balancer: Slack delivers each event to any of them.

On PostgreSQL two bot runtimes (each with its own HTTP front door) share one database; on
SQLite "the other replica" is the same process (one process per SQLite file). A follow-up in
a thread is answered after its mention whichever replica gets which, in whatever order.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from bot import wording
from store.parking import parked_replies
from tests.bot_harness import SLACK_SPEED, BotUnderTest, running_bot, wait_until
from tests.fakes.openai_api import FakeOpenAI
from tests.fakes.scripted_model import ScriptedTurn
from tests.fakes.slack_api import FakeSlack

CHANNEL = "C0GENERAL"
TAG = re.compile(r"Q-[a-z0-9]+")


def tagged_answers(request: dict[str, Any]) -> ScriptedTurn:
    """Each question gets an answer naming it, so order, losses and duplicates show."""
    asked = TAG.findall(str(request["input"]))[-1]
    return ScriptedTurn(text=f"Answer to {asked}. END-{asked}.")


@asynccontextmanager
async def replicas(
    tmp_path: Path, database_url: str, **env: str
) -> AsyncIterator[tuple[BotUnderTest, BotUnderTest]]:
    """Two replicas on one database (the same one twice on SQLite)."""
    async with (
        FakeSlack(rate_speed=SLACK_SPEED) as slack,
        FakeOpenAI() as openai,
        running_bot(tmp_path, database_url=database_url, slack=slack, openai=openai, **env) as a,
    ):
        openai.model.responder = tagged_answers
        if database_url.startswith("sqlite"):
            yield a, a
            return
        async with running_bot(
            tmp_path, database_url=database_url, slack=slack, openai=openai, **env
        ) as b:
            yield a, b


def answers(bot: BotUnderTest, thread_ts: str) -> list[str]:
    """The tags of the answers in a thread, in the order they were posted."""
    texts = [m.text_content() for m in bot.slack.bot_messages(CHANNEL, thread_ts)]
    return [found for text in texts for found in re.findall(r"END-(Q-[a-z0-9]+)\.", text)]


async def answered_in_order(bot: BotUnderTest, thread_ts: str, *tags: str) -> None:
    """Each tag answered exactly once, in this order, and nothing else in the thread."""
    await wait_until(lambda: len(answers(bot, thread_ts)) >= len(tags), what=f"answers {tags}")
    await bot.settled()
    assert answers(bot, thread_ts) == list(tags)


async def parked_count(bot: BotUnderTest) -> int:
    async with bot.runtime.store.engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(parked_replies))).scalar())


@pytest.mark.parametrize("to", ["same", "other"])
async def test_a_reply_delivered_before_its_mention_is_answered_after_it(
    tmp_path: Path, database_url: str, to: str
) -> None:
    async with replicas(tmp_path, database_url) as (a, b):
        mention = a.slack.post_user_message(CHANNEL, "U0ALICE", "Q-first", mention_bot=True)
        reply = a.slack.post_user_message(CHANNEL, "U0ALICE", "Q-second", thread_ts=mention.ts)
        assert mention.app_mention_event is not None
        first, second = (a, a) if to == "same" else (b, a)
        assert (await first.send(reply.message_event)).status == 200
        await first.settled()  # the reply was handled (parked) before the mention arrives
        assert (await second.send(mention.app_mention_event)).status == 200

        asked, followed = await a.finished(mention.ts), await a.finished(reply.ts)
        assert (asked.status, followed.status) == ("done", "done")
        assert asked.id < followed.id
        assert followed.started_at is not None
        assert asked.finished_at is not None
        assert followed.started_at >= asked.finished_at
        await answered_in_order(a, mention.ts, "Q-first", "Q-second")
        assert await parked_count(a) == 0


async def test_a_reply_sent_with_its_mention_to_another_replica_is_answered_after_it(
    tmp_path: Path, database_url: str
) -> None:
    async with replicas(tmp_path, database_url) as (a, b):
        for round_ in range(5):
            mention = a.slack.post_user_message(
                CHANNEL, "U0ALICE", f"Q-m{round_}", mention_bot=True
            )
            reply = a.slack.post_user_message(
                CHANNEL, "U0BOB", f"Q-r{round_}", thread_ts=mention.ts
            )
            assert mention.app_mention_event is not None
            sent = await asyncio.gather(
                a.send(mention.app_mention_event), b.send(reply.message_event)
            )
            assert [r.status for r in sent] == [200, 200]
            await answered_in_order(a, mention.ts, f"Q-m{round_}", f"Q-r{round_}")


async def test_every_event_delivered_twice_to_two_replicas_is_answered_once(
    tmp_path: Path, database_url: str
) -> None:
    async with replicas(tmp_path, database_url) as (a, b):
        mention = a.slack.post_user_message(CHANNEL, "U0ALICE", "Q-once", mention_bot=True)
        reply = a.slack.post_user_message(CHANNEL, "U0ALICE", "Q-twice", thread_ts=mention.ts)
        assert mention.app_mention_event is not None
        deliveries = [
            b.send(reply.message_event),
            a.send(reply.message_event, retry_num=1),
            a.send(mention.app_mention_event),
            b.send(mention.app_mention_event, retry_num=1),
            b.send(mention.message_event),  # the message twin of the mention
        ]
        assert [r.status for r in await asyncio.gather(*deliveries)] == [200] * 5
        await answered_in_order(a, mention.ts, "Q-once", "Q-twice")
        await b.settled()
        assert len(a.openai.requests_to("POST", "/responses")) == 2
        assert answers(a, mention.ts) == ["Q-once", "Q-twice"]


async def test_a_reply_whose_mention_never_comes_is_forgotten_after_the_window(
    tmp_path: Path, database_url: str
) -> None:
    window = 0.3
    async with replicas(tmp_path, database_url, ANALYST_PARK_WINDOW_S=str(window)) as (a, b):
        root = a.slack.post_user_message(CHANNEL, "U0BOB", "humans talking")
        chat = await a.say("Q-chat", thread_ts=root.ts)
        await a.settled()
        assert await parked_count(a) == 1
        assert await a.turn(chat.ts) is None
        # A mention whose reply waited longer than the window: the reply stays unanswered.
        late = a.slack.post_user_message(CHANNEL, "U0ALICE", "Q-late", mention_bot=True)
        stale = a.slack.post_user_message(CHANNEL, "U0ALICE", "Q-stale", thread_ts=late.ts)
        assert (await b.send(stale.message_event)).status == 200
        await b.settled()
        parked = time.monotonic()
        await wait_until(lambda: time.monotonic() > parked + window, what="the window to pass")
        assert late.app_mention_event is not None
        assert (await a.send(late.app_mention_event)).status == 200
        assert (await a.finished(late.ts)).status == "done"
        # The next reply parked anywhere clears what outlived its window.
        other = a.slack.post_user_message(CHANNEL, "U0BOB", "more humans")
        await b.say("Q-more", thread_ts=other.ts)
        await b.settled()
        assert await parked_count(a) == 1  # only the newest
        await answered_in_order(a, late.ts, "Q-late")
        assert await a.turn(stale.ts) is None
        assert await a.turn(chat.ts) is None
        assert [m.text_content() for m in a.slack.bot_messages(CHANNEL, root.ts)] == []


async def test_chatter_before_the_mention_is_context_not_a_question(
    tmp_path: Path, database_url: str
) -> None:
    async with replicas(tmp_path, database_url) as (a, b):
        root = a.slack.post_user_message(CHANNEL, "U0BOB", "Q3 numbers")
        chatter = await b.say("Q-chatter revenue looks odd", thread_ts=root.ts)
        await b.settled()
        mention = await a.mention("Q-check can you check?", thread_ts=root.ts)
        assert (await a.finished(mention.ts)).status == "done"
        await answered_in_order(a, root.ts, "Q-check")
        assert await a.turn(chatter.ts) is None
        [request] = [r.json for r in a.openai.requests_to("POST", "/responses")]
        assert "Q-chatter revenue looks odd" in str(request["input"])  # read as context
        assert await parked_count(a) == 0


@pytest.mark.postgres
async def test_stop_pressed_on_another_replica_stops_the_turn_within_two_seconds(
    tmp_path: Path,
) -> None:
    from tests.conftest import fresh_postgres_database

    async with fresh_postgres_database() as url, replicas(tmp_path, url) as (a, b):
        a.openai.model.responder = None
        a.openai.model.enqueue(
            ScriptedTurn(text="A long answer. " * 50, text_deltas=50, delta_delay=0.1)
        )
        sent = await a.mention("a long question")
        await a.slack.wait_for(
            lambda: (s := a.slack.session(CHANNEL, sent.ts)) and s.status == "processing"
        )
        await wait_until(lambda: a.openai.model.pending == 0, what="the answer under way")
        running = await a.turn(sent.ts)
        assert running is not None
        assert running.status == "running"
        owner = a if running.lease_owner == a.runtime.worker.owner else b
        other = b if owner is a else a
        assert running.lease_owner == owner.runtime.worker.owner

        envelope = other.slack.stop_session(CHANNEL, sent.ts, "U0BOB")
        stopped_at = time.monotonic()
        assert (await other.send(envelope)).status == 200
        turn = await owner.finished(sent.ts, within=10)
        latency = time.monotonic() - stopped_at
        print(f"stop on another replica: turn cancelled after {latency:.2f}s")
        assert turn.status == "cancelled"
        assert latency < 2.0
        texts = [m.text_content() for m in owner.slack.bot_messages(CHANNEL, sent.ts)]
        assert any(wording.CANCELLED_BY.format(name="bob") in t for t in texts)
