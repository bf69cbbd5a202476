"""FakeSlack: a faithful fake of the Slack Web API and file hosting, as a real aiohttp server.

    async with FakeSlack() as slack:
        client = AsyncWebClient(token=slack.bot_token, base_url=slack.base_url)
        sent = slack.post_user_message("C0GENERAL", "U0ALICE", "plot sales", mention_bot=True)
        ...                                   # deliver sent.app_mention_event to the bot
        await slack.wait_for(lambda: slack.bot_messages("C0GENERAL", sent.ts))

It accepts requests exactly as slack_sdk sends them (JSON bodies, form bodies, query strings on
POST and GET), answers errors as HTTP 200 ``{"ok": false, "error": …}``, rejects unknown and
missing arguments, validates Block Kit (per block and per message), records every call, and
injects faults on demand (``slack.faults``). Like Slack, and on by default:

- rate limits per workspace and method (token buckets): 429 + ``Retry-After``, counted in
  ``slack.rate_limited()``; switch with ``FakeSlack(rate_limits=False)`` or
  ``slack.limits.enabled``; compress time with ``rate_speed=`` / ``slack.limits.speed``;
- authorised downloads redirect (302) to a presigned URL on a second host, the CDN
  (``slack.cdn_host``, records in ``slack.cdn_requests``); ``cdn_redirects=False`` serves bytes
  from the files host directly;
- streams expire when idle (``stream_idle_timeout``) or old (``stream_max_lifetime``, 300 s);
- agent sessions (``agents.sessions.*``; ``slack.session``, ``slack.stop_session``).

Modules: slack_server (HTTP, auth, faults, call records) + slack_http (reading requests) +
slack_waiting (``wait_for``), slack_methods (signatures), slack_limits (rate limits),
slack_blocks + slack_data_blocks + slack_block_limits + slack_block_text (Block Kit),
slack_objects + slack_stream_state + slack_file_record + slack_state (data), slack_chat,
slack_streams, slack_files, slack_conversations, slack_sessions (methods), slack_cdn (the CDN
host), slack_faults, slack_events + slack_event_sender (event payloads, signed requests),
slack_setup + slack_assertions (FakeSlack's set-up and assertion helpers), slack_pings;
slack_interactions (slash commands and modals from the user's side) + slack_commands (command
payloads, replies, response URLs) + slack_triggers (trigger ids, response URLs) + slack_views +
slack_view_limits (views.* and modal validation) + slack_submissions (view_submission).

Run by hand: ``python -m tests.fakes.slack_api [--port N] [--token xoxb-…]``.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tests.fakes import slack_events, slack_sessions
from tests.fakes.slack_assertions import SlackAssertions
from tests.fakes.slack_file_record import Share
from tests.fakes.slack_interactions import SlackInteractions
from tests.fakes.slack_objects import Channel, Message
from tests.fakes.slack_server import SlackServer
from tests.fakes.slack_setup import SlackSetup
from tests.fakes.slack_state import Workspace

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class UserMessage:
    """A human message now in the fake's history, and the envelopes Slack would deliver for it."""

    ts: str
    message_event: dict[str, Any]
    app_mention_event: dict[str, Any] | None

    @property
    def envelopes(self) -> list[dict[str, Any]]:
        return [e for e in (self.message_event, self.app_mention_event) if e is not None]


class FakeSlack(SlackSetup, SlackAssertions, SlackInteractions, SlackServer):
    """The fake workspace and its servers. Defaults: users UBOT (the bot), U0ALICE (Europe/Paris)
    and U0BOB (America/New_York); public channel C0GENERAL (alice, bob, bot) and DM D0DM (alice).
    State lives in ``self.ws`` (``slack_state.Workspace``); calls in ``self.calls``.

    ``rate_limits`` (default on) enforces Slack's buckets, refilled ``rate_speed`` times faster
    than real time; ``cdn_redirects`` (default on) sends downloads through the CDN host;
    ``agent_session_stopped`` (default subscribed) says whether the app subscribes to that event
    (else agents.sessions.setStatus warns)."""

    def __init__(
        self,
        *,
        bot_token: str = "xoxb-test-token",
        team_id: str = "T0TEST",
        bot_user_id: str = "UBOT",
        bot_id: str = "BBOT",
        app_id: str = "A0ANALYST",
        host: str = "127.0.0.1",
        port: int = 0,
        stream_idle_timeout: float = 300.0,
        stream_max_lifetime: float = 300.0,
        rate_limits: bool = True,
        rate_speed: float = 1.0,
        cdn_redirects: bool = True,
        agent_session_stopped: bool = True,
    ) -> None:
        workspace = Workspace(team_id, bot_user_id, bot_id, app_id, bot_token)
        workspace.stream_idle_timeout = stream_idle_timeout
        workspace.stream_max_lifetime = stream_max_lifetime
        workspace.agent_session_stopped_subscribed = agent_session_stopped
        super().__init__(
            workspace,
            host=host,
            port=port,
            rate_limits=rate_limits,
            rate_speed=rate_speed,
            cdn_redirects=cdn_redirects,
        )
        self.add_user(bot_user_id, name="analyst", real_name="Data Analyst", is_bot=True)
        self.add_user("U0ALICE", name="alice", real_name="Alice Martin", display_name="alice")
        self.add_user("U0BOB", name="bob", real_name="Bob Chen", tz="America/New_York")
        self.add_channel("C0GENERAL", name="general", members=["U0ALICE", "U0BOB"])
        self.add_channel("D0DM", is_im=True, members=["U0ALICE"])

    def post_user_message(
        self,
        channel: str,
        user: str,
        text: str,
        *,
        thread_ts: str | None = None,
        files: Sequence[dict[str, Any] | str] | None = None,
        mention_bot: bool = False,
        stub_files: bool | None = None,
    ) -> UserMessage:
        """Record a human message (visible to conversations.replies) and build the envelopes Slack
        delivers for it: a ``message`` event and, when it mentions the bot outside a DM, an
        ``app_mention`` twin with its own event_id. In Slack Connect channels (or with
        ``stub_files=True``) the events carry file stubs instead of full file objects."""
        conversation = self.ws.channel(channel)
        if thread_ts is not None:
            self.ws.thread_root(channel, thread_ts, "thread_not_found")
        conversation.members.add(user)
        mention = f"<@{self.ws.bot_user_id}>"
        if mention_bot and mention not in text:
            text = f"{mention} {text}"
        records = [self.ws.files[f if isinstance(f, str) else f["id"]] for f in files or []]
        message = Message(
            channel=channel,
            ts=self.ws.next_ts(),
            user=user,
            text=text,
            files=records,
            thread_ts=thread_ts,
            subtype="file_share" if records else None,
            client_msg_id=str(uuid.uuid4()),
            team=self.ws.team_id,
            blocks=slack_events.rich_text_blocks(text),
        )
        self.ws.add_message(message, source="user")
        for record in records:
            record.shares.append(Share(channel, message.ts, thread_ts, conversation.is_private))
        self._changes.notify()
        return self._user_message_events(conversation, message, mention_bot, stub_files)

    def _user_message_events(
        self, channel: Channel, message: Message, mention_bot: bool, stub_files: bool | None
    ) -> UserMessage:
        use_stubs = channel.is_ext_shared if stub_files is None else stub_files
        files = [f.stub() if use_stubs else f.to_api() for f in message.files] or None
        root = self.ws.message(channel.id, message.thread_ts) if message.thread_ts else None
        common: dict[str, Any] = {
            "user": message.user,
            "channel": channel.id,
            "text": message.text,
            "ts": message.ts,
            "team_id": self.ws.team_id,
            "thread_ts": message.thread_ts,
            "files": files,
            "parent_user_id": root.user if root else None,
            "client_msg_id": message.client_msg_id,
        }
        wrap: dict[str, Any] = {
            "team_id": self.ws.team_id,
            "api_app_id": self.ws.app_id,
            "bot_user_id": self.ws.bot_user_id,
            "is_ext_shared_channel": channel.is_ext_shared,
        }
        event = slack_events.message(
            **common, subtype=message.subtype, channel_type=channel.channel_type
        )
        # The author's home workspace: another one for a Slack Connect guest.
        home = self.ws.users[message.user].team_id if message.user in self.ws.users else None
        teams = {"team": home, "user_team": home, "source_team": home} if home else {}
        event |= teams
        mention = None
        if mention_bot and not channel.is_im:
            twin = slack_events.app_mention(**common) | teams
            mention = slack_events.envelope(twin, **wrap)
        return UserMessage(message.ts, slack_events.envelope(event, **wrap), mention)

    def block_actions(
        self,
        *,
        user: str,
        channel: str,
        message_ts: str,
        action_id: str,
        value: str,
        block_id: str = "feedback",
        action_type: str = "button",
    ) -> dict[str, Any]:
        """A block_actions payload for a click on a bot message in the fake, whose
        ``response_url`` posts back to the fake (``slack.response_posts``)."""
        message = self.ws.message(channel, message_ts)
        if message is None:
            raise ValueError(f"no message {message_ts} in {channel}")
        hook = self.ws.hooks.issue("actions", user=user, channel=channel)
        return slack_events.block_actions(
            user=user,
            channel=channel,
            message_ts=message_ts,
            action_id=action_id,
            value=value,
            thread_ts=message.thread_ts,
            block_id=block_id,
            action_type=action_type,
            team_id=self.ws.team_id,
            api_app_id=self.ws.app_id,
            message=self.ws.message_to_api(message),
            response_url=f"{self.url}actions/{hook.id}",
            trigger_id=self.ws.triggers.issue(user, source="block_actions"),
            user_team=self.ws.users[user].team_id if user in self.ws.users else None,
        )

    @property
    def agent_session_stopped(self) -> bool:
        """Whether the app subscribes to ``agent_session_stopped`` (switchable at run time)."""
        return self.ws.agent_session_stopped_subscribed

    @agent_session_stopped.setter
    def agent_session_stopped(self, subscribed: bool) -> None:
        self.ws.agent_session_stopped_subscribed = subscribed

    def stop_session(self, channel: str, thread_ts: str, user: str) -> dict[str, Any]:
        """What Slack does when ``user`` clicks the agent session's Stop button: stop every open
        stream of the bot in the thread (later appends fail with
        ``message_not_in_streaming_state``) and return the ``agent_session_stopped`` envelope to
        deliver to the bot (``streaming_message_ts`` = those streams). The session's status does
        not change: the app must move it. The button exists only while the session is
        ``processing`` and the app subscribes to the event (else ValueError)."""
        stopped = slack_sessions.stop_session(self.ws, channel, thread_ts, user)
        self._changes.notify()
        event = slack_events.agent_session_stopped(
            channel=channel, thread_ts=thread_ts, user=user, streaming_message_ts=stopped
        )
        return slack_events.envelope(
            event,
            team_id=self.ws.team_id,
            api_app_id=self.ws.app_id,
            bot_user_id=self.ws.bot_user_id,
            is_ext_shared_channel=self.ws.channel(channel).is_ext_shared,
        )


# --- run by hand ----------------------------------------------------------------------------------


async def _serve(port: int, token: str) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with FakeSlack(bot_token=token, port=port) as slack:
        print(f"Fake Slack Web API: {slack.base_url}", flush=True)
        print(f"Bot token:          {slack.bot_token}", flush=True)
        print(f"CDN host:           {slack.cdn_host}", flush=True)
        print(f"Try: curl -s -X POST -H 'Authorization: Bearer {token}' {slack.base_url}auth.test")
        print("Ctrl-C to stop.", flush=True)
        await stop.wait()
    print("Stopped.", flush=True)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run the fake Slack Web API until Ctrl-C.")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: any)")
    parser.add_argument("--token", default="xoxb-test-token", help="the bot token to accept")
    options = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    asyncio.run(_serve(options.port, options.token))


if __name__ == "__main__":
    main()
