"""Reading a Responses API stream: OpenAI events in, `EngineEvent`s out, errors raised."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any

import openai

from bot.engine.failures import from_code, from_exception
from bot.errors import ContentRefused, StreamDropped
from bot.events import (
    Citation,
    CodeFinished,
    CodeReady,
    CodeStarted,
    EngineEvent,
    Finished,
    ResponseStarted,
    TextDelta,
)

_STARTED = ("response.created", "response.queued", "response.in_progress")


class StreamState:
    """What the reader has learned so far (also useful after an error)."""

    def __init__(self) -> None:
        self.response_id: str | None = None
        self.last_sequence: int | None = None
        self.text_parts: list[str] = []
        self.refusal: list[str] = []
        self.citations: list[Citation] = []
        self._text_index: int | None = None


async def read_stream(
    events: AsyncIterator[Any], state: StreamState
) -> AsyncGenerator[EngineEvent, None]:
    """Translate raw stream events; raise `EngineError` for every failure shape."""
    try:
        async for event in events:
            state.last_sequence = getattr(event, "sequence_number", state.last_sequence)
            for translated in _translate(event, state):
                yield translated
                if isinstance(translated, Finished):
                    return
    except openai.APIError as error:  # HTTP errors and nested stream errors
        raise from_exception(error) from error
    raise StreamDropped("the stream ended without a final event")


def _translate(event: Any, state: StreamState) -> list[EngineEvent]:
    kind = event.type
    if kind in _STARTED:
        if state.response_id is None:
            state.response_id = event.response.id
            return [ResponseStarted(event.response.id, float(event.response.created_at))]
        return []
    if kind == "response.output_text.delta":
        return _text(event, state)
    if kind == "response.output_item.added" and event.item.type == "code_interpreter_call":
        return [CodeStarted(event.item.id)]
    if kind == "response.code_interpreter_call_code.done":
        return [CodeReady(event.item_id, event.code)]
    if kind == "response.output_item.done" and event.item.type == "code_interpreter_call":
        return [_code_finished(event.item)]
    if kind == "response.output_text.annotation.added":
        _cite(event.annotation, state)
        return []
    if kind == "response.refusal.delta":
        state.refusal.append(event.delta)
        return []
    if kind in ("response.completed", "response.incomplete"):
        return [_finished(event.response, state)]
    if kind == "response.failed":
        error = event.response.error
        raise from_code(getattr(error, "code", None), getattr(error, "message", None))
    if kind == "error":  # the flat shape, yielded (not raised) by the SDK
        raise from_code(getattr(event, "code", None), getattr(event, "message", None))
    return []


def _text(event: Any, state: StreamState) -> list[EngineEvent]:
    out: list[EngineEvent] = []
    if state._text_index is not None and event.output_index != state._text_index:
        out.append(TextDelta("\n\n"))  # a new message item: keep paragraphs apart
        state.text_parts.append("\n\n")
    state._text_index = event.output_index
    state.text_parts.append(event.delta)
    out.append(TextDelta(event.delta))
    return out


def _code_finished(item: Any) -> CodeFinished:
    logs = "\n".join(
        str(getattr(output, "logs", "") or "")
        for output in item.outputs or ()
        if getattr(output, "type", "") == "logs"
    )
    return CodeFinished(item.id, item.code or "", logs, ok=item.status == "completed")


def _cite(annotation: Any, state: StreamState) -> None:
    if getattr(annotation, "type", None) != "container_file_citation":
        return
    citation = Citation(annotation.container_id, annotation.file_id, annotation.filename)
    if citation not in state.citations:
        state.citations.append(citation)


def _finished(response: Any, state: StreamState) -> Finished:
    texts: list[str] = []
    for item in response.output or ():
        if item.type != "message":
            continue
        for part in item.content or ():
            if part.type == "output_text":
                texts.append(part.text)
                for annotation in part.annotations or ():
                    _cite(annotation, state)
            elif part.type == "refusal":
                state.refusal.append(part.refusal)
    reason = response.incomplete_details.reason if response.incomplete_details else None
    text = "\n\n".join(texts) if texts else "".join(state.text_parts)
    if state.refusal and not text.strip():
        raise ContentRefused("the model refused", refusal="".join(state.refusal)[:500])
    if reason == "content_filter":
        raise ContentRefused("incomplete: content_filter")
    usage = response.usage.model_dump() if response.usage else {}
    return Finished(response.id, text, tuple(state.citations), usage, reason)
