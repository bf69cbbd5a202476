"""Running model responses (the Responses API side of `OpenAIEngine`): started streamed in
the background, read again after a break or by a worker taking a turn over, stopped.

`responses.create` has no idempotency key, so it runs with `max_retries=0` and is retried
here only when the server answered without starting a response (429 rate limits,
`conversation_locked`, 5xx server errors).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from typing import Any

import httpx2
import openai
from openai import AsyncOpenAI

from bot.core.events import EngineEvent, ModelRequest
from bot.engine.failures import retry_after_seconds
from bot.engine.requests import answered_dangling_call
from bot.engine.stream import StreamState, read_stream, sse_batches
from bot.errors import EngineError, EngineFailed, EngineTimeout, RateLimited, StreamDropped

logger = logging.getLogger(__name__)

SERVER_ERROR_RETRIES = 3  # after 1 s, 2 s, 4 s unless the server says otherwise
SERVER_ERROR_MAX_DELAY_S = 10.0


class Responding:
    """Mixed into `OpenAIEngine`."""

    _client: AsyncOpenAI
    _create_client: AsyncOpenAI
    _idle_timeout_s: float
    _rate_limit_budget_s: float
    _failed: Callable[[openai.APIError], EngineError]
    _seen: Callable[[EngineError], EngineError]
    _params: Callable[[ModelRequest], dict[str, Any]]

    async def respond(self, request: ModelRequest) -> AsyncGenerator[EngineEvent, None]:
        """Run one turn, streaming; raises `EngineError` for every failure shape.

        The response runs in the background: closing the stream does not stop it (a turn
        taken over by another worker reads it again); `stop_response` does.
        """
        async with self._opened(self._params(request)) as response:
            async for event in self._events(response):
                yield event

    async def reattach(
        self, response_id: str, *, after: int | None = None
    ) -> AsyncGenerator[EngineEvent, None]:
        """The events of a background response after sequence number `after` (None: from its
        first event), then live until it ends (`GET /responses/{id}?stream=true&
        starting_after=N`): a stream that broke continues, a turn whose worker died is taken
        over."""
        retrieve = self._create_client.responses.with_streaming_response.retrieve
        try:
            async with retrieve(
                response_id,
                stream=True,
                starting_after=openai.omit if after is None else after,
                include=["code_interpreter_call.outputs"],  # as when it was created
            ) as response:
                async for event in self._events(response):
                    yield event
        except openai.APIError as error:
            raise self._failed(error) from error

    async def stop_response(self, response_id: str) -> None:
        """Stop a background response (a Cancel, a timeout, a failed turn); best effort:
        one that already ended stays as it is."""
        try:
            await self._client.responses.cancel(response_id)
        except openai.APIError as error:
            logger.info("stopping response %s: %s", response_id, type(error).__name__)

    async def _events(self, response: Any) -> AsyncGenerator[EngineEvent, None]:
        """The `EngineEvent`s of one streamed HTTP response."""
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


def _server_error_delay(error: openai.APIStatusError, retries_taken: int) -> float | None:
    """How long to wait before retrying a 5xx answer to `responses.create`; None: don't."""
    if error.status_code < 500 or retries_taken >= SERVER_ERROR_RETRIES:
        return None
    if error.response.headers.get("x-should-retry") == "false":
        return None
    delay = retry_after_seconds(error, default=2.0**retries_taken)
    return min(max(delay, 0.0), SERVER_ERROR_MAX_DELAY_S)
