"""`ModelRounds`: one turn's exchange with the model, and the `TurnRecord` it fills in.

    request → stream (text, code runs, function calls) → calls run → their outputs sent
    back in the next request of the turn → … until the model answers in words

Each round's events go to the renderer as they come; a function's visual is shown where
the model asked for it. Every call gets an output (a conversation with an unanswered call
refuses further turns). After `MAX_FUNCTION_ROUNDS` rounds with calls the model must answer
without tools (`tool_choice: "none"`).

Responses run in the background, so a stream that breaks is read again from where it broke,
and a turn taken over from a worker that died replays the responses it had started (`resume`:
their events from the first, shown again, their function calls answered again for the visuals
but not sent) and follows the last one live.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import AsyncGenerator, Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from bot.core.events import (
    CodeFinished,
    EngineEvent,
    Finished,
    FunctionCall,
    FunctionOutput,
    ModelRequest,
    Position,
    ResponseStarted,
    SearchFinished,
    TextDelta,
    UsageReported,
)
from bot.core.functions import FunctionTools
from bot.core.ports import Engine, Renderer
from bot.errors import StreamDropped, TurnError

logger = logging.getLogger(__name__)

MAX_FUNCTION_ROUNDS = 6
MAX_REATTACH = 3
"""Broken streams read again per response before the turn fails."""


@dataclass
class TurnRecord:
    """What a turn leaves behind, filled in as it runs."""

    started: float = field(default_factory=time.monotonic)
    response_id: str | None = None
    since: float = 0.0
    """Server time the response started: container files created after it are outputs."""
    usage: dict[str, Any] | None = None
    """Token counts summed over the responses that reported them."""
    model: str | None = None
    """The model asked for (None: the default)."""
    responses: int = 0
    """Model responses started (each round, each restart)."""
    metered: int = 0
    """Of those, the ones that reported their usage."""
    containers: set[str] = field(default_factory=set)
    """Code-interpreter containers created for the turn."""
    searches: int = 0
    """Document searches (`file_search` calls) the model made."""
    code_runs: list[dict[str, Any]] = field(default_factory=list)
    calls: list[dict[str, Any]] = field(default_factory=list)
    """Function calls: name and whether they worked."""
    timings: dict[str, float] = field(default_factory=dict)
    error_code: str | None = None
    answer_text: str | None = None
    """The final answer as shown, links pointing at the posted files."""
    chain: list[str] = field(default_factory=list)
    """The responses of the answer being shown (since the last restart), in order."""
    sequence: int | None = None
    """How far the last response's stream was read (its last event's sequence number)."""
    open_response: str | None = None
    """A response started and not yet ended (stopped with the turn)."""
    on_progress: Callable[[], None] | None = None
    """Told when a response starts (its id must be kept before anything else happens)."""

    def mark(self, name: str) -> None:
        self.timings.setdefault(name, round(time.monotonic() - self.started, 3))

    def container_started(self, container_id: str) -> None:
        self.containers.add(container_id)

    def used(self, usage: dict[str, Any]) -> None:
        """A response reported what it used."""
        if usage:
            self.metered += 1
            self.usage = _usage_sum(self.usage or {}, usage)


class ModelRounds:
    """Runs the model for one turn, answering its function calls."""

    def __init__(self, engine: Engine, functions: FunctionTools) -> None:
        self._engine = engine
        self._functions = functions

    async def run(
        self,
        request: ModelRequest,
        renderer: Renderer,
        record: TurnRecord,
        *,
        resume: Sequence[str] = (),
    ) -> Finished:
        results: list[Finished] = []
        replay = list(resume)
        for number in range(1, MAX_FUNCTION_ROUNDS + 2):
            replayed = replay.pop(0) if replay else None
            source = (
                self._engine.respond(request)
                if replayed is None
                else self._engine.reattach(replayed)
            )
            finished, calls = await self._stream(source, renderer, record, after=results)
            results.append(finished)
            if not calls:
                break
            # Calls of a replayed round are run again for their visuals; the round after it
            # (replayed next, or asked now if it was the last) answers them.
            outputs = tuple([await self._call(call, renderer, record) for call in calls])
            request = request.continued(outputs, tools_allowed=number < MAX_FUNCTION_ROUNDS)
        return _combined(results)

    async def _call(
        self, call: FunctionCall, renderer: Renderer, record: TurnRecord
    ) -> FunctionOutput:
        result = await self._functions.call(call)
        record.calls.append({"name": call.name, "ok": result.ok})
        if result.visual is not None:
            await renderer.visual(result.visual)
        return FunctionOutput(call.call_id, result.as_json())

    async def _stream(
        self,
        source: AsyncGenerator[EngineEvent, None],
        renderer: Renderer,
        record: TurnRecord,
        *,
        after: list[Finished],
    ) -> tuple[Finished, list[FunctionCall]]:
        finished: Finished | None = None
        calls: list[FunctionCall] = []
        spaced = not any(r.text.strip() for r in after)  # rounds' texts are paragraphs apart
        started: str | None = None
        reattached = 0
        while True:
            try:
                # aclosing: whatever stops this loop (a Slack failure, a cancel) closes the
                # model's stream at once, not whenever the generator happens to be collected.
                async with contextlib.aclosing(source) as events:
                    async for event in events:
                        if isinstance(event, Position):
                            record.sequence = event.sequence
                            continue
                        if isinstance(event, UsageReported):  # a failure follows
                            record.used(event.usage)
                            continue
                        if isinstance(event, ResponseStarted):
                            started = event.response_id
                            self._started(event, record)
                        elif isinstance(event, CodeFinished):
                            record.code_runs.append(
                                {"code": event.code, "logs": event.logs, "ok": event.ok}
                            )
                        elif isinstance(event, FunctionCall):
                            calls.append(event)
                            continue
                        elif isinstance(event, SearchFinished):
                            record.searches += 1
                        elif isinstance(event, Finished):
                            record.mark("model_finished_s")
                            record.used(event.usage)
                            record.open_response = None
                            finished = event
                        elif "first_event_s" not in record.timings:
                            record.mark("first_event_s")
                        if isinstance(event, TextDelta) and not spaced:
                            spaced = True
                            await renderer.show(TextDelta("\n\n"))
                        await renderer.show(event)
                break
            except StreamDropped:
                # The response goes on in the background: read it again where it broke.
                if started is None or finished is not None or reattached >= MAX_REATTACH:
                    raise
                reattached += 1
                logger.info(
                    "stream of %s broke at event %s; reading it again", started, record.sequence
                )
                source = self._engine.reattach(started, after=record.sequence)
        if finished is None:  # the engine raises instead; this is a safety net
            raise TurnError("the model stream ended without a result")
        return finished, calls

    @staticmethod
    def _started(event: ResponseStarted, record: TurnRecord) -> None:
        record.responses += 1
        record.response_id = record.open_response = event.response_id
        record.sequence = None
        if event.response_id not in record.chain:
            record.chain.append(event.response_id)
        record.since = record.since or event.created_at
        record.mark("model_started_s")
        if record.on_progress is not None:
            record.on_progress()


def _combined(results: list[Finished]) -> Finished:
    """The turn's answer: every round's text, citations and usage, the last round's ending."""
    last = results[-1]
    if len(results) == 1:
        return last
    citations = tuple(dict.fromkeys(c for r in results for c in r.citations))
    text = "\n\n".join(r.text for r in results if r.text.strip())
    usage: dict[str, Any] = {}
    for result in results:
        usage = _usage_sum(usage, result.usage)
    return replace(last, text=text, citations=citations, usage=usage)


def _usage_sum(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """Token counts added up (nested details too)."""
    total = dict(a)
    for key, value in b.items():
        if isinstance(value, dict):
            total[key] = _usage_sum(total.get(key) or {}, value)
        elif isinstance(value, int | float) and not isinstance(value, bool):
            total[key] = total.get(key, 0) + value
        else:
            total.setdefault(key, value)
    return total
