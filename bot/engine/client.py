"""`OpenAIEngine`: the only code that calls OpenAI (Files, Conversations, Containers, Responses).

Every call except `responses.create` may be retried by the SDK; `responses.create` has no
idempotency key, so it runs with `max_retries=0` and retries itself only when the server
answered without starting a response (429 rate limits, `conversation_locked`, 5xx server
errors). Connection errors are not retried: with the aiohttp transport a refused connection and
one dropped after the request was sent raise the same `APITimeoutError`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import timedelta
from typing import IO, Any

import httpx2
import openai
from openai import AsyncOpenAI

from bot.core.events import Indexed, ModelRequest, OutputFile, Placement
from bot.core.ports import ByteSink
from bot.core.turns import ThreadKey
from bot.engine.deletion import Deletions
from bot.engine.failures import from_exception
from bot.engine.requests import request_params
from bot.engine.responding import Responding
from bot.errors import EngineError

logger = logging.getLogger(__name__)

CONTAINER_IDLE_MINUTES = 20
# The Files API's `expires_after.seconds` range and the vector stores' `expires_after.days`
# range (specs/openai-openapi.yml FileExpirationAfter, VectorStoreExpirationAfter).
FILE_TTL_MIN_S, FILE_TTL_MAX_S = 3_600, 30 * 86_400
VECTOR_STORE_MAX_DAYS = 365
INDEX_WAIT_S = 120.0


def upload_lifetime(retention_days: int) -> timedelta:
    """How long an uploaded file lives at OpenAI: the retention, at most the API's 30 days."""
    seconds = min(max(retention_days * 86_400, FILE_TTL_MIN_S), FILE_TTL_MAX_S)
    return timedelta(seconds=seconds)


class OpenAIEngine(Deletions, Responding):
    """Talks to OpenAI on behalf of the service; raises `EngineError`s, never SDK errors.

    Uploads expire `upload_lifetime(retention_days)` after they were made; vector stores
    after `retention_days` idle days (at most 365): whatever the retention job misses
    (a crash between creating an object and recording it) OpenAI deletes by itself."""

    def __init__(
        self,
        client: AsyncOpenAI,
        *,
        model: str,
        rate_limit_budget_s: float = 60.0,
        idle_timeout_s: float = 300.0,
        retention_days: int = 30,
        on_error: Callable[[EngineError], None] | None = None,
    ) -> None:
        self._client = client
        self._on_error = on_error
        self.upload_lifetime = upload_lifetime(retention_days)
        if retention_days * 86_400 > FILE_TTL_MAX_S:
            logger.info(
                "uploads to OpenAI expire after %d days, the longest the Files API allows "
                "(ANALYST_RETENTION_DAYS is %d): a thread used for longer uploads its files "
                "again from Slack",
                FILE_TTL_MAX_S // 86_400,
                retention_days,
            )
        self._vector_store_days = max(1, min(retention_days, VECTOR_STORE_MAX_DAYS))
        # No blind retries (no idempotency key); the read timeout is the stream's idle limit,
        # enforced by the socket layer instead of a timer per event.
        self._create_client = client.with_options(
            max_retries=0, timeout=httpx2.Timeout(idle_timeout_s, connect=10.0)
        )
        self._model = model
        self._rate_limit_budget_s = rate_limit_budget_s
        self._idle_timeout_s = idle_timeout_s

    def _failed(self, error: openai.APIError) -> EngineError:
        """The bot's error for an SDK error, told to `on_error` (the metrics)."""
        return self._seen(from_exception(error))

    def _seen(self, error: EngineError) -> EngineError:
        if self._on_error is not None:
            self._on_error(error)
        return error

    # Files and containers ---------------------------------------------------------------

    async def upload(self, *, name: str, data: IO[bytes], mimetype: str) -> str:
        """Upload a user file (purpose `user_data`, expiring after `upload_lifetime`);
        returns the `file-…` id."""
        seconds = int(self.upload_lifetime.total_seconds())
        try:
            created = await self._client.files.create(
                file=(name, data, mimetype or "application/octet-stream"),
                purpose="user_data",
                expires_after={"anchor": "created_at", "seconds": seconds},
            )
        except openai.APIError as error:
            raise self._failed(error) from error
        return created.id

    async def new_conversation(self, key: ThreadKey) -> str:
        metadata = {
            "slack_team": key.team_id,
            "slack_channel": key.channel_id,
            "slack_thread_ts": key.thread_ts,
        }
        try:
            conversation = await self._client.conversations.create(metadata=metadata)
        except openai.APIError as error:
            raise self._failed(error) from error
        return conversation.id

    async def new_container(self, key: ThreadKey) -> str:
        try:
            container = await self._client.containers.create(
                name=f"slack-analyst {key}",
                expires_after={"anchor": "last_active_at", "minutes": CONTAINER_IDLE_MINUTES},
            )
        except openai.APIError as error:
            raise self._failed(error) from error
        return container.id

    async def place_file(self, container_id: str, file_id: str) -> Placement:
        """Copy an uploaded file into the container; the API says where it landed."""
        try:
            placed = await self._client.containers.files.create(container_id, file_id=file_id)
        except openai.APIError as error:
            raise self._failed(error) from error
        return Placement(container_file_id=placed.id, path=placed.path)

    async def new_vector_store(self, key: ThreadKey) -> str:
        """A vector store for a thread's documents (it expires after the retention's idle
        days, like its thread)."""
        days = self._vector_store_days
        try:
            store = await self._client.vector_stores.create(
                name=f"slack-analyst {key}",
                expires_after={"anchor": "last_active_at", "days": days},
                metadata={"slack_team": key.team_id, "slack_channel": key.channel_id},
            )
        except openai.APIError as error:
            raise self._failed(error) from error
        return store.id

    async def index_file(self, vector_store_id: str, file_id: str) -> Indexed:
        """Add an uploaded file to a vector store and wait until it is searchable (or
        failed); `in_progress` if that takes longer than `INDEX_WAIT_S`."""
        files = self._client.vector_stores.files
        try:
            async with asyncio.timeout(INDEX_WAIT_S):
                done = await files.create_and_poll(file_id, vector_store_id=vector_store_id)
        except TimeoutError:
            return Indexed("in_progress")
        except openai.APIError as error:
            raise self._failed(error) from error
        error_code = done.last_error.code if done.last_error else None
        return Indexed(done.status, error_code)

    async def outputs(
        self, container_id: str, *, since: float, cited: set[str]
    ) -> list[OutputFile]:
        """Files the model wrote in the container at or after `since` (server time)."""
        found: list[OutputFile] = []
        try:
            async for item in self._client.containers.files.list(container_id, limit=100):
                if item.source != "assistant" or (item.created_at or 0) < int(since):
                    continue
                found.append(OutputFile(container_id, item.id, item.path, item.id in cited))
        except openai.APIError as error:
            raise self._failed(error) from error
        return found

    async def download(self, output: OutputFile, sink: ByteSink, *, max_bytes: int) -> int:
        """Stream a container file into `sink`; returns the byte count."""
        files = self._client.containers.files.content.with_streaming_response
        total = 0
        try:
            async with files.retrieve(output.file_id, container_id=output.container_id) as resp:
                async for chunk in resp.iter_bytes(64 * 1024):
                    total += len(chunk)
                    if total > max_bytes:
                        raise EngineError(f"output file over {max_bytes} bytes")
                    sink.write(chunk)
        except openai.APIError as error:
            raise self._failed(error) from error
        return total

    def _params(self, request: ModelRequest) -> dict[str, Any]:
        return request_params(request, model=self._model)
