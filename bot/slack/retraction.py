"""Taking back what a turn's dead attempt showed: a worker that takes the turn over shows the
answer again from its first word, so the messages the dead worker posted are deleted (an open
stream is stopped first), and the answer is in the thread once."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from bot.slack.budget import Priority
from bot.slack.client import SLACK_FAILURES, ScheduledSlack, at, failure_code

logger = logging.getLogger(__name__)


async def retract(client: ScheduledSlack, channel: str, messages: Sequence[str]) -> None:
    """Delete these bot messages of `channel`; messages already gone are skipped."""
    for ts in messages:
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
