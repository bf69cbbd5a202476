"""The engine's own small event types: what a model response means to the bot.

The engine turns OpenAI stream events into these; the service and renderers never see an
OpenAI type. Errors are not events: the engine raises `bot.errors.EngineError` subclasses.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
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
class SearchStarted:
    """The model started searching the thread's documents (`file_search`)."""

    call_id: str


@dataclass(frozen=True)
class SearchFinished:
    """A document search ended."""

    call_id: str
    queries: tuple[str, ...]
    ok: bool


@dataclass(frozen=True)
class Source:
    """A document the answer cites (`file_citation`): an uploaded file's id and name."""

    file_id: str
    filename: str


@dataclass(frozen=True)
class FunctionCall:
    """The model asks the bot to run one of its function tools (the response then ends;
    the bot answers in the next request of the same turn)."""

    call_id: str
    name: str
    arguments: str
    """The arguments as the model wrote them: JSON text, not yet checked."""


@dataclass(frozen=True)
class Finished:
    """The response ended (completed, or incomplete with a reason)."""

    response_id: str
    text: str
    """The whole answer text, as the model wrote it (with `sandbox:` links)."""
    citations: tuple[Citation, ...] = ()
    sources: tuple[Source, ...] = ()
    """Documents the answer cites, in order of first citation."""
    usage: dict[str, Any] = field(default_factory=dict)
    incomplete_reason: str | None = None
    """`max_output_tokens` etc. when the answer was cut short; None when complete."""


@dataclass(frozen=True)
class UsageReported:
    """A response that ended without a `Finished` (failed, refused) still reported what it
    used: it is billed, so it is counted. Not shown to the reader."""

    response_id: str
    usage: dict[str, Any]


@dataclass(frozen=True)
class Position:
    """How far the response's stream has been read: the `sequence_number` of its last
    event so far (a stream that broke is read again after it)."""

    sequence: int


EngineEvent = (
    ResponseStarted
    | TextDelta
    | CodeStarted
    | CodeReady
    | CodeFinished
    | SearchStarted
    | SearchFinished
    | FunctionCall
    | Finished
    | UsageReported
    | Position
)


@dataclass(frozen=True)
class FunctionSpec:
    """A function tool as the model sees it."""

    name: str
    description: str
    parameters: dict[str, Any]
    """JSON Schema of the arguments (strict: every property required, no extras)."""


@dataclass(frozen=True)
class FunctionOutput:
    """What the bot answers to one `FunctionCall`."""

    call_id: str
    output: str


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
    vector_store_id: str | None = None
    """The thread's documents, searchable with `file_search` (None: no documents)."""
    functions: tuple[FunctionSpec, ...] = ()
    """The function tools offered."""
    function_outputs: tuple[FunctionOutput, ...] = ()
    """Answers to the function calls of the previous response of this turn (a continuation
    sends these instead of the user's message)."""
    tools_allowed: bool = True
    """False for a last round that must answer in words (`tool_choice: "none"`)."""

    def continued(
        self, outputs: tuple[FunctionOutput, ...], *, tools_allowed: bool = True
    ) -> ModelRequest:
        """The next request of the turn: the function outputs, no new user message."""
        return replace(
            self,
            text="",
            image_file_ids=(),
            force_python=False,
            function_outputs=outputs,
            tools_allowed=tools_allowed,
        )


@dataclass(frozen=True)
class Placement:
    """Where an uploaded file sits inside a container."""

    container_file_id: str
    path: str


@dataclass(frozen=True)
class Indexed:
    """How adding a document to a vector store ended."""

    status: str
    """`completed` (searchable), `failed`, `cancelled`, or `in_progress` (still going)."""
    error_code: str | None = None
    """Why it failed (`unsupported_file`, `invalid_file`, `server_error`)."""


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
class PostedFile:
    """Where a produced file went."""

    link: str
    """What the answer's links now point to (a Slack permalink, a saved path)."""
    file_id: str | None = None
    """The chat surface's own id for it (Slack `F…`), to fetch it again later."""


@dataclass(frozen=True)
class Step:
    """A unit of visible progress (reading a file, one code run), shown by renderers."""

    id: str
    title: str
    status: StepStatus
    details: str = ""
