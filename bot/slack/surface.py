"""Posts that belong to no turn: the Messages tab's suggested prompts, file-drop profiles,
acknowledgements of channel settings."""

from __future__ import annotations

import logging

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot import messages
from bot.slack_blocks import Block
from bot.turns import ThreadKey

logger = logging.getLogger(__name__)


class SlackSurface:
    def __init__(self, client: AsyncWebClient) -> None:
        self._client = client

    async def suggest_prompts(self, channel_id: str) -> None:
        """Pin suggested prompts in the Messages tab (agent view: no `thread_ts`)."""
        try:
            await self._client.assistant_threads_setSuggestedPrompts(
                channel_id=channel_id,
                title=messages.PROMPTS_TITLE,
                prompts=[{"title": title, "message": text} for title, text in messages.PROMPTS],
            )
        except SlackApiError as error:
            logger.info(
                "setSuggestedPrompts failed in %s: %s", channel_id, error.response.get("error")
            )

    async def reply(self, key: ThreadKey, text: str, blocks: list[Block] | None = None) -> str:
        """A message in a thread (a profile, a settings acknowledgement); returns its ts."""
        response = await self._client.chat_postMessage(
            channel=key.channel_id,
            thread_ts=key.thread_ts,
            text=text[:3000],
            blocks=blocks or None,
            unfurl_links=False,
            unfurl_media=False,
        )
        return str(response["ts"])
