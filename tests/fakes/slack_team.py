"""Another workspace of the fake Slack, with the same helpers as ``FakeSlack`` itself.

    other = slack.add_team("T0TWO", name="Other Corp")       # not installed yet
    other.add_user("U0CAROL", name="carol")
    other.add_channel("C0SALES", members=["U0CAROL"])
    sent = other.post_user_message("C0SALES", "U0CAROL", "hi", mention_bot=True)
    other.bot_messages("C0SALES", sent.ts), other.calls  # what the bot did there, with its token

Every workspace has its own bot user and bot id (as in Slack), the app's id, its own channels,
users, files, faults and rate limits; ids of files are unique across workspaces.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tests.fakes.slack_actions import TeamActions
from tests.fakes.slack_assertions import SlackAssertions
from tests.fakes.slack_faults import Faults
from tests.fakes.slack_interactions import SlackInteractions
from tests.fakes.slack_limits import RateLimits
from tests.fakes.slack_setup import SlackSetup
from tests.fakes.slack_state import Call, Workspace
from tests.fakes.slack_waiting import Waiting

if TYPE_CHECKING:
    from tests.fakes.slack_server import SlackServer


class FakeTeam(SlackSetup, SlackAssertions, SlackInteractions, TeamActions, Waiting):
    """A handle on one workspace of a running ``FakeSlack`` (``slack.add_team``)."""

    def __init__(self, server: SlackServer, ws: Workspace) -> None:
        self.ws = ws
        self.teams = server.teams
        self.cdn = server.cdn
        self._server = server
        self._changes = server._changes

    @property
    def team_id(self) -> str:
        return self.ws.team_id

    @property
    def bot_token(self) -> str:
        """The live bot token ("" while the app is not installed here)."""
        return self.ws.bot_token

    @property
    def url(self) -> str:  # type: ignore[override]
        return self._server.url

    @property
    def calls(self) -> list[Call]:  # type: ignore[override]
        """Web API calls made with this workspace's tokens (live or dead)."""
        return [call for call in self._server.calls if call.team == self.ws.team_id]

    @property
    def limits(self) -> RateLimits:  # type: ignore[override]
        return self.teams.limits(self.ws)

    @property
    def faults(self) -> Faults:
        return self.ws.faults


def new_workspace(primary: Workspace, team_id: str, name: str, bot_user_id: str) -> Workspace:
    """A workspace next to ``primary``: same app, its own bot, ids unique across both."""
    ws = Workspace(
        team_id,
        bot_user_id,
        f"B{bot_user_id[1:]}",
        primary.app_id,
        "",
        team_name=name,
        root_url=primary.root_url,
        _ids=primary._ids,
    )
    ws.stream_idle_timeout = primary.stream_idle_timeout
    ws.stream_max_lifetime = primary.stream_max_lifetime
    return ws
