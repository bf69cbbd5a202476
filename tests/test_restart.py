"""`python -m bot` as a real process: it serves, verifies signatures, and a restarted bot
continues a thread's analysis from the database (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp

from tests.bot_harness import SIGNING_SECRET, free_port, process_env, running_bot, wait_until
from tests.conftest import DATASETS
from tests.fakes import slack_events
from tests.fakes.openai_api import FakeOpenAI
from tests.fakes.scripted_model import ScriptedTurn
from tests.fakes.slack_api import FakeSlack
from tests.fakes.slack_events import EventSender

CSV = DATASETS / "forbes2000-2004.csv"


@contextlib.asynccontextmanager
async def bot_process(
    slack: FakeSlack, openai: FakeOpenAI, database_url: str, workdir: Path
) -> AsyncIterator[str]:
    """`python -m bot` in HTTP mode, pointed at the fakes; yields its base URL."""
    port = free_port()
    env = process_env(slack, openai, database_url, workdir, port)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        cwd=workdir,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as http:

            async def healthy() -> bool:
                if process.returncode is not None:
                    output = await process.stdout.read() if process.stdout else b""
                    raise AssertionError(f"the bot exited: {output.decode()[-2000:]}")
                with contextlib.suppress(aiohttp.ClientError):
                    async with http.get(f"{base}/healthz") as response:
                        return response.status == 200
                return False

            await wait_until(healthy, within=30, what="the bot process to answer /healthz")
        yield base
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        output, _ = await asyncio.wait_for(process.communicate(), timeout=30)
        assert process.returncode == 0, output.decode()[-3000:]
        assert "Traceback" not in output.decode(), output.decode()[-3000:]
        assert slack.bot_token not in output.decode()  # secrets never logged


async def test_bot_process_serves_health_and_verifies_signatures(tmp_path: Path) -> None:
    async with (
        FakeSlack() as slack,
        FakeOpenAI() as openai,
        bot_process(slack, openai, f"sqlite:///{tmp_path / 'bot.db'}", tmp_path) as base,
        EventSender(f"{base}/slack/events", SIGNING_SECRET) as sender,
    ):
        challenge = slack_events.url_verification("abc123")
        good = await sender.send(challenge)
        assert (good.status, good.json()) == (200, {"challenge": "abc123"})
        assert (await sender.send(challenge, bad_signature=True)).status == 401


async def test_a_restarted_bot_continues_the_analysis(tmp_path: Path, database_url: str) -> None:
    async with FakeSlack() as slack, FakeOpenAI() as openai:
        openai.model.enqueue(
            ScriptedTurn(text="Top company: Citigroup."),
            ScriptedTurn(text="After the restart, still with your data."),
        )
        csv = slack.add_file(CSV.name, CSV.read_bytes(), filetype="csv", mimetype="text/csv")
        async with running_bot(
            tmp_path, database_url=database_url, slack=slack, openai=openai
        ) as bot:
            first = await bot.mention("biggest company?", files=[csv])
            assert (await bot.finished(first.ts)).status == "done"

        # A new process on the same database: no mention needed, same conversation & files.
        async with (
            bot_process(slack, openai, database_url, tmp_path) as base,
            EventSender(f"{base}/slack/events", SIGNING_SECRET) as sender,
        ):
            follow = slack.post_user_message(
                "C0GENERAL", "U0BOB", "and the smallest?", thread_ts=first.ts
            )
            assert (await sender.send(follow.message_event)).status == 200
            await slack.wait_for(
                lambda: any(
                    "After the restart" in m.text_content()
                    for m in slack.bot_messages("C0GENERAL", first.ts)
                ),
                timeout=20,
            )
            await slack.wait_for(lambda: slack.current_status("C0GENERAL", first.ts) == "")

        requests = [r.json for r in openai.requests_to("POST", "/responses")]
        assert len(requests) == 2
        assert requests[0]["conversation"] == requests[1]["conversation"]
        assert requests[0]["tools"] == requests[1]["tools"]  # the container was still alive
        assert len(openai.requests_to("POST", "/files")) == 1
