"""The fault suite's world: bot replicas as processes, deliveries Slack-style, a model that
fails in every shape, and Slack 429 storms.

- `Replica`: `python -m bot` (HTTP mode) on one shared database, killable with SIGKILL and
  restartable on a new port.
- `Deliveries`: each event is delivered three times (Slack's retries, `X-Slack-Retry-Num`), each
  time to a random live replica; a replica that is down is skipped like a failed delivery that
  Slack retries elsewhere.
- `flaky_model`: a share of the model's responses fail — an HTTP error before the stream (500,
  429 with `retry-after`), an `error` event or `response.failed` mid-stream, a dropped
  connection, an incomplete response — decided per request, so a retried request may succeed.
- `storms`: windows of a few seconds in which Slack answers 429 to every call of one of its
  chat or session methods.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import re
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from tests.bot_harness import SIGNING_SECRET, free_port, process_env
from tests.fakes.openai_api import FakeOpenAI
from tests.fakes.scripted_model import (
    Drop,
    ErrorEvent,
    HttpError,
    ResponseFailed,
    ResponseIncomplete,
    ScriptedTurn,
)
from tests.fakes.slack_api import FakeSlack
from tests.fakes.slack_events import EventSender

QUESTION = re.compile(r"q(\d+)-(\d+)")
STORM_METHODS = (
    "chat.postMessage",
    "chat.startStream",
    "chat.appendStream",
    "chat.stopStream",
    "agents.sessions.setStatus",
)


@dataclass
class Replica:
    name: str
    env: dict[str, str]
    workdir: Path
    port: int = 0
    process: asyncio.subprocess.Process | None = None
    starts: int = 0
    sender: EventSender | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.returncode is None

    async def start(self) -> None:
        self.port = free_port()
        self.starts += 1
        log = open(self.workdir / f"{self.name}-{self.starts}.log", "w")  # noqa: SIM115, ASYNC230
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            cwd=self.workdir,
            env={**self.env, "PORT": str(self.port)},
            stdout=asyncio.subprocess.DEVNULL,
            stderr=log,
        )
        log.close()
        async with aiohttp.ClientSession() as http:
            for _ in range(600):
                with contextlib.suppress(aiohttp.ClientError):
                    async with http.get(f"{self.url}/healthz") as response:
                        if response.status == 200:
                            break
                await asyncio.sleep(0.05)
        self.sender = EventSender(f"{self.url}/slack/events", SIGNING_SECRET)
        await self.sender.__aenter__()

    async def kill(self) -> None:
        """SIGKILL: no drain, no goodbye (what a crashed host looks like)."""
        if self.process is not None and self.alive:
            self.process.send_signal(signal.SIGKILL)
            await self.process.wait()
        await self._close_sender()

    async def stop(self) -> None:
        if self.process is not None and self.alive:
            self.process.send_signal(signal.SIGTERM)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(40):
                    await self.process.wait()
            if self.alive:
                await self.kill()
        await self._close_sender()

    async def _close_sender(self) -> None:
        if self.sender is not None:
            await self.sender.__aexit__(None, None, None)
            self.sender = None


def replica_env(
    slack: FakeSlack, openai: FakeOpenAI, database_url: str, workdir: Path, **extra: str
) -> dict[str, str]:
    env = process_env(slack, openai, database_url, workdir, 0)
    env.update({"LOG_LEVEL": os.environ.get("BENCH_LOG_LEVEL", "WARNING"), **extra})
    return env


@dataclass
class Deliveries:
    replicas: list[Replica]
    rng: random.Random
    copies: int = 3
    sent: int = 0
    refused: int = 0
    """Deliveries that found their replica down (Slack retries them elsewhere)."""

    async def deliver(self, envelope: dict[str, Any]) -> None:
        """Slack's delivery and its retries (`copies` in all), each to a random replica that
        is up; a delivery to a replica that is down does not count and goes elsewhere."""
        done = 0
        for _ in range(self.copies * 6):
            if done >= self.copies:
                return
            live = [r for r in self.replicas if r.alive and r.sender is not None]
            if not live:
                await asyncio.sleep(0.2)
                continue
            replica = self.rng.choice(live)
            assert replica.sender is not None
            try:
                async with asyncio.timeout(5):  # a replica killed mid-request answers nothing
                    response = await replica.sender.send(envelope, retry_num=done or None)
            except (aiohttp.ClientError, OSError, RuntimeError, TimeoutError):
                self.refused += 1
                await asyncio.sleep(0.1)
                continue
            self.sent += 1
            done += response.status == 200


def flaky_model(rng: random.Random, share: float, deltas: int, delay_s: float) -> Callable:
    """The model: answers `q<thread>-<n>` with a marker, or fails in one of the real shapes."""

    def answer(request: dict[str, Any]) -> ScriptedTurn:
        found = QUESTION.search(str(request.get("input")))
        marker = f"END-q{found.group(1)}-{found.group(2)}." if found else "END-?."
        text = f"The answer is {rng.randint(1, 999)}. " * 3 + marker
        if rng.random() >= share:
            return ScriptedTurn(text=text, text_deltas=deltas, delta_delay=delay_s)
        failure = rng.choice(
            [
                HttpError(500, None, "The server had an error while processing your request."),
                HttpError(
                    429,
                    "rate_limit_exceeded",
                    "Rate limit reached. Please try again in 1s.",
                    type="requests",
                    headers={"retry-after": "1"},
                ),
                ErrorEvent(after_text_deltas=deltas // 2),
                ResponseFailed(after_text_deltas=deltas // 3),
                Drop(after_text_deltas=deltas // 2),
                ResponseIncomplete(after_text_deltas=deltas - 1),
            ]
        )
        return ScriptedTurn(text=text, text_deltas=deltas, delta_delay=delay_s, failure=failure)

    return answer


@dataclass
class Storms:
    slack: FakeSlack
    rng: random.Random
    every_s: float = 4.0
    storms: list[tuple[float, str]] = field(default_factory=list)

    async def run(self, stop: asyncio.Event) -> None:
        started = time.monotonic()
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.every_s):
                    await stop.wait()
            if stop.is_set():
                return
            method = self.rng.choice(STORM_METHODS)
            # Every call of the method is refused for a few seconds (Slack's 429 storms are
            # windows of time, not a count of calls).
            self.slack.faults.ratelimit(method, retry_after=1, for_s=self.rng.uniform(1.0, 4.0))
            self.storms.append((time.monotonic() - started, method))
