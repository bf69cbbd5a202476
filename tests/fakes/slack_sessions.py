"""Agent sessions in the fake Slack (docs.slack.dev/ai/agent-sessions, 2026-08-20).

``agents.sessions.setStatus`` creates or updates the session of one thread: ``status`` is one of
processing|active|suspended|closed; ``title`` and ``initiator_user_id`` count only on creation
(``agents.sessions.rename`` changes the title later). While the app does not subscribe to
``agent_session_stopped`` (``Workspace.agent_session_stopped_subscribed``) setStatus succeeds
with the warning ``missing_agent_session_stopped_event_subscription`` and users get no Stop
button. ``chat.stopStream(session_status=…)`` moves the session too.

When a user clicks Stop (``slack.stop_session``) Slack stops the bot's open streams in that
thread and sends ``agent_session_stopped``; the session's status does not change by itself.
``faults.disable_agent_sessions`` refuses sessions as for an app not declared an agent.
"""

from __future__ import annotations

import time
from typing import Any

from tests.fakes.slack_methods import BOT_SCOPES, SlackError, arg_str
from tests.fakes.slack_state import AgentSession, SessionChange, Workspace

SESSION_STATUSES = frozenset({"processing", "active", "suspended", "closed"})
MAX_TITLE = 200
UNSUBSCRIBED = "missing_agent_session_stopped_event_subscription"
UNSUBSCRIBED_MESSAGE = (
    "[WARN] Subscribe to the agent_session_stopped event so users can stop your agent"
)


def _refuse_if_disabled(ws: Workspace) -> None:
    error = ws.faults.agent_sessions_error
    if error == "missing_scope":
        provided = ",".join(s for s in BOT_SCOPES.split(",") if s != "assistant:write")
        raise SlackError(error, needed="assistant:write", provided=provided)
    if error:
        raise SlackError(error)


def session_status_arg(ws: Workspace, args: dict[str, Any], name: str) -> str | None:
    """A session status argument, checked (None when absent)."""
    status = arg_str(args, name)
    if status is None:
        return None
    _refuse_if_disabled(ws)
    if status not in SESSION_STATUSES:
        raise SlackError(
            "invalid_arguments", f"[ERROR] {name} must be one of {sorted(SESSION_STATUSES)}"
        )
    return status


def _title(args: dict[str, Any]) -> str | None:
    title = arg_str(args, "title")
    if title is not None and not 1 <= len(title) <= MAX_TITLE:
        raise SlackError("invalid_arguments", f"[ERROR] title must be 1 to {MAX_TITLE} characters")
    return title


def _thread(ws: Workspace, args: dict[str, Any]) -> tuple[str, str]:
    channel = ws.member_channel(arg_str(args, "channel_id"))
    thread_ts = arg_str(args, "thread_ts")
    if not thread_ts:
        raise SlackError(
            "invalid_arguments", "[ERROR] thread_ts is required for a thread-based session"
        )
    ws.thread_root(channel.id, thread_ts, "thread_not_found")
    return channel.id, thread_ts


def move_session(ws: Workspace, channel: str, thread_ts: str, status: str, source: str) -> None:
    """Set the status of the thread's session (creating it, untitled, if needed)."""
    session = ws.sessions.get((channel, thread_ts))
    if session is None:
        session = ws.sessions[(channel, thread_ts)] = AgentSession(
            channel, thread_ts, status, None, None
        )
    session.status = status
    session.history.append(SessionChange(status, time.monotonic(), source))


def set_status(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    _refuse_if_disabled(ws)
    channel, thread_ts = _thread(ws, args)
    status = session_status_arg(ws, args, "status") or ""
    title = _title(args)
    if (channel, thread_ts) not in ws.sessions:
        initiator = arg_str(args, "initiator_user_id")
        if initiator is not None:
            if initiator not in ws.users:
                raise SlackError("user_not_found")
            if initiator not in ws.channel(channel).members:
                raise SlackError("user_not_in_channel")
        ws.sessions[(channel, thread_ts)] = AgentSession(
            channel, thread_ts, status, title, initiator, titles=[title] if title else []
        )
    move_session(ws, channel, thread_ts, status, "agents.sessions.setStatus")
    session = ws.sessions[(channel, thread_ts)]
    body: dict[str, Any] = {
        "status": session.status,
        "agent_status": session.status,
        "title": session.title,
    }
    if not ws.agent_session_stopped_subscribed:
        body["warning"] = UNSUBSCRIBED
        body["response_metadata"] = {"warnings": [UNSUBSCRIBED], "messages": [UNSUBSCRIBED_MESSAGE]}
    return body


def rename(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    _refuse_if_disabled(ws)
    channel, thread_ts = _thread(ws, args)
    title = _title(args) or ""
    session = ws.sessions.get((channel, thread_ts))
    if session is None:
        raise SlackError("session_not_found", f"[ERROR] no agent session in {thread_ts}")
    session.title = title
    session.titles.append(title)
    return {"status": session.status, "title": title}


def stop_session(ws: Workspace, channel: str, thread_ts: str, user: str) -> list[str]:
    """A click on the native Stop button: stop the bot's open streams in the thread and return
    their ts. The button exists only while the session is ``processing`` and the app subscribes
    to ``agent_session_stopped``; anything else is a mistake in the test (ValueError)."""
    session = ws.sessions.get((channel, thread_ts))
    if session is None or session.status != "processing":
        state = session.status if session else "no session"
        raise ValueError(f"no Stop button in {channel}/{thread_ts}: {state}, not processing")
    if not ws.agent_session_stopped_subscribed:
        raise ValueError("no Stop button: the app does not subscribe to agent_session_stopped")
    stopped = []
    for message in ws.replies(channel, thread_ts):
        if message.bot_id == ws.bot_id and ws.stream_state(message) == "streaming":
            assert message.stream is not None
            message.stream.stop(by=user)
            stopped.append(message.ts)
    session.stops.append((user, time.monotonic()))
    return stopped
