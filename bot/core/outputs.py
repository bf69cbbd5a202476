"""Files the model produced in a turn: found, downloaded at once, de-duplicated by content.

Containers die after 20 idle minutes, so outputs are fetched right after the response. A
chart is often cited twice (an auto-captured `cfile_….png` and the saved file): the same
bytes are posted once, preferring the descriptive name.
"""

from __future__ import annotations

import hashlib
import logging
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field

from bot import wording
from bot.core.events import Citation, OutputFile, ProducedFile
from bot.core.files import safe_name
from bot.core.ports import Engine, Renderer
from bot.core.records import Artifact
from bot.core.storage import Artifacts

logger = logging.getLogger(__name__)

_AUTO_NAME = re.compile(r"^cfile_[0-9a-f]+\.\w+$", re.IGNORECASE)
MAX_OUTPUT_BYTES = 100 * 1024 * 1024
MAX_OUTPUT_FILES = 20


@dataclass(frozen=True)
class Outputs:
    files: tuple[ProducedFile, ...] = ()
    aliases: dict[str, str] = field(default_factory=dict)
    """Path of a duplicate → path of the file kept for the same bytes."""


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


async def collect(
    engine: Engine, *, container_id: str, since: float, citations: Sequence[Citation]
) -> Outputs:
    listed = await engine.outputs(container_id, since=since, cited={c.file_id for c in citations})
    kept: dict[str, ProducedFile] = {}
    aliases: dict[str, str] = {}
    for output in candidates(listed, citations, container_id)[: MAX_OUTPUT_FILES * 2]:
        with tempfile.SpooledTemporaryFile(max_size=4 * 1024 * 1024) as sink:
            await engine.download(output, sink, max_bytes=MAX_OUTPUT_BYTES)
            sink.seek(0)
            data = sink.read()
        digest = hashlib.sha256(data).hexdigest()
        if digest in kept:
            aliases[output.path] = kept[digest].path
            continue
        if len(kept) >= MAX_OUTPUT_FILES:
            logger.warning(
                "turn produced more than %d files; the rest are not posted", MAX_OUTPUT_FILES
            )
            break
        kept[digest] = ProducedFile(
            safe_name(_basename(output.path)), output.path, data, digest, output.file_id
        )
    return Outputs(tuple(kept.values()), aliases)


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
) -> None:
    """Post what the turn produced (and the renderer's own files, e.g. big tables), point
    the answer's links at them, and remember them on the turn."""
    produced = Outputs()
    if code_ran or citations:  # only code writes files
        produced = await collect(
            engine, container_id=container_id, since=since, citations=citations
        )
    if produced.files:
        await renderer.status(wording.STATUS_UPLOADING.format(count=len(produced.files)))
    links = await renderer.attach(produced.files, aliases=produced.aliases)
    for file in produced.files:
        await artifacts.add(
            Artifact(
                turn_id=turn_id,
                name=file.name,
                sha256=file.sha256,
                size=len(file.data),
                container_file_id=file.container_file_id,
                permalink=links.get(file.path),
            )
        )
