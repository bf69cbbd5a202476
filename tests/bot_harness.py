"""The bot under test: the real runtime and HTTP front door, wired to FakeSlack and FakeOpenAI.

    async with running_bot(tmp_path) as bot:
        sent = await bot.mention("top 10 by revenue", files=[csv])
        turn = await bot.finished(sent.ts)

Everything is real except Slack and OpenAI: Bolt app, aiohttp server, signed requests,
`openai` SDK on aiohttp, SQLite or PostgreSQL.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.core.records import StoredTurn
from bot.core.turns import ThreadKey
from bot.runtime import Runtime, open_runtime
from bot.settings import Settings
from bot.slack.front_door import EventsEndpoint, bound_port, start_http, web_app
from tests.fakes.openai_api import FakeOpenAI
from tests.fakes.slack_api import FakeSlack, UserMessage
from tests.fakes.slack_commands import Reply
from tests.fakes.slack_events import EventSender, SentResponse
from tests.fakes.slack_submissions import Submission, Value

REPO = Path(__file__).resolve().parent.parent
SIGNING_SECRET = "test-signing-secret"
FINISHED = ("done", "failed", "cancelled", "interrupted")
POLL_INTERVAL = 0.01
# Slack's rate limits run this much faster in tests (the bot budgets for the same speed), so
# limits are enforced without tests waiting minutes for a bucket to refill.
SLACK_SPEED = 10.0


def bot_env(
    slack: FakeSlack, openai: FakeOpenAI, database_url: str, *, oauth: bool = False
) -> dict[str, str]:
    """The environment of a bot pointed at the fakes (the bot budgets for the fake's rate
    limits, which run `speed` times faster than Slack's in tests). `oauth`: installed in
    workspaces through the fake's OAuth flow instead of with the first workspace's token."""
    access = (
        {"SLACK_CLIENT_ID": slack.oauth.client_id, "SLACK_CLIENT_SECRET": slack.oauth.client_secret}
        if oauth
        else {"SLACK_BOT_TOKEN": slack.bot_token}
    )
    return {
        **access,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack.base_url,
        "SLACK_FILE_HOSTS": slack.host,
        "SLACK_FILE_REDIRECT_HOSTS": slack.cdn_host,
        "SLACK_RATE_SCALE": f"{slack.limits.speed:g}",
        "OPENAI_API_KEY": "sk-test",
        "OPENAI_BASE_URL": openai.base_url,
        "ANALYST_MODEL": "test-model",
        "DATABASE_URL": database_url,
    }


def process_env(
    slack: FakeSlack, openai: FakeOpenAI, database_url: str, workdir: Path, port: int
) -> dict[str, str]:
    """The whole environment of a `python -m bot` process pointed at the fakes."""
    return {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(REPO),
        "HOME": str(workdir),
        "PORT": str(port),
        **bot_env(slack, openai, database_url),
    }


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def settings_for(
    slack: FakeSlack,
    openai: FakeOpenAI,
    database_url: str,
    *,
    oauth: bool = False,
    **overrides: str,
) -> Settings:
    env = bot_env(slack, openai, database_url, oauth=oauth)
    return Settings.from_env({**env, "PORT": "0", **overrides})


async def wait_until(
    predicate: Callable[[], Any], *, within: float = 10.0, what: str = "condition"
) -> Any:
    """Poll an observable condition until it holds (no fixed sleeps), or fail at the deadline."""
    deadline = time.monotonic() + within
    while True:
        result = predicate()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within}s waiting for {what}")
        await asyncio.sleep(POLL_INTERVAL)


@dataclass
class BotUnderTest:
    slack: FakeSlack
    openai: FakeOpenAI
    runtime: Runtime
    events: EventSender
    url: str
    endpoint: EventsEndpoint

    async def settled(self, within: float = 10.0) -> None:
        """Wait until every event acknowledged so far was handled by its listener.

        Bolt runs listener bodies as untracked tasks after acknowledging; they are found
        by name among the loop's tasks (observable state, no sleeps)."""
        await self.endpoint.drain()

        def idle() -> bool:
            return not any(
                task.get_coro().__qualname__.endswith(".run_ack_function_asynchronously")
                for task in asyncio.all_tasks()
                if not task.done()
            )

        await wait_until(idle, within=within, what="listeners to finish")

    @property
    def team(self) -> str:
        return self.slack.ws.team_id

    async def mention(
        self,
        text: str,
        *,
        channel: str = "C0GENERAL",
        user: str = "U0ALICE",
        files: Sequence[dict[str, Any] | str] = (),
        thread_ts: str | None = None,
        deliver: str = "mention",
    ) -> UserMessage:
        """A user mentions the bot; Slack delivers `deliver` ("mention", "message", "both")."""
        sent = self.slack.post_user_message(
            channel, user, text, files=list(files), thread_ts=thread_ts, mention_bot=True
        )
        envelopes = {
            "mention": [sent.app_mention_event],
            "message": [sent.message_event],
            "both": [sent.app_mention_event, sent.message_event],
        }[deliver]
        for envelope in envelopes:
            assert envelope is not None
            response = await self.events.send(envelope)
            assert response.status == 200, response.body
        return sent

    async def say(
        self,
        text: str,
        *,
        channel: str = "C0GENERAL",
        user: str = "U0ALICE",
        files: Sequence[dict[str, Any] | str] = (),
        thread_ts: str | None = None,
    ) -> UserMessage:
        """A user writes without mentioning the bot (Slack sends a `message` event)."""
        sent = self.slack.post_user_message(
            channel, user, text, files=list(files), thread_ts=thread_ts
        )
        response = await self.events.send(sent.message_event)
        assert response.status == 200, response.body
        return sent

    async def command(
        self, text: str, *, channel: str = "C0GENERAL", user: str = "U0ALICE"
    ) -> tuple[dict[str, str], Reply | None]:
        """``user`` types ``/analyst text`` in ``channel``: the fields Slack sent, and what the
        user saw of the bot's acknowledgement (None: nothing)."""
        fields = self.slack.slash_command(user, channel, "/analyst", text)
        answer = await self.events.send_form(fields)
        return fields, self.slack.command_answered(fields, answer)

    async def submit(
        self, view_id: str, values: dict[str, Value] | None = None, *, user: str = "U0ALICE"
    ) -> Submission:
        """``user`` fills in ``values`` and presses the modal's submit button."""
        payload, record = self.slack.view_submission(view_id, user, values)
        answer = await self.events.send_interaction(payload)
        return self.slack.submission_answered(record, answer)

    async def send(self, envelope: dict[str, Any], **kwargs: Any) -> SentResponse:
        return await self.events.send(envelope, **kwargs)

    def turn_key(self, thread_ts: str, channel: str = "C0GENERAL") -> ThreadKey:
        return ThreadKey(self.team, channel, thread_ts)

    async def turn(
        self, message_ts: str, channel: str = "C0GENERAL", *, team: str | None = None
    ) -> StoredTurn | None:
        return await self.runtime.store.turns.find(team or self.team, channel, message_ts)

    async def finished(
        self,
        message_ts: str,
        channel: str = "C0GENERAL",
        within: float = 15.0,
        *,
        team: str | None = None,
    ) -> StoredTurn:
        """Wait until the turn for this message has ended; returns its record."""

        async def done() -> StoredTurn | None:
            turn = await self.turn(message_ts, channel, team=team)
            return turn if turn is not None and turn.status in FINISHED else None

        result: StoredTurn = await wait_until(
            done, within=within, what=f"turn for {message_ts} to finish"
        )
        return result


@contextlib.asynccontextmanager
async def running_bot(
    tmp_path: Path,
    *,
    database_url: str | None = None,
    slack: FakeSlack | None = None,
    openai: FakeOpenAI | None = None,
    native_stream: bool = True,
    oauth: bool = False,
    port: int = 0,
    **env: str,
) -> AsyncIterator[BotUnderTest]:
    """Start fakes (unless given), the bot runtime and its HTTP server on port 0. With
    `oauth`, the bot installs through OAuth: the fake's app gets its redirect URL, and no
    workspace is installed in the bot until a browser goes through the flow."""
    async with contextlib.AsyncExitStack() as stack:
        if slack is None:
            slack = await stack.enter_async_context(FakeSlack(rate_speed=SLACK_SPEED))
        if openai is None:
            openai = await stack.enter_async_context(FakeOpenAI())
        url = database_url or f"sqlite:///{tmp_path / 'bot.db'}"
        settings = settings_for(slack, openai, url, oauth=oauth, **env)
        runtime = await stack.enter_async_context(
            open_runtime(settings, native_stream=native_stream)
        )
        application, endpoint = web_app(
            runtime.app, health=runtime.health, signing_secret=SIGNING_SECRET, inbox=runtime.inbox
        )
        runner = await start_http(application, port=port, host="127.0.0.1")
        assert endpoint is not None
        stack.push_async_callback(endpoint.drain)
        stack.push_async_callback(runner.cleanup)
        base = f"http://127.0.0.1:{bound_port(runner)}"
        if oauth:
            slack.oauth.redirect_urls.append(f"{base}/slack/oauth_redirect")
        events = await stack.enter_async_context(
            EventSender(f"{base}/slack/events", SIGNING_SECRET)
        )
        yield BotUnderTest(slack, openai, runtime, events, base, endpoint)
        if report := openai.spec_report():
            raise AssertionError(f"FakeOpenAI saw bad requests:\n{report}")
