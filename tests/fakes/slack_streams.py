"""chat.startStream / appendStream / stopStream for the fake Slack.

A stream is a bot message in a thread whose ``StreamState`` keeps what was streamed: the Markdown
text, every chunk in order, the latest state of each task, the plan title and the final blocks.
A stream idle for longer than ``Workspace.stream_idle_timeout``, or open for longer than
``Workspace.stream_max_lifetime``, expires (``StreamState.expired``); append/stop then answer
``message_not_in_streaming_state``, and chat.update, refused with ``streaming_state_conflict``
while the stream is open, works on it again (as the SDK docs suggest). The blocks of a stream's
``blocks`` chunks and final ``blocks`` accumulate: per-message limits (one table, …) count them
all. ``session_status`` on chat.stopStream moves the thread's agent session (``slack_sessions``).
"""

from __future__ import annotations

import time
from typing import Any

from tests.fakes.slack_block_limits import check_message_blocks
from tests.fakes.slack_blocks import TASK_STATUSES
from tests.fakes.slack_chat import MAX_MARKDOWN_TEXT, message_metadata
from tests.fakes.slack_methods import SlackError, arg_json, arg_list, arg_str
from tests.fakes.slack_objects import Message
from tests.fakes.slack_sessions import move_session, session_status_arg
from tests.fakes.slack_state import Workspace
from tests.fakes.slack_stream_state import StreamState

# chunk type -> (required string fields, optional fields)
CHUNK_FIELDS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "markdown_text": (frozenset({"text"}), frozenset()),
    "task_update": (
        frozenset({"id", "title", "status"}),
        frozenset({"details", "output", "sources"}),
    ),
    "plan_update": (frozenset({"title"}), frozenset()),
    "blocks": (frozenset(), frozenset({"blocks"})),
}
TASK_DISPLAY_MODES = frozenset({"timeline", "plan"})


def _chunk_problems(chunk: Any, at: str) -> list[str]:
    if not isinstance(chunk, dict) or chunk.get("type") not in CHUNK_FIELDS:
        return [
            f"{at}: unknown chunk type {chunk.get('type') if isinstance(chunk, dict) else chunk!r}"
        ]
    required, optional = CHUNK_FIELDS[chunk["type"]]
    problems = [
        f"{at}/{name}: unknown field" for name in set(chunk) - required - optional - {"type"}
    ]
    problems += [
        f"{at}/{name}: required string" for name in required if not isinstance(chunk.get(name), str)
    ]
    if chunk["type"] == "task_update" and chunk.get("status") not in TASK_STATUSES:
        problems.append(f"{at}/status: must be one of {sorted(TASK_STATUSES)}")
    if chunk["type"] == "markdown_text" and len(chunk.get("text") or "") > MAX_MARKDOWN_TEXT:
        problems.append(f"{at}/text: must be at most {MAX_MARKDOWN_TEXT} characters")
    for i, source in enumerate(chunk.get("sources") or []):
        if not isinstance(source, dict) or source.get("type") != "url" or not source.get("url"):
            problems.append(f"{at}/sources/{i}: must be {{type: url, url, text}}")
    return problems


def check_chunks(args: dict[str, Any], prior: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The ``chunks`` argument, checked; ``prior`` (the blocks the message already shows) grows
    with the blocks of each ``blocks`` chunk."""
    chunks = arg_list(args, "chunks", error="invalid_chunks")
    problems = [p for i, c in enumerate(chunks) for p in _chunk_problems(c, f"/chunks/{i}")]
    if problems:
        raise SlackError("invalid_chunks", *(f"[ERROR] {p}" for p in problems))
    for i, chunk in enumerate(chunks):
        if chunk["type"] == "blocks":
            blocks = chunk.get("blocks")
            check_message_blocks(blocks, pointer=f"/chunks/{i}/blocks", prior=prior)
            prior.extend(blocks or [])
    return chunks


def _markdown_arg(args: dict[str, Any]) -> str | None:
    markdown = arg_str(args, "markdown_text")
    if markdown and len(markdown) > MAX_MARKDOWN_TEXT:
        raise SlackError(
            "msg_too_long",
            f"[ERROR] markdown_text is {len(markdown)} characters; max {MAX_MARKDOWN_TEXT}",
        )
    return markdown


def _apply(stream: StreamState, markdown: str | None, chunks: list[dict[str, Any]]) -> None:
    if markdown:
        chunks = [{"type": "markdown_text", "text": markdown}, *chunks]
    for chunk in chunks:
        stream.chunks.append(chunk)
        if chunk["type"] == "markdown_text":
            stream.markdown += chunk["text"]
        elif chunk["type"] == "task_update":
            stream.tasks[chunk["id"]] = {**stream.tasks.get(chunk["id"], {}), **chunk}
        elif chunk["type"] == "plan_update":
            stream.plan_title = chunk["title"]
    stream.last_activity = time.monotonic()


def _check_recipient(
    ws: Workspace, args: dict[str, Any], is_dm: bool
) -> tuple[str | None, str | None]:
    user, team = arg_str(args, "recipient_user_id"), arg_str(args, "recipient_team_id")
    if not is_dm and not user:
        raise SlackError(
            "missing_recipient_user_id", "[ERROR] recipient_user_id is required outside DMs"
        )
    if not is_dm and not team:
        raise SlackError(
            "missing_recipient_team_id", "[ERROR] recipient_team_id is required outside DMs"
        )
    if user and user not in ws.users:
        raise SlackError("user_not_found")
    if team and team not in {ws.team_id} | {u.team_id for u in ws.users.values()}:
        raise SlackError("team_not_found")
    return user, team


def start(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    channel = ws.member_channel(arg_str(args, "channel"))
    if ws.faults.streaming_error:
        raise SlackError(ws.faults.streaming_error)
    user, team = _check_recipient(ws, args, channel.is_im)
    thread_ts = arg_str(args, "thread_ts")
    if thread_ts:
        ws.thread_root(channel.id, thread_ts, "thread_not_found")
    mode = arg_str(args, "task_display_mode")
    if mode is not None and mode not in TASK_DISPLAY_MODES:
        raise SlackError(
            "invalid_arguments",
            f"[ERROR] task_display_mode must be one of {sorted(TASK_DISPLAY_MODES)}",
        )
    markdown, chunks = _markdown_arg(args), check_chunks(args, [])
    stream = StreamState("streaming", time.monotonic(), user, team, mode)
    message = Message(
        channel=channel.id,
        ts=ws.next_ts(),
        user=ws.bot_user_id,
        bot_id=ws.bot_id,
        thread_ts=thread_ts or None,
        team=ws.team_id,
        stream=stream,
    )
    _apply(stream, markdown, chunks)
    ws.add_message(message, source="chat.startStream")
    return {"channel": channel.id, "ts": message.ts}


def _streaming_message(ws: Workspace, args: dict[str, Any]) -> tuple[Message, StreamState]:
    channel = ws.member_channel(arg_str(args, "channel"))
    message = ws.message(channel.id, arg_str(args, "ts"))
    if message is None:
        raise SlackError("message_not_found")
    if message.bot_id != ws.bot_id:
        raise SlackError("message_not_owned_by_app")
    if message.stream is None or ws.stream_state(message) != "streaming":
        raise SlackError("message_not_in_streaming_state")
    return message, message.stream


def append(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    message, stream = _streaming_message(ws, args)
    markdown, chunks = _markdown_arg(args), check_chunks(args, stream.chunk_blocks())
    if not markdown and not chunks:
        raise SlackError("no_text", "[ERROR] provide markdown_text or chunks")
    _apply(stream, markdown, chunks)
    stream.appends += 1
    return {"channel": message.channel, "ts": message.ts}


def stop(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    message, stream = _streaming_message(ws, args)
    shown = stream.chunk_blocks()
    markdown, chunks = _markdown_arg(args), check_chunks(args, shown)
    blocks = arg_json(args, "blocks", error="invalid_blocks_format")
    if blocks is not None:
        check_message_blocks(blocks, prior=shown)
    metadata = message_metadata(args)
    session_status = session_status_arg(ws, args, "session_status")
    _apply(stream, markdown, chunks)
    stream.final_blocks = blocks or None
    stream.stop(by="app")
    if metadata is not None:
        message.metadata = metadata
    if session_status is not None:
        move_session(ws, message.channel, message.root_ts, session_status, "chat.stopStream")
    return {"channel": message.channel, "ts": message.ts, "message": ws.message_to_api(message)}
