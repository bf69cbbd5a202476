"""What the core needs from the store: small Protocols the `store` package satisfies.

The turn queue, thread state and files, artifacts and feedback, channel switches and the
action log, and what the retention job deletes; `store.Store` is plugged in by the
composition root.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Literal, Protocol

from bot.core.records import (
    Artifact,
    ExpiredThread,
    PendingDeletion,
    PurgedThread,
    RemoteObject,
    StagedReply,
    StoredFile,
    StoredTurn,
    ThreadFile,
    ThreadState,
    TurnOutcome,
    TurnUsage,
    UsageTotals,
)
from bot.core.turns import ThreadKey, Turn


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
        vector_store_id: str | None = None,
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
        permalink: str | None = None,
    ) -> StoredFile: ...

    async def replace_upload(
        self,
        team_id: str,
        *,
        slack_file_id: str,
        name: str,
        mimetype: str,
        size: int,
        sha256: str,
        openai_file_id: str,
        permalink: str | None = None,
    ) -> StoredFile:
        """A new upload of a file whose earlier upload expired at OpenAI."""
        ...

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

    async def index_file(
        self, thread_id: int, file_id: int, *, vector_store_id: str, status: str
    ) -> None: ...


class Turns(Protocol):
    """The durable turn queue (see `store.turns.TurnQueue`)."""

    async def add(self, turn: Turn) -> int | None: ...

    async def park(self, turn: Turn) -> list[int]: ...

    async def record(self, turn: Turn) -> StoredTurn | None: ...

    async def get(self, turn_id: int) -> StoredTurn | None: ...

    async def of_thread(self, thread_id: int) -> list[StoredTurn]: ...

    async def claim(self, owner: str, *, limit: int, lease_s: float) -> list[StoredTurn]: ...

    async def renew(self, owner: str, turn_ids: list[int], *, lease_s: float) -> set[int]: ...

    async def finish(self, turn_id: int, outcome: TurnOutcome, *, owner: str | None) -> bool: ...

    async def interrupt_expired(
        self, *, except_owner: str | None = None, max_attempts: int | None = None
    ) -> list[StoredTurn]: ...

    async def claim_expired(
        self, owner: str, *, limit: int, lease_s: float, max_attempts: int
    ) -> list[StoredTurn]: ...

    async def save_progress(
        self,
        stored: StoredTurn,
        progress: dict[str, Any],
        *,
        response_id: str | None,
        last_sequence: int | None,
    ) -> bool: ...

    async def claim_undelivered(self, owner: str, *, lease_s: float) -> list[StoredTurn]: ...

    async def release(self, turn_id: int, *, owner: str) -> None: ...

    async def askers(self, thread_id: int) -> set[str]: ...

    async def running(self, key: ThreadKey) -> StoredTurn | None: ...

    async def request_cancel(self, turn_id: int, *, by: str) -> bool: ...

    async def cancel_requests(self, owner: str) -> dict[int, str]: ...

    async def stop_workspace(self, team_id: str, *, by: str) -> list[int]: ...


class Replies(Protocol):
    """The outbox of final messages (see `store.replies.ReplyLog`)."""

    async def stage(self, turn_id: int, replies: list[StagedReply]) -> None: ...

    async def delivered(self, turn_id: int, seq: int, ts: str) -> None: ...

    async def undelivered(self, turn_id: int) -> list[StagedReply]: ...


class Artifacts(Protocol):
    async def add(self, artifact: Artifact) -> bool: ...

    async def for_turn(self, turn_id: int) -> list[Artifact]: ...

    async def set_feedback(self, turn_id: int, user_id: str, value: str) -> None: ...


class Channels(Protocol):
    """Per-channel switches (the whole profile: `bot.core.channel_profiles`)."""

    async def auto_profile(self, team_id: str, channel_id: str) -> bool: ...

    async def set_auto_profile(self, team_id: str, channel_id: str, enabled: bool) -> bool:
        """False when the channel's settings may not be changed here (nothing changed)."""
        ...


class Actions(Protocol):
    async def claim(self, key: str, *, window_s: float) -> bool: ...


class Retired(Protocol):
    """Workspaces the app was removed from (`store.workspaces.RetiredWorkspaces`)."""

    async def retire(self, team_id: str) -> None: ...

    async def retired(self) -> list[str]: ...

    async def retired_since(self) -> dict[str, datetime]: ...

    async def returned(self, team_id: str) -> None: ...

    async def away(self) -> list[str]: ...

    async def forget(self, team_id: str) -> None: ...


Grouping = Literal["user", "channel", "workspace"]


class UsageLog(Protocol):
    """What turns cost, kept apart from the turns (see `store.usage.UsageLog`)."""

    async def record(self, usage: TurnUsage) -> None: ...

    async def spent(
        self,
        team_id: str,
        *,
        since: datetime,
        user_id: str | None = None,
        channel_id: str | None = None,
    ) -> float:
        """The known cost (USD) of the workspace's turns since then (of a person, a channel)."""
        ...

    async def totals(
        self,
        *,
        since: datetime,
        by: Grouping,
        team_id: str | None = None,
        user_id: str | None = None,
        limit: int | None = None,
    ) -> list[UsageTotals]:
        """Figures per group, costliest first."""
        ...

    async def claim_notice(self, team_id: str, budget: str, subject: str, period: datetime) -> bool:
        """True the first time a budget's near-the-limit notice is claimed for this period."""
        ...


class Retention(Protocol):
    """Local deletion of expired data (see `store.retention.RetentionStore`)."""

    async def expired(
        self, *, cutoff: datetime, removed: Mapping[str, datetime], limit: int
    ) -> list[ExpiredThread]: ...

    async def purge(self, thread: ExpiredThread, *, cutoff: datetime) -> PurgedThread | None: ...

    async def plan(
        self, candidates: Sequence[ExpiredThread], *, cutoff: datetime
    ) -> list[PurgedThread]: ...

    async def orphan_files(
        self,
        *,
        cutoff: datetime,
        removed: Mapping[str, datetime],
        limit: int,
        dry_run: bool = False,
    ) -> list[tuple[str, RemoteObject]]: ...

    async def finish_workspace(self, team_id: str, *, removed_at: datetime) -> bool: ...

    async def sweep_actions(self, *, cutoff: datetime) -> int: ...


class Deletions(Protocol):
    """OpenAI objects waiting to be deleted (see `store.deletions.DeletionQueue`)."""

    async def claim(self, owner: str, *, limit: int, lease_s: float) -> list[PendingDeletion]: ...

    async def done(self, ids: Sequence[int]) -> None: ...

    async def pending(self, *, limit: int) -> list[PendingDeletion]: ...


class Store(Protocol):
    """The store's parts the service uses."""

    @property
    def threads(self) -> Threads: ...

    @property
    def turns(self) -> Turns: ...

    @property
    def artifacts(self) -> Artifacts: ...

    @property
    def replies(self) -> Replies: ...

    @property
    def actions(self) -> Actions: ...

    @property
    def channels(self) -> Channels: ...

    @property
    def retired(self) -> Retired: ...

    @property
    def usage(self) -> UsageLog: ...
