"""chat.postMessage / update / delete / postEphemeral and reactions.add for the fake Slack."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from tests.fakes.slack_block_limits import check_message_blocks
from tests.fakes.slack_methods import SlackError, arg_bool, arg_json, arg_str
from tests.fakes.slack_objects import Edit, Message
from tests.fakes.slack_state import Ephemeral, Workspace

MAX_TEXT = 40_000
MAX_MARKDOWN_TEXT = 12_000
MAX_ATTACHMENTS = 100


@dataclass(frozen=True)
class Content:
    text: str | None
    markdown_text: str | None
    blocks: list[dict[str, Any]] | None
    attachments: list[Any] | None


def message_content(args: dict[str, Any]) -> Content:
    """The text/markdown_text/blocks/attachments of a message, checked like Slack checks them."""
    text = arg_str(args, "text")
    markdown = arg_str(args, "markdown_text")
    blocks = arg_json(args, "blocks", error="invalid_blocks_format")
    attachments = arg_json(args, "attachments", error="invalid_attachments")
    if markdown is not None and (text or blocks):
        raise SlackError(
            "markdown_text_conflict", "[ERROR] markdown_text cannot be used with text or blocks"
        )
    if not (text or markdown or blocks or attachments):
        raise SlackError("no_text")
    if text and len(text) > MAX_TEXT:
        raise SlackError("msg_too_long", f"[ERROR] text is {len(text)} characters; max {MAX_TEXT}")
    if markdown and len(markdown) > MAX_MARKDOWN_TEXT:
        raise SlackError(
            "msg_too_long",
            f"[ERROR] markdown_text is {len(markdown)} characters; max {MAX_MARKDOWN_TEXT}",
        )
    if blocks is not None:
        check_message_blocks(blocks)
    if attachments is not None:
        if not isinstance(attachments, list):
            raise SlackError("invalid_attachments")
        if len(attachments) > MAX_ATTACHMENTS:
            raise SlackError("too_many_attachments")
    return Content(text, markdown, blocks or None, attachments or None)


def message_metadata(args: dict[str, Any]) -> dict[str, Any] | None:
    metadata = arg_json(args, "metadata", error="invalid_metadata_format")
    if metadata is None:
        return None
    if not isinstance(metadata, dict) or not {"event_type", "event_payload"} <= set(metadata):
        raise SlackError(
            "invalid_metadata_format", "[ERROR] metadata needs event_type and event_payload"
        )
    return metadata


def resolve_channel(ws: Workspace, channel_id: str | None) -> str | None:
    """chat.postMessage accepts a user ID and posts into the DM with that user."""
    if channel_id and channel_id.startswith(("U", "W")):
        for channel in ws.channels.values():
            if channel.is_im and channel.im_user == channel_id:
                return channel.id
    return channel_id


def post_message(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    channel = ws.member_channel(resolve_channel(ws, arg_str(args, "channel")))
    content = message_content(args)
    metadata = message_metadata(args)
    thread_ts = arg_str(args, "thread_ts")
    if thread_ts:
        ws.thread_root(channel.id, thread_ts, "thread_not_found")
    broadcast = bool(thread_ts) and arg_bool(args, "reply_broadcast")
    message = Message(
        channel=channel.id,
        ts=ws.next_ts(),
        user=ws.bot_user_id,
        bot_id=ws.bot_id,
        text=content.text or "",
        markdown_text=content.markdown_text,
        blocks=content.blocks,
        attachments=content.attachments,
        thread_ts=thread_ts or None,
        subtype="thread_broadcast" if broadcast else None,
        metadata=metadata,
        team=ws.team_id,
    )
    ws.add_message(message, source="chat.postMessage")
    return {"channel": channel.id, "ts": message.ts, "message": ws.message_to_api(message)}


def _own_message(ws: Workspace, args: dict[str, Any], not_owned: str) -> Message:
    channel = ws.member_channel(arg_str(args, "channel"))
    message = ws.message(channel.id, arg_str(args, "ts"))
    if message is None:
        raise SlackError("message_not_found")
    if message.bot_id != ws.bot_id:
        raise SlackError(not_owned)
    return message


def update(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    message = _own_message(ws, args, "cant_update_message")
    if ws.stream_state(message) == "streaming":
        raise SlackError("streaming_state_conflict", "[ERROR] the message is still streaming")
    content = message_content(args)
    metadata = message_metadata(args)
    message.text = content.text or ""
    message.markdown_text = content.markdown_text
    if content.blocks is not None or content.markdown_text is not None:
        message.blocks = content.blocks
    if content.attachments is not None:
        message.attachments = content.attachments
    if metadata is not None:
        message.metadata = metadata
    edit = Edit(time.monotonic(), ws.next_ts(), content.text, content.blocks, content.markdown_text)
    message.edits.append(edit)
    api = ws.message_to_api(message)
    return {"channel": message.channel, "ts": message.ts, "text": api["text"], "message": api}


def delete(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    message = _own_message(ws, args, "cant_delete_message")
    ws.delete_message(message)
    return {"channel": message.channel, "ts": message.ts}


def post_ephemeral(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    channel = ws.member_channel(arg_str(args, "channel"))
    user = arg_str(args, "user") or ""
    if user not in ws.users:
        raise SlackError("user_not_found")
    if user not in channel.members:
        raise SlackError("user_not_in_channel")
    content = message_content(args)
    ts = ws.next_ts()
    text = content.text or content.markdown_text
    thread_ts = arg_str(args, "thread_ts")
    ws.ephemerals.append(
        Ephemeral(channel.id, user, ts, text, content.blocks, thread_ts, time.monotonic())
    )
    return {"message_ts": ts}


def add_reaction(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    channel = ws.member_channel(arg_str(args, "channel"))
    message = ws.message(channel.id, arg_str(args, "timestamp"))
    if message is None:
        raise SlackError("message_not_found")
    name = (arg_str(args, "name") or "").strip(":")
    if not name or " " in name:
        raise SlackError("invalid_name")
    users = message.reactions.setdefault(name, [])
    if ws.bot_user_id in users:
        raise SlackError("already_reacted")
    users.append(ws.bot_user_id)
    return {}
