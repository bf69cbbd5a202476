"""What the bot does with shared files: their kinds, the checks made before anything is
downloaded (type, size), and the record of a file relayed to the model side."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import IO, Literal, Protocol

from bot.core.records import StoredFile
from bot.core.turns import SlackFile
from bot.errors import FileTooLarge, UnsupportedFile

FileKind = Literal["data", "document", "image"]
DATA_TYPES = frozenset({"csv", "tsv", "xlsx", "xls", "json", "jsonl", "parquet", "txt"})
DOCUMENT_TYPES = frozenset({"pdf", "docx", "md", "markdown", "pptx", "html", "htm"})
IMAGE_TYPES = frozenset({"png", "jpg", "jpeg", "gif", "webp"})
_SLACK_TYPE_ALIASES = {"text": "txt", "excel": "xlsx", "javascript": "json"}
_UNSAFE_IN_NAMES = re.compile(r'[\x00-\x1f\x7f<>:"|?*]')
MAX_NAME_CHARS = 200


class Uploader(Protocol):
    """Stores a file on the model side; returns its id."""

    async def upload(self, *, name: str, data: IO[bytes], mimetype: str) -> str: ...


@dataclass(frozen=True)
class RelayedFile:
    """A Slack file now stored in OpenAI's Files API."""

    slack: SlackFile
    kind: FileKind
    size: int
    sha256: str
    openai_file_id: str


def kind_of(file: SlackFile) -> FileKind | None:
    """What the bot does with a file, from its extension or Slack's filetype; None: unusable."""
    candidates = {file.extension, _SLACK_TYPE_ALIASES.get(file.filetype, file.filetype.lower())}
    for kinds, kind in ((DATA_TYPES, "data"), (DOCUMENT_TYPES, "document"), (IMAGE_TYPES, "image")):
        if candidates & kinds:
            return kind  # type: ignore[return-value]
    return None


def stored_kind(stored: StoredFile) -> FileKind:
    """The kind of a file already relayed (it passed `check`, so it has one)."""
    return kind_of(SlackFile(id=stored.slack_file_id, name=stored.name)) or "data"


def check(file: SlackFile, *, max_bytes: int) -> FileKind:
    """Refuse unusable or oversized files before anything is downloaded."""
    kind = kind_of(file)
    if kind is None:
        raise UnsupportedFile(
            f"unsupported type {file.filetype!r}",
            name=file.name or file.id,
            kind=(file.extension or file.filetype or "these").upper(),
        )
    if file.size is not None and file.size > max_bytes:
        raise FileTooLarge(
            f"{file.size} bytes",
            name=file.name,
            size_mb=round(file.size / 2**20, 1),
            limit_mb=max_bytes // 2**20,
        )
    return kind


def safe_name(name: str, *, default: str = "file") -> str:
    """A file name that is safe wherever it becomes a path (a container's /mnt/data, the
    terminal's output folder, a temporary file): the last path component only, no control
    or reserved characters, not hidden, not `..`, at most 200 characters (extension kept).

    `../../etc/passwd.csv` → `passwd.csv`; a name chosen by a user or the model is untrusted.
    """
    base = re.split(r"[/\\]", name)[-1]
    base = " ".join(_UNSAFE_IN_NAMES.sub("_", base).split()).lstrip(". ")
    if not base:
        return default
    if len(base) > MAX_NAME_CHARS:
        stem, dot, extension = base.rpartition(".")
        if dot and 0 < len(extension) <= 16:
            base = stem[: MAX_NAME_CHARS - len(extension) - 1] + "." + extension
        else:
            base = base[:MAX_NAME_CHARS]
    return base


def safe_extension(file: SlackFile, *, default: str = "csv") -> str:
    """The file's extension as letters and digits only (for temporary file suffixes)."""
    return re.sub(r"[^a-z0-9]", "", file.extension.lower())[:10] or default


def unique_files(files: Sequence[SlackFile]) -> list[SlackFile]:
    """Each file once (the first time it appears)."""
    seen: dict[str, SlackFile] = {}
    for file in files:
        seen.setdefault(file.id, file)
    return list(seen.values())
