"""The small Protocols the service needs; implementations satisfy them structurally.

The OpenAI engine, the Slack and terminal renderers, the Slack readers and the store are
plugged in by the composition root (`bot.runtime`), so the service knows no wire format.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from typing import IO, Protocol

from bot.events import EngineEvent, ModelRequest, OutputFile, Placement, ProducedFile, Step
from bot.records import Artifact, StoredFile, StoredTurn, ThreadFile, ThreadState, TurnOutcome
from bot.turns import PriorMessage, SlackFile, ThreadKey, Turn, UserInfo


class Engine(Protocol):
    """The model side (OpenAI): files, conversations, containers, responses."""

    async def upload(self, *, name: str, data: IO[bytes], mimetype: str) -> str: ...

    async def new_conversation(self, key: ThreadKey) -> str: ...

    async def container_alive(self, container_id: str) -> bool: ...

    async def new_container(self, key: ThreadKey) -> str: ...

    async def place_file(self, container_id: str, file_id: str) -> Placement: ...

    def respond(self, request: ModelRequest) -> AsyncIterator[EngineEvent]: ...

    async def outputs(
        self, container_id: str, *, since: float, cited: set[str]
    ) -> list[OutputFile]: ...

    async def download(self, output: OutputFile, sink: IO[bytes], *, max_bytes: int) -> int: ...


class Renderer(Protocol):
    """Shows one turn to the user (Slack thread, terminal…)."""

    @property
    def reply_ts(self) -> str | None: ...

    @property
    def has_output(self) -> bool: ...

    async def status(self, text: str, loading: Sequence[str] = ()) -> None: ...

    async def step(self, step: Step) -> None: ...

    async def show(self, event: EngineEvent) -> None: ...

    async def queued(self) -> None: ...

    async def title(self, text: str) -> None: ...

    async def end_text(
        self, note: str | None = None, *, show_code: bool = False, controls: bool = True
    ) -> None: ...

    async def post_files(self, files: Sequence[ProducedFile]) -> dict[str, str]: ...

    async def relink(self, links: Mapping[str, str]) -> None: ...

    async def error(self, text: str, *, retry: bool = False) -> None: ...

    async def restart(self, note: str) -> None: ...

    async def close(self) -> None: ...

    async def notify(self, user_id: str, text: str) -> None:
        """A message only `user_id` sees, in the turn's thread."""
        ...

    async def post_code(self, name: str, code: str) -> None:
        """Post Python source as a file in the turn's thread."""
        ...


class Surface(Protocol):
    """Posts that belong to no turn."""

    async def suggest_prompts(self, channel_id: str) -> None: ...


class Directory(Protocol):
    """Who people are (display name, time zone)."""

    async def user(self, user_id: str) -> UserInfo: ...


class ThreadHistory(Protocol):
    """What was said in a thread before the bot joined it, and by whom."""

    async def participants(self, key: ThreadKey) -> set[str]: ...

    async def earlier(
        self, key: ThreadKey, *, before_ts: str, limit: int
    ) -> list[PriorMessage]: ...


class FileSource(Protocol):
    """Slack files → complete file objects → bytes relayed to the engine."""

    async def complete(self, file: SlackFile) -> SlackFile: ...


class Threads(Protocol):
    """Thread state and files (see `store.threads.ThreadStore`)."""

    async def get(self, thread_id: int) -> ThreadState: ...

    async def engage(self, key: ThreadKey) -> ThreadState: ...

    async def is_engaged(self, key: ThreadKey) -> bool: ...

    async def bind(
        self,
        thread_id: int,
        *,
        conversation_id: str | None = None,
        container_id: str | None = None,
    ) -> None: ...

    async def find_file(self, team_id: str, slack_file_id: str) -> StoredFile | None: ...

    async def save_file(
        self,
        team_id: str,
        *,
        slack_file_id: str,
        name: str,
        mimetype: str,
        size: int,
        sha256: str,
        openai_file_id: str,
    ) -> StoredFile: ...

    async def attach_file(self, thread_id: int, file_id: int) -> None: ...

    async def thread_files(self, thread_id: int) -> list[ThreadFile]: ...

    async def place_file(
        self,
        thread_id: int,
        file_id: int,
        *,
        container_id: str,
        container_file_id: str,
        path: str,
    ) -> None: ...


class Turns(Protocol):
    """The durable turn queue (see `store.turns.TurnQueue`)."""

    async def add(self, turn: Turn) -> int | None: ...

    async def record(self, turn: Turn) -> StoredTurn | None: ...

    async def get(self, turn_id: int) -> StoredTurn | None: ...

    async def claim(self, owner: str, *, limit: int, lease_s: float) -> list[StoredTurn]: ...

    async def renew(self, owner: str, turn_ids: list[int], *, lease_s: float) -> set[int]: ...

    async def finish(self, turn_id: int, outcome: TurnOutcome, *, owner: str | None) -> bool: ...

    async def interrupt_expired(self) -> list[StoredTurn]: ...

    async def askers(self, thread_id: int) -> set[str]: ...

    async def request_cancel(self, turn_id: int, *, by: str) -> bool: ...

    async def cancel_requests(self, owner: str) -> dict[int, str]: ...


class Artifacts(Protocol):
    async def add(self, artifact: Artifact) -> bool: ...

    async def set_feedback(self, turn_id: int, user_id: str, value: str) -> None: ...


class Channels(Protocol):
    async def auto_profile(self, team_id: str, channel_id: str) -> bool: ...

    async def set_auto_profile(self, team_id: str, channel_id: str, enabled: bool) -> None: ...


class Actions(Protocol):
    async def claim(self, key: str, *, window_s: float) -> bool: ...


class Store(Protocol):
    """The store's parts the service uses."""

    @property
    def threads(self) -> Threads: ...

    @property
    def turns(self) -> Turns: ...

    @property
    def artifacts(self) -> Artifacts: ...

    @property
    def actions(self) -> Actions: ...

    @property
    def channels(self) -> Channels: ...
