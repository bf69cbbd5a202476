"""The outbox on the Slack side: final messages staged before they are written, and delivered
after a restart by whichever worker takes the turn over — exactly once in the thread.

Staged payloads are what the message must look like in the end (`markdown_text`, or blocks
and their notification text) and the message they complete, when one exists. After a crash,
delivery stops a stream that may still be open and edits it to its final form; a message that
was never known to be posted is first looked for in the thread (the bot's messages carry
their turn and page in metadata), so a post whose answer was lost is not made twice.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk.errors import SlackApiError

from bot.core.records import StagedReply, StoredTurn
from bot.core.storage import Replies
from bot.core.turns import ThreadKey
from bot.slack.budget import Priority
from bot.slack.client import SLACK_FAILURES, ScheduledSlack, at, failure_code
from bot.slack.clients import SlackClients
from bot.slack.reads import thread_replies
from bot.slack.sessions import ACTIVE, SessionSupport

logger = logging.getLogger(__name__)

ERROR_SEQ = 10_000
"""Error replies come after every page of an answer."""
MARKER = "analyst_reply"


def marker(turn_id: int, seq: int, part: int = 0) -> dict[str, Any]:
    """The metadata that says which turn and page a bot message belongs to."""
    return {"event_type": MARKER, "event_payload": {"turn_id": turn_id, "page": seq, "part": part}}


class SlackDelivery:
    def __init__(self, clients: SlackClients, replies: Replies, sessions: SessionSupport) -> None:
        self._clients = clients
        self._replies = replies
        self._sessions = sessions

    async def stage(self, turn_id: int, staged: list[StagedReply]) -> None:
        if staged:
            await self._replies.stage(turn_id, staged)

    async def delivered(self, turn_id: int, seq: int, ts: str) -> None:
        await self._replies.delivered(turn_id, seq, ts)

    async def post(self, key: ThreadKey, turn_id: int, seq: int, message: dict[str, Any]) -> str:
        """Stage, post (at the highest priority, through 429s) and mark one final message."""
        await self.stage(turn_id, [StagedReply(seq, {"kind": "error", "message": message})])
        with at(Priority.FINAL):
            response = await self._client(key).chat_postMessage(
                channel=key.channel_id,
                thread_ts=key.thread_ts,
                unfurl_links=False,
                unfurl_media=False,
                metadata=marker(turn_id, seq),
                **message,
            )
        ts = str(response["ts"])
        await self.delivered(turn_id, seq, ts)
        return ts

    async def redeliver(self, stored: StoredTurn) -> bool:
        """Deliver what a turn staged before its worker stopped; True if it was an error."""
        key, failed = stored.turn.key, False
        for reply in await self._replies.undelivered(stored.id):
            message = reply.payload["message"]
            # An error reply, or an answer shown although the turn did not end well.
            failed = failed or reply.payload.get("kind") == "error"
            failed = failed or bool(reply.payload.get("error_code"))
            part = int(reply.payload.get("part") or 0)  # of a page split over messages
            with at(Priority.FINAL):
                ts = reply.ts or await self._find(key, stored.id, reply.seq, part)
                if ts is not None:
                    await self._complete(key, ts, message)
                else:
                    response = await self._client(key).chat_postMessage(
                        channel=key.channel_id,
                        thread_ts=key.thread_ts,
                        unfurl_links=False,
                        unfurl_media=False,
                        metadata=marker(stored.id, reply.seq, part),
                        **message,
                    )
                    ts = str(response["ts"])
            await self._replies.delivered(stored.id, reply.seq, ts)
            logger.info("turn %s: reply %d delivered after a takeover", stored.id, reply.seq)
        # In the background: a status is no reason to keep the turn open through 429s.
        self._sessions.later(self._end_session(key))
        return failed

    async def _complete(self, key: ThreadKey, ts: str, message: dict[str, Any]) -> None:
        """Bring a message that exists to its final form (stopping it first if it streams)."""
        try:
            await self._client(key).chat_stopStream(channel=key.channel_id, ts=ts)
        except SlackApiError as error:  # already stopped or expired: it can be edited
            logger.debug("stopping %s before the final edit: %s", ts, failure_code(error))
        await self._client(key).chat_update(channel=key.channel_id, ts=ts, **message)

    async def _find(self, key: ThreadKey, turn_id: int, seq: int, part: int) -> str | None:
        """The bot message of this turn, page and part, if the thread has one."""
        found = await marked(self._client(key), key, turn_id)
        return next((ts for page, p, ts in found if (page, p) == (seq, part)), None)

    def _client(self, key: ThreadKey) -> ScheduledSlack:
        return self._clients.for_team(key.team_id)

    async def _end_session(self, key: ThreadKey) -> None:
        try:
            with at(Priority.SIGN):
                if self._sessions.refused_in(key.team_id) is None:
                    await self._client(key).agents_sessions_setStatus(
                        channel_id=key.channel_id, thread_ts=key.thread_ts, status=ACTIVE
                    )
                else:
                    await self._client(key).assistant_threads_setStatus(
                        channel_id=key.channel_id, thread_ts=key.thread_ts, status=""
                    )
        except SLACK_FAILURES as error:
            logger.info("ending the status in %s failed: %s", key, failure_code(error))


async def marked(
    client: ScheduledSlack, key: ThreadKey, turn_id: int
) -> list[tuple[int, int, str]]:
    """(page, part, ts) of the thread's bot messages whose metadata names this turn."""
    found = []
    async for message in thread_replies(client, key, include_all_metadata=True):
        meta = message.get("metadata") or {}
        payload = meta.get("event_payload") or {}
        if meta.get("event_type") == MARKER and payload.get("turn_id") == turn_id:
            page, part = int(payload.get("page") or 0), int(payload.get("part") or 0)
            found.append((page, part, str(message["ts"])))
    return found
