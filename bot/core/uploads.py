"""How long an upload to OpenAI lasts, and which stored uploads have (nearly) expired.

Uploads expire at OpenAI a set time after they were made (`expires_after`, the retention at
most 30 days), whether or not a thread still uses them. A thread active for longer brings an
expired upload back from Slack before it needs it (`bot.core.workspace`); a file OpenAI no
longer has is never placed, indexed or offered to the model.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Protocol

from bot.core.files import RelayedFile, safe_name
from bot.core.ports import Engine
from bot.core.records import StoredFile, ThreadFile
from bot.core.storage import Store
from bot.core.tasks import run_all
from bot.core.turns import SlackFile, ThreadKey
from bot.errors import EngineError, FileError

logger = logging.getLogger(__name__)

MARGIN = timedelta(hours=1)
"""An upload this close to its expiry counts as expired: it must outlast the turn using it."""


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class UploadLifetime:
    """`lifetime` None: uploads never expire (nothing is ever refreshed)."""

    lifetime: timedelta | None = None
    now: Callable[[], datetime] = field(default=_now, compare=False)

    def expired(self, stored: StoredFile) -> bool:
        if self.lifetime is None or stored.uploaded_at is None:
            return False
        margin = min(MARGIN, self.lifetime / 4)
        return stored.uploaded_at + self.lifetime - margin <= self.now()


class Relay(Protocol):
    """Brings Slack files to OpenAI as the workspace sharing them sees them (`team_id`: its
    token; `bot.slack.downloads.FileRelay`)."""

    async def complete(self, file: SlackFile, *, team_id: str) -> SlackFile: ...

    async def relay(self, file: SlackFile, *, team_id: str) -> RelayedFile: ...


class Uploads:
    """A workspace's uploads: each Slack file uploaded once while the upload lasts."""

    def __init__(
        self, *, store: Store, relay: Relay, lifetime: UploadLifetime, engine: Engine
    ) -> None:
        self._store = store
        self._relay = relay
        self._lifetime = lifetime
        self._engine = engine

    async def stored(
        self, key: ThreadKey, file: SlackFile, *, known: StoredFile | None = None
    ) -> StoredFile:
        """The file's upload: the one on record, or a new one if it has none or it expired."""
        known = known or await self._store.threads.find_file(key.team_id, file.id)
        if known is not None and not self._lifetime.expired(known):
            return known
        relayed = await self._relay.relay(file, team_id=key.team_id)
        threads = self._store.threads
        save = threads.save_file if known is None else threads.replace_upload
        saved = await save(
            key.team_id,
            slack_file_id=file.id,
            name=safe_name(file.name),  # the model sees it, the container makes a path of it
            mimetype=file.mimetype,
            size=relayed.size,
            sha256=relayed.sha256,
            openai_file_id=relayed.openai_file_id,
            permalink=file.permalink,
        )
        if saved.openai_file_id != relayed.openai_file_id:
            await self._discard(relayed.openai_file_id)
        return saved

    async def _discard(self, file_id: str) -> None:
        """Another turn uploaded the same file at the same moment and its upload was kept:
        ours is used by nobody (it would expire anyway)."""
        try:
            await self._engine.delete_file(file_id)
        except EngineError as error:
            logger.info("duplicate upload %s left to expire: %s", file_id, type(error).__name__)

    async def renew(
        self, key: ThreadKey, known: Sequence[ThreadFile]
    ) -> tuple[list[ThreadFile], bool]:
        """A thread's files with expired uploads made again from Slack (a file Slack no
        longer gives is left out), and whether any upload had expired."""
        stale = [tf for tf in known if self._lifetime.expired(tf.file)]
        if not stale:
            return list(known), False
        again = await run_all([self._again(key, tf.file) for tf in stale])
        renewed = {tf.file.id: new for tf, new in zip(stale, again, strict=True)}
        kept = []
        for tf in known:
            if tf.file.id not in renewed:
                kept.append(tf)
            elif (new := renewed[tf.file.id]) is not None:  # to be indexed again
                kept.append(replace(tf, file=new, vector_store_id=None, search_status=None))
        return kept, True

    async def _again(self, key: ThreadKey, stored: StoredFile) -> StoredFile | None:
        stub = SlackFile(id=stored.slack_file_id, name=stored.name, mimetype=stored.mimetype)
        try:
            complete = await self._relay.complete(stub, team_id=key.team_id)
            return await self.stored(key, complete, known=stored)
        except FileError as error:
            logger.info("expired upload of %s not renewed: %s", stored.slack_file_id, error.code)
            return None
