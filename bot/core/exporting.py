"""Export notebook: a thread's whole analysis as a `.ipynb` file posted in the thread.

    click → turns of the thread (store) → images fetched again from Slack, when still there
          → `bot.core.notebook` builds the notebook → spooled → posted as a file

It works days later and needs no OpenAI: questions, code runs and answers come from the
store; images are the files the turns posted in Slack, downloaded again (a deleted or
unreachable one becomes a note, never a failed export). Memory stays bounded: each image
and all of them together are capped, and the notebook is written into a spooled file.

Who may export: anyone who can see the thread (Slack only shows them the button). The
notebook is read-only and holds nothing the thread does not already show.
"""

from __future__ import annotations

import asyncio
import base64
import io
import logging
import re
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO, Any, Protocol

from bot import wording
from bot.core import notebook
from bot.core.ports import Directory, Notices
from bot.core.records import Artifact, StoredTurn
from bot.core.storage import Store
from bot.core.turns import SlackFile
from bot.errors import FileError, FileTooLarge

logger = logging.getLogger(__name__)

MAX_IMAGE_BYTES = 10 * 1024 * 1024
MAX_IMAGES_BYTES = 25 * 1024 * 1024
"""All images of one notebook together (base64 adds a third on top)."""
SPOOL_BYTES = 1024 * 1024
DOUBLE_CLICK_S = 30.0
IMAGE_TYPES = {"png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "gif": "image/gif"}
_SIGNATURES = {
    "image/png": b"\x89PNG\r\n\x1a\n",
    "image/jpeg": b"\xff\xd8\xff",
    "image/gif": b"GIF8",
}


class SharedFiles(Protocol):
    """Slack files, fetched again (`bot.slack.downloads.FileRelay`: the token goes only to
    Slack's file hosts; CDN redirects are followed without it)."""

    async def complete(self, file: SlackFile, *, team_id: str) -> SlackFile: ...

    async def fetch(self, file: SlackFile, sink: IO[bytes], *, limit: int, team_id: str) -> int: ...


@dataclass
class _Allowance:
    left: int


class NotebookExporter:
    def __init__(
        self, *, store: Store, files: SharedFiles, directory: Directory, notices: Notices
    ) -> None:
        self._store = store
        self._files = files
        self._directory = directory
        self._notices = notices

    async def export(self, turn_id: int, user_id: str) -> None:
        """Post the notebook of the thread `turn_id` belongs to (once per double click)."""
        stored = await self._store.turns.get(turn_id)
        if stored is None:
            return
        key = stored.turn.key
        turns = await self._store.turns.of_thread(stored.thread_id)
        if not any(t.code_runs or t.answer_text for t in turns):
            await self._notices.notify(key, user_id, wording.NOTHING_TO_EXPORT)
            return
        if not await self._store.actions.claim(
            f"export_notebook:{stored.thread_id}", window_s=DOUBLE_CLICK_S
        ):
            return
        title = turns[0].turn.text or wording.DEFAULT_TITLE
        built = await self._notebook(turns, title=title, thread_id=stored.thread_id)
        with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as spool:
            size = await asyncio.to_thread(_written, built, spool)
            del built  # the images' base64 now lives in the spool only
            posted = await self._notices.post_file(
                key,
                name=f"{_slug(title)}.ipynb",
                title=wording.NOTEBOOK_FILE_TITLE.format(title=" ".join(title.split())[:80]),
                content=spool,
                size=size,
            )
        logger.info("notebook of thread %s (%d bytes) posted: %s", key, size, posted)
        if not posted:
            await self._notices.notify(key, user_id, wording.EXPORT_FAILED)

    async def _notebook(
        self, turns: list[StoredTurn], *, title: str, thread_id: int
    ) -> dict[str, Any]:
        allowance = _Allowance(MAX_IMAGES_BYTES)
        questions = [await self._question(turn, allowance) for turn in turns]
        files = [f.file.name for f in await self._store.threads.thread_files(thread_id)]
        return notebook.notebook(questions, title=title, exported_at=datetime.now(UTC), files=files)

    async def _question(self, turn: StoredTurn, allowance: _Allowance) -> notebook.Question:
        images: list[notebook.Image] = []
        notes: list[str] = []
        for artifact in await self._store.artifacts.for_turn(turn.id):
            mimetype = IMAGE_TYPES.get(artifact.name.rsplit(".", 1)[-1].lower())
            if mimetype is None:  # a CSV, a workbook…: linked, not embedded
                name = artifact.name
                linked = f"[{name}]({artifact.permalink})" if artifact.permalink else name
                notes.append(wording.NOTEBOOK_FILE_POSTED.format(name=linked))
                continue
            image = await self._image(artifact, mimetype, allowance, team_id=turn.turn.key.team_id)
            if isinstance(image, str):
                notes.append(image)
            else:
                images.append(image)
        asker = await self._directory.user(turn.turn.user_id, team_id=turn.turn.key.team_id)
        return notebook.Question(
            asker=asker.display_name,
            asked_at=turn.created_at,
            text=turn.turn.text,
            status=turn.status,
            code_runs=turn.code_runs or (),
            answer=turn.answer_text,
            images=images,
            notes=notes,
        )

    async def _image(
        self, artifact: Artifact, mimetype: str, allowance: _Allowance, *, team_id: str
    ) -> notebook.Image | str:
        """The image, fetched again from Slack; or the note saying why it is not embedded."""
        gone = wording.NOTEBOOK_FILE_GONE.format(name=artifact.name)
        too_large = wording.NOTEBOOK_FILE_TOO_LARGE.format(name=artifact.name)
        cap = min(MAX_IMAGE_BYTES, allowance.left)
        if artifact.slack_file_id is None:
            return gone
        if artifact.size > cap:
            return too_large
        try:
            file = await self._files.complete(SlackFile(id=artifact.slack_file_id), team_id=team_id)
            if file.size is not None and file.size > cap:
                return too_large
            with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as spool:
                size = await self._files.fetch(file, spool, limit=cap + 1, team_id=team_id)
                if size > cap:
                    return too_large
                data = await asyncio.to_thread(_encoded, spool, mimetype)
        except FileTooLarge:
            return too_large
        except FileError as error:
            logger.info("image %s not fetched again: %s", artifact.slack_file_id, error.code)
            return gone
        if data is None:  # not the image it claims to be
            return gone
        allowance.left -= size
        return notebook.Image(artifact.name, mimetype, data)


def _encoded(spool: IO[bytes], mimetype: str) -> str | None:
    spool.seek(0)
    data = spool.read()
    if not data.startswith(_SIGNATURES[mimetype]):
        return None
    return base64.b64encode(data).decode("ascii")


def _written(built: dict[str, Any], spool: IO[bytes]) -> int:
    text = io.TextIOWrapper(spool, encoding="utf-8", newline="\n")
    notebook.write(built, text)
    text.flush()
    text.detach()  # the spool stays open for the upload
    size = spool.tell()
    spool.seek(0)
    return size


def _slug(title: str) -> str:
    """`What share do the top 3 have?` → `what-share-do-the-top-3-have`."""
    words = re.findall(r"[a-z0-9]+", title.lower())
    slug = "-".join(words)[:60].rstrip("-")
    return slug or "analysis"
