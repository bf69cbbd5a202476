"""Reading a Responses API stream: SSE lines in, `EngineEvent`s out, errors raised.

The SDK's typed stream builds and validates a pydantic model for every event (about 70 µs
each, most of a text turn's CPU with hundreds of deltas), so the engine reads the raw bytes
of the SDK's streaming response and takes what it needs from the JSON. Errors come in
three shapes (reference/openai.md §2.5) and all are handled here: the nested
`{"type": "error", "error": {…}}` event, the flat `error` event, and `response.failed`.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any

from bot.core.events import (
    Citation,
    CodeFinished,
    CodeReady,
    CodeStarted,
    EngineEvent,
    Finished,
    FunctionCall,
    Position,
    ResponseStarted,
    SearchFinished,
    SearchStarted,
    Source,
    TextDelta,
    UsageReported,
)
from bot.engine.failures import from_code
from bot.errors import ContentRefused, EngineError, StreamDropped

_STARTED = frozenset({"response.created", "response.queued", "response.in_progress"})


async def sse_batches(
    chunks: AsyncIterator[bytes],
) -> AsyncGenerator[list[dict[str, Any]], None]:
    """Server-sent events → their JSON `data`, one list per network read.

    Events that arrive together are handed over together, so the reader can merge adjacent
    text deltas instead of paying per-event overhead downstream.
    """
    buffer = b""
    async for chunk in chunks:
        buffer += chunk
        if b"\r" in buffer:  # CRLF framing; a CR at the end may meet its LF next time
            buffer = buffer.replace(b"\r\n", b"\n")
        *blocks, buffer = buffer.split(b"\n\n")
        batch = [payload for block in blocks if (payload := _payload(block)) is not None]
        if batch:
            yield batch
        if any(block.endswith(b"[DONE]") for block in blocks):
            return
    if buffer.strip() and (payload := _payload(buffer)) is not None:
        yield [payload]


def _payload(block: bytes) -> dict[str, Any] | None:
    data = [line[5:].removeprefix(b" ") for line in block.split(b"\n") if line.startswith(b"data:")]
    if not data or data == [b"[DONE]"]:
        return None  # `event:`, `id:`, `retry:` and comments add nothing the data lacks
    payload: dict[str, Any] = json.loads(b"\n".join(data))
    return payload


class StreamState:
    """What the reader has learned so far."""

    def __init__(self) -> None:
        self.response_id: str | None = None
        self.text_parts: list[str] = []
        self.refusal: list[str] = []
        self.citations: list[Citation] = []
        self.sources: list[Source] = []
        self.text_index: int | None = None
        self.usage: dict[str, Any] | None = None
        """What a response that ended in a failure reported using (it is billed)."""
        self.sequence = -1
        """The `sequence_number` of the last event read."""


async def read_stream(
    batches: AsyncIterator[list[dict[str, Any]]], state: StreamState
) -> AsyncGenerator[EngineEvent, None]:
    """Translate stream payloads; raise `EngineError` for every failure shape."""
    async for batch in batches:
        translated: list[EngineEvent] = []
        failure: EngineError | None = None
        before = state.sequence
        try:
            for event in batch:
                sequence = event.get("sequence_number")
                if isinstance(sequence, int) and sequence > state.sequence:
                    state.sequence = sequence
                for item in _translate(event, state):
                    if (
                        isinstance(item, TextDelta)
                        and translated
                        and isinstance(translated[-1], TextDelta)
                    ):
                        translated[-1] = TextDelta(translated[-1].text + item.text)
                    else:
                        translated.append(item)
        except EngineError as error:  # what came before the error is still shown
            failure = error
        for item in translated:
            yield item
            if isinstance(item, Finished):
                return
        if failure is None and state.sequence > before:
            yield Position(state.sequence)
        if failure is not None:
            if state.usage and state.response_id:  # a failed response still costs
                yield UsageReported(state.response_id, state.usage)
            raise failure
    raise StreamDropped("the stream ended without a final event")


def _translate(event: dict[str, Any], state: StreamState) -> list[EngineEvent]:
    kind = event.get("type")
    if kind == "response.output_text.delta":
        return _text(event, state)
    if kind in _STARTED:
        if state.response_id is None:
            response = event["response"]
            state.response_id = response["id"]
            return [ResponseStarted(response["id"], float(response.get("created_at") or 0))]
        return []
    item = event.get("item") or {}
    if kind == "response.output_item.added" and item.get("type") == "code_interpreter_call":
        return [CodeStarted(item["id"])]
    if kind == "response.code_interpreter_call_code.done":
        return [CodeReady(event["item_id"], event.get("code") or "")]
    if kind == "response.output_item.done" and item.get("type") == "code_interpreter_call":
        return [_code_finished(item)]
    if item.get("type") == "file_search_call" and kind == "response.output_item.added":
        return [SearchStarted(str(item["id"]))]
    if item.get("type") == "file_search_call" and kind == "response.output_item.done":
        queries = tuple(str(q) for q in item.get("queries") or ())
        return [SearchFinished(str(item["id"]), queries, ok=item.get("status") == "completed")]
    if kind == "response.output_item.done" and item.get("type") == "function_call":
        return [FunctionCall(str(item["call_id"]), str(item["name"]), item.get("arguments") or "")]
    if kind == "response.output_text.annotation.added":
        _cite(event.get("annotation"), state)
    elif kind == "response.refusal.delta":
        state.refusal.append(event.get("delta") or "")
    elif kind in ("response.completed", "response.incomplete"):
        state.usage = event["response"].get("usage")  # kept should the answer be refused
        return [_finished(event["response"], state)]
    elif kind == "response.failed":
        state.usage = event["response"].get("usage")
        failure = event["response"].get("error") or {}
        raise from_code(failure.get("code"), failure.get("message"))
    elif kind == "error":
        nested = event.get("error")
        error: dict[str, Any] = nested if isinstance(nested, dict) else event
        raise from_code(error.get("code"), error.get("message"))
    return []


def _text(event: dict[str, Any], state: StreamState) -> list[EngineEvent]:
    out: list[EngineEvent] = []
    index = event.get("output_index")
    if state.text_index is not None and index != state.text_index:
        out.append(TextDelta("\n\n"))  # a new message item: keep paragraphs apart
        state.text_parts.append("\n\n")
    state.text_index = index
    delta = event.get("delta") or ""
    state.text_parts.append(delta)
    out.append(TextDelta(delta))
    return out


def _code_finished(item: dict[str, Any]) -> CodeFinished:
    logs = "\n".join(
        str(output.get("logs") or "")
        for output in item.get("outputs") or ()
        if output.get("type") == "logs"
    )
    return CodeFinished(
        item["id"], item.get("code") or "", logs, ok=item.get("status") == "completed"
    )


def _cite(annotation: Any, state: StreamState) -> None:
    if not isinstance(annotation, dict):
        return
    if annotation.get("type") == "file_citation":
        source = Source(str(annotation["file_id"]), str(annotation.get("filename") or ""))
        if source not in state.sources:
            state.sources.append(source)
        return
    if annotation.get("type") != "container_file_citation":
        return
    citation = Citation(
        str(annotation["container_id"]), str(annotation["file_id"]), str(annotation["filename"])
    )
    if citation not in state.citations:
        state.citations.append(citation)


def _finished(response: dict[str, Any], state: StreamState) -> Finished:
    texts: list[str] = []
    for item in response.get("output") or ():
        if item.get("type") != "message":
            continue
        for part in item.get("content") or ():
            if part.get("type") == "output_text":
                texts.append(part.get("text") or "")
                for annotation in part.get("annotations") or ():
                    _cite(annotation, state)
            elif part.get("type") == "refusal":
                state.refusal.append(part.get("refusal") or "")
    reason = (response.get("incomplete_details") or {}).get("reason")
    text = "\n\n".join(texts) if texts else "".join(state.text_parts)
    if state.refusal and not text.strip():
        raise ContentRefused("the model refused", refusal="".join(state.refusal)[:500])
    if reason == "content_filter":
        raise ContentRefused("incomplete: content_filter")
    usage = response.get("usage") or {}
    return Finished(
        str(response["id"]),
        text,
        tuple(state.citations),
        tuple(state.sources),
        usage,
        reason,
    )
