"""Deleting what the bot stored at OpenAI for a thread (the retention job's side of the engine).

Each method returns True when it deleted the object and False when OpenAI no longer had it
(404: deleted earlier, or expired and removed by OpenAI itself); other failures raise
`EngineError`s. Deleting a conversation does not delete its items (reference openai.md
§1.9), so its items are deleted first, one by one; a run cut short leaves the conversation
in place with fewer items, and the next run finishes it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import openai
from openai import AsyncOpenAI

from bot.errors import EngineError

logger = logging.getLogger(__name__)


class Deletions:
    """Mixed into `OpenAIEngine`."""

    _client: AsyncOpenAI
    _failed: Callable[[openai.APIError], EngineError]

    async def _deleted(self, call: Awaitable[Any]) -> bool:
        try:
            await call
        except openai.NotFoundError:
            return False
        except openai.APIError as error:
            raise self._failed(error) from error
        return True

    async def delete_conversation(self, conversation_id: str) -> bool:
        """Its items, then the conversation."""
        items = self._client.conversations.items
        try:
            ids = [
                item_id
                async for item in items.list(conversation_id, limit=100, order="asc")
                if (item_id := getattr(item, "id", None))
            ]
        except openai.NotFoundError:
            return False
        except openai.APIError as error:
            raise self._failed(error) from error
        for item_id in ids:
            await self._deleted(items.delete(item_id, conversation_id=conversation_id))
        logger.debug("deleted %d items of %s", len(ids), conversation_id)
        return await self._deleted(self._client.conversations.delete(conversation_id))

    async def delete_container(self, container_id: str) -> bool:
        return await self._deleted(self._client.containers.delete(container_id))

    async def delete_file(self, file_id: str) -> bool:
        return await self._deleted(self._client.files.delete(file_id))

    async def delete_vector_store(self, vector_store_id: str) -> bool:
        return await self._deleted(self._client.vector_stores.delete(vector_store_id))
