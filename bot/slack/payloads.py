"""Slack payloads → the bot's frozen dataclasses. The only place that reads event dicts."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from bot.core.access import Actor
from bot.core.turns import ChannelType, PriorMessage, SlackFile, ThreadKey, Turn, TurnSource
from bot.profile.drop import FileDrop

# Message subtypes that are a person saying something; everything else (edits, deletions,
# joins, bot posts…) is acknowledged and ignored.
HUMAN_SUBTYPES = frozenset({None, "file_share", "thread_broadcast"})
_CHANNEL_TYPES: dict[str, ChannelType] = {
    "channel": "channel",
    "group": "group",
    "im": "im",
    "mpim": "mpim",
}


def team_of(body: Mapping[str, Any], context: Mapping[str, Any]) -> str:
    """The installation's workspace (Slack Connect events may carry another org's team)."""
    return str(context.get("team_id") or body.get("team_id") or body.get("enterprise_id") or "")


def is_from_human(event: Mapping[str, Any], *, bot_user_id: str | None) -> bool:
    """A message typed by a person (not a bot, not an edit/deletion/system message)."""
    if event.get("subtype") not in HUMAN_SUBTYPES:
        return False
    if event.get("bot_id") or event.get("bot_profile"):
        return False
    user = event.get("user")
    return bool(user) and user != bot_user_id


def mentions(text: str, user_id: str | None) -> bool:
    return bool(user_id) and f"<@{user_id}" in text


def strip_mention(text: str, bot_user_id: str | None) -> str:
    """Remove the bot's own mention token(s); other people's mentions stay."""
    if bot_user_id:
        text = re.sub(rf"<@{re.escape(bot_user_id)}(\|[^>]*)?>", " ", text)
    return re.sub(r"[ \t]{2,}", " ", text).strip()


def thread_key(event: Mapping[str, Any], team_id: str) -> ThreadKey:
    """The thread a message belongs to; a top-level message starts its own."""
    return ThreadKey(team_id, str(event["channel"]), str(event.get("thread_ts") or event["ts"]))


def in_thread(event: Mapping[str, Any]) -> bool:
    thread_ts = event.get("thread_ts")
    return bool(thread_ts) and thread_ts != event.get("ts")


def channel_type(event: Mapping[str, Any]) -> ChannelType:
    explicit = _CHANNEL_TYPES.get(str(event.get("channel_type", "")))
    if explicit:
        return explicit
    channel = str(event.get("channel", ""))
    return "im" if channel.startswith("D") else "channel"


def slack_file(data: Mapping[str, Any]) -> SlackFile:
    """A file object from an event or `files.info` (stubs have little more than an id)."""
    size = data.get("size")
    return SlackFile(
        id=str(data["id"]),
        name=str(data.get("name") or ""),
        mimetype=str(data.get("mimetype") or ""),
        filetype=str(data.get("filetype") or ""),
        size=int(size) if isinstance(size, int) else None,
        download_url=data.get("url_private_download") or data.get("url_private") or None,
        permalink=data.get("permalink") or None,
    )


def files_of(event: Mapping[str, Any]) -> tuple[SlackFile, ...]:
    return tuple(slack_file(f) for f in event.get("files") or () if f.get("id"))


def turn_from_event(
    event: Mapping[str, Any],
    *,
    team_id: str,
    bot_user_id: str | None,
    source: TurnSource,
    gather_context: bool = False,
) -> Turn:
    return Turn(
        key=thread_key(event, team_id),
        message_ts=str(event["ts"]),
        user_id=str(event["user"]),
        text=strip_mention(str(event.get("text") or ""), bot_user_id),
        files=files_of(event),
        channel_type=channel_type(event),
        source=source,
        gather_context=gather_context,
    )


def prior_message(message: Mapping[str, Any], *, names: Mapping[str, str]) -> PriorMessage:
    """A message from `conversations.replies`, with its author's display name."""
    user = str(message.get("user") or message.get("bot_id") or "unknown")
    return PriorMessage(
        ts=str(message.get("ts", "")),
        author=names.get(user, user),
        text=str(message.get("text") or ""),
        is_bot=bool(message.get("bot_id")),
        files=files_of(message),
    )


def file_drop(event: Mapping[str, Any], *, team_id: str) -> FileDrop:
    """A channel message that shared files, without talking to the bot."""
    return FileDrop(
        key=thread_key(event, team_id),
        message_ts=str(event["ts"]),
        user_id=str(event.get("user") or ""),
        files=files_of(event),
    )


def actor_of(
    event: Mapping[str, Any], body: Mapping[str, Any], context: Mapping[str, Any]
) -> Actor:
    """Who wrote a message event. External: in a Slack Connect channel, from another workspace
    than the installation's (`user_team`, else the message's `team`); members of one
    Enterprise Grid organisation share no Slack Connect channel, so they are never external."""
    team_id = team_of(body, context)
    user_team = str(event.get("user_team") or event.get("team") or team_id)
    return Actor(
        key=thread_key(event, team_id),
        user_id=str(event.get("user") or ""),
        is_dm=channel_type(event) == "im",
        external=bool(body.get("is_ext_shared_channel")) and user_team != team_id,
    )


def actor_of_action(body: Mapping[str, Any], key: ThreadKey) -> Actor:
    """Who clicked a button in `key`'s thread. External: their home team is not the
    workspace's, outside an Enterprise Grid organisation (where home teams differ)."""
    user = body.get("user") or {}
    user_team = str(user.get("team_id") or key.team_id)
    grid = bool(body.get("enterprise") or body.get("is_enterprise_install"))
    return Actor(
        key=key,
        user_id=str(user.get("id") or ""),
        is_dm=key.channel_id.startswith("D"),
        external=user_team != key.team_id and not grid,
    )
