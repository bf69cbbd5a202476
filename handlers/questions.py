"""Mentions, thread follow-ups and DMs become turns; everything else is acked and ignored.

A reply (no mention) in a thread the bot is not engaged in is parked, not answered: it
becomes a question if its thread's mention is recorded shortly after (Slack may deliver the
two in either order, to different replicas).

One user message can arrive twice (an `app_mention` and a `message` event) and Slack retries
deliveries; both listeners may record the same message and the store keeps exactly one turn.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.core.turns import Turn
from bot.slack.payloads import (
    actor_of,
    channel_type,
    file_drop,
    in_thread,
    is_from_human,
    mentions,
    strip_mention,
    team_of,
    thread_key,
    turn_from_event,
)
from handlers import Drops, Gate, Intake, on_event

logger = logging.getLogger(__name__)


AUTO_PROFILE = re.compile(r"^auto[- ]?profil(?:e|ing)\s+(on|off)\W*$", re.IGNORECASE)
DROP_CHANNELS = ("channel", "group", "mpim")


def register(app: AsyncApp, intake: Intake, drops: Drops, gate: Gate) -> None:
    @on_event(app, "app_mention")
    async def on_mention(event: dict[str, Any], body: dict[str, Any], context: Any) -> None:
        await _mentioned(intake, drops, gate, event, body, context)

    # One listener for every message subtype, so edits/deletions are acked (never 404).
    @on_event(app, "message")
    async def on_message(event: dict[str, Any], body: dict[str, Any], context: Any) -> None:
        bot_user_id = context.get("bot_user_id")
        if not is_from_human(event, bot_user_id=bot_user_id):
            return
        actor = actor_of(event, body, context)
        if event.get("channel_type") == "im":
            if await gate.admits(actor):
                turn = turn_from_event(
                    event, team_id=team_of(body, context), bot_user_id=bot_user_id, source="dm"
                )
                await intake.submit(turn)
        elif mentions(str(event.get("text") or ""), bot_user_id):
            # The app_mention twin may be late or missing (file shares); same turn either way.
            await _mentioned(intake, drops, gate, event, body, context)
        elif in_thread(event) and await intake.engaged_or_starting(
            thread_key(event, team_of(body, context))
        ):
            if await gate.admits(actor):
                await intake.submit(_follow_up(event, body, context))
        elif (
            in_thread(event) or (event.get("files") and channel_type(event) in DROP_CHANNELS)
        ) and await gate.admits(actor, tell=False):  # not talking to the bot (yet): not told
            if in_thread(event):  # its mention may still come (late, or to another replica)
                await intake.park(_follow_up(event, body, context))
            if event.get("files") and channel_type(event) in DROP_CHANNELS:
                await drops.dropped(file_drop(event, team_id=team_of(body, context)))


def _follow_up(event: dict[str, Any], body: dict[str, Any], context: Any) -> Turn:
    return turn_from_event(
        event,
        team_id=team_of(body, context),
        bot_user_id=context.get("bot_user_id"),
        source="message",
    )


async def _mentioned(
    intake: Intake,
    drops: Drops,
    gate: Gate,
    event: dict[str, Any],
    body: dict[str, Any],
    context: Any,
) -> None:
    bot_user_id = context.get("bot_user_id")
    if not is_from_human(event, bot_user_id=bot_user_id):
        return
    if not await gate.admits(actor_of(event, body, context)):
        return  # nothing recorded, no file downloaded
    team_id = team_of(body, context)
    command = AUTO_PROFILE.match(strip_mention(str(event.get("text") or ""), bot_user_id))
    if command:
        await drops.set_auto_profile(
            thread_key(event, team_id),
            command.group(1).lower() == "on",
            message_ts=str(event["ts"]),
        )
        return
    # First engagement inside an existing human thread: read what was said before.
    gather = in_thread(event) and not await intake.is_engaged(thread_key(event, team_id))
    turn = turn_from_event(
        event, team_id=team_id, bot_user_id=bot_user_id, source="mention", gather_context=gather
    )
    await intake.submit(turn)
