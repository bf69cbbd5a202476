"""Responses, server side: request checks, the conversation lock, containers for the
code_interpreter tool, background execution, cancellation and conversation appends.

Every response runs as a `ResponseRun`: a task produces the events of its scripted turn into
``run.events``; HTTP writers (the creating request, or ``GET ?stream=true&starting_after=N``)
follow that list. A non-background run is cancelled when its only client goes away, as on the
real service; a background run keeps going.
"""

from __future__ import annotations

import asyncio
import copy
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tests.fakes.openai_functions import (
    check_function_outputs,
    check_function_tools,
    check_scripted_calls,
)
from tests.fakes.openai_objects import Container, as_item, response_object
from tests.fakes.openai_search import check_search_tool
from tests.fakes.openai_state import ApiError, OpenAIState, check_metadata
from tests.fakes.openai_stream import TurnSetup, TurnStream, estimate_tokens
from tests.fakes.scripted_model import Drop, HttpError, ScriptedModel, ScriptedTurn

LOCKED_MESSAGE = (
    "Another process is currently operating on this conversation. Please retry in a few seconds."
)
TERMINAL = frozenset({"completed", "failed", "incomplete", "cancelled"})
DROP = Drop()


@dataclass
class ResponseRun:
    """One response: its request, live Response snapshot and emitted events."""

    id: str
    request: dict[str, Any]
    response: dict[str, Any]
    input_items: list[dict[str, Any]]
    conversation_id: str | None
    events: list[dict[str, Any]] = field(default_factory=list)
    done: bool = False
    started_at: float = field(default_factory=time.monotonic)
    """`time.monotonic()` when the response was created (for benchmarks)."""
    finished_at: float | None = None
    """`time.monotonic()` when the model produced its last event (for benchmarks)."""
    drop_at: int | None = None
    """Writers abort their connection once they reach this many events (a scripted `Drop`)."""
    drops_left: int = 0
    """Connections still to break (a `Drop` with `connections` > 1)."""
    error_event: dict[str, Any] | None = None
    task: asyncio.Task[None] | None = None
    _changed: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def status(self) -> str:
        return str(self.response["status"])

    @property
    def background(self) -> bool:
        return bool(self.request.get("background"))

    @property
    def streamed(self) -> bool:
        return bool(self.request.get("stream"))

    @property
    def event_types(self) -> list[str]:
        return [event["type"] for event in self.events]

    def signal(self) -> None:
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    async def follow(self, after: int = -1) -> AsyncIterator[dict[str, Any] | Drop]:
        """Events with ``sequence_number > after``, live until the run ends (or a `Drop`)."""
        index = after + 1
        while True:
            changed = self._changed
            while index < len(self.events) and (self.drop_at is None or index < self.drop_at):
                yield self.events[index]
                index += 1
            if self.drop_at is not None and index >= self.drop_at:
                # A transport fault hits one connection (or `connections` in a row) once.
                self.drops_left -= 1
                self.drop_at = index + 1 if self.drops_left > 0 else None
                yield DROP
                return
            if self.done:
                return
            await changed.wait()

    async def finished(self) -> None:
        while not self.done:
            await self._changed.wait()


class ResponsesService:
    def __init__(
        self, state: OpenAIState, model: ScriptedModel, notify: Callable[[], None]
    ) -> None:
        self.state = state
        self.model = model
        self.notify = notify
        self.runs: dict[str, ResponseRun] = {}
        self.locks: dict[str, str] = {}
        """conversation id -> id of the response currently operating on it."""
        self.cancelled: list[str] = []
        self.closed_streams: list[str] = []
        self.closed_at: dict[str, float] = {}
        """Response id -> when (time.monotonic()) its client went away before the end."""
        self._release = asyncio.Event()
        self.stalled = 0
        """Streams waiting at a scripted `Stall` (a release only frees those)."""

    # -- stalls --------------------------------------------------------------------------

    async def wait_for_release(self) -> None:
        self.stalled += 1
        self.notify()
        try:
            await self._release.wait()
        finally:
            self.stalled -= 1

    def release_stalls(self) -> None:
        released, self._release = self._release, asyncio.Event()
        released.set()

    # -- create --------------------------------------------------------------------------

    def start(self, request: dict[str, Any]) -> ResponseRun:
        """Check a ``POST /responses`` body, take the conversation lock and start the run."""
        self._check(request)
        conversation_id = self._conversation_id(request)
        if conversation_id is not None:
            self.state.conversation(conversation_id, param="conversation")
            if conversation_id in self.locks:
                raise ApiError(
                    400, LOCKED_MESSAGE, param="conversation", code="conversation_locked"
                )
        history = self.state.conversations[conversation_id].items if conversation_id else []
        check_function_outputs(request, _input_list(request), history)
        # A named container is checked before the model is asked: an expired one is refused
        # ("Container is expired.") without spending a scripted turn, as the request never ran.
        named = self._named_container(request)
        check_search_tool(request, self.state, scripted=False)  # before a turn is spent
        turn = self.model.next_turn(request)
        check_scripted_calls(request, turn.calls)
        check_search_tool(request, self.state, scripted=bool(turn.searches))
        if isinstance(turn.failure, HttpError):
            failure = turn.failure
            raise ApiError(
                failure.status,
                failure.message,
                type=failure.type,
                param=failure.param,
                code=failure.code,
                headers=failure.headers,
            )
        container = named or self._container_for(request, conversation_id)
        if turn.runs and container is None:
            raise ApiError(
                400,
                "FakeOpenAI: the scripted turn runs code but the request has no "
                "code_interpreter tool.",
                code="fake_script_error",
            )
        return self._launch(request, turn, conversation_id, container)

    def _launch(
        self,
        request: dict[str, Any],
        turn: ScriptedTurn,
        conversation_id: str | None,
        container: Container | None,
    ) -> ResponseRun:
        response_id = self.state.ids.new("resp")
        response = response_object(
            request,
            response_id=response_id,
            created_at=self.state.clock.seconds(),
            status="queued" if request.get("background") else "in_progress",
            conversation_id=conversation_id,
        )
        input_items = [as_item(item, self.state.ids) for item in _input_list(request)]
        history = self.state.conversations[conversation_id].items if conversation_id else []
        run = ResponseRun(response_id, request, response, input_items, conversation_id)
        setup = TurnSetup(
            response_id=response_id,
            request=request,
            response=response,
            container=container,
            include_outputs="code_interpreter_call.outputs" in (request.get("include") or []),
            obfuscate=(request.get("stream_options") or {}).get("include_obfuscation", True),
            input_tokens=estimate_tokens(request.get("instructions"), history, input_items),
            wait_for_release=self.wait_for_release,
        )
        if conversation_id is not None:
            self.locks[conversation_id] = response_id
        self.runs[response_id] = run
        run.task = asyncio.create_task(self._produce(run, TurnStream(setup, turn, self.state)))
        return run

    async def _produce(self, run: ResponseRun, stream: TurnStream) -> None:
        try:
            async for event in stream.events():
                if isinstance(event, Drop):
                    run.drop_at = len(run.events)
                    run.drops_left = event.connections
                    run.signal()
                    if not run.background:  # the connection is gone: so is a sync response
                        run.response["status"] = "cancelled"
                        break
                    continue
                run.events.append(event)
                run.signal()
                self.notify()
        except asyncio.CancelledError:
            if run.status not in TERMINAL:
                run.response["status"] = "cancelled"
            raise
        finally:
            run.error_event = stream.error_event
            self._settle(run, stream.outputs)

    def _settle(self, run: ResponseRun, outputs: Mapping[str, Any]) -> None:
        run.done = True
        run.finished_at = time.monotonic()
        if run.conversation_id is not None:
            if self.locks.get(run.conversation_id) == run.id:
                del self.locks[run.conversation_id]
            conversation = self.state.conversations.get(run.conversation_id)
            # Appended "after this response completes" (SDK docstring); the fake also appends
            # incomplete turns (their partial message exists) but not failed/cancelled ones.
            if conversation is not None and run.status in ("completed", "incomplete"):
                conversation.items.extend(copy.deepcopy(run.input_items))
                for item in copy.deepcopy(run.response["output"]):
                    if item["id"] in outputs:  # stored in full; `include` filters on reads
                        item["outputs"] = outputs[item["id"]]
                    conversation.items.append(item)
        run.signal()
        self.notify()

    # -- checks --------------------------------------------------------------------------

    def _check(self, request: Mapping[str, Any]) -> None:
        if not request.get("model"):
            raise ApiError(
                400,
                "Missing required parameter: 'model'.",
                param="model",
                code="missing_required_parameter",
            )
        if request.get("conversation") and request.get("previous_response_id"):
            raise ApiError(
                400,
                "Mutually exclusive parameters: Ensure you are only providing one of: "
                "'previous_response_id' or 'conversation'.",
                param="conversation",
                code="mutually_exclusive_parameters",
            )
        has_context = request.get("conversation") or request.get("previous_response_id")
        if request.get("input") is None and not has_context:
            raise ApiError(
                400,
                "Missing required parameter: 'input'.",
                param="input",
                code="missing_required_parameter",
            )
        if request.get("background") and request.get("store") is False:
            raise ApiError(400, "Background mode requires 'store' to be true.", param="store")
        previous = request.get("previous_response_id")
        if previous and previous not in self.runs:
            raise ApiError(
                404,
                f"Previous response with id '{previous}' not found.",
                param="previous_response_id",
            )
        check_metadata(request.get("metadata"))
        check_function_tools(request)
        self._check_tool_choice(request)

    @staticmethod
    def _check_tool_choice(request: Mapping[str, Any]) -> None:
        choice = request.get("tool_choice")
        tool_types = {tool.get("type") for tool in request.get("tools") or []}
        if choice == "required" and not tool_types:
            raise ApiError(
                400,
                "Tool choice 'required' must be specified with 'tools' parameter.",
                param="tool_choice",
            )
        forced = choice.get("type") if isinstance(choice, dict) else None
        if forced in ("code_interpreter", "file_search") and forced not in tool_types:
            raise ApiError(
                400,
                f"Tool choice '{forced}' not found in 'tools' parameter.",
                param="tool_choice",
            )

    @staticmethod
    def _conversation_id(request: Mapping[str, Any]) -> str | None:
        conversation = request.get("conversation")
        if isinstance(conversation, dict):
            return str(conversation["id"])
        return conversation if isinstance(conversation, str) else None

    def _named_container(self, request: Mapping[str, Any]) -> Container | None:
        """The code_interpreter tool's container given by id (404 if unknown, 400 if expired)."""
        for tool in request.get("tools") or []:
            if tool.get("type") == "code_interpreter" and isinstance(tool.get("container"), str):
                return self.state.container(tool["container"], param="tools")
        return None

    def _container_for(
        self, request: Mapping[str, Any], conversation_id: str | None
    ) -> Container | None:
        for tool in request.get("tools") or []:
            if tool.get("type") != "code_interpreter":
                continue
            spec = tool.get("container")
            if isinstance(spec, str):
                return self.state.container(spec, param="tools")
            return self._auto_container(spec or {}, request, conversation_id)
        return None

    def _auto_container(
        self, spec: Mapping[str, Any], request: Mapping[str, Any], conversation_id: str | None
    ) -> Container:
        """Auto mode reuses a live container used earlier in the context, else makes one."""
        context: list[dict[str, Any]] = []
        if conversation_id:
            context = self.state.conversations[conversation_id].items
        elif request.get("previous_response_id"):
            context = self.runs[request["previous_response_id"]].response["output"]
        for item in reversed(context):
            found = self.state.containers.get(item.get("container_id") or "")
            if found is not None:
                found.refresh_expiry(self.state.clock.now())
                if not found.expired:
                    found.touch(self.state.clock.now())
                    return found
        return self.state.create_container(
            name="auto",
            file_ids=spec.get("file_ids") or [],
            memory_limit=spec.get("memory_limit"),
        )

    # -- lookups, cancel, delete ---------------------------------------------------------

    def get(self, response_id: str) -> ResponseRun:
        run = self.runs.get(response_id)
        if run is None:
            raise ApiError(404, f"Response with id '{response_id}' not found.")
        return run

    async def cancel(self, response_id: str) -> ResponseRun:
        run = self.get(response_id)
        if not run.background:
            raise ApiError(400, "Only responses created with background=true can be cancelled.")
        if not run.done and run.task is not None:
            run.task.cancel()
            await asyncio.wait({run.task})  # (a bare await would re-raise its CancelledError)
        if run.status == "cancelled" and run.id not in self.cancelled:
            self.cancelled.append(run.id)
        self.notify()
        return run

    def abandon(self, run: ResponseRun) -> None:
        """The creating client went away before the end."""
        if run.done:
            return
        self.closed_streams.append(run.id)
        self.closed_at[run.id] = time.monotonic()
        if not run.background and run.task is not None:
            run.task.cancel()
        self.notify()

    async def close(self) -> None:
        tasks = [run.task for run in self.runs.values() if run.task and not run.task.done()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def _input_list(request: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    value = request.get("input")
    if value is None:
        return []
    if isinstance(value, str):
        return [{"type": "message", "role": "user", "content": value}]
    return [item for item in value if item.get("type") != "item_reference"]
