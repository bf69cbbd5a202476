"""The fake Slack workspace: everything the Web API handlers read and change, plus the records
(calls, downloads, statuses, …) tests assert on."""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tests.fakes.slack_commands import Reply
from tests.fakes.slack_faults import Faults
from tests.fakes.slack_file_record import FileRecord
from tests.fakes.slack_methods import BOT_SCOPES, SlackError
from tests.fakes.slack_objects import Channel, Message, User, ts_value
from tests.fakes.slack_submissions import Submission
from tests.fakes.slack_triggers import Hooks, Triggers
from tests.fakes.slack_views import Views

if TYPE_CHECKING:
    from tests.fakes.slack_home import HomeView


@dataclass
class Call:
    """One Web API request as the fake saw it (``time`` is ``time.monotonic()`` at arrival)."""

    method: str
    args: dict[str, Any]
    time: float
    ok: bool
    error: str | None
    response: dict[str, Any]
    http_method: str = "POST"
    token: str | None = None
    team: str | None = None
    """The workspace the call's token belongs (or belonged) to; None for no or unknown tokens."""


@dataclass
class Download:
    """One GET of a file URL: what Authorization header came, and what was served."""

    file_id: str | None
    path: str
    authorization: str | None
    status: int
    content_type: str
    served: str  # "file", "redirect" (302 to the CDN), "login_page" or "not_found"
    time: float


@dataclass
class StatusChange:
    status: str
    """"" means cleared (by setStatus with an empty status, or by a bot reply in the thread)."""
    loading_messages: list[str] | None
    time: float
    source: str
    """The method that caused it, e.g. "assistant.threads.setStatus" or "chat.postMessage"."""


@dataclass
class SuggestedPrompts:
    channel: str
    thread_ts: str | None
    title: str | None
    prompts: list[dict[str, str]]
    time: float


@dataclass
class Ephemeral:
    channel: str
    user: str
    ts: str
    text: str | None
    blocks: list[dict[str, Any]] | None
    thread_ts: str | None
    time: float


@dataclass
class SessionChange:
    status: str
    time: float
    source: str
    """"agents.sessions.setStatus" or "chat.stopStream"."""


@dataclass
class AgentSession:
    """An agent session (``agents.sessions.*``): one per (channel, thread_ts)."""

    channel: str
    thread_ts: str
    status: str
    title: str | None
    initiator_user_id: str | None
    history: list[SessionChange] = field(default_factory=list)
    titles: list[str] = field(default_factory=list)
    """Every title it had, in order (creation, then agents.sessions.rename)."""
    stops: list[tuple[str, float]] = field(default_factory=list)
    """(user, time) of each click on the native Stop button (``slack.stop_session``)."""


@dataclass
class ResponseUrlPost:
    """A POST to a ``response_url`` the fake handed out in an interactivity payload."""

    hook: str
    body: dict[str, Any]
    time: float


@dataclass
class Workspace:
    team_id: str
    bot_user_id: str
    bot_id: str
    app_id: str
    bot_token: str
    team_name: str = "Fake Workspace"
    root_url: str = "http://127.0.0.1/"
    stream_idle_timeout: float = 300.0
    stream_max_lifetime: float = 300.0
    scopes: list[str] = field(default_factory=lambda: BOT_SCOPES.split(","))
    """The bot token's granted scopes (``x-oauth-scopes`` on every call made with it)."""
    agent_session_stopped_subscribed: bool = True
    """Whether the app subscribes to ``agent_session_stopped`` (else setStatus warns)."""
    users: dict[str, User] = field(default_factory=dict)
    channels: dict[str, Channel] = field(default_factory=dict)
    messages: dict[str, dict[str, Message]] = field(default_factory=dict)
    """channel -> ts -> message, for messages that are (still) visible."""
    deleted: list[Message] = field(default_factory=list)
    files: dict[str, FileRecord] = field(default_factory=dict)
    uploads: dict[str, str] = field(default_factory=dict)
    """upload URL id -> file id (files.getUploadURLExternal)."""
    statuses: dict[tuple[str, str], list[StatusChange]] = field(default_factory=dict)
    titles: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    suggested_prompts: list[SuggestedPrompts] = field(default_factory=list)
    ephemerals: list[Ephemeral] = field(default_factory=list)
    downloads: list[Download] = field(default_factory=list)
    aborted_downloads: list[str] = field(default_factory=list)
    """File ids whose held download the client gave up on (``faults.hold``)."""
    held_downloads: list[str] = field(default_factory=list)
    """File ids of downloads waiting for ``faults.release`` right now."""
    response_posts: list[ResponseUrlPost] = field(default_factory=list)
    triggers: Triggers = field(default_factory=Triggers)
    hooks: Hooks = field(default_factory=Hooks)
    views: Views = field(default_factory=Views)
    home_tab_enabled: bool = True
    """The manifest's ``features.app_home.home_tab_enabled`` (else views.publish: not_enabled)."""
    home_views: dict[str, HomeView] = field(default_factory=dict)
    """user -> what their App Home tab shows (views.publish)."""
    submissions: list[Submission] = field(default_factory=list)
    interaction_replies: list[Reply] = field(default_factory=list)
    """What users saw in answer to slash commands and clicks (acks, response_url posts)."""
    sessions: dict[tuple[str, str], AgentSession] = field(default_factory=dict)
    faults: Faults = field(default_factory=Faults)
    _last_us: int = 0
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    # --- identifiers ----------------------------------------------------------------------------

    def next_ts(self) -> str:
        """A Slack-style message timestamp, unique and increasing ("1763700000.000100")."""
        self._last_us = max(int(time.time() * 1_000_000), self._last_us + 1)
        return f"{self._last_us // 1_000_000}.{self._last_us % 1_000_000:06d}"

    def new_id(self, prefix: str) -> str:
        return f"{prefix}0{next(self._ids):08X}"

    def bot_profile(self) -> dict[str, Any]:
        icons = "https://a.slack-edge.com/80588/img/plugins/app"
        return {
            "id": self.bot_id,
            "deleted": False,
            "name": self.users[self.bot_user_id].real_name,
            "updated": 1_700_000_000,
            "app_id": self.app_id,
            "icons": {
                "image_36": f"{icons}/bot_36.png",
                "image_48": f"{icons}/bot_48.png",
                "image_72": f"{icons}/service_72.png",
            },
            "team_id": self.team_id,
        }

    # --- lookups that raise Slack's errors ------------------------------------------------------

    def channel(self, channel_id: str | None) -> Channel:
        channel = self.channels.get(channel_id or "")
        if channel is None:
            raise SlackError("channel_not_found")
        return channel

    def member_channel(self, channel_id: str | None) -> Channel:
        """The channel, if the bot may act in it (private ones look absent to non-members)."""
        channel = self.channel(channel_id)
        if self.bot_user_id not in channel.members:
            raise SlackError("channel_not_found" if channel.is_private else "not_in_channel")
        return channel

    def message(self, channel_id: str, ts: str | None) -> Message | None:
        return self.messages.get(channel_id, {}).get(ts or "")

    def stream_state(self, message: Message) -> str | None:
        """ "streaming", "stopped" or "expired" (idle longer than ``stream_idle_timeout`` or open
        longer than ``stream_max_lifetime``); None for a message that never streamed."""
        if message.stream is None:
            return None
        return message.stream.refresh(self.stream_idle_timeout, self.stream_max_lifetime)

    def thread_root(self, channel_id: str, thread_ts: str | None, error: str) -> Message:
        """The top-level message a reply may attach to (a reply's ts is not a thread root)."""
        root = self.message(channel_id, thread_ts)
        if root is None:
            raise SlackError(error, f"[ERROR] no message with ts {thread_ts} in {channel_id}")
        if root.thread_ts is not None:
            raise SlackError(
                error,
                f"[ERROR] {thread_ts} is a reply; its thread root is {root.thread_ts}",
            )
        return root

    def replies(self, channel_id: str, root_ts: str) -> list[Message]:
        """Root first, then its replies, oldest first."""
        thread = [m for m in self.messages.get(channel_id, {}).values() if m.root_ts == root_ts]
        return sorted(thread, key=lambda m: (m.thread_ts is not None, ts_value(m.ts)))

    # --- changes --------------------------------------------------------------------------------

    def add_message(self, message: Message, *, source: str) -> Message:
        self.messages.setdefault(message.channel, {})[message.ts] = message
        if message.is_bot and message.thread_ts is not None:
            self.clear_status(message.channel, message.thread_ts, source=source)
        return message

    def delete_message(self, message: Message) -> None:
        """Remove a message; a root that still has replies stays as a tombstone, as in Slack."""
        message.deleted = True
        self.deleted.append(message)
        channel_messages = self.messages[message.channel]
        has_replies = any(m.thread_ts == message.ts for m in channel_messages.values())
        if message.thread_ts is None and has_replies:
            tombstone = Message(
                channel=message.channel,
                ts=message.ts,
                user="USLACKBOT",
                text="This message was deleted.",
                subtype="tombstone",
            )
            channel_messages[message.ts] = tombstone
        else:
            del channel_messages[message.ts]

    def set_status(
        self, channel: str, thread_ts: str, status: str, loading: list[str] | None, *, source: str
    ) -> None:
        change = StatusChange(status, loading, time.monotonic(), source)
        self.statuses.setdefault((channel, thread_ts), []).append(change)

    def clear_status(self, channel: str, thread_ts: str, *, source: str) -> None:
        history = self.statuses.get((channel, thread_ts))
        if history and history[-1].status:
            self.set_status(channel, thread_ts, "", None, source=source)

    # --- JSON shapes ----------------------------------------------------------------------------

    def message_to_api(self, message: Message) -> dict[str, Any]:
        msg = message.to_api(self.bot_profile() if message.is_bot else None)
        if message.thread_ts is not None:
            root = self.message(message.channel, message.thread_ts)
            msg.update({"thread_ts": message.thread_ts, "parent_user_id": root and root.user})
            return msg
        replies = self.replies(message.channel, message.ts)[1:]
        if replies:
            users = list(dict.fromkeys(r.user or "" for r in replies))
            msg.update(
                {
                    "thread_ts": message.ts,
                    "reply_count": len(replies),
                    "reply_users_count": len(users),
                    "latest_reply": replies[-1].ts,
                    "reply_users": users,
                    "is_locked": False,
                    "subscribed": False,
                }
            )
        return msg
