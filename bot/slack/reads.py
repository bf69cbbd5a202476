"""Reading from Slack for the service: people, earlier thread messages, full file objects.

These implement `bot.ports.Directory`, `bot.ports.ThreadHistory` and the relay's resolver;
they sit with the listeners because they parse Slack payloads.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import AsyncIterator
from typing import Any

from bot.core.tasks import run_all
from bot.core.turns import PriorMessage, SlackFile, ThreadKey, UserInfo
from bot.errors import FileNotDownloadable
from bot.slack.client import SLACK_FAILURES, ScheduledSlack, failure_code
from bot.slack.clients import SlackClients
from bot.slack.payloads import prior_message, slack_file

logger = logging.getLogger(__name__)


Person = tuple[str, str]
"""(workspace, user id): a user id means someone only within the workspace that asks."""


class SlackDirectory:
    """`users.info` in the asking workspace, cached (names and time zones rarely change)."""

    def __init__(self, clients: SlackClients, *, ttl_s: float = 3600, size: int = 5000):
        self._clients = clients
        self._ttl_s = ttl_s
        self._size = size
        self._cache: OrderedDict[Person, tuple[float, UserInfo]] = OrderedDict()
        # One lookup per person at a time: a burst of questions from one person (or a
        # thread read) asks Slack once, not once per turn (users.info is rate-limited).
        self._asking: dict[Person, asyncio.Task[UserInfo]] = {}

    async def user(self, user_id: str, *, team_id: str) -> UserInfo:
        person = (team_id, user_id)
        cached = self._cache.get(person)
        if cached and cached[0] > time.monotonic():
            return cached[1]
        asking = self._asking.get(person)
        if asking is None:
            asking = asyncio.create_task(self._look_up(person), name="users.info")
            self._asking[person] = asking
            asking.add_done_callback(lambda _: self._asking.pop(person, None))
        # Shielded: one waiting turn being cancelled does not cancel the others' lookup.
        return await asyncio.shield(asking)

    async def _look_up(self, person: Person) -> UserInfo:
        team_id, user_id = person
        try:
            response = await self._clients.for_team(team_id).users_info(user=user_id)
        except SLACK_FAILURES as error:
            logger.warning("users.info %s failed: %s", user_id, failure_code(error))
            return UserInfo(user_id=user_id, display_name=user_id)  # never a mention
        user = response.get("user") or {}
        profile = user.get("profile") or {}
        info = UserInfo(
            user_id=user_id,
            display_name=profile.get("display_name")
            or user.get("real_name")
            or profile.get("real_name")
            or user.get("name")
            or user_id,
            timezone=user.get("tz") or "",
            is_admin=bool(user.get("is_admin") or user.get("is_owner")),
        )
        self._cache[person] = (time.monotonic() + self._ttl_s, info)
        self._cache.move_to_end(person)
        while len(self._cache) > self._size:
            self._cache.popitem(last=False)
        return info


class SlackThreadHistory:
    """`conversations.replies`: what was said in a thread before the bot was mentioned."""

    def __init__(self, clients: SlackClients, directory: SlackDirectory):
        self._clients = clients
        self._directory = directory

    async def participants(self, key: ThreadKey) -> set[str]:
        """People (not bots) who wrote in the thread."""
        return {
            str(m["user"])
            for m in await self._messages(key)
            if m.get("user") and not m.get("bot_id")
        }

    async def earlier(self, key: ThreadKey, *, before_ts: str, limit: int) -> list[PriorMessage]:
        messages = await self._messages(key)
        cutoff = _ts_value(before_ts)  # synthetic turns (buttons) see the whole thread
        earlier = [m for m in messages if _ts_value(str(m.get("ts", 0))) < cutoff]
        earlier = earlier[-limit:]
        authors = sorted({str(m["user"]) for m in earlier if m.get("user")})
        # At once, not one after another: each lookup is a round trip unless cached (and
        # never raises: an unknown user keeps their id).
        found = await run_all(
            [self._directory.user(user_id, team_id=key.team_id) for user_id in authors]
        )
        names = {uid: user.display_name for uid, user in zip(authors, found, strict=True)}
        return [prior_message(m, names=names) for m in earlier]

    async def _messages(self, key: ThreadKey) -> list[dict[str, object]]:
        messages: list[dict[str, object]] = []
        try:
            async for message in thread_replies(self._clients.for_team(key.team_id), key):
                messages.append(message)
        except SLACK_FAILURES as error:
            logger.warning("could not read thread %s: %s", key, failure_code(error))
        return messages


async def thread_replies(
    client: ScheduledSlack, key: ThreadKey, **params: Any
) -> AsyncIterator[dict[str, Any]]:
    """Every message of a thread, page after page (`conversations.replies`; `params` such as
    `oldest` or `include_all_metadata` go with each page). Slack's errors propagate."""
    cursor = None
    while True:
        response = await client.conversations_replies(
            channel=key.channel_id, ts=key.thread_ts, limit=200, cursor=cursor, **params
        )
        for message in response.get("messages") or []:
            yield message
        cursor = (response.get("response_metadata") or {}).get("next_cursor")
        if not cursor:
            return


class SlackFileResolver:
    """`files.info` for Slack Connect stubs and ID-only file objects."""

    def __init__(self, clients: SlackClients):
        self._clients = clients

    async def __call__(self, file: SlackFile, *, team_id: str) -> SlackFile:
        try:
            response = await self._clients.for_team(team_id).files_info(file=file.id)
        except SLACK_FAILURES as error:
            raise FileNotDownloadable(
                f"files.info {failure_code(error)}", name=file.name or file.id
            ) from error
        return slack_file(response["file"])


def _ts_value(ts: str) -> float:
    try:
        return float(ts)
    except ValueError:
        return float("inf")
