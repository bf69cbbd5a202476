"""What the store hands back: frozen snapshots of rows (the store persists these types)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from bot.core.tools import ALL_TOOLS as ALL_TOOLS  # re-exported for the store
from bot.core.turns import ThreadKey, Turn

TurnStatus = Literal["queued", "running", "done", "failed", "cancelled", "interrupted"]
FinalStatus = Literal["done", "failed", "cancelled", "interrupted"]


@dataclass(frozen=True)
class ThreadState:
    """A Slack thread and the OpenAI resources bound to it."""

    id: int
    key: ThreadKey
    conversation_id: str | None
    """The OpenAI conversation (conv_…) holding the thread's history."""
    container_id: str | None
    """The code-interpreter container last used; it may have expired since."""
    vector_store_id: str | None
    engaged: bool
    """The bot answers follow-ups here without a mention."""


@dataclass(frozen=True)
class StoredFile:
    """A Slack file already uploaded to OpenAI (uploaded once per workspace)."""

    id: int
    slack_file_id: str
    name: str
    mimetype: str
    size: int
    sha256: str
    openai_file_id: str
    permalink: str | None = None
    """Where people open it in Slack (answers cite documents with it)."""
    uploaded_at: datetime | None = None
    """When it was uploaded to OpenAI (the upload expires a set time after that)."""


@dataclass(frozen=True)
class ThreadFile:
    """A file of a thread and where it sits in the thread's current container."""

    file: StoredFile
    container_id: str | None
    container_file_id: str | None
    container_path: str | None
    """Absolute path inside the container (read from the API, not guessed)."""
    vector_store_id: str | None = None
    """The thread's vector store this document was indexed in (None: not yet)."""
    search_status: str | None = None
    """How indexing ended: `completed` or `failed`."""


@dataclass(frozen=True)
class StoredTurn:
    """A turn as recorded: the request plus its place in the queue and its outcome so far."""

    id: int
    thread_id: int
    turn: Turn
    status: TurnStatus
    attempts: int
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    lease_owner: str | None = None
    response_id: str | None = None
    last_sequence: int | None = None
    reply_ts: str | None = None
    progress: dict[str, Any] | None = None
    """How far the turn got while it ran (`bot.core.progress.Progress`), for a takeover."""
    error_code: str | None = None
    error_ref: str | None = None
    usage: dict[str, Any] | None = None
    code_runs: list[dict[str, Any]] | None = None
    timings: dict[str, Any] | None = None
    answer_text: str | None = None
    """The answer's final Markdown as shown (links point at the posted files)."""


@dataclass(frozen=True)
class TurnOutcome:
    """How a turn ended, written once when it finishes."""

    status: FinalStatus
    response_id: str | None = None
    reply_ts: str | None = None
    usage: dict[str, Any] | None = None
    timings: dict[str, Any] | None = None
    code_runs: list[dict[str, Any]] = field(default_factory=list)
    error_code: str | None = None
    error_ref: str | None = None
    cancelled_by: str | None = None
    answer_text: str | None = None


@dataclass(frozen=True)
class Artifact:
    """A file the model produced in a turn and that was posted to Slack."""

    turn_id: int
    name: str
    sha256: str
    size: int
    container_file_id: str | None = None
    slack_file_id: str | None = None
    """The posted Slack file (F…): fetched again for a notebook export."""
    permalink: str | None = None


@dataclass(frozen=True)
class StagedReply:
    """One final message of a turn in the outbox: how it must look, and where it is."""

    seq: int
    """Its order among the turn's final messages."""
    payload: dict[str, Any]
    """The message as the chat surface renders it (opaque to the core)."""
    ts: str | None = None
    """The message it replaces or completes, when one was already posted."""
    delivered: bool = False


@dataclass(frozen=True)
class ChannelProfile:
    """A channel's analyst: what every turn there adds to the bot's own settings.

    The defaults are the bot's: no extra instructions, the configured model and the model's
    own reasoning effort, every tool on, quick looks at dropped data files on."""

    instructions: str = ""
    """Added to the bot's instructions in a delimited section (they cannot override them)."""
    model: str | None = None
    """One of `ANALYST_MODELS`; None: `ANALYST_MODEL`."""
    reasoning_effort: str | None = None
    """OpenAI's `reasoning.effort`; None: not sent (the model's default)."""
    auto_profile: bool = True
    """Profile data files dropped in the channel without a question."""
    tools: frozenset[str] = ALL_TOOLS
    """Enabled tools (`bot.core.tools`)."""
    updated_by: str | None = None
    """Slack user id of whoever changed it last; None: never changed (or set by the file)."""
    updated_at: datetime | None = None


@dataclass(frozen=True)
class TurnUsage:
    """What one run of a turn cost, kept apart from the turn: retention deletes turns and their
    content, never these figures (they name no content, and no row they point at must exist).

    Token figures are summed over every model response of the turn (its function-call rounds,
    a restart on a fresh container). `input_tokens` includes the cached ones and
    `output_tokens` the reasoning ones, as OpenAI reports them."""

    team_id: str
    channel_id: str
    user_id: str
    thread_ts: str
    turn_id: int
    model: str
    """The model asked (the channel's, else `ANALYST_MODEL`)."""
    responses: int
    """Model responses the turn started."""
    unmetered: int
    """Of those, the ones that ended without reporting usage (stopped, connection lost): the
    token figures are then a floor, and all None when no response reported any."""
    input_tokens: int | None
    cached_input_tokens: int | None
    output_tokens: int | None
    reasoning_tokens: int | None
    container_sessions: int
    """Code-interpreter containers created for the turn."""
    file_searches: int
    """`file_search` calls the model made."""
    cost_usd: float | None
    """The estimate from the price table; None when the model has no price."""
    created_at: datetime | None = None


@dataclass(frozen=True)
class UsageTotals:
    """Usage figures added up over a group of turns (a workspace, a channel, a person)."""

    team_id: str | None
    """None when the group spans workspaces (the grand total)."""
    subject: str | None
    """The channel or user id when grouped by one; None for a workspace's own total."""
    turns: int
    input_tokens: int = 0
    cached_input_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int = 0
    container_sessions: int = 0
    file_searches: int = 0
    cost_usd: float = 0.0
    """What is known: turns without a price add nothing."""
    unknown: int = 0
    """Turns whose tokens or cost are not (fully) known."""


RemoteKind = Literal["conversation", "container", "vector_store", "file"]


@dataclass(frozen=True)
class RemoteObject:
    """Something stored at OpenAI on a thread's behalf, to be deleted by the retention job."""

    kind: RemoteKind
    object_id: str


@dataclass(frozen=True)
class ExpiredThread:
    """A thread whose data is due for deletion."""

    id: int
    key: ThreadKey
    last_active: datetime
    """`threads.updated_at`: its last question (or the bot's last work in it)."""
    removed_at: datetime | None = None
    """When its workspace removed the app (it was started before): due whatever its age."""

    @property
    def retired(self) -> bool:
        return self.removed_at is not None


@dataclass(frozen=True)
class PurgedThread:
    """A thread deleted (or, in a dry run, to be deleted) and the OpenAI objects it left."""

    key: ThreadKey
    last_active: datetime
    objects: tuple[RemoteObject, ...]
    retired: bool = False


@dataclass(frozen=True)
class PendingDeletion:
    """An OpenAI object queued for deletion (its local records are already gone)."""

    id: int
    team_id: str
    object: RemoteObject


@dataclass(frozen=True)
class Installation:
    """The app installed in one workspace through OAuth: the workspace's bot and its token."""

    team_id: str
    team_name: str
    enterprise_id: str | None
    """The Enterprise Grid organisation the workspace belongs to, if any."""
    app_id: str
    bot_user_id: str
    bot_id: str
    bot_token: str = field(repr=False)
    """xoxb-…: every Slack call for this workspace sends it."""
    bot_scopes: str
    """Comma-separated, as Slack granted them."""
    installer_user_id: str
    installed_at: datetime
