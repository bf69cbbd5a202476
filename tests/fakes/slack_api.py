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
slack_view_limits (views.* and modal validation) + slack_submissions (view_submission);
slack_raw_routes (upload URL, file hosts, response URLs, the authorize page); several
workspaces: slack_teams (which token opens which workspace) + slack_team (``FakeTeam``, the
handle of another workspace) + slack_actions (what people do there, removing the app
included) + slack_oauth (the OAuth v2 flow: authorize page, ``oauth.v2.access``).

Run by hand: ``python -m tests.fakes.slack_api [--port N] [--token xoxb-…]``.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
from collections.abc import Sequence

from tests.fakes.slack_actions import Removal as Removal
from tests.fakes.slack_actions import TeamActions
from tests.fakes.slack_actions import UserMessage as UserMessage
from tests.fakes.slack_assertions import SlackAssertions
from tests.fakes.slack_interactions import SlackInteractions
from tests.fakes.slack_oauth import Visitor as Visitor
from tests.fakes.slack_server import SlackServer
from tests.fakes.slack_setup import SlackSetup
from tests.fakes.slack_state import Workspace
from tests.fakes.slack_team import FakeTeam, new_workspace

logger = logging.getLogger(__name__)


class FakeSlack(SlackSetup, SlackAssertions, SlackInteractions, TeamActions, SlackServer):
    """The fake Slack and its first workspace. Defaults: users UBOT (the bot), U0ALICE
    (Europe/Paris) and U0BOB (America/New_York); public channel C0GENERAL (alice, bob, bot) and
    DM D0DM (alice); the app is installed there with ``bot_token``. State lives in ``self.ws``
    (``slack_state.Workspace``); calls (of every workspace) in ``self.calls``. More
    workspaces: ``add_team`` (``slack_team.FakeTeam``); OAuth installs: ``self.oauth``.

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

    def add_team(
        self,
        team_id: str,
        *,
        name: str | None = None,
        bot_user_id: str | None = None,
        installed: bool = False,
    ) -> FakeTeam:
        """Another workspace (empty: add its users and channels); the app is not installed
        there unless ``installed`` (else install it through ``self.oauth``'s flow)."""
        ws = new_workspace(
            self.ws, team_id, name or f"Workspace {team_id}", bot_user_id or f"U{team_id[1:]}BOT"
        )
        self.teams.add(ws)
        if installed:
            self.teams.install(ws)
        return FakeTeam(self, ws)

    def team(self, team_id: str) -> FakeTeam:
        """The handle of a workspace added before (or of the first one)."""
        return FakeTeam(self, self.teams.get(team_id))


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
        print(f"OAuth client:       {slack.oauth.client_id} / {slack.oauth.client_secret}")
        print(f"Authorize page:     {slack.url}oauth/v2/authorize", flush=True)
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
