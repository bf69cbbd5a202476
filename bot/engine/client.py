"""`OpenAIEngine`: the only code that calls OpenAI (Files, Conversations, Containers, Responses).

Every call except `responses.create` may be retried by the SDK; `responses.create` has no
idempotency key, so it runs with `max_retries=0` and retries itself only when the server
answered without starting a response (429 rate limits, `conversation_locked`, 5xx server
errors). Connection errors are not retried: with the aiohttp transport a refused connection and
one dropped after the request was sent raise the same `APITimeoutError`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from datetime import timedelta
from typing import IO, Any

import httpx2
import openai
from openai import AsyncOpenAI

from bot.core.events import EngineEvent, Indexed, ModelRequest, OutputFile, Placement
from bot.core.ports import ByteSink
from bot.core.turns import ThreadKey
from bot.engine.deletion import Deletions
from bot.engine.failures import from_exception, retry_after_seconds
from bot.engine.requests import answered_dangling_call, request_params
from bot.engine.stream import StreamState, read_stream, sse_batches
from bot.errors import EngineError, EngineFailed, EngineTimeout, RateLimited, StreamDropped

logger = logging.getLogger(__name__)

CONTAINER_IDLE_MINUTES = 20
# The Files API's `expires_after.seconds` range and the vector stores' `expires_after.days`
# range (specs/openai-openapi.yml FileExpirationAfter, VectorStoreExpirationAfter).
FILE_TTL_MIN_S, FILE_TTL_MAX_S = 3_600, 30 * 86_400
VECTOR_STORE_MAX_DAYS = 365
INDEX_WAIT_S = 120.0
SERVER_ERROR_RETRIES = 3  # after 1 s, 2 s, 4 s unless the server says otherwise
SERVER_ERROR_MAX_DELAY_S = 10.0


def upload_lifetime(retention_days: int) -> timedelta:
    """How long an uploaded file lives at OpenAI: the retention, at most the API's 30 days."""
    seconds = min(max(retention_days * 86_400, FILE_TTL_MIN_S), FILE_TTL_MAX_S)
    return timedelta(seconds=seconds)


class OpenAIEngine(Deletions):
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

    # Responses --------------------------------------------------------------------------

    async def respond(self, request: ModelRequest) -> AsyncGenerator[EngineEvent, None]:
        """Run one turn, streaming; raises `EngineError` for every failure shape.

        Cancelling the consuming task closes the stream, which stops a synchronous response.
        """
        async with self._opened(self._params(request)) as response:
            events = read_stream(sse_batches(response.iter_bytes()), StreamState())
            try:
                while True:
                    try:
                        event = await anext(events)
                    except StopAsyncIteration:
                        return
                    except EngineError as error:  # an error event, a failed response
                        self._seen(error)
                        raise
                    except httpx2.TimeoutException:  # the socket read idle timeout
                        idle = EngineTimeout(f"no event for {self._idle_timeout_s:.0f}s")
                        raise self._seen(idle) from None
                    except httpx2.TransportError as error:
                        dropped = StreamDropped(f"stream broke: {type(error).__name__}")
                        raise self._seen(dropped) from error
                    except json.JSONDecodeError as error:
                        raise self._seen(EngineFailed("malformed stream event")) from error
                    yield event
            finally:
                await events.aclose()

    @contextlib.asynccontextmanager
    async def _opened(self, params: dict[str, Any]) -> AsyncIterator[Any]:
        """Start the streamed response, waiting out 429s and 5xx errors within the budget."""
        waited = 0.0
        server_retries = 0
        while True:
            stack = contextlib.AsyncExitStack()
            create = self._create_client.responses.with_streaming_response.create
            try:
                response = await stack.enter_async_context(create(**params))
                break
            except (openai.RateLimitError, openai.BadRequestError) as error:
                await stack.aclose()
                if answered_dangling_call(params, error):
                    continue
                mapped = self._failed(error)
                retryable = isinstance(mapped, RateLimited) or error.code == "conversation_locked"
                delay = retry_after_seconds(error, default=2.0)
                if not retryable or waited + delay > self._rate_limit_budget_s:
                    raise mapped from error
                logger.info("responses.create: %s, retrying in %.1fs", error.code, delay)
                await asyncio.sleep(delay)
                waited += delay
            except openai.APIStatusError as error:  # a 5xx answer carries no response id
                await stack.aclose()
                backoff = _server_error_delay(error, server_retries)
                if backoff is None or waited + backoff > self._rate_limit_budget_s:
                    raise self._failed(error) from error
                server_retries += 1
                logger.info(
                    "responses.create: HTTP %d, retry %d of %d in %.1fs",
                    error.status_code,
                    server_retries,
                    SERVER_ERROR_RETRIES,
                    backoff,
                )
                await asyncio.sleep(backoff)
                waited += backoff
            except openai.APIError as error:
                await stack.aclose()
                raise self._failed(error) from error
        async with stack:
            yield response

    def _params(self, request: ModelRequest) -> dict[str, Any]:
        return request_params(request, model=self._model)


def _server_error_delay(error: openai.APIStatusError, retries_taken: int) -> float | None:
    """How long to wait before retrying a 5xx answer to `responses.create`; None: don't."""
    if error.status_code < 500 or retries_taken >= SERVER_ERROR_RETRIES:
        return None
    if error.response.headers.get("x-should-retry") == "false":
        return None
    delay = retry_after_seconds(error, default=2.0**retries_taken)
    return min(max(delay, 0.0), SERVER_ERROR_MAX_DELAY_S)
