"""What the fake OpenAI "model" does, scripted per response by each test.

A test describes a turn as data::

    fake.model.enqueue(
        ScriptedTurn(
            text="Revenue grew 12%. [Chart](sandbox:/mnt/data/chart.png)",
            runs=(CodeRun("df.plot()", logs="ok", files=(GeneratedFile("chart.png", png),)),),
        )
    )

`FakeOpenAI` turns it into the real wire shapes (event order, citations, container files).
Turns are taken FIFO from the queue; when the queue is empty `ScriptedModel.responder`
(if set) builds one from the request body; otherwise `ScriptedModel.default` answers.

Failures (`Failure`) cover the three real error shapes plus transport faults:

- `HttpError`: an HTTP error before any stream starts (401, 429 + retry-after, 500, ...).
- `ErrorEvent`: an ``error`` event mid-stream, nested (the SDK raises ``APIError``) or flat
  (the SDK yields a ``ResponseErrorEvent``).
- `ResponseFailed` / `ResponseIncomplete`: ``response.failed`` / ``response.incomplete``.
- `Stall`: the server stops sending but keeps the connection open.
- `Drop`: the server aborts the TCP connection mid-stream.
- `ContainerExpiresMidTurn`: the container expires after a code run; an error event follows.
"""

from __future__ import annotations

import re
import struct
import zlib
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "CallFunction",
    "CodeRun",
    "ContainerExpiresMidTurn",
    "Drop",
    "ErrorEvent",
    "FileSearch",
    "Failure",
    "GeneratedFile",
    "HttpError",
    "ResponseFailed",
    "ResponseIncomplete",
    "ScriptedModel",
    "ScriptedTurn",
    "Stall",
    "echo_turn",
    "function_outputs",
    "tiny_png",
]


@dataclass(frozen=True)
class GeneratedFile:
    """A file the model's code writes to ``/mnt/data/<name>`` (source "assistant")."""

    name: str
    content: bytes
    cite: bool = True
    """Cite it with a ``container_file_citation`` (spanning its ``sandbox:`` link, or at 0/0)."""


@dataclass(frozen=True)
class CodeRun:
    """One ``code_interpreter_call``: the code, its REPL output and the files it writes."""

    code: str
    logs: str = ""
    files: tuple[GeneratedFile, ...] = ()
    error: bool = False
    """The code raised: the call still completes (as on the real service) but ``logs`` carries
    a traceback (a default one when ``logs`` is empty) and no files are written."""


@dataclass(frozen=True)
class FileSearch:
    """One ``file_search_call`` over the request's vector stores; the answer then cites each
    file named in ``cite`` that is searchable by then (indexed: ``completed``). A named file
    that is not is left uncited and recorded in ``FakeOpenAI.search_misses``."""

    query: str
    cite: tuple[str, ...] = ()


@dataclass(frozen=True)
class CallFunction:
    """One ``function_call`` output item: the model asks the client to run a function tool.

    The response ends after its calls (with no message unless the turn has text); the client
    answers with ``function_call_output`` items in its next request, which takes the next
    scripted turn (or asks the responder, which can read those outputs)."""

    name: str
    arguments: Mapping[str, Any] | str
    """The arguments as an object (sent as its JSON) or a raw string (e.g. malformed JSON)."""
    argument_deltas: int = 3


@dataclass(frozen=True)
class HttpError:
    """Reject ``POST /responses`` with an HTTP error before any stream starts."""

    status: int
    code: str | None
    message: str
    type: str = "invalid_request_error"
    headers: Mapping[str, str] = field(default_factory=dict)
    param: str | None = None


@dataclass(frozen=True)
class ErrorEvent:
    """An ``error`` event after ``after_text_deltas`` text deltas; the stream then ends.

    ``nested=True`` sends ``{"type":"error","error":{...}}`` (seen live; the SDK raises
    ``APIError``), ``nested=False`` the documented flat shape (the SDK yields the event)."""

    after_text_deltas: int = 0
    code: str = "server_error"
    message: str = "The server had an error while processing your request. Sorry about that!"
    nested: bool = True
    type: str = "server_error"


@dataclass(frozen=True)
class ResponseFailed:
    """``response.failed`` after ``after_text_deltas`` text deltas."""

    after_text_deltas: int = 0
    code: str = "server_error"
    message: str = "The model failed to generate a response."


@dataclass(frozen=True)
class ResponseIncomplete:
    """``response.incomplete`` after ``after_text_deltas`` text deltas (text cut there)."""

    after_text_deltas: int = 0
    reason: Literal["max_output_tokens", "content_filter"] = "max_output_tokens"


@dataclass(frozen=True)
class Stall:
    """Stop sending after ``after_text_deltas`` text deltas, keep the connection open until the
    client goes away or ``FakeOpenAI.release_stalls()`` (then the turn continues)."""

    after_text_deltas: int = 0


@dataclass(frozen=True)
class Drop:
    """Abort the TCP connection after ``after_text_deltas`` text deltas. A background
    response goes on; with ``connections`` > 1 that many connections in a row break (each
    reattached one after one more event)."""

    after_text_deltas: int = 0
    connections: int = 1


@dataclass(frozen=True)
class ContainerExpiresMidTurn:
    """The container expires right after code run ``after_run_index`` (0-based) completes;
    an ``error`` event "Container is expired." follows and the response fails."""

    after_run_index: int = 0
    nested: bool = True


Failure = (
    HttpError
    | ErrorEvent
    | ResponseFailed
    | ResponseIncomplete
    | Stall
    | Drop
    | ContainerExpiresMidTurn
)


@dataclass(frozen=True)
class ScriptedTurn:
    """Everything the model does in one response."""

    text: str = "Here is my answer."
    runs: tuple[CodeRun, ...] = ()
    searches: tuple[FileSearch, ...] = ()
    """Document searches after the code runs (before any calls and the message)."""
    calls: tuple[CallFunction, ...] = ()
    """Function calls after the code runs; with calls and ``text=""`` there is no message."""
    text_deltas: int | None = None
    """Split ``text`` into this many deltas; default: about one delta per 20 characters."""
    delta_delay: float = 0.0
    """Seconds between text deltas (real time, e.g. 0.01 to watch a stream build up)."""
    code_delta_delay: float = 0.0
    duplicate_image_citation: bool = False
    """W2: also cite each cited PNG as ``cfile_<id>.png`` at index 0/0 — a separate container
    file with identical bytes, as the real service does for displayed figures."""
    refusal: str | None = None
    """Answer with a ``refusal`` content part instead of ``text``."""
    usage: Mapping[str, Any] | None = None
    """Override (merged over) the computed ``usage`` object."""
    failure: Failure | None = None
    reasoning_items: bool = True
    """Emit an (empty-summary) ``reasoning`` item before each code run and the message (W1)."""


Responder = Callable[[dict[str, Any]], ScriptedTurn]


class ScriptedModel:
    """The fake's model: a FIFO of scripted turns, an optional responder, a default turn."""

    def __init__(self, default: ScriptedTurn | None = None) -> None:
        self.default = default or ScriptedTurn(text="Here is my answer.")
        self.responder: Responder | None = None
        self.seen: list[dict[str, Any]] = []
        """Every request body the model was asked to answer, in order."""
        self._queue: deque[ScriptedTurn] = deque()

    def enqueue(self, *turns: ScriptedTurn) -> None:
        self._queue.extend(turns)

    @property
    def pending(self) -> int:
        """Scripted turns not yet used."""
        return len(self._queue)

    def next_turn(self, request: dict[str, Any]) -> ScriptedTurn:
        self.seen.append(request)
        if self._queue:
            return self._queue.popleft()
        if self.responder is not None:
            return self.responder(request)
        return self.default


def tiny_png(width: int = 48, height: int = 32, bars: tuple[int, ...] = (30, 60, 45, 90)) -> bytes:
    """A small valid PNG bar chart (RGB), built without any imaging library."""
    rows = []
    bar_width = max(1, width // max(1, len(bars)))
    for y in range(height):
        row = bytearray([0])  # filter type 0 for each scanline
        for x in range(width):
            index = min(x // bar_width, len(bars) - 1)
            filled = (height - y) * 100 <= bars[index] * height and x % bar_width != 0
            row += bytes((31, 119, 180) if filled else (255, 255, 255))
        rows.append(bytes(row))

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"".join(rows)))
        + chunk(b"IEND", b"")
    )


def _last_user_text(request: dict[str, Any]) -> str:
    value = request.get("input")
    if isinstance(value, str):
        return value
    for item in reversed(value or []):
        if not isinstance(item, dict) or item.get("role", "user") != "user":
            continue
        if item.get("type", "message") != "message":
            continue
        content = item.get("content")
        if isinstance(content, str):
            return content
        texts = [part.get("text", "") for part in content or [] if isinstance(part, dict)]
        return " ".join(text for text in texts if text)
    return ""


def function_outputs(request: dict[str, Any]) -> dict[str, str]:
    """The ``function_call_output`` items of a request: call id → output."""
    value = request.get("input")
    return {
        str(item.get("call_id")): str(item.get("output"))
        for item in (value if isinstance(value, list) else [])
        if isinstance(item, dict) and item.get("type") == "function_call_output"
    }


def echo_turn(request: dict[str, Any]) -> ScriptedTurn:
    """The hand-run default: echo the question, run one piece of code, chart it as a PNG."""
    question = _last_user_text(request).strip() or "(no question)"
    words = re.findall(r"\w+", question)
    bars = tuple(20 + (len(word) * 17) % 80 for word in words[:6]) or (50,)
    code = (
        "import matplotlib.pyplot as plt\n"
        f"words = {words[:6]!r}\n"
        "plt.bar(range(len(words)), [len(w) for w in words])\n"
        "plt.savefig('/mnt/data/chart.png')\n"
        "len(words)\n"
    )
    return ScriptedTurn(
        text=f'You asked: "{question}". I charted it: [chart](sandbox:/mnt/data/chart.png)',
        runs=(
            CodeRun(
                code, logs=str(len(words)), files=(GeneratedFile("chart.png", tiny_png(bars=bars)),)
            ),
        ),
        delta_delay=0.02,
        code_delta_delay=0.01,
    )
