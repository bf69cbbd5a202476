"""The small Protocols the core needs from the outside world; implementations satisfy them
structurally and are plugged in by the composition root (`bot.runtime`).

    Engine        the model side (OpenAI): files, conversations, containers, responses, and
                  deleting them (the retention job)
    AnswerView    one turn's answer as its reader sees it: status, steps, text, errors
    Attachments   the files a turn produced, posted next to its answer
    Renderer      both of the above, for one turn (Slack thread, terminal)
    Notices       posts about a thread that are not an answer (queued, ephemeral, code)
    Directory     who people are;  ThreadHistory  what was said before the bot joined
    ProfileSource the analyst profile of a turn's channel
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping, Sequence
from typing import IO, Protocol

from bot.core.events import (
    EngineEvent,
    Indexed,
    ModelRequest,
    OutputFile,
    Placement,
    PostedFile,
    ProducedFile,
    Step,
)
from bot.core.records import ChannelProfile
from bot.core.turns import PriorMessage, ThreadKey, UserInfo
from bot.core.visuals import Visual


class ByteSink(Protocol):
    """Where downloaded bytes go (a file, or something that hashes on the way)."""

    def write(self, data: bytes, /) -> object: ...


class Engine(Protocol):
    """The model side (OpenAI): files, conversations, containers, responses."""

    async def upload(self, *, name: str, data: IO[bytes], mimetype: str) -> str: ...

    async def new_conversation(self, key: ThreadKey) -> str: ...

    async def new_container(self, key: ThreadKey) -> str: ...

    async def place_file(self, container_id: str, file_id: str) -> Placement: ...

    async def new_vector_store(self, key: ThreadKey) -> str: ...

    async def index_file(self, vector_store_id: str, file_id: str) -> Indexed: ...

    def respond(self, request: ModelRequest) -> AsyncGenerator[EngineEvent, None]: ...

    def reattach(
        self, response_id: str, *, after: int | None = None
    ) -> AsyncGenerator[EngineEvent, None]:
        """A background response's events after `after` (None: all), then live."""
        ...

    async def stop_response(self, response_id: str) -> None:
        """Stop a background response (best effort)."""

    async def outputs(
        self, container_id: str, *, since: float, cited: set[str]
    ) -> list[OutputFile]: ...

    async def download(self, output: OutputFile, sink: ByteSink, *, max_bytes: int) -> int: ...

    # Deleting (the retention job): True when deleted, False when it was already gone.

    async def delete_conversation(self, conversation_id: str) -> bool:
        """The conversation and its items (deleting a conversation alone keeps them)."""
        ...

    async def delete_container(self, container_id: str) -> bool: ...

    async def delete_file(self, file_id: str) -> bool: ...

    async def delete_vector_store(self, vector_store_id: str) -> bool: ...


class AnswerView(Protocol):
    """One turn's answer as its reader sees it, from the first status to the last word."""

    @property
    def reply_ts(self) -> str | None:
        """Where the answer starts (Slack `ts`), once something was posted."""
        ...

    async def title(self, text: str) -> None:
        """Name the conversation after its first question (called before the first status)."""
        ...

    async def status(self, text: str, loading: Sequence[str] = ()) -> None: ...

    async def step(self, step: Step) -> None: ...

    async def show(self, event: EngineEvent) -> None: ...

    async def visual(self, visual: Visual) -> None:
        """A chart or table the model asked for, at this point of the answer."""
        ...

    async def end_text(
        self,
        note: str | None = None,
        *,
        show_code: bool = False,
        controls: bool = True,
        error_code: str | None = None,
    ) -> None:
        """The text is complete: flush it and add the answer's controls (`error_code`: the
        answer is shown but the turn did not end well, e.g. cut short)."""
        ...

    async def error(self, text: str, *, retry: bool = False) -> None: ...

    async def restart(self, note: str) -> None:
        """Start the answer over (a fresh container), noting why after what was shown."""
        ...

    async def close(self) -> None:
        """End whatever is open and clear the status; safe to call more than once."""
        ...

    @property
    def messages(self) -> list[str]:
        """The messages the answer has posted so far (Slack `ts`, since the last restart)."""
        ...

    def on_message(self, listener: Callable[[], Awaitable[None]]) -> None:
        """Await `listener` whenever the answer posts a message (its `messages` grew),
        before writing to that message again."""
        ...

    async def retract(self, messages: Sequence[str]) -> None:
        """Remove the messages an earlier attempt of the turn left (a worker that died):
        the turn shows its answer again, once."""
        ...


class Attachments(Protocol):
    """Files next to an answer."""

    async def attach(
        self,
        files: Sequence[ProducedFile],
        *,
        aliases: Mapping[str, str],
        failed: Sequence[str] = (),
    ) -> dict[str, PostedFile]:
        """Post `files`; point the answer's links at them (`aliases`: another path → the
        path of a posted file with the same bytes); say which files (`failed`, by name)
        could not be fetched. Returns container path → where it went."""
        ...


class Renderer(AnswerView, Attachments, Protocol):
    """Shows one turn (Slack thread, terminal)."""


class Notices(Protocol):
    """Posts about a thread that belong to no answer."""

    async def reply(self, key: ThreadKey, text: str) -> str:
        """A message in the thread, for everyone; returns its id."""
        ...

    async def queued(self, key: ThreadKey, user_id: str) -> None:
        """Tell `user_id` their question waits behind the one being answered."""
        ...

    async def notify(self, key: ThreadKey, user_id: str, text: str) -> None:
        """A message only `user_id` sees, in the thread."""
        ...

    async def post_code(self, key: ThreadKey, name: str, code: str) -> None:
        """Python source as a file in the thread."""
        ...

    async def post_file(
        self, key: ThreadKey, *, name: str, title: str, content: IO[bytes], size: int
    ) -> bool:
        """A file in the thread (read from `content`, `size` bytes); False when it could
        not be posted."""
        ...

    async def suggest_prompts(self, channel_id: str, *, team_id: str) -> None:
        """Pin suggested first questions in a Messages tab."""
        ...

    async def idle(self, key: ThreadKey) -> None:
        """Nothing runs in the thread: end a status (agent session) left showing work."""
        ...


class Directory(Protocol):
    """Who people are (display name, time zone), as the workspace asking sees them."""

    async def user(self, user_id: str, *, team_id: str) -> UserInfo: ...


class ThreadHistory(Protocol):
    """What was said in a thread before the bot joined it, and by whom."""

    async def participants(self, key: ThreadKey) -> set[str]: ...

    async def earlier(
        self, key: ThreadKey, *, before_ts: str, limit: int
    ) -> list[PriorMessage]: ...


class ProfileSource(Protocol):
    """The analyst profile each channel's turns use (see `bot.core.channel_profiles`)."""

    async def for_turn(self, team_id: str, channel_id: str) -> ChannelProfile: ...
