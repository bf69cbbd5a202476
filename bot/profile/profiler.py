"""A quick local profile of a shared data file; no AI involved.

    profile_file(path, name=…) -> DataProfile    rows, typed columns, missing values, samples

`profile_file` is synchronous and CPU-bound (run it in a thread). It streams the file (readers
chosen in `bot.profile.formats`), feeds every column's cells to a `ColumnScan`
(`bot.profile.columns`), and stops at `max_bytes` or `max_seconds`, marking the profile
`sampled`. A file that can't be profiled raises `ProfileError` (bot.errors), whose `reason`
completes "<file name> …". OSError from reading the file is not the user's doing and propagates.
"""

from __future__ import annotations

import math
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

from bot import wording
from bot.errors import ProfileError
from bot.profile.cells import display
from bot.profile.columns import ColumnProfile, ColumnScan
from bot.profile.formats import format_of, open_table
from bot.profile.table import Table, Tally

SAMPLE_ROWS = 5
_CLOCK_EVERY = 64  # rows between looks at the clock


@dataclass(frozen=True)
class DataProfile:
    """What a file holds, read locally within a byte and time budget."""

    file_name: str
    format: str
    """csv, tsv, xlsx, json, jsonl or parquet."""
    rows: int
    """Data rows read (excluding the header)."""
    columns: tuple[ColumnProfile, ...]
    sample_rows: tuple[tuple[str, ...], ...]
    """The first data rows as displayed strings, one per column (short rows padded with "")."""
    sampled: bool
    """The whole file was not read (budget, or malformed data further on)."""
    bytes_read: int
    total_bytes: int
    encoding: str | None
    """For text formats: utf-8, utf-8-sig, utf-16, cp1252, latin-1…"""
    delimiter: str | None
    notes: tuple[str, ...]
    """Short user-facing remarks ("12 rows had fewer fields than the header")."""
    total_rows: int | None = None
    """Data rows in the whole file when known: every row was read, or Parquet metadata."""


def profile_file(
    path: Path,
    *,
    name: str,
    fmt: str | None = None,
    max_bytes: int = 64 * 1024 * 1024,
    max_seconds: float = 3.0,
    total_bytes: int | None = None,
) -> DataProfile:
    """Profile the data file at `path`, shared as `name`; `fmt` overrides its extension.

    When `path` holds only the start of the shared file (a download stopped early), pass the
    full size as `total_bytes`: the last, partial row is then dropped and the profile sampled.
    """
    deadline = time.monotonic() + max_seconds
    size = path.stat().st_size
    if size == 0:
        raise ProfileError(wording.EMPTY)
    total_bytes = max(size, total_bytes or 0)
    with ExitStack() as stack:
        table = open_table(
            path, format_of(name, fmt), stack=stack, max_bytes=max_bytes, total_bytes=total_bytes
        )
        scan = _scan(table, deadline)
        if not scan.columns:
            raise ProfileError(wording.NO_COLUMNS)
        return _assemble(table, scan, name=name, total_bytes=total_bytes, seconds=max_seconds)


# --- Reading rows into column summaries ------------------------------------------------------


@dataclass
class _Scan:
    columns: list[ColumnScan]
    rows: int = 0
    sample: list[tuple[str, ...]] = field(default_factory=list)
    timed_out: bool = False


def _scan(table: Table, deadline: float) -> _Scan:
    prefer_comma = table.delimiter == ";"
    scan = _Scan([ColumnScan(prefer_comma) for _ in table.header])
    for row in table.rows:
        while len(scan.columns) < len(table.header):  # a JSON key seen for the first time
            scan.columns.append(ColumnScan(prefer_comma, missing=scan.rows))
        for column, cell in zip(scan.columns, row, strict=False):
            column.add(cell)
        for column in scan.columns[len(row) :]:
            column.missing += 1
        if scan.rows < SAMPLE_ROWS:
            scan.sample.append(tuple(display(cell) for cell in row))
        scan.rows += 1
        if scan.rows % _CLOCK_EVERY == 0 and time.monotonic() > deadline:
            scan.timed_out = True
            break
    return scan


def _assemble(
    table: Table, scan: _Scan, *, name: str, total_bytes: int, seconds: float
) -> DataProfile:
    names, notes = clean_names(table.header)
    width = len(names)
    sampled = scan.timed_out or table.truncated or table.stopped is not None
    sampled |= table.total_rows is not None and scan.rows < table.total_rows
    notes += table.notes + [_tally_note(t, n) for t, n in table.tallies.items()]
    notes += _budget_notes(table, scan, total_bytes=total_bytes, seconds=seconds)
    columns = tuple(c.profile(n) for c, n in zip(scan.columns, names, strict=True))
    return DataProfile(
        file_name=name,
        format=table.format,
        rows=scan.rows,
        columns=columns,
        sample_rows=tuple((row + ("",) * width)[:width] for row in scan.sample),
        sampled=sampled,
        bytes_read=min(table.bytes_read(), total_bytes),
        total_bytes=total_bytes,
        encoding=table.encoding,
        delimiter=table.delimiter,
        notes=tuple(notes),
        total_rows=scan.rows if not sampled else table.total_rows,
    )


def _budget_notes(table: Table, scan: _Scan, *, total_bytes: int, seconds: float) -> list[str]:
    if table.stopped is not None:
        return [_tally_note(wording.NOTE_STOPPED, scan.rows, why=table.stopped)]
    if scan.timed_out:
        return [wording.NOTE_TIME.format(seconds=seconds, rows=scan.rows)]
    if table.truncated:
        read, total = _size(table.bytes_read()), _size(total_bytes)
        return [wording.NOTE_BYTES.format(read=read, total=total)]
    if table.total_rows is not None and scan.rows < table.total_rows:
        return [wording.NOTE_PARQUET.format(rows=scan.rows, total=table.total_rows)]
    return []


def _tally_note(tally: Tally, count: int, **facts: str) -> str:
    return tally[count != 1].format(n=f"{count:,}", **facts)


def _size(count: int) -> str:
    if count < 1024 * 1024:
        return f"{math.ceil(count / 1024):,} KB"
    return f"{count / (1024 * 1024):,.1f} MB"


# --- Column names from the header ------------------------------------------------------------


def clean_names(header: list[object]) -> tuple[list[str], list[str]]:
    """Column names from header cells (stripped, named when blank, unique) and notes on it."""
    raw = [display(cell).replace("\ufeff", "") for cell in header]
    names = [text.strip() or f"column_{i}" for i, text in enumerate(raw, start=1)]
    notes = []
    if any(text.strip() and text != text.strip() for text in raw):
        notes.append(wording.NOTE_SPACES)
    unnamed = [name for name, text in zip(names, raw, strict=True) if not text.strip()]
    if unnamed:
        notes.append(_tally_note(wording.NOTE_UNNAMED, len(unnamed), names=", ".join(unnamed)))
    names, renamed = _unique(names)
    if renamed:
        notes.append(wording.NOTE_RENAMED.format(names=", ".join(renamed)))
    return names, notes


def _unique(names: list[str]) -> tuple[list[str], list[str]]:
    taken, seen = set(names), set()
    result, renamed = [], []
    for name in names:
        unique = name
        if name in seen:
            suffix = 2
            while f"{name}_{suffix}" in taken:
                suffix += 1
            unique = f"{name}_{suffix}"
            taken.add(unique)
            renamed.append(unique)
        seen.add(name)
        result.append(unique)
    return result, renamed
