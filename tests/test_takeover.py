"""A turn whose process dies is continued, not reported: real `python -m bot` processes killed
with SIGKILL mid-answer (one SQLite replica restarted; two PostgreSQL replicas, the other one
taking over) and stopped with SIGTERM mid-turn (the turn handed back and finished elsewhere).
The answer ends up in the thread once, complete, with no stream left open."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from bot import wording
from bot.core.records import StoredTurn
from store import open_store
from tests.bot_harness import SIGNING_SECRET, free_port, process_env, wait_until
from tests.conftest import fresh_postgres_database
from tests.fakes.openai_api import FakeOpenAI
from tests.fakes.scripted_model import ScriptedTurn
from tests.fakes.slack_api import FakeSlack
from tests.fakes.slack_events import EventSender

SENTENCE = "A long, careful explanation."
SLOW = ScriptedTurn(text=f"{SENTENCE} " * 40, text_deltas=40, delta_delay=0.15)
FAST_LEASE = {"ANALYST_LEASE_S": "1.5"}


class BotProcess:
    """One `python -m bot` replica in HTTP mode."""

    def __init__(self, slack: FakeSlack, openai: FakeOpenAI, database_url: str, workdir: Path):
        self.port = free_port()
        self.env = process_env(slack, openai, database_url, workdir, self.port)
        self.workdir = workdir
        self.process: asyncio.subprocess.Process | None = None
        self.base = f"http://127.0.0.1:{self.port}"

    async def start(self, **extra: str) -> None:
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            cwd=self.workdir,
            env={**self.env, **FAST_LEASE, **extra},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        async with aiohttp.ClientSession() as http:

            async def ready() -> bool:
                assert self.process is not None
                assert self.process.returncode is None
                with contextlib.suppress(aiohttp.ClientError):
                    async with http.get(f"{self.base}/readyz") as response:
                        return response.status == 200
                return False

            await wait_until(ready, within=30, what="the bot process to be ready")

    async def stop(self, sig: signal.Signals = signal.SIGTERM) -> tuple[int, str]:
        assert self.process is not None
        if self.process.returncode is None:
            self.process.send_signal(sig)
        output, _ = await asyncio.wait_for(self.process.communicate(), timeout=40)
        return self.process.returncode or 0, output.decode()


@contextlib.asynccontextmanager
async def replicas(
    slack: FakeSlack, openai: FakeOpenAI, database_url: str, workdir: Path, count: int
) -> AsyncIterator[list[BotProcess]]:
    bots = [BotProcess(slack, openai, database_url, workdir) for _ in range(count)]
    try:
        yield bots
    finally:
        for bot in bots:
            if bot.process is not None and bot.process.returncode is None:
                await bot.stop(signal.SIGKILL)


async def _turn(database_url: str, team: str, ts: str) -> StoredTurn | None:
    async with open_store(database_url) as store:
        return await store.turns.find(team, "C0GENERAL", ts)


def _answer_started(slack: FakeSlack, ts: str) -> bool:
    shown = " ".join(m.text_content() for m in slack.bot_messages("C0GENERAL", ts))
    return shown.count(SENTENCE) >= 3  # a few sentences in: mid-stream


async def _ask(slack: FakeSlack, bot: BotProcess) -> str:
    sent = slack.post_user_message("C0GENERAL", "U0ALICE", "explain it slowly", mention_bot=True)
    assert sent.app_mention_event is not None
    async with EventSender(f"{bot.base}/slack/events", SIGNING_SECRET) as sender:
        assert (await sender.send(sent.app_mention_event)).status == 200
    await slack.wait_for(lambda: _answer_started(slack, sent.ts), timeout=20)
    return sent.ts


async def _answered_once(slack: FakeSlack, openai: FakeOpenAI, database_url: str, ts: str) -> None:
    async def finished() -> bool:
        turn = await _turn(database_url, slack.ws.team_id, ts)
        return turn is not None and turn.status not in ("queued", "running")

    await wait_until(finished, within=40, what="the turn to finish after the takeover")
    turn = await _turn(database_url, slack.ws.team_id, ts)
    assert turn is not None
    assert (turn.status, turn.error_code) == ("done", None)
    assert turn.attempts == 2  # the dead attempt, then the one that took over
    await slack.wait_for(lambda: slack.current_status("C0GENERAL", ts) == "", timeout=10)
    messages = slack.bot_messages("C0GENERAL", ts)
    shown = " ".join(" ".join(m.text_content() for m in messages).split())
    assert shown.count(SENTENCE) == 40  # every sentence once: none lost, none twice
    assert wording.error_text("interrupted") not in shown
    assert all(m.stream is None or m.stream.state != "streaming" for m in messages)
    # The model was asked once; the response was read again, not asked for again.
    assert len(openai.requests_to("POST", "/responses")) == 1
    assert openai.requests_to("GET", "/responses/{id}")
    assert not openai.cancelled_responses


async def test_a_killed_bot_restarted_on_sqlite_finishes_the_answer_once(tmp_path: Path) -> None:
    database_url = f"sqlite:///{tmp_path / 'bot.db'}"
    async with (
        FakeSlack() as slack,
        FakeOpenAI() as openai,
        replicas(slack, openai, database_url, tmp_path, 2) as (first, restarted),
    ):
        openai.model.enqueue(SLOW)
        await first.start()
        ts = await _ask(slack, first)
        await first.stop(signal.SIGKILL)  # mid-stream: no goodbye, the stream stays open
        assert any(
            m.stream is not None and m.stream.state == "streaming"
            for m in slack.bot_messages("C0GENERAL", ts)
        )
        await restarted.start()
        await _answered_once(slack, openai, database_url, ts)
        code, output = await restarted.stop()
        assert code == 0, output[-3000:]


@pytest.mark.postgres
async def test_a_replica_killed_mid_answer_is_taken_over_by_the_other(tmp_path: Path) -> None:
    async with (
        fresh_postgres_database() as database_url,
        FakeSlack() as slack,
        FakeOpenAI() as openai,
        replicas(slack, openai, database_url, tmp_path, 2) as (doomed, other),
    ):
        openai.model.enqueue(SLOW)
        await doomed.start()
        await other.start()
        ts = await _ask(slack, doomed)
        turn = await _turn(database_url, slack.ws.team_id, ts)
        assert turn is not None
        assert turn.status == "running"
        await doomed.stop(signal.SIGKILL)
        await _answered_once(slack, openai, database_url, ts)
        code, output = await other.stop()
        assert code == 0, output[-3000:]
        assert "taking it over" in output


@pytest.mark.postgres
async def test_sigterm_mid_turn_hands_the_turn_back_to_another_replica(tmp_path: Path) -> None:
    async with (
        fresh_postgres_database() as database_url,
        FakeSlack() as slack,
        FakeOpenAI() as openai,
        replicas(slack, openai, database_url, tmp_path, 2) as (leaving, staying),
    ):
        openai.model.enqueue(SLOW)
        await leaving.start(ANALYST_SHUTDOWN_GRACE_S="0.5")
        await staying.start()
        ts = await _ask(slack, leaving)
        code, output = await leaving.stop(signal.SIGTERM)  # a deploy: the grace is too short
        assert code == 0, output[-3000:]
        assert "handed back" in output
        assert "Traceback" not in output
        await _answered_once(slack, openai, database_url, ts)
        await staying.stop()
