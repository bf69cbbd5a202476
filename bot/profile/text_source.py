"""A text file opened within the byte budget: its encoding guessed, binary data refused.

The CSV, TSV and JSON readers read through a `LimitedReader` that stops at `max_bytes` and
counts what was read. When the budget (or a download stopped early) cuts the file short,
`complete` drops the last row, which may be partial.
"""

from __future__ import annotations

import codecs
import io
import re
from collections.abc import Iterable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, NoReturn

from bot import wording
from bot.errors import ProfileError

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

_HEAD_BYTES = 1024 * 1024  # decoded up front to choose the encoding
_SNIFF_CHARS = 64 * 1024  # of which this much is checked for binary data and delimiters
CHUNK = 256 * 1024
_CONTROL = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x9f]")


class LimitedReader(io.RawIOBase):
    """The first `limit` bytes of a binary file, counting how many were read."""

    def __init__(self, raw: IO[bytes], limit: int) -> None:
        super().__init__()
        self._raw = raw
        self._left = limit
        self.position = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer, /) -> int:
        view = memoryview(buffer).cast("B")
        data = self._raw.read(min(len(view), self._left))
        view[: len(data)] = data
        self._left -= len(data)
        self.position += len(data)
        return len(data)


@dataclass(frozen=True)
class TextSource:
    stream: IO[str]
    encoding: str
    head: str
    """The start of the text, for sniffing delimiters and the JSON layout."""
    meter: LimitedReader


def open_text(path: Path, stack: ExitStack, max_bytes: int, label: str) -> TextSource:
    """`path` as text; `label` ("CSV") names the format when the file turns out binary."""
    raw = stack.enter_context(path.open("rb"))
    head_bytes = raw.read(min(_HEAD_BYTES, max_bytes))
    raw.seek(0)
    encoding = _detect_encoding(head_bytes, label)
    decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
    head = decoder.decode(head_bytes[: _SNIFF_CHARS * 4], final=False)[:_SNIFF_CHARS]
    if len(_CONTROL.findall(head)) > 0.01 * len(head):
        _refuse_binary(head_bytes, label)
    meter = LimitedReader(raw, max_bytes)
    stream = io.TextIOWrapper(
        io.BufferedReader(meter, CHUNK), encoding=encoding, errors="replace", newline=""
    )
    return TextSource(stream, encoding, head, meter)


def _detect_encoding(head: bytes, label: str) -> str:
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return "utf-32"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    sample = head[:8192]
    if b"\x00" in sample:
        return _bomless_utf16(sample) or _refuse_binary(head, label)
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        head.decode("cp1252")
        return "cp1252"
    except UnicodeDecodeError:
        return "latin-1"


def _bomless_utf16(sample: bytes) -> str | None:
    """UTF-16 without a byte order mark: text with a NUL in every other byte."""
    half = len(sample) // 2
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    if odd > 0.4 * half and even < 0.05 * half:
        return "utf-16-le"
    if even > 0.4 * half and odd < 0.05 * half:
        return "utf-16-be"
    return None


def _refuse_binary(head: bytes, label: str) -> NoReturn:
    hint = next(
        (
            wording.BINARY_HINT.format(what=what)
            for magic, what in wording.LOOKS_LIKE.items()
            if head.startswith(magic)
        ),
        "",
    )
    raise ProfileError(wording.BINARY.format(label=label, hint=hint))


def complete(rows: Iterable[Any], truncated: bool) -> Iterator[Any]:
    """All `rows`, except the last one when the byte budget cut it (it may be partial)."""
    pending: list[Any] = []
    for row in rows:
        if pending:
            yield pending.pop()
        pending.append(row)
    if pending and not truncated:
        yield pending.pop()
