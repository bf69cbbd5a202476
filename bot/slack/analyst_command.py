"""`/analyst`: help, and the settings modal of a channel's analyst.

    /analyst settings → (ack at once) → is the bot in the channel? + the channel's profile
                      → views.open (within the trigger's 3 s) → …Save → checked while Slack
                      waits (errors go back per field) → stored → announced in the channel

Anyone in a channel may change its settings (a slash command can only be typed by people
who are in the channel); every change is announced there with who made it. A channel in the
admins' file opens read-only. Replies only the user sees go to the command's
`response_url`; the announcement is a message in the channel, defused (it never pings).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot import wording
from bot.core.access import Actor
from bot.core.channel_profiles import ChannelProfiles
from bot.core.markdown import defuse
from bot.core.ports import Directory
from bot.core.turns import ThreadKey
from bot.settings import is_loopback
from bot.slack.budget import Priority
from bot.slack.client import SLACK_FAILURES, at, failure_code
from bot.slack.clients import SlackClients
from bot.slack.settings_modal import (
    INSTRUCTIONS,
    SettingsSubmission,
    field_errors,
    settings_view,
)

logger = logging.getLogger(__name__)

COMMAND = "/analyst"
MEMBERSHIP_WAIT_S = 1.0
"""How long the membership check may take before the modal opens anyway (a trigger lasts
3 s from the moment the user pressed Enter)."""
TRIGGER_ERRORS = frozenset({"expired_trigger_id", "exchanged_trigger_id", "invalid_trigger_id"})
NOT_MEMBER_ERRORS = frozenset({"channel_not_found", "not_in_channel"})


@dataclass(frozen=True)
class SlashCommand:
    """`/analyst <text>` as typed somewhere in Slack."""

    team_id: str
    channel_id: str
    channel_name: str
    user_id: str
    text: str
    trigger_id: str
    response_url: str

    @property
    def subcommand(self) -> str:
        words = self.text.split()
        return words[0].lower() if words else ""

    @property
    def in_dm(self) -> bool:
        return self.channel_name == "directmessage" or self.channel_id.startswith("D")


def slash_command(body: dict[str, Any]) -> SlashCommand:
    """A slash command's form fields, parsed."""
    return SlashCommand(
        team_id=str(body.get("team_id") or ""),
        channel_id=str(body.get("channel_id") or ""),
        channel_name=str(body.get("channel_name") or ""),
        user_id=str(body.get("user_id") or ""),
        text=str(body.get("text") or ""),
        trigger_id=str(body.get("trigger_id") or ""),
        response_url=str(body.get("response_url") or ""),
    )


def actor_of_command(command: SlashCommand) -> Actor:
    """Who typed the command (a slash command cannot tell a Slack Connect guest apart)."""
    return Actor(ThreadKey(command.team_id, command.channel_id, ""), command.user_id, command.in_dm)


class AnalystCommand:
    """What `/analyst` does, and what happens when its settings modal is saved."""

    def __init__(
        self,
        clients: SlackClients,
        session: aiohttp.ClientSession,
        *,
        profiles: ChannelProfiles,
        directory: Directory,
    ) -> None:
        self._clients = clients
        self._session = session
        self._profiles = profiles
        self._directory = directory

    def immediate_reply(self, command: SlashCommand) -> str | None:
        """What the acknowledgement itself says (None: the settings modal follows)."""
        if command.subcommand != "settings":
            return wording.ANALYST_HELP
        if command.in_dm:
            return wording.ANALYST_IN_DM
        return None

    async def open_settings(self, command: SlashCommand) -> None:
        """Open the channel's settings modal, quickly: the trigger lasts 3 s."""
        async with asyncio.TaskGroup() as group:  # both at once; one failing stops the other
            membership = group.create_task(self._is_member(command))
            reading = group.create_task(self._profiles.get(command.team_id, command.channel_id))
        profile = reading.result()
        if not membership.result():
            await self._tell(command, wording.ANALYST_NOT_IN_CHANNEL)
            return
        view = settings_view(
            command.channel_id,
            profile,
            models=self._profiles.models,
            default_model=self._profiles.default_model,
            managed=self._profiles.managed(command.channel_id),
        )
        try:
            with at(Priority.FINAL):
                await self._clients.for_team(command.team_id).views_open(
                    trigger_id=command.trigger_id, view=view
                )
        except SLACK_FAILURES as error:
            code = failure_code(error)
            logger.info("views.open for %s failed: %s", command.channel_id, code)
            slow = code in TRIGGER_ERRORS
            said = wording.ANALYST_TOO_SLOW if slow else wording.ANALYST_OPEN_FAILED
            await self._tell(command, said)

    def check(self, submission: SettingsSubmission) -> dict[str, str]:
        """Field errors to show in the modal (empty: it can be saved). No I/O: Slack waits."""
        if self._profiles.managed(submission.channel_id):
            return {INSTRUCTIONS: wording.SETTINGS_NOW_MANAGED}
        return field_errors(self._profiles.problems(submission.profile))

    async def save(self, submission: SettingsSubmission) -> None:
        """Store a checked submission and tell the channel what changed."""
        said = await self._profiles.save(
            submission.team_id,
            submission.channel_id,
            submission.profile,
            by=submission.user_id,
        )
        if not said:
            return
        asker = await self._directory.user(submission.user_id, team_id=submission.team_id)
        name = asker.display_name
        text = wording.SETTINGS_CHANGED.format(name=name, changes=", ".join(said))
        try:
            with at(Priority.FINAL):
                await self._clients.for_team(submission.team_id).chat_postMessage(
                    channel=submission.channel_id,
                    text=defuse(text),
                    unfurl_links=False,
                    unfurl_media=False,
                )
        except SLACK_FAILURES as error:
            logger.info(
                "announcing new settings in %s failed: %s",
                submission.channel_id,
                failure_code(error),
            )

    async def _is_member(self, command: SlashCommand) -> bool:
        """Whether the bot is in the channel; True when Slack cannot say in time."""
        channel_id = command.channel_id
        client = self._clients.for_team(command.team_id)
        try:
            async with asyncio.timeout(MEMBERSHIP_WAIT_S):
                with at(Priority.FINAL):
                    info = await client.conversations_info(channel=channel_id)
        except SlackApiError as error:
            return failure_code(error) not in NOT_MEMBER_ERRORS
        except SLACK_FAILURES as error:  # a timeout included
            logger.info("conversations.info for %s: %s", channel_id, failure_code(error))
            return True
        return bool((info.get("channel") or {}).get("is_member", True))

    async def _tell(self, command: SlashCommand, text: str) -> None:
        """A reply only the user sees, through the command's response_url."""
        url = urlsplit(command.response_url)
        if url.scheme != "https" and not (url.scheme == "http" and is_loopback(url.netloc)):
            logger.warning("refused to post to a response_url that is not https")
            return
        webhook = AsyncWebhookClient(command.response_url, session=self._session)
        try:
            sent = await webhook.send(text=text, response_type="ephemeral")
        except (aiohttp.ClientError, TimeoutError) as error:
            logger.info("response_url post failed: %s", type(error).__name__)
            return
        if sent.status_code != 200:
            logger.info("response_url post refused: HTTP %d %s", sent.status_code, sent.body[:40])
