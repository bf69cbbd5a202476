"""The fake Slack's users, channels and messages, and their Web API JSON shapes.

Shapes follow ``wire-samples/slack/``: the users.info and conversations.info doc examples,
``slack-web.chat.update-response-actual.json`` and ``events/slack-web.botMessage.json``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from tests.fakes.slack_block_text import blocks_text
from tests.fakes.slack_file_record import FileRecord
from tests.fakes.slack_stream_state import StreamState

_TZ_LABELS = {
    "Europe/Paris": "Central European Time",
    "Europe/London": "Greenwich Mean Time",
    "America/New_York": "Eastern Standard Time",
    "America/Los_Angeles": "Pacific Standard Time",
    "Asia/Tokyo": "Japan Standard Time",
    "UTC": "Coordinated Universal Time",
}


def ts_value(ts: str) -> Decimal:
    """A message timestamp as an exact number, for ordering ("1763700000.000100")."""
    try:
        return Decimal(ts)
    except InvalidOperation:
        raise ValueError(f"not a Slack timestamp: {ts!r}") from None


def tz_offset_and_label(tz: str) -> tuple[int, str]:
    now = datetime.now(ZoneInfo(tz))
    offset = now.utcoffset()
    seconds = int(offset.total_seconds()) if offset else 0
    return seconds, _TZ_LABELS.get(tz, now.tzname() or tz)


@dataclass
class User:
    id: str
    name: str
    real_name: str
    display_name: str
    team_id: str
    tz: str = "Europe/Paris"
    tz_offset: int | None = None
    tz_label: str | None = None
    is_bot: bool = False
    bot_id: str | None = None
    is_restricted: bool = False
    deleted: bool = False
    is_admin: bool = False
    is_owner: bool = False

    def __post_init__(self) -> None:
        offset, label = tz_offset_and_label(self.tz)
        self.tz_offset = offset if self.tz_offset is None else self.tz_offset
        self.tz_label = label if self.tz_label is None else self.tz_label

    def to_api(self, *, include_locale: bool = False) -> dict[str, Any]:
        avatar = f"https://avatars.slack-edge.com/fake/{self.id}_72.png"
        profile: dict[str, Any] = {
            "avatar_hash": f"g{self.id.lower()[:11]}",
            "status_text": "",
            "status_emoji": "",
            "real_name": self.real_name,
            "display_name": self.display_name,
            "real_name_normalized": self.real_name,
            "display_name_normalized": self.display_name,
            "image_24": avatar,
            "image_48": avatar,
            "image_72": avatar,
            "image_192": avatar,
            "image_512": avatar,
            "team": self.team_id,
        }
        if self.is_bot:
            profile.update({"bot_id": self.bot_id, "always_active": True})
        else:
            profile["email"] = f"{self.name}@example.com"
        user: dict[str, Any] = {
            "id": self.id,
            "team_id": self.team_id,
            "name": self.name,
            "deleted": self.deleted,
            "color": "9f69e7",
            "real_name": self.real_name,
            "tz": self.tz,
            "tz_label": self.tz_label,
            "tz_offset": self.tz_offset,
            "profile": profile,
            "is_admin": self.is_admin or self.is_owner,  # owners are admins too
            "is_owner": self.is_owner,
            "is_primary_owner": False,
            "is_restricted": self.is_restricted,
            "is_ultra_restricted": False,
            "is_bot": self.is_bot,
            "is_app_user": False,
            "updated": 1_700_000_000,
            "has_2fa": False,
        }
        if include_locale:
            user["locale"] = "en-US"
        return user


@dataclass
class Channel:
    id: str
    name: str
    creator: str
    is_im: bool = False
    is_mpim: bool = False
    is_private: bool = False
    is_ext_shared: bool = False
    is_archived: bool = False
    members: set[str] = field(default_factory=set)
    im_user: str | None = None
    created: int = field(default_factory=lambda: int(time.time()) - 86_400)

    @property
    def channel_type(self) -> str:
        """The ``channel_type`` of message events: channel, group, im or mpim."""
        if self.is_im:
            return "im"
        if self.is_mpim:
            return "mpim"
        return "group" if self.is_private else "channel"

    def to_api(
        self,
        team_id: str,
        *,
        include_num_members: bool = False,
        include_locale: bool = False,
        is_member: bool = True,
    ) -> dict[str, Any]:
        """As conversations.info shows it to the app (``is_member``: the app's bot is in it)."""
        if self.is_im:
            channel: dict[str, Any] = {
                "id": self.id,
                "created": self.created,
                "is_im": True,
                "is_org_shared": False,
                "user": self.im_user,
                "is_user_deleted": False,
                "priority": 0,
                "is_open": True,
                "last_read": "0000000000.000000",
                "unread_count": 0,
                "unread_count_display": 0,
            }
        else:
            note = {"value": "", "creator": "", "last_set": 0}
            channel = {
                "id": self.id,
                "name": self.name,
                "is_channel": not self.is_private and not self.is_mpim,
                "is_group": self.is_private and not self.is_mpim,
                "is_im": False,
                "is_mpim": self.is_mpim,
                "is_private": self.is_private,
                "created": self.created,
                "is_archived": self.is_archived,
                "is_general": self.name == "general",
                "unlinked": 0,
                "name_normalized": self.name,
                "is_shared": self.is_ext_shared,
                "is_org_shared": False,
                "is_ext_shared": self.is_ext_shared,
                "is_pending_ext_shared": False,
                "pending_shared": [],
                "context_team_id": team_id,
                "updated": self.created * 1000,
                "parent_conversation": None,
                "creator": self.creator,
                "is_member": is_member,
                "shared_team_ids": [team_id, "T0EXTERNAL"] if self.is_ext_shared else [team_id],
                "pending_connected_team_ids": [],
                "topic": dict(note),
                "purpose": dict(note),
                "previous_names": [],
            }
        if include_num_members:
            channel["num_members"] = len(self.members)
        if include_locale:
            channel["locale"] = "en-US"
        return channel


@dataclass
class Edit:
    """One chat.update of a message (``time`` is ``time.monotonic()``)."""

    time: float
    ts: str
    """Slack-style timestamp of the edit (``edited.ts``)."""
    text: str | None
    blocks: list[dict[str, Any]] | None
    markdown_text: str | None


@dataclass
class Message:
    channel: str
    ts: str
    user: str | None
    text: str = ""
    bot_id: str | None = None
    blocks: list[dict[str, Any]] | None = None
    markdown_text: str | None = None
    attachments: list[Any] | None = None
    files: list[FileRecord] = field(default_factory=list)
    thread_ts: str | None = None
    """The root's ts for a reply; None for a top-level message."""
    subtype: str | None = None
    metadata: dict[str, Any] | None = None
    client_msg_id: str | None = None
    team: str | None = None
    created: float = field(default_factory=time.monotonic)
    edits: list[Edit] = field(default_factory=list)
    reactions: dict[str, list[str]] = field(default_factory=dict)
    deleted: bool = False
    stream: StreamState | None = None

    @property
    def is_stream(self) -> bool:
        return self.stream is not None

    @property
    def is_bot(self) -> bool:
        return self.bot_id is not None

    @property
    def root_ts(self) -> str:
        return self.thread_ts or self.ts

    def text_content(self) -> str:
        """What a reader sees: streamed Markdown (unless chat.update replaced it since), else
        the blocks' text (when there are blocks, `text` is only the notification), else text
        or markdown_text."""
        if self.stream is not None and not self.edits:
            tail = blocks_text(self.stream.final_blocks)
            return "\n".join(part for part in (self.stream.markdown, tail) if part)
        if self.blocks:  # with blocks, `text` is only the notification's fallback
            return blocks_text(self.blocks)
        return self.text or self.markdown_text or ""

    def to_api(self, bot_profile: dict[str, Any] | None) -> dict[str, Any]:
        text = self.text or self.markdown_text or ""
        if self.stream is not None and not self.edits:
            text = self.stream.markdown
        msg: dict[str, Any] = {"type": "message", "text": text}
        if self.subtype:
            msg["subtype"] = self.subtype
        if self.user:
            msg["user"] = self.user
        if self.bot_id:
            msg.update({"bot_id": self.bot_id, "app_id": (bot_profile or {}).get("app_id")})
            msg["bot_profile"] = bot_profile
        if self.client_msg_id:
            msg["client_msg_id"] = self.client_msg_id
        msg["ts"] = self.ts
        blocks = self.blocks
        if self.stream is not None and not self.edits:
            blocks = self.stream.final_blocks
        if blocks:
            msg["blocks"] = blocks
        if self.attachments:
            msg["attachments"] = self.attachments
        if self.files:
            msg.update(
                {
                    "files": [f.to_api() for f in self.files],
                    "upload": False,
                    "display_as_bot": False,
                }
            )
        if self.team:
            msg["team"] = self.team
        if self.metadata:
            msg["metadata"] = self.metadata
        if self.edits:
            msg["edited"] = {"user": self.bot_id or self.user, "ts": self.edits[-1].ts}
        if self.reactions:
            msg["reactions"] = [
                {"name": name, "users": users, "count": len(users)}
                for name, users in self.reactions.items()
            ]
        return msg
