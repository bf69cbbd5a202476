"""Turn a `ScriptedTurn` into the real Responses event sequence.

Order (W1 capture, reference §2.2): ``response.created`` -> ``response.in_progress`` -> per code
run [reasoning added/done, ``code_interpreter_call`` added (status in_progress, code "",
container_id) -> ``…call.in_progress`` -> ``…call_code.delta``* -> ``…call_code.done`` ->
``…call.interpreting`` -> ``…call.completed`` -> output_item.done] -> reasoning -> message
added -> content_part.added -> ``output_text.delta``* -> ``output_text.annotation.added``
(after all text) -> ``output_text.done`` -> content_part.done -> output_item.done ->
``response.completed`` (full output + usage).

`TurnStream.events()` yields event dicts (``sequence_number`` from 0, ``obfuscation`` on deltas)
and, for a scripted `Drop`, the `Drop` itself so the HTTP layer can abort the connection.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import json
import math
import re
import secrets
import string
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from tests.fakes.openai_functions import function_call_events
from tests.fakes.openai_objects import Container, ContainerFile
from tests.fakes.openai_search import search_events
from tests.fakes.openai_state import CONTAINER_EXPIRED_CODE, CONTAINER_EXPIRED_MESSAGE, OpenAIState
from tests.fakes.scripted_model import (
    CodeRun,
    ContainerExpiresMidTurn,
    Drop,
    ErrorEvent,
    GeneratedFile,
    ResponseFailed,
    ResponseIncomplete,
    ScriptedTurn,
    Stall,
)

_SANDBOX_LINK = re.compile(r"\[[^\]]*\]\((sandbox:/mnt/data/([^)\s]+))\)")
_CODE_TOKEN = re.compile(r"\s*\w+|\s*[^\w\s]+|\s+")
_ALNUM = string.ascii_letters + string.digits
_TRACEBACK = 'Traceback (most recent call last):\n  File "<stdin>", line 1\nValueError: boom'


def split_text(text: str, parts: int | None) -> list[str]:
    """``parts`` near-equal deltas (default: one per ~20 characters)."""
    if not text:
        return []
    count = parts if parts is not None else math.ceil(len(text) / 20)
    count = max(1, min(count, len(text)))
    size, extra = divmod(len(text), count)
    pieces, start = [], 0
    for index in range(count):
        end = start + size + (1 if index < extra else 0)
        pieces.append(text[start:end])
        start = end
    return pieces


def obfuscation(delta: str) -> str:
    # Live streams pad delta + obfuscation to 16 characters (W1, vercel captures).
    return "".join(secrets.choice(_ALNUM) for _ in range((-len(delta)) % 16))


@dataclass
class TurnSetup:
    """What the responses service resolved for this turn before streaming."""

    response_id: str
    request: Mapping[str, Any]
    response: dict[str, Any]
    container: Container | None
    include_outputs: bool
    obfuscate: bool
    input_tokens: int
    wait_for_release: Callable[[], Awaitable[None]]
    """Blocks a scripted `Stall` until ``FakeOpenAI.release_stalls()``."""


class TurnStream:
    """The events of one scripted turn, with its side effects on container state."""

    def __init__(self, setup: TurnSetup, turn: ScriptedTurn, state: OpenAIState) -> None:
        self.setup = setup
        self.turn = turn
        self.state = state
        self.response = setup.response
        self.sequence = 0
        self.cited: list[tuple[str, ContainerFile]] = []  # (cited name, file) this turn
        self.not_cited: set[str] = set()  # names written this turn with cite=False
        self.file_citations: list[tuple[str, str]] = []  # (filename, file id) found by searches
        self.reasoning_items = 0
        self.error_event: dict[str, Any] | None = None
        """The ``error`` event that ended the turn, if any (non-streamed: an HTTP error)."""
        self.outputs: dict[str, list[dict[str, Any]]] = {}
        """Full ``outputs`` per code_interpreter_call id, whatever ``include`` said."""

    # -- helpers -------------------------------------------------------------------------

    def _event(self, kind: str, **fields: Any) -> dict[str, Any]:
        event = {"type": kind, "sequence_number": self.sequence, **fields}
        self.sequence += 1
        return event

    def _delta(self, kind: str, **fields: Any) -> dict[str, Any]:
        event = self._event(kind, **fields)
        if self.setup.obfuscate:
            event["obfuscation"] = obfuscation(fields["delta"])
        return event

    def _snapshot(self, kind: str) -> dict[str, Any]:
        return self._event(kind, response=copy.deepcopy(self.response))

    def _add_output(self, item: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        self.response["output"].append(item)
        return len(self.response["output"]) - 1, copy.deepcopy(item)

    def _reasoning(self) -> list[dict[str, Any]]:
        if not self.turn.reasoning_items:
            return []
        self.reasoning_items += 1
        index, item = self._add_output(
            {"id": self.state.ids.new("rs"), "type": "reasoning", "summary": []}
        )
        return [
            self._event("response.output_item.added", output_index=index, item=item),
            self._event("response.output_item.done", output_index=index, item=item),
        ]

    def _usage(self, text: str) -> dict[str, Any]:
        reasoning = 64 * self.reasoning_items
        code = sum(len(run.code) for run in self.turn.runs)
        output = max(1, (len(text) + code) // 4) + reasoning
        usage: dict[str, Any] = {
            "input_tokens": self.setup.input_tokens,
            "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
            "output_tokens": output,
            "output_tokens_details": {"reasoning_tokens": reasoning},
            "total_tokens": self.setup.input_tokens + output,
        }
        return usage | dict(self.turn.usage or {})

    def _finish(self, status: str, text: str) -> None:
        self.response["status"] = status
        self.response["usage"] = self._usage(text)
        if status == "completed":
            self.response["completed_at"] = self.state.clock.seconds()

    def _fail(self, code: str, message: str) -> None:
        self.response["status"] = "failed"
        self.response["error"] = {"code": code, "message": message}

    def _error_event(self, code: str, message: str, kind: str, nested: bool) -> dict[str, Any]:
        self._fail(code, message)
        if nested:  # the shape seen live; the SDK raises APIError on it
            error = {"type": kind, "code": code, "message": message, "param": None}
            self.error_event = self._event("error", error=error)
        else:
            self.error_event = self._event("error", code=code, message=message, param=None)
        return self.error_event

    # -- the sequence --------------------------------------------------------------------

    async def events(self) -> AsyncIterator[dict[str, Any] | Drop]:
        background = bool(self.setup.request.get("background"))
        self.response["status"] = "queued" if background else "in_progress"
        yield self._snapshot("response.created")
        if background:
            yield self._snapshot("response.queued")
            self.response["status"] = "in_progress"
        yield self._snapshot("response.in_progress")
        failure = self.turn.failure
        for run_index, run in enumerate(self.turn.runs):
            for event in self._reasoning():
                yield event
            async for event in self._code_run(run):
                yield event
            if (
                isinstance(failure, ContainerExpiresMidTurn)
                and failure.after_run_index == run_index
            ):
                if self.setup.container is not None:
                    self.state.expire_container(self.setup.container.id)
                yield self._error_event(
                    CONTAINER_EXPIRED_CODE,
                    CONTAINER_EXPIRED_MESSAGE,
                    "invalid_request_error",
                    failure.nested,
                )
                return
        for search in self.turn.searches:
            async for event in search_events(
                search,
                request=self.setup.request,
                state=self.state,
                item_id=self.state.ids.new("fs"),
                add_output=self._add_output,
                event=self._event,
                found=self.file_citations,
                misses=self.state.search_misses,
            ):
                yield event
        for call in self.turn.calls:
            async for event in function_call_events(
                call,
                item_id=self.state.ids.new("fc"),
                call_id=self.state.ids.new("call"),
                add_output=self._add_output,
                event=self._event,
                delta=self._delta,
            ):
                yield event
        if self.turn.calls and not self.turn.text and self.turn.refusal is None:
            self._finish("completed", "")  # only function calls: no message item
            yield self._snapshot("response.completed")
            return
        for event in self._reasoning():
            yield event
        async for message_event in self._message():
            yield message_event

    async def _code_run(self, run: CodeRun) -> AsyncIterator[dict[str, Any]]:
        container = self.setup.container
        assert container is not None, "checked by the responses service"
        item: dict[str, Any] = {
            "id": self.state.ids.new("ci"),
            "type": "code_interpreter_call",
            "status": "in_progress",
            "code": "",
            "container_id": container.id,
            "outputs": [],
        }
        index, snapshot = self._add_output(item)
        ids = {"item_id": item["id"], "output_index": index}
        yield self._event("response.output_item.added", output_index=index, item=snapshot)
        yield self._event("response.code_interpreter_call.in_progress", **ids)
        for token in _CODE_TOKEN.findall(run.code):
            if self.turn.code_delta_delay:
                await asyncio.sleep(self.turn.code_delta_delay)
            yield self._delta("response.code_interpreter_call_code.delta", delta=token, **ids)
        yield self._event("response.code_interpreter_call_code.done", code=run.code, **ids)
        yield self._event("response.code_interpreter_call.interpreting", **ids)
        container.touch(self.state.clock.now())
        if run.error:
            outputs = [{"type": "logs", "logs": run.logs or _TRACEBACK}]
        else:
            outputs = [{"type": "logs", "logs": run.logs}] if run.logs else []
            for generated in run.files:
                outputs += self._write_file(container, generated)
        self.outputs[item["id"]] = outputs
        yield self._event("response.code_interpreter_call.completed", **ids)
        item |= {
            "status": "completed",
            "code": run.code,
            "outputs": outputs if self.setup.include_outputs else None,
        }
        yield self._event("response.output_item.done", output_index=index, item=copy.deepcopy(item))

    def _write_file(self, container: Container, generated: GeneratedFile) -> list[dict[str, Any]]:
        path = f"/mnt/data/{generated.name}"
        blob = self.state.blob_from_bytes(generated.content)
        previous = container.file_at(path)
        if previous is not None:  # the model overwrote its own file
            del container.files[previous.id]
        written = self.state.add_container_file(container, path=path, source="assistant", blob=blob)
        if generated.cite:
            self.cited.append((generated.name, written))
        else:
            self.not_cited.add(generated.name)
        if not generated.name.lower().endswith(".png"):
            return []
        if generated.cite and self.turn.duplicate_image_citation:
            file_id = self.state.ids.new("cfile")
            copy_path = f"/mnt/data/{file_id}.png"
            twin = self.state.add_container_file(
                container, path=copy_path, source="assistant", blob=blob, file_id=file_id
            )
            self.cited.insert(0, (f"{file_id}.png", twin))
        encoded = base64.b64encode(generated.content).decode()
        return [{"type": "image", "url": f"data:image/png;base64,{encoded}"}]

    def _annotations(self, text: str) -> list[dict[str, Any]]:
        sources = [
            {"type": "file_citation", "file_id": file_id, "filename": name, "index": len(text)}
            for name, file_id in dict.fromkeys(self.file_citations)
        ]
        return self._container_annotations(text) + sources

    def _container_annotations(self, text: str) -> list[dict[str, Any]]:
        container = self.setup.container
        if container is None:
            return []
        annotations, linked = [], set()
        for match in _SANDBOX_LINK.finditer(text):
            name = match.group(2)
            found = container.file_at(f"/mnt/data/{name}")
            if found is None or name in self.not_cited:
                continue
            linked.add(name)
            annotations.append((match.start(1), match.end(1), name, found))
        for name, found in self.cited:
            if name not in linked:
                annotations.append((0, 0, name, found))
        annotations.sort(key=lambda entry: entry[0])
        return [
            {
                "type": "container_file_citation",
                "container_id": container.id,
                "end_index": end,
                "file_id": found.id,
                "filename": name,
                "start_index": start,
            }
            for start, end, name, found in annotations
        ]

    async def _message(self) -> AsyncIterator[dict[str, Any] | Drop]:
        refusal = self.turn.refusal
        text = refusal if refusal is not None else self.turn.text
        item: dict[str, Any] = {
            "id": self.state.ids.new("msg"),
            "type": "message",
            "status": "in_progress",
            "content": [],
            "role": "assistant",
            "phase": "final_answer",  # sent by 2026 models (W1); resend it unchanged
        }
        index, snapshot = self._add_output(item)
        ids = {"item_id": item["id"], "output_index": index, "content_index": 0}
        yield self._event("response.output_item.added", output_index=index, item=snapshot)
        part: dict[str, Any] = (
            {"type": "refusal", "refusal": ""}
            if refusal is not None
            else {"type": "output_text", "annotations": [], "logprobs": [], "text": ""}
        )
        yield self._event("response.content_part.added", part=copy.deepcopy(part), **ids)
        deltas = split_text(text, self.turn.text_deltas)
        sent = ""
        for count in range(len(deltas) + 1):
            failure = self._failure_after(count, len(deltas))
            if isinstance(failure, Stall):
                await self.setup.wait_for_release()
            elif isinstance(failure, Drop):  # a transport fault: a background turn goes on
                yield failure
            elif isinstance(failure, ResponseIncomplete):
                async for event in self._close_message(item, part, sent, ids, "incomplete"):
                    yield event
                self._finish("incomplete", sent)
                self.response["incomplete_details"] = {"reason": failure.reason}
                yield self._snapshot("response.incomplete")
                return
            elif isinstance(failure, ErrorEvent):
                yield self._error_event(failure.code, failure.message, failure.type, failure.nested)
                return
            elif isinstance(failure, ResponseFailed):
                self._fail(failure.code, failure.message)
                self.response["usage"] = self._usage(sent)
                yield self._snapshot("response.failed")
                return
            if count == len(deltas):
                break
            if count and self.turn.delta_delay:
                await asyncio.sleep(self.turn.delta_delay)
            sent += deltas[count]
            kind = "response.refusal.delta" if refusal is not None else "response.output_text.delta"
            extra: dict[str, Any] = {} if refusal is not None else {"logprobs": []}
            yield self._delta(kind, delta=deltas[count], **ids, **extra)
        async for event in self._close_message(item, part, text, ids, "completed"):
            yield event
        self._finish("completed", text)
        yield self._snapshot("response.completed")

    def _failure_after(self, emitted: int, total: int) -> object | None:
        """The scripted failure that fires once ``emitted`` text deltas were sent."""
        after = getattr(self.turn.failure, "after_text_deltas", None)
        if after is None or min(after, total) != emitted:
            return None
        return self.turn.failure

    async def _close_message(
        self,
        item: dict[str, Any],
        part: dict[str, Any],
        text: str,
        ids: dict[str, Any],
        status: str,
    ) -> AsyncIterator[dict[str, Any]]:
        if part["type"] == "refusal":
            part["refusal"] = text
            yield self._event("response.refusal.done", refusal=text, **ids)
        else:
            annotations = self._annotations(text) if status == "completed" else []
            for number, annotation in enumerate(annotations):
                yield self._event(
                    "response.output_text.annotation.added",
                    annotation_index=number,
                    annotation=annotation,
                    **ids,
                )
            part |= {"text": text, "annotations": annotations}
            yield self._event("response.output_text.done", text=text, logprobs=[], **ids)
        yield self._event("response.content_part.done", part=copy.deepcopy(part), **ids)
        item |= {"status": status, "content": [part]}
        yield self._event(
            "response.output_item.done", output_index=ids["output_index"], item=copy.deepcopy(item)
        )


def estimate_tokens(*values: Any) -> int:
    return max(1, sum(len(json.dumps(value)) for value in values if value is not None) // 4)
