"""A data file dropped in a channel (no mention): a quick local profile in its thread.

No OpenAI cost until someone asks: the file is read locally (bounded bytes and seconds),
profiled, and answered with columns, sample rows and three suggested questions as
buttons. The thread becomes engaged, so follow-ups need no mention. On by default; a channel
switches it with `@Analyst auto-profile off` (or `on`).
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Protocol

from bot import wording
from bot.core.files import kind_of, safe_extension
from bot.core.storage import Channels, Store
from bot.core.turns import SlackFile, ThreadKey
from bot.errors import FileError, ProfileError
from bot.profile.profiler import DataProfile, profile_file
from bot.profile.questions import suggest_questions
from bot.profile.summary import profile_summary

logger = logging.getLogger(__name__)

PROFILE_TYPES = frozenset({"csv", "tsv", "xlsx", "json", "jsonl", "parquet"})
WHOLE_FILE_TYPES = frozenset({"xlsx", "parquet"})  # unreadable when cut short
MAX_FILES = 3
RETRY_WINDOW_S = 24 * 3600.0


@dataclass(frozen=True)
class FileDrop:
    """A message that shared data files, outside any conversation with the bot."""

    key: ThreadKey
    """The thread the profile goes to (the file's message starts it)."""
    message_ts: str
    user_id: str
    files: tuple[SlackFile, ...]


class Fetcher(Protocol):
    async def complete(self, file: SlackFile, *, team_id: str) -> SlackFile: ...

    async def fetch(self, file: SlackFile, sink: IO[bytes], *, limit: int, team_id: str) -> int: ...


class Poster(Protocol):
    """Posts in a thread: plain replies, and profiles (laid out by the chat surface)."""

    async def reply(self, key: ThreadKey, text: str) -> str: ...

    async def post_profile(
        self,
        key: ThreadKey,
        profile: DataProfile,
        *,
        file_id: str,
        questions: Sequence[str],
        summary: str,
    ) -> None: ...


def profilable(file: SlackFile) -> bool:
    return file.extension in PROFILE_TYPES or file.filetype.lower() in PROFILE_TYPES


class FileDropProfiler:
    def __init__(
        self,
        *,
        store: Store,
        fetcher: Fetcher,
        poster: Poster,
        channels: Channels | None = None,
        max_bytes: int = 64 * 1024 * 1024,
        max_seconds: float = 3.0,
    ) -> None:
        self._store = store
        # The switch lives in the channel's profile (the admins' file may own it).
        self._channels = channels or store.channels
        self._fetcher = fetcher
        self._poster = poster
        self._max_bytes = max_bytes
        self._max_seconds = max_seconds

    async def dropped(self, drop: FileDrop) -> None:
        key = drop.key
        if not await self._channels.auto_profile(key.team_id, key.channel_id):
            return
        marker = f"profile:{key.team_id}:{key.channel_id}:{drop.message_ts}"
        if not await self._store.actions.claim(marker, window_s=RETRY_WINDOW_S):
            return  # a Slack retry of a drop already profiled
        await self._store.threads.engage(key)
        for file in [f for f in drop.files if profilable(f)][:MAX_FILES]:
            await self._profile(key, file)

    async def set_auto_profile(self, key: ThreadKey, enabled: bool, *, message_ts: str) -> None:
        """`@Analyst auto-profile on|off`: acted on (and acknowledged) once per message, however
        often Slack delivers it (retries, the app_mention/message twins)."""
        marker = f"command:{key.team_id}:{key.channel_id}:{message_ts}"
        if not await self._store.actions.claim(marker, window_s=RETRY_WINDOW_S):
            return
        if not await self._channels.set_auto_profile(key.team_id, key.channel_id, enabled):
            await self._poster.reply(key, wording.AUTO_PROFILE_MANAGED)
            return
        await self._poster.reply(
            key, wording.AUTO_PROFILE_ON if enabled else wording.AUTO_PROFILE_OFF
        )

    async def _profile(self, key: ThreadKey, file: SlackFile) -> None:
        try:
            file = await self._fetcher.complete(file, team_id=key.team_id)
            profile = await self._read(file, team_id=key.team_id)
        except ProfileError as error:
            await self._poster.reply(
                key, wording.PROFILE_FAILED.format(name=file.name or file.id, reason=error.reason)
            )
            return
        except FileError as error:
            await self._poster.reply(key, wording.for_error(error))
            return
        await self._poster.post_profile(
            key,
            profile,
            file_id=file.id,
            questions=suggest_questions(profile),
            summary=profile_summary(profile),
        )
        logger.info("profiled %s (%s rows) in %s", file.id, profile.rows, key)

    async def _read(self, file: SlackFile, *, team_id: str) -> DataProfile:
        whole = file.extension in WHOLE_FILE_TYPES or file.filetype in WHOLE_FILE_TYPES
        if whole and (file.size or 0) > self._max_bytes:
            raise ProfileError(wording.PROFILE_TOO_BIG)
        if kind_of(file) is None:
            raise ProfileError(wording.PROFILE_UNSUPPORTED)
        suffix = "." + safe_extension(file)
        with tempfile.NamedTemporaryFile(suffix=suffix) as scratch:
            read = await self._fetcher.fetch(file, scratch, limit=self._max_bytes, team_id=team_id)
            scratch.flush()
            # With the shared file's real size, a download cut at the budget is profiled as
            # a sample (its last, partial row dropped) and says how much was read.
            return await asyncio.to_thread(
                profile_file,
                Path(scratch.name),
                name=file.name,
                max_bytes=self._max_bytes,
                max_seconds=self._max_seconds,
                total_bytes=max(file.size or 0, read),
            )
