"""Taking back what a turn's dead attempt showed: a worker that takes the turn over shows the
answer again from its first word, so the messages the dead worker posted are deleted (an open
stream is stopped first), and the answer is in the thread once.

Which messages: those the dead attempt recorded as it posted them, and any bot message of the
thread whose metadata names the turn (`bot.slack.delivery.marker`: posts carry it, streams
cannot) — a post Slack accepted an instant before the worker died is found that way."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from bot.core.turns import ThreadKey
from bot.slack.budget import Priority
from bot.slack.client import SLACK_FAILURES, ScheduledSlack, at, failure_code
from bot.slack.delivery import marked

logger = logging.getLogger(__name__)


async def retract(
    client: ScheduledSlack, key: ThreadKey, turn_id: int, messages: Sequence[str]
) -> None:
    """Delete these bot messages and those marked as the turn's; gone ones are skipped."""
    channel = key.channel_id
    try:
        with at(Priority.SIGN):
            found = [ts for _page, _part, ts in await marked(client, key, turn_id)]
    except SLACK_FAILURES as error:  # the recorded messages are still removed
        logger.warning("reading %s for turn %s's messages: %s", key, turn_id, failure_code(error))
        found = []
    for ts in dict.fromkeys([*messages, *found]):
        with at(Priority.SIGN):
            try:
                await client.chat_delete(channel=channel, ts=ts)
                continue
            except SLACK_FAILURES as error:
                code = failure_code(error)
                if code == "message_not_found":
                    continue
                if code != "streaming_state_conflict":
                    logger.warning("removing message %s of a dead attempt: %s", ts, code)
                    continue
            try:  # still streaming: stop it, then delete it
                await client.chat_stopStream(channel=channel, ts=ts)
                await client.chat_delete(channel=channel, ts=ts)
            except SLACK_FAILURES as error:
                logger.warning("removing message %s: %s", ts, failure_code(error))
