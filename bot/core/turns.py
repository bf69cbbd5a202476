"""The values that cross layers: what a Slack thread, file and question are to the bot.

Handlers parse Slack payloads into these frozen dataclasses at the edge; nothing past
`handlers/` reads Slack dicts. The store persists them and the service works on them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ChannelType = Literal["channel", "group", "im", "mpim"]
TurnSource = Literal["mention", "message", "dm", "suggestion", "retry"]


@dataclass(frozen=True)
class ThreadKey:
    """One Slack thread: the unit of conversation, container and turn ordering."""

    team_id: str
    """Workspace (or enterprise) id."""
    channel_id: str
    """Channel, DM or group DM id."""
    thread_ts: str
    """`ts` of the thread's root message."""

    def __str__(self) -> str:
        return f"{self.team_id}/{self.channel_id}/{self.thread_ts}"


@dataclass(frozen=True)
class SlackFile:
    """A file shared in Slack, as far as the event told us."""

    id: str
    """Slack file id (F…)."""
    name: str = ""
    """File name with extension; empty for Slack Connect stubs until resolved."""
    mimetype: str = ""
    filetype: str = ""
    """Slack's short type (csv, xlsx, png, …)."""
    size: int | None = None
    """Size in bytes, when Slack said."""
    download_url: str | None = None
    """`url_private_download` (or `url_private`); None for stubs."""
    permalink: str | None = None
    """Where people open the file in Slack."""

    @property
    def is_stub(self) -> bool:
        """True when `files.info` must be called before the file can be used."""
        return not self.download_url or self.size is None or not self.name

    @property
    def extension(self) -> str:
        name = self.name.lower()
        return name.rsplit(".", 1)[-1] if "." in name else self.filetype.lower()


@dataclass(frozen=True)
class PriorMessage:
    """A message that was in a thread before the bot joined it (context for the first turn)."""

    ts: str
    author: str
    """Display name (or user id) of who wrote it."""
    text: str
    is_bot: bool = False
    files: tuple[SlackFile, ...] = ()


@dataclass(frozen=True)
class UserInfo:
    """Who is asking, for per-turn instructions."""

    user_id: str
    display_name: str
    timezone: str = ""
    """IANA time zone (e.g. Europe/Paris); empty when unknown."""
    is_admin: bool = False
    """A workspace admin or owner (Slack's `is_admin` / `is_owner`)."""


@dataclass(frozen=True)
class Turn:
    """One question to answer: a user message the bot must reply to, recorded once."""

    key: ThreadKey
    """The thread the answer goes into."""
    message_ts: str
    """`ts` of the user message (unique per channel: Slack retries collapse on it)."""
    user_id: str
    text: str
    """The question, with the bot mention removed. Untrusted."""
    files: tuple[SlackFile, ...] = ()
    channel_type: ChannelType = "channel"
    source: TurnSource = "mention"
    gather_context: bool = False
    """First engagement inside an existing thread: read earlier messages and files."""
    retry_of: int | None = None
    """Turn id this one re-runs (Retry button)."""
