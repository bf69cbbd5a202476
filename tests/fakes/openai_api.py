"""`FakeOpenAI`: a faithful fake of the OpenAI API as the bot uses it, a real aiohttp server.

    async with FakeOpenAI(container_idle_expiry=20 * 60) as fake, fake.client() as client:
        # fake.base_url == "http://127.0.0.1:<port>/v1"; fake.client() is AsyncOpenAI on
        # DefaultAioHttpClient with max_retries=0
        fake.model.enqueue(ScriptedTurn(text="...", runs=(CodeRun("1+1", logs="2"),)))
        ...
        await fake.wait_for(lambda: fake.requests_to("POST", "/responses"))

Serves ``/v1/files``, ``/v1/containers…``, ``/v1/conversations…``, ``/v1/responses…``,
``/v1/models`` (``openai_models``, which also checks API keys) and ``/v1/vector_stores``
basics; ``/v1/assistants…`` and ``/v1/threads…`` answer 404 like the sunset API. Every
request is recorded and validated against the official OpenAPI spec (``fake.spec_violations``).
Module map: ``openai_http`` (request pipeline, recording),
``openai_routes`` / ``openai_routes_responses`` (handlers), ``openai_state`` (resources, clock,
expiry) and ``openai_objects`` (their JSON shapes), ``openai_responses`` (runs, conversation
lock, background), ``openai_stream`` (the event sequence), ``scripted_model`` (what the model
does), ``openai_faults``, ``openai_latency`` (round-trip times per endpoint family, off by
default), ``openai_spec`` (OpenAPI validation), ``openai_fixtures`` (pytest).

By hand: ``python -m tests.fakes.openai_api [--port N] [--idle-expiry SECONDS]``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import inspect
import re
import secrets
import shutil
import signal
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from aiohttp import web
from openai import AsyncOpenAI, DefaultAioHttpClient

from tests.fakes.openai_faults import Faults
from tests.fakes.openai_http import Gateway, Recorded
from tests.fakes.openai_latency import Latency
from tests.fakes.openai_models import Models
from tests.fakes.openai_objects import Container, Conversation, StoredFile, VectorStore
from tests.fakes.openai_responses import ResponseRun, ResponsesService
from tests.fakes.openai_routes import ResourceRoutes
from tests.fakes.openai_routes_responses import ResponseRoutes
from tests.fakes.openai_spec import get_spec
from tests.fakes.openai_state import Clock, OpenAIState
from tests.fakes.scripted_model import ScriptedModel, echo_turn

T = TypeVar("T")


class FakeOpenAI:
    """The fake server. Use as ``async with FakeOpenAI() as fake``.

    Containers expire after ``container_idle_expiry`` seconds without use (or after
    ``expires_after.minutes`` when the create request sets it); any container operation and
    any response using the container counts as use. Files with ``expires_after`` are deleted
    when it passes (then 404 "No such File object" like any deleted file); vector stores
    with ``expires_after.days`` expire after that many idle days. Deleted conversations,
    containers, files and vector stores answer 404. Move time with ``advance_clock``.

    ``latency`` (also settable later: ``fake.latency.files = 0.4``) makes each endpoint
    family take that long to answer; none by default.
    """

    def __init__(
        self,
        *,
        container_idle_expiry: float = 20 * 60,
        validate_spec: bool = True,
        host: str = "127.0.0.1",
        port: int = 0,
        latency: Latency | None = None,
    ) -> None:
        self.host, self.port = host, port
        self.latency = latency or Latency()
        self._validate_spec = validate_spec
        self.clock = Clock()
        self.model = ScriptedModel()
        self.models = Models()
        """Models the account may use (``GET /v1/models/{model}``)."""
        self.api_keys: set[str] | None = None
        """Keys accepted (None: any key; a request without one is always refused)."""
        self.faults = Faults()
        self._root = Path(tempfile.mkdtemp(prefix="fake-openai-"))
        self._state = OpenAIState(
            root=self._root, clock=self.clock, container_idle_expiry=container_idle_expiry
        )
        self._changed = asyncio.Event()
        self._service = ResponsesService(self._state, self.model, self._notify)
        self._gateway = Gateway(
            clock=self.clock,
            faults=self.faults,
            spec=get_spec if validate_spec else lambda: None,
            notify=self._notify,
            upload_dir=self._root / "uploads",
            latency=lambda: self.latency,
            keys=lambda: self.api_keys,
        )
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    # -- lifecycle -----------------------------------------------------------------------

    async def __aenter__(self) -> FakeOpenAI:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    async def start(self) -> None:
        if self._validate_spec:  # parse the spec off the event loop, once per process
            await asyncio.to_thread(get_spec)
        app = web.Application(middlewares=[self._gateway.middleware], client_max_size=1 << 30)
        app.on_response_prepare.append(self._add_headers)
        ResourceRoutes(self._state).register(app.router)
        ResponseRoutes(self._service).register(app.router)
        self.models.register(app.router)
        # handler_cancellation: a client that goes away cancels its handler (closed_streams).
        self._runner = web.AppRunner(
            app, handler_cancellation=True, shutdown_timeout=1.0, access_log=None
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.base_url = f"http://{host}:{port}/v1"

    async def close(self) -> None:
        self._service.release_stalls()
        await self._service.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        shutil.rmtree(self._root, ignore_errors=True)

    @staticmethod
    async def _add_headers(request: web.Request, response: web.StreamResponse) -> None:
        response.headers.setdefault("x-request-id", f"req_{secrets.token_hex(16)}")
        response.headers.setdefault("openai-processing-ms", "7")

    def client(self, *, max_retries: int = 0) -> AsyncOpenAI:
        """The real async SDK on the aiohttp transport, pointed at this fake."""
        return AsyncOpenAI(
            base_url=self.base_url,
            api_key="sk-test",
            http_client=DefaultAioHttpClient(),
            max_retries=max_retries,
        )

    # -- recording and state -------------------------------------------------------------

    @property
    def requests(self) -> list[Recorded]:
        return self._gateway.requests

    def requests_to(self, method: str, path: str) -> list[Recorded]:
        """Requests with this method and path (without ``/v1``); ``{…}`` in ``path`` matches
        one segment, e.g. ``requests_to("GET", "/containers/{id}/files")``."""
        pattern = re.compile(re.sub(r"\\\{[^}]*\\\}", "[^/]+", re.escape(path)))
        return [
            r for r in self.requests if r.method == method.upper() and pattern.fullmatch(r.path)
        ]

    @property
    def spec_violations(self) -> list[str]:
        return self._gateway.spec_violations

    @property
    def unhandled_requests(self) -> list[str]:
        """Spec-valid requests the fake does not implement (404) or crashed on (500)."""
        return self._gateway.unhandled

    def spec_report(self) -> str:
        """Empty when every request conformed to the spec and hit an implemented endpoint."""
        lines = [f"spec violation: {line}" for line in self.spec_violations]
        lines += [f"FakeOpenAI could not serve: {line}" for line in self.unhandled_requests]
        return "\n".join(lines)

    @property
    def files(self) -> dict[str, StoredFile]:
        """Uploaded files OpenAI still has (not deleted, not past their ``expires_at``)."""
        self._state.expire_files()
        return self._state.files

    @property
    def containers(self) -> dict[str, Container]:
        self._state.refresh_expiries()
        return self._state.containers

    @property
    def conversations(self) -> dict[str, Conversation]:
        return self._state.conversations

    @property
    def vector_stores(self) -> dict[str, VectorStore]:
        return self._state.vector_stores

    @property
    def search_misses(self) -> list[str]:
        """Files scripted searches named but could not find (not indexed yet, or no store)."""
        return self._state.search_misses

    def expire_vector_store(self, store_id: str) -> None:
        """The store passed its idle days: requests naming it are refused from now on."""
        self._state.vector_stores[store_id].expired = True

    @property
    def unindexable(self) -> set[str]:
        """File names whose vector-store indexing fails (``invalid_file``)."""
        return self._state.unindexable

    @property
    def indexing_seconds(self) -> float:
        """How long a file added to a vector store stays ``in_progress``."""
        return self._state.indexing_seconds

    @indexing_seconds.setter
    def indexing_seconds(self, seconds: float) -> None:
        self._state.indexing_seconds = seconds

    @property
    def responses(self) -> dict[str, ResponseRun]:
        """Every response by id: ``.request``, ``.response`` (live snapshot), ``.events``."""
        return self._service.runs

    @property
    def cancelled_responses(self) -> list[str]:
        """Ids cancelled through ``POST /responses/{id}/cancel``."""
        return self._service.cancelled

    @property
    def closed_streams(self) -> list[str]:
        """Ids of responses whose client disconnected before the response ended."""
        return self._service.closed_streams

    @property
    def closed_at(self) -> dict[str, float]:
        """Response id -> when (``time.monotonic()``) its client went away before the end."""
        return self._service.closed_at

    @property
    def conversation_locks(self) -> dict[str, str]:
        """Conversation id -> id of the response currently operating on it."""
        return self._service.locks

    # -- control -------------------------------------------------------------------------

    def break_download(self, name: str) -> None:
        """Downloads of container files named ``name`` answer 500, every time."""
        self._state.broken_contents.add(name)

    def expire_container(self, container_id: str) -> None:
        self._state.expire_container(container_id)
        self._notify()

    def advance_clock(self, seconds: float) -> None:
        """Move the fake's clock (container idle expiry, timestamps)."""
        self.clock.advance(seconds)
        self._state.refresh_expiries()
        self._notify()

    @property
    def stalled(self) -> int:
        """Streams waiting at a scripted `Stall` now (`release_stalls` frees only those)."""
        return self._service.stalled

    def release_stalls(self) -> None:
        """Let every stalled stream continue."""
        self._service.release_stalls()

    def _notify(self) -> None:
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    async def wait_for(
        self,
        predicate: Callable[[], T | Awaitable[T]],
        timeout: float = 5.0,  # noqa: ASYNC109 - a per-call deadline is this API's point
    ) -> T:
        """Wait until ``predicate()`` is truthy and return it. It is re-checked on every state
        change: a request, a stream event, a response ending, a clock move, and a container
        running out of idle time (for small real ``container_idle_expiry`` values)."""
        async with asyncio.timeout(timeout):
            while True:
                changed = self._changed
                result = predicate()
                if inspect.isawaitable(result):
                    result = await result
                if result:
                    return result
                with contextlib.suppress(TimeoutError):
                    expiry = self._state.seconds_to_next_expiry()
                    await asyncio.wait_for(
                        changed.wait(), None if expiry is None else expiry + 0.01
                    )
                self._state.refresh_expiries()


async def _serve(port: int, idle_expiry: float) -> None:
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    async with FakeOpenAI(container_idle_expiry=idle_expiry, port=port) as fake:
        fake.model.responder = echo_turn
        print(f"FakeOpenAI listening on {fake.base_url}", flush=True)
        print(f"  export OPENAI_BASE_URL={fake.base_url} OPENAI_API_KEY=sk-test", flush=True)
        await stop.wait()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run the fake OpenAI API server.")
    parser.add_argument("--port", type=int, default=0, help="TCP port (default: any free one)")
    parser.add_argument(
        "--idle-expiry", type=float, default=20 * 60, help="container idle expiry in seconds"
    )
    args: Any = parser.parse_args(argv)
    asyncio.run(_serve(args.port, args.idle_expiry))


if __name__ == "__main__":
    main()
