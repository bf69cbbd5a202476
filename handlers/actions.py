"""Button clicks (`block_actions`): acknowledged at once, then handed to the controls."""

from __future__ import annotations

from typing import Any, Protocol

from slack_bolt.async_app import AsyncApp

from bot.core.turns import ThreadKey
from bot.slack.blocks import (
    ACTION_CANCEL,
    ACTION_EXPORT_NOTEBOOK,
    ACTION_FEEDBACK,
    ACTION_RETRY,
    ACTION_SHOW_CODE,
    ACTION_SUGGESTION,
    parse_suggestion,
)
from bot.slack.payloads import actor_of_action
from handlers import Gate


class Controls(Protocol):
    """Buttons naming a turn pass `at`, the thread of the clicked message: a turn id from an
    old button must still be that thread's turn."""

    async def cancel(self, turn_id: int, user_id: str, *, at: ThreadKey | None = None) -> None: ...

    async def show_code(
        self, turn_id: int, user_id: str, *, at: ThreadKey | None = None
    ) -> None: ...

    async def export_notebook(
        self, turn_id: int, user_id: str, *, at: ThreadKey | None = None
    ) -> None: ...

    async def feedback(
        self, turn_id: int, user_id: str, value: str, *, at: ThreadKey | None = None
    ) -> None: ...

    async def retry(self, turn_id: int, user_id: str, *, at: ThreadKey | None = None) -> None: ...

    async def suggestion(
        self, key: ThreadKey, *, message_ts: str, user_id: str, file_id: str, question: str
    ) -> None: ...

    async def session_stopped(self, key: ThreadKey, user_id: str) -> None: ...


def _turn_id(value: Any) -> int | None:
    text = str(value or "")
    return int(text) if text.isdigit() else None


def _thread_of(body: dict[str, Any]) -> tuple[ThreadKey, str] | None:
    """The thread a clicked message is in, and the message."""
    container = body.get("container") or {}
    message = body.get("message") or {}
    message_ts = str(container.get("message_ts") or message.get("ts") or "")
    thread_ts = str(container.get("thread_ts") or message.get("thread_ts") or message_ts)
    channel = str(container.get("channel_id") or (body.get("channel") or {}).get("id") or "")
    team = str((body.get("team") or {}).get("id") or body.get("team_id") or "")
    if not (channel and thread_ts and team):
        return None
    return ThreadKey(team, channel, thread_ts), message_ts


def _at(body: dict[str, Any]) -> ThreadKey | None:
    where = _thread_of(body)
    return where[0] if where else None


async def _admitted(gate: Gate, body: dict[str, Any]) -> bool:
    """Buttons that ask the model something follow the access rules."""
    where = _thread_of(body)
    return where is not None and await gate.admits(actor_of_action(body, where[0]))


def register(app: AsyncApp, controls: Controls, gate: Gate) -> None:
    @app.action(ACTION_CANCEL)
    async def on_cancel(ack: Any, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        if (turn_id := _turn_id(action.get("value"))) is not None:
            await controls.cancel(turn_id, body["user"]["id"], at=_at(body))

    @app.action(ACTION_SHOW_CODE)
    async def on_show_code(ack: Any, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        if (turn_id := _turn_id(action.get("value"))) is not None:
            await controls.show_code(turn_id, body["user"]["id"], at=_at(body))

    @app.action(ACTION_EXPORT_NOTEBOOK)
    async def on_export_notebook(ack: Any, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()  # before the work: fetching images and uploading take a while
        if (turn_id := _turn_id(action.get("value"))) is not None:
            await controls.export_notebook(turn_id, body["user"]["id"], at=_at(body))

    @app.action(ACTION_RETRY)
    async def on_retry(ack: Any, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        if not await _admitted(gate, body):
            return
        if (turn_id := _turn_id(action.get("value"))) is not None:
            await controls.retry(turn_id, body["user"]["id"], at=_at(body))

    @app.action(ACTION_FEEDBACK)
    async def on_feedback(ack: Any, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        verdict, _, turn = str(action.get("value") or "").partition(":")
        if (turn_id := _turn_id(turn)) is not None:
            await controls.feedback(turn_id, body["user"]["id"], verdict, at=_at(body))

    @app.action(ACTION_SUGGESTION)
    async def on_suggestion(ack: Any, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        parsed = parse_suggestion(str(action.get("value") or ""))
        where = _thread_of(body)
        if parsed is None or where is None or not await _admitted(gate, body):
            return
        file_id, question = parsed
        await controls.suggestion(
            where[0],
            message_ts=where[1],
            user_id=body["user"]["id"],
            file_id=file_id,
            question=question,
        )
