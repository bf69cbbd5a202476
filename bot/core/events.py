"""The engine's own small event types: what a model response means to the bot.

The engine turns OpenAI stream events into these; the service and renderers never see an
OpenAI type. Errors are not events: the engine raises `bot.errors.EngineError` subclasses.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import IO, Any, Literal

from bot.core.tools import ALL_TOOLS

StepStatus = Literal["pending", "in_progress", "complete", "error"]


@dataclass(frozen=True)
class ResponseStarted:
    """The model accepted the request."""

    response_id: str
    created_at: float
    """Server time (epoch seconds): container files created after it are this turn's."""


@dataclass(frozen=True)
class TextDelta:
    """More answer text (Markdown)."""

    text: str


@dataclass(frozen=True)
class CodeStarted:
    """The model started a code-interpreter run."""

    run_id: str


@dataclass(frozen=True)
class CodeReady:
    """The code of a run is complete and is being executed."""

    run_id: str
    code: str


@dataclass(frozen=True)
class CodeFinished:
    """A code-interpreter run ended."""

    run_id: str
    code: str
    logs: str
    ok: bool


@dataclass(frozen=True)
class Citation:
    """A container file the answer cites (`container_file_citation`)."""

    container_id: str
    file_id: str
    filename: str


@dataclass(frozen=True)
class Finished:
    """The response ended (completed, or incomplete with a reason)."""

    response_id: str
    text: str
    """The whole answer text, as the model wrote it (with `sandbox:` links)."""
    citations: tuple[Citation, ...] = ()
    usage: dict[str, Any] = field(default_factory=dict)
    incomplete_reason: str | None = None
    """`max_output_tokens` etc. when the answer was cut short; None when complete."""


EngineEvent = ResponseStarted | TextDelta | CodeStarted | CodeReady | CodeFinished | Finished


@dataclass(frozen=True)
class ModelRequest:
    """One turn's request to the model."""

    conversation_id: str
    container_id: str
    instructions: str
    text: str
    """The user's message (with earlier thread messages prepended on first engagement)."""
    image_file_ids: tuple[str, ...] = ()
    force_python: bool = False
    """Data files came with the question: make the model use the python tool."""
    metadata: dict[str, str] = field(default_factory=dict)
    user_hash: str = ""
    """A stable hash of the asking user (OpenAI's `safety_identifier`)."""
    model: str | None = None
    """The channel's model; None: the engine's default (`ANALYST_MODEL`)."""
    reasoning_effort: str | None = None
    """OpenAI's `reasoning.effort`; None: not sent (the model's default)."""
    channel_instructions: str = ""
    """The channel's own instructions (its members' or the admins' file), sent after the bot's
    in a delimited section (`bot.core.instructions.full_instructions`): they cannot override
    the bot's rules."""
    tools: frozenset[str] = ALL_TOOLS
    """Enabled tools (`bot.core.tools`): the engine sends only these."""


@dataclass(frozen=True)
class Placement:
    """Where an uploaded file sits inside a container."""

    container_file_id: str
    path: str


@dataclass(frozen=True)
class OutputFile:
    """A file the model wrote into the container during a turn."""

    container_id: str
    file_id: str
    path: str
    cited: bool


@dataclass(frozen=True)
class ProducedFile:
    """A downloaded output file, ready to post."""

    name: str
    """A safe file name (see `bot.core.files.safe_name`)."""
    path: str
    """Its path in the container (what `sandbox:` links point to)."""
    sha256: str
    size: int
    container_file_id: str
    content: IO[bytes]
    """The bytes, in a (spooled) temporary file at position 0; its maker closes it."""


@dataclass(frozen=True)
class Step:
    """A unit of visible progress (reading a file, one code run), shown by renderers."""

    id: str
    title: str
    status: StepStatus
    details: str = ""
