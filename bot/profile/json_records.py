"""JSON and JSON Lines as rows: records (objects) streamed, their keys becoming the columns.

A file is JSON Lines (one record a line), a top-level array of records decoded one item at a
time, or, when small enough to parse whole, one object whose first list of records is used
(`{"data": [{…}, …]}`).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import IO

from bot import wording
from bot.errors import ProfileError
from bot.profile.table import Table
from bot.profile.text_source import CHUNK, complete, open_text

JSON_FULL_PARSE_BYTES = 8 * 1024 * 1024  # a single JSON object is parsed whole up to this size
JSON_MAX_ITEM_CHARS = 16 * 1024 * 1024  # one item of a JSON array can't be larger than this


def open_json(path: Path, fmt: str, stack: ExitStack, max_bytes: int, truncated: bool) -> Table:
    source = open_text(path, stack, max_bytes, wording.FORMAT_LABELS[fmt])
    start = source.head.lstrip()[:1]
    if fmt == "jsonl" or (start == "{" and _looks_like_lines(source.head)):
        table = Table("jsonl", [], encoding=source.encoding)
        items = _jsonl_items(source.stream, table, truncated)
    elif start == "[":
        table = Table("json", [], encoding=source.encoding)
        items = _JsonArray(source.stream, table, truncated).items()
    elif start == "{" and not truncated and path.stat().st_size <= JSON_FULL_PARSE_BYTES:
        table = Table("json", [], encoding=source.encoding)
        items = _records_in_object(source.stream, table)
    else:
        raise ProfileError(wording.TOO_BIG_OBJECT if start == "{" else wording.NOT_RECORDS)
    table.meter, table.truncated = source.meter, truncated
    table.rows = _record_rows(_first_is_record(items), table)
    return table


def _looks_like_lines(head: str) -> bool:
    text = head.lstrip()
    try:
        _, end = json.JSONDecoder().raw_decode(text)
    except json.JSONDecodeError:
        return False
    return text[end:].lstrip().startswith("{")


def _first_is_record(items: Iterator[object]) -> Iterator[object]:
    first = next(items, None)
    if not isinstance(first, dict):
        raise ProfileError(wording.NOT_RECORDS)
    return itertools.chain([first], items)


def _jsonl_items(stream: IO[str], table: Table, truncated: bool) -> Iterator[object]:
    parsed_any = False
    for line in complete((line for line in stream if line.strip()), truncated):
        try:
            item = json.loads(line)
        except json.JSONDecodeError:
            if not parsed_any:
                raise ProfileError(wording.NOT_JSON) from None
            table.tallies[wording.NOTE_BAD_LINES] += 1
            continue
        parsed_any = True
        yield item


def _records_in_object(stream: IO[str], table: Table) -> Iterator[object]:
    """A single object: its first field holding a list of records (`{"data": [{…}, …]}`)."""
    try:
        document = json.load(stream)
    except json.JSONDecodeError as error:
        raise ProfileError(wording.NOT_JSON) from error
    for key, value in document.items():
        if isinstance(value, list) and value and isinstance(value[0], dict):
            table.notes.append(wording.NOTE_RECORDS_FIELD.format(key=key))
            return iter(value)
    raise ProfileError(wording.NOT_RECORDS)


def _record_rows(items: Iterator[object], table: Table) -> Iterator[list[object]]:
    """Objects as rows aligned with `table.header`, which grows with every new key."""
    index: dict[str, int] = {}
    for item in items:
        if not isinstance(item, dict):
            table.tallies[wording.NOTE_SKIPPED_ITEMS] += 1
            continue
        row: list[object] = [None] * len(index)
        for key, value in item.items():
            if key not in index:
                index[key] = len(index)
                table.header.append(key)
                row.append(None)
            row[index[key]] = value
        yield row


class _JsonArray:
    """The items of a top-level JSON array, decoded one at a time from a text stream."""

    def __init__(self, stream: IO[str], table: Table, truncated: bool) -> None:
        self._stream, self._table, self._truncated = stream, table, truncated
        self._decoder = json.JSONDecoder()
        self._buffer, self._pos, self._eof = "", 0, False

    def items(self) -> Iterator[object]:
        if self._peek() != "[":
            raise ProfileError(wording.NOT_RECORDS)
        self._pos += 1
        count = 0
        while self._peek() != "]":
            item = self._decode() if self._peek() else _JsonArray
            if item is _JsonArray:
                self._stop(count)
                return
            yield item
            count += 1
            if self._peek() == ",":
                self._pos += 1

    def _peek(self) -> str:
        """The next non-blank character, reading more of the stream when needed ("" at end)."""
        while True:
            while self._pos < len(self._buffer) and self._buffer[self._pos].isspace():
                self._pos += 1
            if self._pos < len(self._buffer) or not self._fill():
                return self._buffer[self._pos : self._pos + 1]

    def _fill(self) -> bool:
        if self._eof:
            return False
        # Read at least as much as is buffered: a big item is re-decoded O(log n) times.
        more = self._stream.read(max(CHUNK, len(self._buffer) - self._pos))
        self._eof = not more
        self._buffer, self._pos = self._buffer[self._pos :] + more, 0
        return bool(more)

    def _decode(self) -> object:
        """The next value, or the class itself as a marker when it can't be decoded."""
        while True:
            try:
                item, end = self._decoder.raw_decode(self._buffer, self._pos)
                if end < len(self._buffer) or self._eof:
                    self._pos = end
                    return item
            except json.JSONDecodeError as error:
                if self._eof or not self._may_be_cut(error):
                    return _JsonArray
            self._fill()

    def _may_be_cut(self, error: json.JSONDecodeError) -> bool:
        """The error may come from an item that continues past the buffer (not bad JSON)."""
        if len(self._buffer) - self._pos > JSON_MAX_ITEM_CHARS:
            return False
        return error.msg.startswith("Unterminated") or error.pos >= len(self._buffer) - 1024

    def _stop(self, count: int) -> None:
        if self._truncated:
            return
        if not count:
            raise ProfileError(wording.NOT_JSON)
        self._table.stopped = wording.STOPPED_JSON
