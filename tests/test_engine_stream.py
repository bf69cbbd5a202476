"""The engine's own SSE reading, against the captured real streams and every error shape."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable

import pytest

from bot.core.events import CodeFinished, CodeStarted, Finished, ResponseStarted, TextDelta
from bot.engine.failures import from_code
from bot.engine.stream import StreamState, read_stream, sse_batches
from bot.errors import (
    ContainerExpired,
    ContentRefused,
    EngineFailed,
    QuotaExceeded,
    RateLimited,
    StreamDropped,
)
from tests.conftest import SHARED

SAMPLES = SHARED / "wire-samples" / "openai"


async def _chunks(lines: Iterable[str], size: int = 97) -> AsyncIterator[bytes]:
    """The lines as a byte stream cut at arbitrary places, as the network delivers it."""
    data = ("\n".join(lines) + "\n").encode()
    for start in range(0, len(data), size):
        yield data[start : start + size]


def _framed(payloads: list[dict]) -> list[str]:
    lines: list[str] = []
    for payload in payloads:
        lines += [f"event: {payload['type']}", f"data: {json.dumps(payload)}", ""]
    return lines


async def _events(lines: list[str]) -> list:
    return [e async for e in read_stream(sse_batches(_chunks(lines)), StreamState())]


@pytest.mark.parametrize(
    "name",
    [
        "responses-stream-code-interpreter.vercel-ai.ndjson",
        "azure-responses-stream-code-interpreter.vercel-ai.ndjson",
    ],
)
async def test_captured_streams_translate_faithfully(name: str) -> None:
    payloads = [json.loads(line) for line in (SAMPLES / name).read_text().splitlines() if line]
    events = await _events(_framed(payloads))
    assert isinstance(events[0], ResponseStarted)
    assert events[0].response_id == payloads[0]["response"]["id"]
    calls = [
        p["item"]
        for p in payloads
        if p["type"] == "response.output_item.done" and p["item"]["type"] == "code_interpreter_call"
    ]
    finished_runs = [e for e in events if isinstance(e, CodeFinished)]
    assert len([e for e in events if isinstance(e, CodeStarted)]) == len(calls)
    assert [r.code for r in finished_runs] == [c["code"] for c in calls]
    assert all(r.ok for r in finished_runs)
    assert any(r.logs for r in finished_runs)
    final = events[-1]
    assert isinstance(final, Finished)
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == final.text
    assert final.usage["output_tokens"] > 0
    cited = [
        p["annotation"] for p in payloads if p["type"] == "response.output_text.annotation.added"
    ]
    assert [c.file_id for c in final.citations] == [a["file_id"] for a in cited]


async def test_the_raw_sse_capture_parses() -> None:
    raw = (SAMPLES / "responses-stream-raw-sse.opensecret.sse").read_text().splitlines()
    events = await _events(raw)
    assert isinstance(events[0], ResponseStarted)
    assert isinstance(events[-1], Finished)
    assert events[-1].text


async def test_sse_framing_details() -> None:
    lines = [
        ": keep-alive comment",
        "event: x",
        'data: {"type": "a",',
        'data: "n": 1}',
        "",
        "data:[DONE]",
        "",
        'data: {"type": "never"}',
        "",
    ]
    got = [p async for batch in sse_batches(_chunks(lines, size=5)) for p in batch]
    assert got == [{"type": "a", "n": 1}]
    crlf = 'event: y\r\ndata: {"type": "b"}\r\n\r\n'
    for size in range(1, 8):  # every way of cutting the CRLFs apart
        got = [p async for batch in sse_batches(_chunks([crlf], size=size)) for p in batch]
        assert got == [{"type": "b"}], size


def _start() -> dict:
    return {
        "type": "response.created",
        "sequence_number": 0,
        "response": {"id": "resp_1", "created_at": 1, "status": "in_progress", "output": []},
    }


def _delta(text: str, seq: int) -> dict:
    return {
        "type": "response.output_text.delta",
        "sequence_number": seq,
        "delta": text,
        "output_index": 0,
        "item_id": "msg_1",
        "content_index": 0,
    }


@pytest.mark.parametrize(
    ("failure", "expected"),
    [
        (
            {
                "type": "error",
                "sequence_number": 2,
                "error": {
                    "type": "insufficient_quota",
                    "code": "credit_balance_exhausted",
                    "message": "out of credit",
                    "param": None,
                },
            },
            QuotaExceeded,
        ),
        (
            {
                "type": "error",
                "sequence_number": 2,
                "code": "rate_limit_exceeded",
                "message": "slow down",
                "param": None,
            },
            RateLimited,
        ),
        (
            {
                "type": "response.failed",
                "sequence_number": 2,
                "response": {
                    "id": "resp_1",
                    "status": "failed",
                    "error": {"code": "server_error", "message": "boom"},
                },
            },
            EngineFailed,
        ),
        (
            {
                "type": "error",
                "sequence_number": 2,
                "error": {"code": None, "message": "Container is expired."},
            },
            ContainerExpired,
        ),
    ],
)
@pytest.mark.parametrize("chunk", [7, 97, 1_000_000])  # 1 MB: error and text in one read
async def test_every_error_shape_raises(failure: dict, expected: type, chunk: int) -> None:
    lines = _framed([_start(), _delta("partial ", 1), _delta("text", 2), failure])
    seen: list = []

    async def consume() -> None:
        async for event in read_stream(sse_batches(_chunks(lines, chunk)), StreamState()):
            seen.append(event)

    with pytest.raises(expected):
        await consume()
    assert "".join(e.text for e in seen if isinstance(e, TextDelta)) == "partial text"


async def test_a_stream_that_just_ends_is_a_dropped_stream() -> None:
    with pytest.raises(StreamDropped):
        await _events(_framed([_start(), _delta("half", 1)]))


async def test_refusal_and_incomplete() -> None:
    refused = {
        "type": "response.completed",
        "sequence_number": 3,
        "response": {
            "id": "resp_1",
            "status": "completed",
            "usage": {},
            "output": [{"type": "message", "content": [{"type": "refusal", "refusal": "No."}]}],
        },
    }
    with pytest.raises(ContentRefused):
        await _events(_framed([_start(), refused]))
    incomplete = {
        "type": "response.incomplete",
        "sequence_number": 3,
        "response": {
            "id": "resp_1",
            "status": "incomplete",
            "usage": {"output_tokens": 5},
            "incomplete_details": {"reason": "max_output_tokens"},
            "output": [
                {
                    "type": "message",
                    "content": [{"type": "output_text", "text": "cut", "annotations": []}],
                }
            ],
        },
    }
    events = await _events(_framed([_start(), _delta("cut", 1), incomplete]))
    assert events[-1].incomplete_reason == "max_output_tokens"
    assert events[-1].text == "cut"


@pytest.mark.parametrize(
    ("status", "code", "message", "gone"),
    [
        (400, "container_expired", "Container is expired.", True),
        (400, None, "Container is expired.", True),  # Azure sends no code
        (404, None, "Container with id 'cntr_1' not found.", True),
        (404, None, "No container found with id 'cntr_1'.", True),
        (404, None, "No file found with id 'file-1'.", False),
        (400, None, "Invalid 'container': expected a string.", False),
    ],
)
def test_every_shape_of_a_gone_container_is_recognised(
    status: int, code: str | None, message: str, gone: bool
) -> None:
    assert isinstance(from_code(code, message, status=status), ContainerExpired) is gone
