"""Web API method signatures for the fake Slack, and typed access to request arguments.

The 16 methods listed in ``wire-samples/slack/web-api-method-reference.slack-api-ref.json``
(slack-ruby/slack-api-ref @ f4837c0c) use that file's ``args_required``/``args_all``; the rest are
written by hand from the ``slack_sdk`` 3.47.0 signatures. Where the SDK sends an argument the scrape
does not list yet, it is added with a comment: the fake must accept what the SDK really sends.

Real Slack silently ignores unknown arguments; this fake rejects them (``invalid_arguments``) so a
typo in our code fails a test instead of being ignored in production.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# Accepted on every method: the SDK moves ``token`` into the Authorization header but a caller may
# send it in the body, and Bolt's per-request client sets ``team_id`` (AsyncWebClient(team_id=…)
# adds it to every call's JSON body or query string).
GLOBAL_ARGS = frozenset({"token", "team_id"})
# Sent back in ``x-oauth-scopes`` like Slack does: the scopes the design's manifest grants.
BOT_SCOPES = ",".join([
    "app_mentions:read", "channels:history", "groups:history", "im:history", "mpim:history",
    "chat:write", "files:read", "files:write", "assistant:write", "reactions:write", "users:read",
    "channels:read", "groups:read", "mpim:read", "commands",
])  # fmt: skip


class SlackError(Exception):
    """An ``ok: false`` answer: HTTP 200 with ``error`` (and optional details)."""

    def __init__(self, error: str, *messages: str, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.messages = list(messages)
        self.extra = extra

    def to_response(self) -> dict[str, Any]:
        body: dict[str, Any] = {"ok": False, "error": self.error, **self.extra}
        if self.messages:
            body["response_metadata"] = {"messages": self.messages}
        return body


@dataclass(frozen=True)
class MethodSpec:
    required: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()
    missing_errors: Mapping[str, str] = field(default_factory=dict)
    """Slack's error when that required argument is missing (default ``invalid_arguments``)."""
    may_be_empty: tuple[str, ...] = ()
    """Required arguments for which "" is a real value (setStatus ``status=""`` clears it)."""

    def check(self, args: Mapping[str, Any]) -> None:
        unknown = sorted(set(args) - set(self.required) - set(self.optional) - GLOBAL_ARGS)
        if unknown:
            raise SlackError(
                "invalid_arguments", *(f"[ERROR] unknown argument: {name}" for name in unknown)
            )
        for name in self.required:
            value = args.get(name)
            if value is None or (value == "" and name not in self.may_be_empty):
                error = self.missing_errors.get(name, "invalid_arguments")
                raise SlackError(error, f"[ERROR] missing required field: {name}")


_CHANNEL = {"channel": "channel_not_found"}
_MESSAGE_OPTIONAL = (
    "as_user", "attachments", "blocks", "icon_emoji", "icon_url", "link_names", "markdown_text",
    "metadata", "mrkdwn", "parse", "reply_broadcast", "text", "thread_ts", "unfurl_links",
    "unfurl_media", "username",
)  # fmt: skip

SPECS: dict[str, MethodSpec] = {
    # --- from web-api-method-reference.slack-api-ref.json -----------------------------------
    "auth.test": MethodSpec(),
    "chat.postMessage": MethodSpec(
        required=("channel",),
        # container_id: sent by slack_sdk's chat_postMessage, not in the scraped reference yet.
        optional=(*_MESSAGE_OPTIONAL, "current_draft_last_updated_ts", "container_id"),
        missing_errors=_CHANNEL,
    ),
    "chat.update": MethodSpec(
        required=("channel", "ts"),
        optional=(
            "as_user",
            "attachments",
            "unfurled_attachments",
            "blocks",
            "markdown_text",
            "metadata",
            "link_names",
            "parse",
            "text",
            "reply_broadcast",
            "file_ids",
        ),  # fmt: skip
        missing_errors={**_CHANNEL, "ts": "message_not_found"},
    ),
    "chat.startStream": MethodSpec(
        required=("channel",),
        optional=(
            "chunks",
            "markdown_text",
            "thread_ts",
            "recipient_user_id",
            "recipient_team_id",
            "task_display_mode",
            "icon_emoji",
            "icon_url",
            "username",
        ),  # fmt: skip
        missing_errors=_CHANNEL,
    ),
    # The reference marks markdown_text required, but the SDK's own AsyncChatStream sends only
    # ``chunks``: "markdown_text or chunks" is checked by the handler (no_text).
    "chat.appendStream": MethodSpec(
        required=("channel", "ts"),
        optional=("chunks", "markdown_text"),
        missing_errors={**_CHANNEL, "ts": "message_not_found"},
    ),
    "chat.stopStream": MethodSpec(
        required=("channel", "ts"),
        # session_status: sent by slack_sdk 3.47 chat_stopStream, not in the scraped reference yet.
        optional=("chunks", "markdown_text", "blocks", "metadata", "session_status"),
        missing_errors={**_CHANNEL, "ts": "message_not_found"},
    ),
    "assistant.threads.setStatus": MethodSpec(
        required=("channel_id", "thread_ts", "status"),
        optional=("loading_messages", "icon_emoji", "icon_url", "username"),
        may_be_empty=("status",),
    ),
    "assistant.threads.setSuggestedPrompts": MethodSpec(
        required=("channel_id", "prompts"), optional=("thread_ts", "title")
    ),
    "assistant.threads.setTitle": MethodSpec(required=("channel_id", "thread_ts", "title")),
    "conversations.replies": MethodSpec(
        required=("channel", "ts"),
        optional=("cursor", "include_all_metadata", "inclusive", "latest", "limit", "oldest"),
        missing_errors={**_CHANNEL, "ts": "thread_not_found"},
    ),
    "conversations.info": MethodSpec(
        required=("channel",),
        optional=("include_locale", "include_num_members"),
        missing_errors=_CHANNEL,
    ),
    "users.info": MethodSpec(
        required=("user",), optional=("include_locale",), missing_errors={"user": "user_not_found"}
    ),
    "files.info": MethodSpec(
        required=("file",),
        optional=("count", "cursor", "limit", "page"),
        missing_errors={"file": "file_not_found"},
    ),
    "reactions.add": MethodSpec(
        required=("channel", "name", "timestamp"),
        missing_errors={**_CHANNEL, "name": "invalid_name", "timestamp": "no_item_specified"},
    ),
    "files.getUploadURLExternal": MethodSpec(
        required=("filename", "length"),
        optional=("snippet_type", "alt_txt"),
        missing_errors={"filename": "missing_argument", "length": "missing_argument"},
    ),
    "files.completeUploadExternal": MethodSpec(
        required=("files",),
        optional=(
            "channel_id",
            "thread_ts",
            "channels",
            "initial_comment",
            "blocks",
            "username",
            "icon_url",
            "icon_emoji",
        ),  # fmt: skip
    ),
    # --- by hand, from slack_sdk 3.47.0 AsyncWebClient signatures ------------------------------
    "chat.delete": MethodSpec(
        required=("channel", "ts"),
        optional=("as_user",),
        missing_errors={**_CHANNEL, "ts": "message_not_found"},
    ),
    "chat.postEphemeral": MethodSpec(
        required=("channel", "user"),
        optional=(
            "text",
            "as_user",
            "attachments",
            "blocks",
            "thread_ts",
            "icon_emoji",
            "icon_url",
            "link_names",
            "username",
            "parse",
            "markdown_text",
        ),  # fmt: skip
        missing_errors={**_CHANNEL, "user": "user_not_found"},
    ),
    "apps.connections.open": MethodSpec(),
    # slack_sdk 3.47 agents_sessions_setStatus / agents_sessions_rename (JSON bodies). Slack
    # documents channel_id as optional (required outside session channels); the SDK always sends
    # it, and the fake has no session channels.
    "agents.sessions.setStatus": MethodSpec(
        required=("channel_id", "status"),
        optional=(
            "thread_ts",
            "title",
            "initiator_user_id",
            "icon_emoji",
            "icon_url",
            "username",
        ),  # fmt: skip
        missing_errors={"channel_id": "channel_not_found"},
    ),
    "agents.sessions.rename": MethodSpec(
        required=("channel_id", "title"),
        optional=("thread_ts",),
        missing_errors={"channel_id": "channel_not_found"},
    ),
    # slack_sdk 3.47 views_open / views_push / views_update (JSON bodies; docs.slack.dev).
    "views.open": MethodSpec(required=("view",), optional=("trigger_id", "interactivity_pointer")),
    "views.push": MethodSpec(required=("view",), optional=("trigger_id", "interactivity_pointer")),
    "views.update": MethodSpec(required=("view",), optional=("view_id", "external_id", "hash")),
    "views.publish": MethodSpec(required=("user_id", "view"), optional=("hash",)),
}


# --- typed access to arguments that arrive as JSON values, form fields or query strings --------


def arg_str(args: Mapping[str, Any], name: str) -> str | None:
    value = args.get(name)
    if value is None:
        return None
    if isinstance(value, (dict, list)):
        raise SlackError("invalid_arguments", f"[ERROR] {name} must be a string")
    return str(value)


def arg_bool(args: Mapping[str, Any], name: str, default: bool = False) -> bool:
    value = args.get(name)
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in {"1", "true", "yes"}


def arg_int(args: Mapping[str, Any], name: str, default: int | None = None) -> int | None:
    value = args.get(name)
    if value in (None, ""):
        return default
    try:
        return int(value)
    except (TypeError, ValueError):
        raise SlackError("invalid_arguments", f"[ERROR] {name} must be an integer") from None


def arg_json(args: Mapping[str, Any], name: str, *, error: str = "invalid_arguments") -> Any:
    """A structured argument: a JSON value, or a JSON-encoded string as form/query fields carry."""
    value = args.get(name)
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            raise SlackError(error, f"[ERROR] {name} is not valid JSON") from None
    return value


def arg_list(args: Mapping[str, Any], name: str, *, error: str = "invalid_arguments") -> list[Any]:
    value = arg_json(args, name, error=error)
    if value is None:
        return []
    if not isinstance(value, list):
        raise SlackError(error, f"[ERROR] {name} must be an array")
    return value
