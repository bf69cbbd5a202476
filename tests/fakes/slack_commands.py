"""Slash commands and ``response_url`` replies in the fake Slack.

A slash command reaches the app as a signed ``application/x-www-form-urlencoded`` POST with
these fields (docs.slack.dev/interactivity/implementing-slash-commands): ``token``,
``team_id``, ``team_domain``, ``channel_id``, ``channel_name`` ("directmessage" in a DM,
"privategroup" in a private channel, "mpdm-…" in a group DM), ``user_id``, ``user_name``,
``command``, ``text``, ``api_app_id``, ``is_enterprise_install``, ``response_url`` and
``trigger_id``. Slack delivers it wherever the user typed it, whether or not the app's bot is
in that conversation.

What the user then sees, all recorded as ``Reply``s:
- the app's HTTP answer (within 3 s): an empty 200 shows nothing; a JSON body with ``text``
  and/or ``blocks`` (``response_type`` "ephemeral", the default, or "in_channel") or a plain
  text body is shown; a late or failed answer shows Slack's own error ("operation_timeout",
  "dispatch_failed");
- posts to the ``response_url`` (``slack_triggers.Hooks``: 5 uses, 30 minutes): the same JSON
  shape; invalid bodies are answered HTTP 400 ``invalid_payload``, ``no_text`` or
  ``invalid_blocks``.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tests.fakes.slack_block_limits import check_message_blocks
from tests.fakes.slack_block_text import blocks_text
from tests.fakes.slack_methods import SlackError
from tests.fakes.slack_triggers import HookError

if TYPE_CHECKING:
    from tests.fakes.slack_state import Workspace

ACK_DEADLINE_S = 3.0
RESPONSE_TYPES = frozenset({"ephemeral", "in_channel"})


@dataclass
class Reply:
    """Something the user saw in answer to an interaction."""

    via: str
    """"ack" (the HTTP answer) or "response_url"."""
    kind: str
    """"commands" or "actions"."""
    user: str
    channel: str
    response_type: str
    text: str
    blocks: list[dict[str, Any]] | None = None
    error: str | None = None
    """Slack's own error shown instead (the app answered late or failed)."""
    time: float = field(default_factory=time.monotonic)

    @property
    def content(self) -> str:
        """The words the user reads: the text, else the blocks' text."""
        return self.text or blocks_text(self.blocks)


class BadReply(Exception):
    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


def channel_name(ws: Workspace, channel_id: str) -> str:
    channel = ws.channel(channel_id)
    if channel.is_im:
        return "directmessage"
    if channel.is_mpim:
        return channel.name if channel.name.startswith("mpdm-") else f"mpdm-{channel.name}-1"
    return "privategroup" if channel.is_private else channel.name


def command_fields(
    ws: Workspace, *, user: str, channel: str, command: str, text: str, root_url: str
) -> dict[str, str]:
    """The form fields of one slash command, with a fresh trigger and response_url."""
    hook = ws.hooks.issue("commands", user=user, channel=channel)
    return {
        "token": "verification_token",
        "team_id": ws.team_id,
        "team_domain": "fake-workspace",
        "channel_id": channel,
        "channel_name": channel_name(ws, channel),
        "user_id": user,
        "user_name": ws.users[user].name,
        "command": command,
        "text": text,
        "api_app_id": ws.app_id,
        "is_enterprise_install": "false",
        "response_url": f"{root_url}commands/{ws.team_id}/{hook.id}",
        "trigger_id": ws.triggers.issue(user, source="command"),
    }


def parse_reply(body: Any) -> tuple[str, str, list[dict[str, Any]] | None]:
    """(response_type, text, blocks) of a reply body, or BadReply as Slack refuses it."""
    if not isinstance(body, dict):
        raise BadReply("invalid_payload")
    response_type = body.get("response_type", "ephemeral")
    if response_type not in RESPONSE_TYPES:
        raise BadReply("invalid_payload")
    text, blocks = body.get("text") or "", body.get("blocks")
    if not isinstance(text, str) or not (text or blocks):
        raise BadReply("no_text")
    if blocks is not None:
        try:
            check_message_blocks(blocks)
        except SlackError as error:
            raise BadReply(error.error) from None
    return response_type, text, blocks


def acked(
    ws: Workspace, fields: dict[str, str], *, status: int, body: str, elapsed_s: float
) -> Reply | None:
    """What the user sees from the app's HTTP answer to a slash command (None: nothing)."""
    user, channel = fields["user_id"], fields["channel_id"]
    error = None
    if elapsed_s > ACK_DEADLINE_S:
        error = "operation_timeout"
    elif status != 200:
        error = "dispatch_failed"
    if error is not None:
        reply = Reply("ack", "commands", user, channel, "ephemeral", "", error=error)
    elif not body.strip():
        return None
    else:
        try:
            parsed = json.loads(body)
        except json.JSONDecodeError:
            parsed = {"text": body}
        try:
            response_type, text, blocks = parse_reply(parsed)
        except BadReply as bad:
            reply = Reply("ack", "commands", user, channel, "ephemeral", "", error=bad.error)
        else:
            reply = Reply("ack", "commands", user, channel, response_type, text, blocks)
    ws.interaction_replies.append(reply)
    return reply


def response_url_post(ws: Workspace, kind: str, hook_id: str, raw: bytes) -> tuple[int, str]:
    """A POST to a response_url: (HTTP status, body) as Slack answers it; recorded."""
    try:
        hook = ws.hooks.usable(kind, hook_id)
    except HookError as error:
        return error.status, error.error
    try:
        body = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return 400, "invalid_payload"
    if kind == "actions" and isinstance(body, dict) and body.get("delete_original"):
        hook.uses += 1
        return 200, "ok"
    try:
        response_type, text, blocks = parse_reply(body)
    except BadReply as bad:
        return 400, bad.error
    hook.uses += 1
    ws.interaction_replies.append(
        Reply("response_url", kind, hook.user, hook.channel, response_type, text, blocks)
    )
    return 200, "ok"
