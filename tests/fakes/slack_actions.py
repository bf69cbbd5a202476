"""What people do in a workspace of the fake Slack, and what Slack then delivers to the app:
messages (with their ``message`` / ``app_mention`` envelopes), clicks on bot messages, the agent
session's Stop button, and removing the app (``uninstall``, ``revoke_tokens``). A mixin of
``FakeSlack`` (the first workspace) and ``FakeTeam`` (any other)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tests.fakes import slack_events, slack_sessions
from tests.fakes.slack_file_record import Share
from tests.fakes.slack_objects import Channel, Message
from tests.fakes.slack_state import Workspace
from tests.fakes.slack_teams import Teams
from tests.fakes.slack_waiting import ChangeFeed


@dataclass(frozen=True)
class UserMessage:
    """A human message now in the fake's history, and the envelopes Slack would deliver for it."""

    ts: str
    message_event: dict[str, Any]
    app_mention_event: dict[str, Any] | None

    @property
    def envelopes(self) -> list[dict[str, Any]]:
        return [e for e in (self.message_event, self.app_mention_event) if e is not None]


@dataclass(frozen=True)
class Removal:
    """The app was removed from a workspace: the events Slack sends, in Slack's order."""

    tokens_revoked: dict[str, Any]
    app_uninstalled: dict[str, Any]


def removal_envelope(ws: Workspace, event: dict[str, Any]) -> dict[str, Any]:
    """``app_uninstalled`` / ``tokens_revoked`` deliveries, shaped as Slack's docs show them
    (no ``authorizations``: the app has no token in that workspace any more)."""
    return {
        "token": "verification_token",
        "team_id": ws.team_id,
        "api_app_id": ws.app_id,
        "event": event,
        "type": "event_callback",
        "event_id": slack_events.new_event_id(),
        "event_time": int(time.time()),
    }


class TeamActions:
    ws: Workspace
    teams: Teams
    url: str
    _changes: ChangeFeed

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
            response_url=f"{self.url}actions/{self.ws.team_id}/{hook.id}",
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

    def revoke_tokens(self) -> dict[str, Any]:
        """An admin revokes the app's bot token here: calls with it answer ``token_revoked``
        from now on. Returns the ``tokens_revoked`` envelope to deliver to the app."""
        bots = self.teams.revoke(self.ws)
        self._changes.notify()
        event = {"type": "tokens_revoked", "tokens": {"oauth": [], "bot": bots}}
        return removal_envelope(self.ws, event)

    def uninstall(self) -> Removal:
        """Someone removes the app from this workspace: its token dies, and Slack sends
        ``tokens_revoked`` then ``app_uninstalled`` (deliver either or both)."""
        revoked = self.revoke_tokens()
        return Removal(revoked, removal_envelope(self.ws, {"type": "app_uninstalled"}))
