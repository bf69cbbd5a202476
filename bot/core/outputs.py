"""Files the model produced in a turn: found, downloaded at once, de-duplicated, posted.

Containers die after 20 idle minutes, so outputs are fetched right after the response. A
chart is often cited twice (an auto-captured `cfile_….png` and the saved file): the same
bytes are posted once, preferring the descriptive name.

Each file is fetched on its own: one that cannot be downloaded is named in a note and the
others are still posted (a delivered answer never becomes "couldn't finish" for it). Files
are spooled (in memory up to 1 MiB, then on disk) and streamed on, never held whole.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import re
import tempfile
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import IO

from bot import wording
from bot.core.events import Citation, OutputFile, ProducedFile
from bot.core.files import safe_name
from bot.core.ports import Engine, Renderer
from bot.core.records import Artifact
from bot.core.storage import Artifacts
from bot.errors import EngineError

logger = logging.getLogger(__name__)

_AUTO_NAME = re.compile(r"^cfile_[0-9a-f]+\.\w+$", re.IGNORECASE)
MAX_OUTPUT_BYTES = 100 * 1024 * 1024
MAX_OUTPUT_FILES = 20
SPOOL_BYTES = 1024 * 1024


@dataclass(frozen=True)
class Outputs:
    files: tuple[ProducedFile, ...] = ()
    aliases: dict[str, str] = field(default_factory=dict)
    """Path of a duplicate → path of the file kept for the same bytes."""
    failed: tuple[str, ...] = ()
    """Names of files that could not be fetched."""


class _Hashing:
    """A sink that hashes and counts what it writes into a file."""

    def __init__(self, target: IO[bytes]) -> None:
        self.target = target
        self.digest = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.digest.update(data)
        self.size += len(data)
        return self.target.write(data)


def _basename(path: str) -> str:
    return path.rstrip("/").rsplit("/", 1)[-1]


def candidates(
    listed: Sequence[OutputFile], citations: Sequence[Citation], container_id: str
) -> list[OutputFile]:
    """Every output of the turn: listed container files plus cited ones, named ones first."""
    found = {o.file_id: o for o in listed}
    for citation in citations:
        if citation.file_id not in found:
            path = f"/mnt/data/{citation.filename}"
            found[citation.file_id] = OutputFile(
                citation.container_id or container_id, citation.file_id, path, cited=True
            )
    return sorted(found.values(), key=lambda o: bool(_AUTO_NAME.match(_basename(o.path))))


@contextlib.asynccontextmanager
async def collected(
    engine: Engine, *, container_id: str, since: float, citations: Sequence[Citation]
) -> AsyncIterator[Outputs]:
    """Download the turn's outputs into temporary files, closed when the block ends."""
    try:
        listed = await engine.outputs(
            container_id, since=since, cited={c.file_id for c in citations}
        )
    except EngineError as error:  # the cited files may still be there
        logger.warning("listing the files of %s failed: %s", container_id, error.code)
        listed = []
    with contextlib.ExitStack() as spools:
        kept: dict[str, ProducedFile] = {}
        aliases: dict[str, str] = {}
        failed: list[str] = []
        for output in candidates(listed, citations, container_id)[: MAX_OUTPUT_FILES * 2]:
            name = safe_name(_basename(output.path))
            spool = spools.enter_context(tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES))
            sink = _Hashing(spool)
            try:
                await engine.download(output, sink, max_bytes=MAX_OUTPUT_BYTES)
            except EngineError as error:
                logger.warning("downloading %s failed: %s", output.file_id, error.code)
                failed.append(name)
                continue
            digest = sink.digest.hexdigest()
            if digest in kept:
                aliases[output.path] = kept[digest].path
                continue
            if len(kept) >= MAX_OUTPUT_FILES:
                logger.warning("turn made more than %d files; the rest are not posted", len(kept))
                break
            spool.seek(0)
            kept[digest] = ProducedFile(
                name=name,
                path=output.path,
                sha256=digest,
                size=sink.size,
                container_file_id=output.file_id,
                content=spool,
            )
        yield Outputs(tuple(kept.values()), aliases, tuple(failed))


async def publish(
    engine: Engine,
    renderer: Renderer,
    artifacts: Artifacts,
    *,
    turn_id: int,
    container_id: str,
    since: float,
    citations: Sequence[Citation],
    code_ran: bool,
) -> dict[str, str]:
    """Post what the turn produced (and the renderer's own files, e.g. big tables), point
    the answer's links at them, say which could not be fetched, and remember them.
    Returns container path → link, as the answer's links now point."""
    if not (code_ran or citations):  # only code writes files
        placed = await renderer.attach((), aliases={})
        return {path: where.link for path, where in placed.items()}
    async with collected(
        engine, container_id=container_id, since=since, citations=citations
    ) as produced:
        if produced.files:
            await renderer.status(wording.STATUS_UPLOADING.format(count=len(produced.files)))
        placed = await renderer.attach(
            produced.files, aliases=produced.aliases, failed=produced.failed
        )
    for file in produced.files:
        where = placed.get(file.path)
        await artifacts.add(
            Artifact(
                turn_id=turn_id,
                name=file.name,
                sha256=file.sha256,
                size=file.size,
                container_file_id=file.container_file_id,
                slack_file_id=where.file_id if where else None,
                permalink=where.link if where else None,
            )
        )
    return {path: where.link for path, where in placed.items()}
