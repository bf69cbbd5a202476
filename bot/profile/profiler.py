"""A quick local profile of a shared data file, and questions to ask about it; no AI involved.

    profile_file(path, name=…) -> DataProfile    rows, typed columns, missing values, samples
    suggest_questions(profile) -> list[str]       short questions for Slack buttons

`profile_file` is synchronous and CPU-bound (run it in a thread). It streams the file (readers in
`bot.data_formats`) and stops at `max_bytes` or `max_seconds`, marking the profile `sampled`.

    AnalystError (bot.errors)
    └── ProfileError     the file can't be profiled; `reason` completes "<file name> …"

OSError from reading the file is not the user's doing and propagates.
"""

from __future__ import annotations

import json
import math
import re
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from bot.data_formats import ProfileError, Table, Tally, format_of, open_table

__all__ = ["ColumnProfile", "DataProfile", "ProfileError", "profile_file"]

DISTINCT_CAP = 10_000
SAMPLE_ROWS = 5
_EXAMPLE_CHARS = 100
_CLOCK_EVERY = 64  # rows between looks at the clock
_MISSING = frozenset({"", "-", "na", "n/a", "null", "none", "nan", "—", "#n/a"})
_BOOLEANS = frozenset({"true", "false", "yes", "no", "y", "n"})
_BOOL, _NUM, _DATE = 1, 2, 4

# User-facing wording.
EMPTY = "is empty"
NO_COLUMNS = "has no columns"
NOTE_SPACES = "header names had extra spaces"
NOTE_UNNAMED = ("{n} column had no name (now {names})", "{n} columns had no name (now {names})")
NOTE_RENAMED = "duplicate column names were renamed: {names}"
NOTE_BYTES = "only the first {read} of {total} were read"
NOTE_TIME = "stopped after {seconds:g} s: only the first {rows:,} rows were read"
NOTE_PARQUET = "profiled the first {rows:,} of {total:,} rows"
NOTE_STOPPED = ("stopped after {n} row: {why}", "stopped after {n} rows: {why}")


@dataclass(frozen=True)
class ColumnProfile:
    """One column: its inferred kind and a few statistics."""

    name: str
    """Header cleaned: whitespace stripped; empty becomes "column_<position>"; made unique."""
    kind: str
    """integer, number, money, percent, date, datetime, boolean, text, or empty."""
    missing: int
    """Empty cells and "-", "NA", "N/A", "null", "None", "NaN", "—", "#N/A" (any case)."""
    distinct: int
    """Distinct non-missing values, counted up to DISTINCT_CAP."""
    distinct_capped: bool
    example: str
    """The first non-missing value, shortened to 100 characters ("" when there is none)."""
    minimum: float | None
    """For integer, number, money and percent columns, from parsed values ("$1,234" → 1234)."""
    maximum: float | None
    mean: float | None


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
        raise ProfileError(EMPTY)
    total_bytes = max(size, total_bytes or 0)
    with ExitStack() as stack:
        table = open_table(
            path, format_of(name, fmt), stack=stack, max_bytes=max_bytes, total_bytes=total_bytes
        )
        scan = _scan(table, deadline)
        if not scan.columns:
            raise ProfileError(NO_COLUMNS)
        return _assemble(table, scan, name=name, total_bytes=total_bytes, seconds=max_seconds)


# --- Reading rows into column summaries ------------------------------------------------------


@dataclass
class _Scan:
    columns: list[_Column]
    rows: int = 0
    sample: list[tuple[str, ...]] = field(default_factory=list)
    timed_out: bool = False


def _scan(table: Table, deadline: float) -> _Scan:
    prefer_comma = table.delimiter == ";"
    scan = _Scan([_Column(prefer_comma) for _ in table.header])
    for row in table.rows:
        while len(scan.columns) < len(table.header):  # a JSON key seen for the first time
            scan.columns.append(_Column(prefer_comma, missing=scan.rows))
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
        return [_tally_note(NOTE_STOPPED, scan.rows, why=table.stopped)]
    if scan.timed_out:
        return [NOTE_TIME.format(seconds=seconds, rows=scan.rows)]
    if table.truncated:
        read, total = _size(table.bytes_read()), _size(total_bytes)
        return [NOTE_BYTES.format(read=read, total=total)]
    if table.total_rows is not None and scan.rows < table.total_rows:
        return [NOTE_PARQUET.format(rows=scan.rows, total=table.total_rows)]
    return []


def _tally_note(tally: Tally, count: int, **facts: str) -> str:
    return tally[count != 1].format(n=f"{count:,}", **facts)


def _size(count: int) -> str:
    if count < 1024 * 1024:
        return f"{math.ceil(count / 1024):,} KB"
    return f"{count / (1024 * 1024):,.1f} MB"


def clean_names(header: list[object]) -> tuple[list[str], list[str]]:
    """Column names from header cells (stripped, named when blank, unique) and notes on it."""
    raw = [display(cell).replace("\ufeff", "") for cell in header]
    names = [text.strip() or f"column_{i}" for i, text in enumerate(raw, start=1)]
    notes = []
    if any(text.strip() and text != text.strip() for text in raw):
        notes.append(NOTE_SPACES)
    unnamed = [name for name, text in zip(names, raw, strict=True) if not text.strip()]
    if unnamed:
        notes.append(_tally_note(NOTE_UNNAMED, len(unnamed), names=", ".join(unnamed)))
    names, renamed = _unique(names)
    if renamed:
        notes.append(NOTE_RENAMED.format(names=", ".join(renamed)))
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


def display(value: object) -> str:
    """A cell as shown to people: text as is, numbers plainly, dates in ISO form."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat(sep=" ") if _has_time(value) else value.date().isoformat()
    if isinstance(value, float) and math.isnan(value):
        return ""
    if isinstance(value, bytes):
        return f"<{len(value):,} bytes>"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    return str(value)


def _has_time(value: datetime) -> bool:
    """Not a plain date (spreadsheets store dates as datetimes at midnight)."""
    return value.tzinfo is not None or value.time() != datetime.min.time()


# --- Recognising values ----------------------------------------------------------------------

_NUMBER = re.compile(
    r"(?P<open>\()?(?P<sign>[-+\u2212])?(?P<cur>[$€£¥])?\s?(?P<sign2>[-+\u2212])?"
    r"(?P<digits>\d(?:[\d.,' \u00a0]*\d)?|[.,]\d+)(?P<exp>[eE][-+]?\d+)?"
    r"\s?(?P<suffix>[$€£¥%])?(?P<close>\))?",
    re.ASCII,
)
_GROUPS = {".": re.compile("[,' \u00a0]"), ",": re.compile("[.' \u00a0]")}
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_DATE_TEXT = re.compile(
    r"(?:(?P<y>\d{4})[-/.](?P<m>\d{1,2})[-/.](?P<d>\d{1,2})"
    r"|(?P<a>\d{1,2})[-/.](?P<b>\d{1,2})[-/.](?P<ay>\d{4}|\d{2})"
    r"|(?P<nd>\d{1,2})[ -](?P<nm>[A-Za-z]{3,9})\.?[-, ]+(?P<ny>\d{4})"
    r"|(?P<mm>[A-Za-z]{3,9})\.? (?P<md>\d{1,2}),? (?P<my>\d{4}))"
    r"(?P<time>[T ]\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?"
    r"(?: ?[AaPp][Mm])?(?: ?(?:Z|UTC|[+-]\d{2}(?::?\d{2})?))?)?",
    re.ASCII,
)


@dataclass(frozen=True)
class ParsedNumber:
    """A number written as text, read with "." and with "," as the decimal mark."""

    dot: tuple[float, bool] | None
    """(value, written with a fraction) when "." is the decimal mark; None if invalid."""
    comma: tuple[float, bool] | None
    money: bool
    percent: bool


def parse_number(text: str) -> ParsedNumber | None:
    """ "12", "1,234.5", "1.234,5", "$572,754", "-$4,539", "(1,234)", "12.4%", "1e6"; or None."""
    if text.isdigit() and text.isascii():  # the common case, without the regex
        plain = (float(text), False)
        return ParsedNumber(dot=plain, comma=plain, money=False, percent=False)
    match = _NUMBER.fullmatch(text)
    if match is None:
        return None
    parts = match.groupdict()
    signs = [s for s in (parts["sign"], parts["sign2"], parts["open"]) if s]
    if len(signs) > 1 or bool(parts["open"]) != bool(parts["close"]):
        return None
    negative = bool(signs) and signs[0] != "+"
    digits, exponent = parts["digits"], parts["exp"] or ""
    dot, comma = _decimal(digits, ".", exponent), _decimal(digits, ",", exponent)
    if dot is None and comma is None:
        return None
    money = bool(parts["cur"]) or parts["suffix"] not in (None, "%")
    return ParsedNumber(
        dot=_negated(dot) if negative else dot,
        comma=_negated(comma) if negative else comma,
        money=money,
        percent=parts["suffix"] == "%",
    )


def _decimal(digits: str, mark: str, exponent: str) -> tuple[float, bool] | None:
    whole, _, fraction = digits.partition(mark)
    groups = _GROUPS[mark].split(whole)
    if len(groups) > 1 and (len(groups[0]) not in (1, 2, 3) or {len(g) for g in groups[1:]} != {3}):
        return None
    whole = "".join(groups)
    if not (whole or fraction) or not f"{whole}{fraction}".isdigit():
        return None
    if exponent and len(groups) > 1:
        return None
    return float(f"{whole or 0}.{fraction or 0}{exponent}"), bool(fraction or exponent)


def _negated(parsed: tuple[float, bool] | None) -> tuple[float, bool] | None:
    return None if parsed is None else (-parsed[0], parsed[1])


def parse_date(text: str) -> tuple[bool, bool]:
    """(is a date, has a time of day) for "2024-03-01", "03/01/2024", "1 Mar 2024", ISO times."""
    match = _DATE_TEXT.fullmatch(text)
    if match is None:
        return False, False
    p = match.groupdict()
    if p["y"]:
        valid = _valid_date(int(p["y"]), int(p["m"]), int(p["d"]))
    elif p["a"]:
        year, first, second = int(p["ay"]), int(p["a"]), int(p["b"])
        valid = _valid_date(year, first, second) or _valid_date(year, second, first)
    else:
        month = (p["nm"] or p["mm"])[:3].lower()
        day, year = int(p["nd"] or p["md"]), int(p["ny"] or p["my"])
        valid = month in _MONTHS and _valid_date(year, _MONTHS.index(month) + 1, day)
    return valid, valid and bool(p["time"])


def _valid_date(year: int, month: int, day: int) -> bool:
    try:
        date(year if year > 99 else 2000 + year, month, day)
    except ValueError:
        return False
    return True


class _Stats:
    """Running statistics of a column's numbers under one reading of the decimal mark."""

    __slots__ = ("count", "fraction", "high", "low", "ok", "total")

    def __init__(self) -> None:
        self.ok, self.fraction = True, False
        self.count, self.total, self.low, self.high = 0, 0.0, math.inf, -math.inf

    def add(self, parsed: tuple[float, bool] | None) -> None:
        if parsed is None or not self.ok:
            self.ok = False
            return
        value, fraction = parsed
        self.count += 1
        self.total += value
        self.low, self.high = min(self.low, value), max(self.high, value)
        self.fraction |= fraction


class _Column:
    """What one column's cells have shown so far; `possible` holds the kinds not ruled out."""

    def __init__(self, prefer_comma: bool, missing: int = 0) -> None:
        self.prefer_comma, self.missing, self.values = prefer_comma, missing, 0
        self.possible = _BOOL | _NUM | _DATE
        self.dot, self.comma = _Stats(), _Stats()
        self.money = self.percent = self.has_time = False
        self.seen: set[int] = set()
        self.capped = False
        self.example = ""

    def add(self, cell: object) -> None:
        if isinstance(cell, str):
            text = cell.strip()
            if len(text) <= 4 and text.lower() in _MISSING:
                self.missing += 1
            else:
                self._count(text)
                self._read_text(text)
        elif cell is None or (isinstance(cell, float) and math.isnan(cell)):
            self.missing += 1
        else:
            self._count(display(cell))
            self._read_typed(cell)

    def _count(self, text: str) -> None:
        if not self.values:
            self.example = text if len(text) <= _EXAMPLE_CHARS else text[:_EXAMPLE_CHARS] + "…"
        self.values += 1
        key = hash(text)
        if not self.capped and key not in self.seen:
            self.capped = len(self.seen) >= DISTINCT_CAP
            if not self.capped:
                self.seen.add(key)

    def _read_text(self, text: str) -> None:
        if self.possible & _BOOL and text.lower() not in _BOOLEANS:
            self.possible &= ~_BOOL
        if self.possible & _NUM:
            self._read_number(parse_number(text))
        if self.possible & _DATE:
            is_date, has_time = parse_date(text)
            self.has_time |= has_time
            if not is_date:
                self.possible &= ~_DATE

    def _read_number(self, number: ParsedNumber | None) -> None:
        if number is None:
            self.possible &= ~_NUM
            return
        self.dot.add(number.dot)
        self.comma.add(number.comma)
        self.money |= number.money
        self.percent |= number.percent
        if not (self.dot.ok or self.comma.ok):
            self.possible &= ~_NUM

    def _read_typed(self, value: object) -> None:
        if isinstance(value, bool):
            self.possible &= _BOOL
        elif isinstance(value, int | float | Decimal):
            self.possible &= _NUM
            written = isinstance(value, float) or (
                isinstance(value, Decimal) and value != value.to_integral_value()
            )
            self._read_number(
                ParsedNumber((float(value), written), (float(value), written), False, False)
            )
        elif isinstance(value, date):
            self.possible &= _DATE
            self.has_time |= isinstance(value, datetime) and _has_time(value)
        else:
            self.possible = 0

    def profile(self, name: str) -> ColumnProfile:
        kind, stats = self._kind()
        numeric = stats is not None and stats.count > 0
        return ColumnProfile(
            name=name,
            kind=kind,
            missing=self.missing,
            distinct=len(self.seen),
            distinct_capped=self.capped,
            example=self.example,
            minimum=stats.low if stats and numeric else None,
            maximum=stats.high if stats and numeric else None,
            mean=stats.total / stats.count if stats and numeric else None,
        )

    def _kind(self) -> tuple[str, _Stats | None]:
        if not self.values:
            return "empty", None
        if self.possible & _BOOL:
            return "boolean", None
        if self.possible & _NUM and not (self.money and self.percent):
            use_comma = self.comma.ok and (self.prefer_comma or not self.dot.ok)
            stats = self.comma if use_comma else self.dot
            if self.money or self.percent:
                return ("money" if self.money else "percent"), stats
            return ("number" if stats.fraction else "integer"), stats
        if self.possible & _DATE:
            return ("datetime" if self.has_time else "date"), None
        return "text", None
