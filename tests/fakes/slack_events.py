"""Signed Events API / interactivity requests, and payload builders shaped like real deliveries.

Builders follow ``wire-samples/slack/events/`` (slack-web captures, bolt-python test payloads):
same keys, realistic values; ``agent_session_stopped`` follows docs.slack.dev's event page.
``EventSender`` (from ``slack_event_sender``, re-exported here with ``sign_request`` and
``SentResponse``) posts them to a Bolt app's ``/slack/events`` exactly as Slack does: raw JSON
(events) or ``payload=<json>`` form fields (interactivity), signed with ``v0`` HMAC-SHA256
headers, with ``X-Slack-Retry-Num``/``X-Slack-Retry-Reason`` on retries.
"""

from __future__ import annotations

import re
import secrets
import string
import time
import uuid
from typing import Any

from tests.fakes.slack_event_sender import EventSender as EventSender
from tests.fakes.slack_event_sender import SentResponse as SentResponse
from tests.fakes.slack_event_sender import sign_request as sign_request

DEFAULT_TEAM = "T0TEST"
DEFAULT_APP = "A0ANALYST"
DEFAULT_BOT_USER = "UBOT"
_ID_CHARS = string.ascii_uppercase + string.digits
_MENTION = re.compile(r"(<@[A-Z0-9]+>)")


def new_event_id() -> str:
    return "Ev0" + "".join(secrets.choice(_ID_CHARS) for _ in range(9))


def new_ts() -> str:
    now = time.time()
    return f"{int(now)}.{int(now * 1_000_000) % 1_000_000:06d}"


# --- payload builders ---------------------------------------------------------------------------


def rich_text_blocks(text: str) -> list[dict[str, Any]]:
    """The rich_text block Slack attaches to a typed message (mentions become user elements)."""
    elements: list[dict[str, Any]] = []
    for part in _MENTION.split(text):
        if _MENTION.fullmatch(part):
            elements.append({"type": "user", "user_id": part[2:-1]})
        elif part:
            elements.append({"type": "text", "text": part})
    block_id = "".join(secrets.choice(string.ascii_letters) for _ in range(4))
    section = {"type": "rich_text_section", "elements": elements}
    return [{"type": "rich_text", "block_id": block_id, "elements": [section]}]


def envelope(
    event: dict[str, Any],
    *,
    team_id: str = DEFAULT_TEAM,
    api_app_id: str = DEFAULT_APP,
    event_id: str | None = None,
    event_time: int | None = None,
    bot_user_id: str = DEFAULT_BOT_USER,
    is_ext_shared_channel: bool = False,
) -> dict[str, Any]:
    """The ``event_callback`` wrapper; ``event_id`` is unique unless given (retries reuse it)."""
    return {
        "token": "verification_token",
        "team_id": team_id,
        "context_team_id": team_id,
        "context_enterprise_id": None,
        "api_app_id": api_app_id,
        "event": event,
        "type": "event_callback",
        "event_id": event_id or new_event_id(),
        "event_time": int(time.time()) if event_time is None else event_time,
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": team_id,
                "user_id": bot_user_id,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": is_ext_shared_channel,
        "event_context": "4-" + secrets.token_urlsafe(24),
    }


def url_verification(challenge: str | None = None) -> dict[str, Any]:
    return {
        "token": "verification_token",
        "challenge": challenge or secrets.token_urlsafe(36),
        "type": "url_verification",
    }


def _thread_fields(thread_ts: str | None, parent_user_id: str | None) -> dict[str, Any]:
    if thread_ts is None:
        return {}
    return {"thread_ts": thread_ts, "parent_user_id": parent_user_id}


def _files_fields(files: list[dict[str, Any]] | None) -> dict[str, Any]:
    return {"files": files, "upload": False, "display_as_bot": False} if files else {}


def app_mention(
    *,
    user: str,
    channel: str,
    text: str,
    ts: str | None = None,
    team_id: str = DEFAULT_TEAM,
    thread_ts: str | None = None,
    parent_user_id: str | None = None,
    files: list[dict[str, Any]] | None = None,
    client_msg_id: str | None = None,
) -> dict[str, Any]:
    ts = ts or new_ts()
    return {
        "client_msg_id": client_msg_id or str(uuid.uuid4()),
        "type": "app_mention",
        "text": text,
        **_files_fields(files),
        "user": user,
        "ts": ts,
        "blocks": rich_text_blocks(text),
        "team": team_id,
        **_thread_fields(thread_ts, parent_user_id),
        "channel": channel,
        "event_ts": ts,
    }


def _changed_fields(
    subtype: str, user: str | None, text: str, ts: str, previous_text: str | None
) -> dict[str, Any]:
    previous = {"type": "message", "user": user, "text": previous_text or "", "ts": ts}
    if subtype == "message_deleted":
        return {"hidden": True, "deleted_ts": ts, "previous_message": previous}
    edited = {
        "type": "message",
        "user": user,
        "text": text,
        "ts": ts,
        "edited": {"user": user, "ts": new_ts()},
    }
    return {"hidden": True, "message": edited, "previous_message": previous}


def message(
    *,
    channel: str,
    text: str = "",
    user: str | None = None,
    ts: str | None = None,
    team_id: str = DEFAULT_TEAM,
    subtype: str | None = None,
    channel_type: str = "channel",
    thread_ts: str | None = None,
    parent_user_id: str | None = None,
    files: list[dict[str, Any]] | None = None,
    bot_id: str | None = None,
    app_id: str | None = None,
    previous_text: str | None = None,
    client_msg_id: str | None = None,
) -> dict[str, Any]:
    """A ``message`` event. ``subtype`` None, "file_share", "bot_message", "thread_broadcast",
    "message_changed" (``ts`` = the edited message, ``previous_text``) or "message_deleted"."""
    ts = ts or new_ts()
    event: dict[str, Any] = {"type": "message"}
    if subtype in ("message_changed", "message_deleted"):
        event_ts = new_ts()
        event.update(_changed_fields(subtype, user, text, ts, previous_text))
        event.update(
            {
                "subtype": subtype,
                "channel": channel,
                "ts": event_ts,
                "event_ts": event_ts,
                "channel_type": channel_type,
            }
        )
        return event
    event["text"] = text
    event.update(_files_fields(files))
    if bot_id is not None:
        event["bot_id"] = bot_id
    if app_id is not None:
        event["app_id"] = app_id
    if user is not None:
        event["user"] = user
    if subtype != "bot_message":
        event.update(
            {
                "client_msg_id": client_msg_id or str(uuid.uuid4()),
                "blocks": rich_text_blocks(text),
                "team": team_id,
            }
        )
    event["ts"] = ts
    event.update(_thread_fields(thread_ts, parent_user_id))
    if subtype is not None:
        event["subtype"] = subtype
    event.update({"channel": channel, "event_ts": ts, "channel_type": channel_type})
    return event


def app_home_opened(user: str, channel: str, tab: str = "messages") -> dict[str, Any]:
    return {
        "type": "app_home_opened",
        "user": user,
        "channel": channel,
        "tab": tab,
        "event_ts": new_ts(),
    }


def block_actions(
    *,
    user: str,
    channel: str,
    message_ts: str,
    action_id: str,
    value: str,
    thread_ts: str | None = None,
    block_id: str = "feedback",
    action_type: str = "button",
    team_id: str = DEFAULT_TEAM,
    api_app_id: str = DEFAULT_APP,
    message: dict[str, Any] | None = None,
    response_url: str | None = None,
    trigger_id: str | None = None,
    user_team: str | None = None,
) -> dict[str, Any]:
    """A ``block_actions`` interactivity payload (a click on a button in a bot message);
    ``user.team_id`` is the clicker's home workspace (another one for a Slack Connect guest)."""
    container: dict[str, Any] = {
        "type": "message",
        "message_ts": message_ts,
        "channel_id": channel,
        "is_ephemeral": False,
    }
    if thread_ts is not None:
        container["thread_ts"] = thread_ts
    action_ts = new_ts()
    return {
        "type": "block_actions",
        "user": {
            "id": user,
            "username": user.lower(),
            "name": user.lower(),
            "team_id": user_team or team_id,
        },
        "api_app_id": api_app_id,
        "token": "verification_token",
        "container": container,
        "trigger_id": trigger_id
        or f"{int(time.time())}.{secrets.randbelow(10**12)}.{secrets.token_hex(16)}",
        "team": {"id": team_id, "domain": "fake-workspace"},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel, "name": channel.lower()},
        "message": message or {"type": "message", "ts": message_ts, "text": ""},
        "state": {"values": {}},
        "response_url": response_url
        or f"https://hooks.slack.com/actions/{team_id}/{secrets.randbelow(10**13)}/{secrets.token_urlsafe(18)}",
        "actions": [
            {
                "action_id": action_id,
                "block_id": block_id,
                "value": value,
                "type": action_type,
                "action_ts": action_ts,
            }
        ],
    }


def agent_session_stopped(
    *, channel: str, thread_ts: str, user: str, streaming_message_ts: list[str]
) -> dict[str, Any]:
    """A click on an agent session's Stop button (docs.slack.dev/reference/events/
    agent_session_stopped): ``streaming_message_ts`` lists the app's streams Slack stopped (empty
    when none was open). Deliver it inside an ``envelope``."""
    return {
        "type": "agent_session_stopped",
        "channel": channel,
        "thread_ts": thread_ts,
        "user": user,
        "streaming_message_ts": list(streaming_message_ts),
        "event_ts": new_ts(),
    }
