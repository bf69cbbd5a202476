"""Read methods of the fake Slack: auth.test, users.info, conversations.info/replies, and the
assistant.threads.* methods (which only record what the bot asked for)."""

from __future__ import annotations

import base64
import binascii
import time
from decimal import Decimal
from typing import Any

from tests.fakes.slack_methods import SlackError, arg_bool, arg_int, arg_json, arg_str
from tests.fakes.slack_objects import Message, ts_value
from tests.fakes.slack_state import SuggestedPrompts, Workspace

MAX_REPLIES_PAGE = 1000
MAX_LOADING_MESSAGES = 10
MAX_PROMPTS = 4


def auth_test(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    slug = ws.team_name.lower().replace(" ", "-")
    return {
        "url": f"https://{slug}.slack.com/",
        "team": ws.team_name,
        "user": ws.users[ws.bot_user_id].name,
        "team_id": ws.team_id,
        "user_id": ws.bot_user_id,
        "bot_id": ws.bot_id,
        "is_enterprise_install": False,
    }


def users_info(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    user = ws.users.get(arg_str(args, "user") or "")
    if user is None:
        raise SlackError("user_not_found")
    return {"user": user.to_api(include_locale=arg_bool(args, "include_locale"))}


def conversations_info(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    channel = ws.channel(arg_str(args, "channel"))
    if channel.is_private and ws.bot_user_id not in channel.members:
        raise SlackError("channel_not_found")
    return {
        "channel": channel.to_api(
            ws.team_id,
            include_num_members=arg_bool(args, "include_num_members"),
            include_locale=arg_bool(args, "include_locale"),
            is_member=ws.bot_user_id in channel.members,
        )
    }


def _cursor(ts: str) -> str:
    return base64.b64encode(f"next_ts:{ts}".encode()).decode()


def _cursor_ts(cursor: str) -> str:
    try:
        decoded = base64.b64decode(cursor, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise SlackError("invalid_cursor") from None
    if not decoded.startswith("next_ts:"):
        raise SlackError("invalid_cursor")
    return decoded.removeprefix("next_ts:")


def _ts_arg(args: dict[str, Any], name: str, default: str) -> Decimal:
    try:
        return ts_value(arg_str(args, name) or default)
    except ValueError:
        raise SlackError(f"invalid_ts_{name}") from None


def _in_window(message: Message, args: dict[str, Any]) -> bool:
    inclusive = arg_bool(args, "inclusive")
    ts = ts_value(message.ts)
    oldest = _ts_arg(args, "oldest", "0")
    latest = _ts_arg(args, "latest", str(int(time.time()) + 86_400))
    after = ts >= oldest if inclusive else ts > oldest
    before = ts <= latest if inclusive else ts < latest
    return after and before


def conversations_replies(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    """Root first (on the first page only), then replies; ``limit`` counts both; cursor paging."""
    channel = ws.member_channel(arg_str(args, "channel"))
    message = ws.message(channel.id, arg_str(args, "ts"))
    if message is None:
        raise SlackError("thread_not_found")
    root, *replies = ws.replies(channel.id, message.root_ts)
    replies = [r for r in replies if _in_window(r, args)]
    limit = max(
        1, min(arg_int(args, "limit", MAX_REPLIES_PAGE) or MAX_REPLIES_PAGE, MAX_REPLIES_PAGE)
    )
    cursor = arg_str(args, "cursor")
    if cursor:
        try:
            start_ts = ts_value(_cursor_ts(cursor))
        except ValueError:
            raise SlackError("invalid_cursor") from None
        page_source = [r for r in replies if ts_value(r.ts) >= start_ts]
    else:
        page_source = [root, *replies]
    page, rest = page_source[:limit], page_source[limit:]
    include_metadata = arg_bool(args, "include_all_metadata")
    messages = [ws.message_to_api(m) for m in page]
    if not include_metadata:
        for msg in messages:
            msg.pop("metadata", None)
    body: dict[str, Any] = {"messages": messages, "has_more": bool(rest)}
    if rest:
        body["response_metadata"] = {"next_cursor": _cursor(rest[0].ts)}
    return body


# --- assistant.threads.* ----------------------------------------------------------------------


def _thread(
    ws: Workspace, args: dict[str, Any], *, required: bool = True
) -> tuple[str, str | None]:
    channel = ws.member_channel(arg_str(args, "channel_id"))
    thread_ts = arg_str(args, "thread_ts")
    if thread_ts is None and not required:
        return channel.id, None
    message = ws.message(channel.id, thread_ts)
    if message is None or message.thread_ts is not None:
        raise SlackError("invalid_thread_ts", detail="Thread not found")
    return channel.id, thread_ts


def set_status(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    channel, thread_ts = _thread(ws, args)
    loading = arg_json(args, "loading_messages")
    if loading is not None and (
        not isinstance(loading, list)
        or len(loading) > MAX_LOADING_MESSAGES
        or not all(isinstance(m, str) for m in loading)
    ):
        raise SlackError(
            "invalid_arguments", f"[ERROR] loading_messages: up to {MAX_LOADING_MESSAGES} strings"
        )
    status = arg_str(args, "status") or ""
    ws.set_status(channel, thread_ts or "", status, loading, source="assistant.threads.setStatus")
    return {}


def set_suggested_prompts(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    channel, thread_ts = _thread(ws, args, required=False)
    prompts = arg_json(args, "prompts")
    valid = (
        isinstance(prompts, list)
        and 1 <= len(prompts) <= MAX_PROMPTS
        and all(
            isinstance(p, dict)
            and set(p) == {"title", "message"}
            and all(isinstance(v, str) and v for v in p.values())
            for p in prompts
        )
    )
    if not valid:
        raise SlackError(
            "invalid_arguments", f"[ERROR] prompts: 1 to {MAX_PROMPTS} {{title, message}} objects"
        )
    title = arg_str(args, "title")
    ws.suggested_prompts.append(
        SuggestedPrompts(channel, thread_ts, title, prompts, time.monotonic())
    )
    return {}


def set_title(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    channel, thread_ts = _thread(ws, args)
    ws.titles.setdefault((channel, thread_ts or ""), []).append(arg_str(args, "title") or "")
    return {}
