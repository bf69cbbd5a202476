"""Data files read as a stream of rows, for the local profile in `bot.data_profile`.

Every reader streams and stays bounded: delimited text and JSON go through a reader that stops
at `max_bytes`, workbooks through openpyxl's read-only mode, Parquet through one record batch
(the row count comes from its metadata). openpyxl and pyarrow are imported only when such a
file arrives. A reader returns a `Table`: the header, a row iterator, and counters that fill in
while the rows are consumed. Files that cannot be read at all raise `ProfileError`.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import json
import re
import xml.etree.ElementTree as ElementTree
import zipfile
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, NoReturn

from bot.errors import AnalystError

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

FORMATS = {
    "csv": "csv",
    "txt": "csv",
    "text": "csv",
    "tsv": "tsv",
    "tab": "tsv",
    "xlsx": "xlsx",
    "xlsm": "xlsx",
    "excel": "xlsx",
    "json": "json",
    "jsonl": "jsonl",
    "ndjson": "jsonl",
    "parquet": "parquet",
    "pq": "parquet",
}
_LABELS = {"csv": "CSV", "tsv": "TSV", "json": "JSON", "jsonl": "JSON Lines"}
_MAGIC = {
    b"\x89PNG": "a PNG image",
    b"GIF8": "a GIF image",
    b"\xff\xd8\xff": "a JPEG image",
    b"%PDF": "a PDF",
    b"PK\x03\x04": "a ZIP archive or Excel workbook",
    b"PAR1": "a Parquet file",
    b"\xd0\xcf\x11\xe0": "an old Office file",
    b"\x1f\x8b": "a gzip archive",
}
_HEAD_BYTES = 1024 * 1024  # decoded up front to choose the encoding
_SNIFF_CHARS = 64 * 1024  # of which this much is checked for binary data and delimiters
_CHUNK = 256 * 1024
_DELIMITERS = (",", "\t", ";", "|")
_CONTROL = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x9f]")
JSON_FULL_PARSE_BYTES = 8 * 1024 * 1024  # a single JSON object is parsed whole up to this size
JSON_MAX_ITEM_CHARS = 16 * 1024 * 1024  # one item of a JSON array can't be larger than this
PARQUET_SAMPLE_ROWS = 10_000

# User-facing wording (reasons complete "<file name> …").
NOT_SUPPORTED = "isn't a format I can preview ({fmt})"
OLD_EXCEL = "is an old .xls workbook; I can only preview .xlsx"
BINARY = "doesn't look like a {label} file (it contains binary data{hint})"
BLANK = "has nothing in it but blank space"
NOT_DELIMITED = "couldn't be read as {label}"
NOT_XLSX = "doesn't look like an Excel workbook (.xlsx)"
EMPTY_SHEET = "has nothing on its first sheet"
NOT_JSON = "isn't valid JSON"
NOT_RECORDS = "is JSON, but not a list of records (objects with named fields)"
TOO_BIG_OBJECT = "is one large JSON object, not a list of records"
NOT_PARQUET = "doesn't look like a Parquet file"
NO_READER = "can't be previewed here (the reader for {what} isn't installed)"
NOTE_SHORT_ROWS = (
    "{n} row had fewer fields than the header",
    "{n} rows had fewer fields than the header",
)
NOTE_LONG_ROWS = (
    "{n} row had more fields than the header (extra fields ignored)",
    "{n} rows had more fields than the header (extra fields ignored)",
)
NOTE_SKIPPED_ITEMS = (
    "{n} item wasn't a JSON object and was skipped",
    "{n} items weren't JSON objects and were skipped",
)
NOTE_BAD_LINES = (
    "{n} line wasn't valid JSON and was skipped",
    "{n} lines weren't valid JSON and were skipped",
)
NOTE_OTHER_SHEETS = "{count} more sheet{s} not profiled: {names}"
NOTE_RECORDS_FIELD = 'records taken from the "{key}" field'
STOPPED_CSV = "the rest of the file couldn't be read as {label}"
STOPPED_JSON = "the rest of the file isn't valid JSON"
STOPPED_SHEET = "the rest of the sheet couldn't be read"


class ProfileError(AnalystError):
    """The file can't be profiled; `reason` is a short user-facing phrase ("is empty")."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


Tally = tuple[str, str]  # a note's singular and plural wording, "{n}" filled with the count


@dataclass
class Table:
    """The rows of one file, streamed; the counters fill in while `rows` is consumed."""

    format: str
    header: list[object]
    """Raw header cells; JSON readers append keys as they first appear."""
    rows: Iterator[Sequence[object]] = field(default_factory=lambda: iter(()))
    """Cells: str from text formats, typed values (int, float, datetime, None…) otherwise."""
    encoding: str | None = None
    delimiter: str | None = None
    total_rows: int | None = None
    """Data rows in the whole file when known without reading it (Parquet metadata)."""
    truncated: bool = False
    """The byte budget cuts the file short (the reader drops the last, partial row)."""
    fixed_bytes_read: int | None = None
    meter: _LimitedReader | None = None
    notes: list[str] = field(default_factory=list)
    tallies: Counter[Tally] = field(default_factory=Counter)
    stopped: str | None = None
    """Why reading ended before the end of the file (malformed data), if it did."""

    def bytes_read(self) -> int:
        return self.meter.position if self.meter else self.fixed_bytes_read or 0


def format_of(name: str, fmt: str | None) -> str:
    """The reader for a file: `fmt` (an extension or Slack filetype) or the name's extension."""
    key = (fmt or Path(name).suffix).lower().lstrip(".")
    if key == "xls":
        raise ProfileError(OLD_EXCEL)
    if key not in FORMATS:
        raise ProfileError(NOT_SUPPORTED.format(fmt=key or "no extension"))
    return FORMATS[key]


def open_table(
    path: Path, fmt: str, *, stack: ExitStack, max_bytes: int, total_bytes: int
) -> Table:
    """Open `path` as `fmt` (a value of FORMATS); files are closed when `stack` closes.

    `total_bytes` is the size of the whole file, which `path` may hold only the start of.
    """
    truncated = total_bytes > min(max_bytes, path.stat().st_size)
    if fmt in ("csv", "tsv"):
        return _open_delimited(path, fmt, stack, max_bytes, truncated)
    if fmt in ("json", "jsonl"):
        return _open_json(path, fmt, stack, max_bytes, truncated)
    if fmt == "xlsx":
        return _open_xlsx(path, stack)
    return _open_parquet(path, stack)


# --- Text: encoding, binary detection, byte budget -------------------------------------------


class _LimitedReader(io.RawIOBase):
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
class _TextSource:
    stream: IO[str]
    encoding: str
    head: str
    meter: _LimitedReader


def _open_text(path: Path, stack: ExitStack, max_bytes: int, label: str) -> _TextSource:
    raw = stack.enter_context(path.open("rb"))
    head_bytes = raw.read(min(_HEAD_BYTES, max_bytes))
    raw.seek(0)
    encoding = _detect_encoding(head_bytes, label)
    decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
    head = decoder.decode(head_bytes[: _SNIFF_CHARS * 4], final=False)[:_SNIFF_CHARS]
    if len(_CONTROL.findall(head)) > 0.01 * len(head):
        _refuse_binary(head_bytes, label)
    meter = _LimitedReader(raw, max_bytes)
    stream = io.TextIOWrapper(
        io.BufferedReader(meter, _CHUNK), encoding=encoding, errors="replace", newline=""
    )
    return _TextSource(stream, encoding, head, meter)


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
    hint = next((f": it looks like {what}" for m, what in _MAGIC.items() if head.startswith(m)), "")
    raise ProfileError(BINARY.format(label=label, hint=hint))


def _complete(rows: Iterable[Any], truncated: bool) -> Iterator[Any]:
    """All `rows`, except the last one when the byte budget cut it (it may be partial)."""
    pending: list[Any] = []
    for row in rows:
        if pending:
            yield pending.pop()
        pending.append(row)
    if pending and not truncated:
        yield pending.pop()


# --- CSV and TSV ------------------------------------------------------------------------------


def _open_delimited(
    path: Path, fmt: str, stack: ExitStack, max_bytes: int, truncated: bool
) -> Table:
    label = _LABELS[fmt]
    source = _open_text(path, stack, max_bytes, label)
    delimiter = _sniff_delimiter(source.head, preferred="\t" if fmt == "tsv" else ",")
    reader = csv.reader(source.stream, delimiter=delimiter)
    try:
        header = next((row for row in reader if "".join(row).strip()), None)
    except csv.Error as error:
        raise ProfileError(NOT_DELIMITED.format(label=label)) from error
    if header is None:
        raise ProfileError(BLANK)
    table = Table(fmt, list(header), encoding=source.encoding, delimiter=delimiter)
    table.meter, table.truncated = source.meter, truncated
    table.rows = _delimited_rows(reader, table, label)
    return table


def _sniff_delimiter(text: str, *, preferred: str) -> str:
    """The delimiter that splits the first rows into the most consistent number of fields."""
    complete = text[: text.rfind("\n") + 1] or text
    best, best_score = preferred, (0.0, False)
    for delimiter in (preferred, *(d for d in _DELIMITERS if d != preferred)):
        reader = csv.reader(io.StringIO(complete), delimiter=delimiter)
        try:
            counts = [len(row) for row in itertools.islice(reader, 50) if row]
        except csv.Error:
            continue
        if not counts:
            continue
        width, seen = Counter(counts).most_common(1)[0]
        score = (seen / len(counts), counts[0] == width)
        if width > 1 and score > best_score:
            best, best_score = delimiter, score
    return best


def _delimited_rows(reader: Iterator[list[str]], table: Table, label: str) -> Iterator[list[str]]:
    """Rows cut or padded to the header's width; blank lines skipped."""
    width = len(table.header)
    for row in _complete(_until_malformed(reader, table, label), table.truncated):
        if len(row) < width:
            table.tallies[NOTE_SHORT_ROWS] += 1
            row.extend([""] * (width - len(row)))
        elif len(row) > width:
            table.tallies[NOTE_LONG_ROWS] += 1
            del row[width:]
        yield row


def _until_malformed(reader: Iterator[list[str]], table: Table, label: str) -> Iterator[list[str]]:
    try:
        for row in reader:
            if len(row) > 1 or (row and row[0].strip()):
                yield row
    except csv.Error:
        table.stopped = STOPPED_CSV.format(label=label)


# --- JSON and JSON Lines ---------------------------------------------------------------------


def _open_json(path: Path, fmt: str, stack: ExitStack, max_bytes: int, truncated: bool) -> Table:
    source = _open_text(path, stack, max_bytes, _LABELS[fmt])
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
        raise ProfileError(TOO_BIG_OBJECT if start == "{" else NOT_RECORDS)
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
        raise ProfileError(NOT_RECORDS)
    return itertools.chain([first], items)


def _jsonl_items(stream: IO[str], table: Table, truncated: bool) -> Iterator[object]:
    parsed_any = False
    for line in _complete((line for line in stream if line.strip()), truncated):
        try:
            item = json.loads(line)
        except json.JSONDecodeError:
            if not parsed_any:
                raise ProfileError(NOT_JSON) from None
            table.tallies[NOTE_BAD_LINES] += 1
            continue
        parsed_any = True
        yield item


def _records_in_object(stream: IO[str], table: Table) -> Iterator[object]:
    """A single object: its first field holding a list of records (`{"data": [{…}, …]}`)."""
    try:
        document = json.load(stream)
    except json.JSONDecodeError as error:
        raise ProfileError(NOT_JSON) from error
    for key, value in document.items():
        if isinstance(value, list) and value and isinstance(value[0], dict):
            table.notes.append(NOTE_RECORDS_FIELD.format(key=key))
            return iter(value)
    raise ProfileError(NOT_RECORDS)


def _record_rows(items: Iterator[object], table: Table) -> Iterator[list[object]]:
    """Objects as rows aligned with `table.header`, which grows with every new key."""
    index: dict[str, int] = {}
    for item in items:
        if not isinstance(item, dict):
            table.tallies[NOTE_SKIPPED_ITEMS] += 1
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
            raise ProfileError(NOT_RECORDS)
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
        more = self._stream.read(max(_CHUNK, len(self._buffer) - self._pos))
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
            raise ProfileError(NOT_JSON)
        self._table.stopped = STOPPED_JSON


# --- Excel workbooks -------------------------------------------------------------------------


def _open_xlsx(path: Path, stack: ExitStack) -> Table:
    try:
        import openpyxl  # type: ignore[import-untyped]  # no stubs; imported only for workbooks
        from openpyxl.utils.exceptions import InvalidFileException  # type: ignore[import-untyped]
    except ImportError as error:
        raise ProfileError(NO_READER.format(what="Excel workbooks")) from error
    try:
        # openpyxl leaves a sheet's stream open when its rows are not read to the end, so the
        # file is opened (and closed) here rather than by openpyxl.
        file = stack.enter_context(path.open("rb"))
        workbook = openpyxl.load_workbook(file, read_only=True, data_only=True)
        stack.callback(workbook.close)
        if not workbook.worksheets:  # only chart sheets
            raise ProfileError(EMPTY_SHEET)
        sheet = workbook.worksheets[0]
        rows = (r for r in sheet.iter_rows(values_only=True) if any(c is not None for c in r))
        header = list(next(rows, ()))
    except (
        zipfile.BadZipFile,
        InvalidFileException,
        KeyError,  # a part the workbook's index names is missing
        ValueError,
        ElementTree.ParseError,  # damaged XML
    ) as error:
        raise ProfileError(NOT_XLSX) from error
    while header and header[-1] is None:
        header.pop()
    if not header:
        raise ProfileError(EMPTY_SHEET)
    table = Table("xlsx", header, fixed_bytes_read=path.stat().st_size)
    table.notes.extend(_other_sheets(list(workbook.sheetnames), str(sheet.title)))
    table.rows = _sheet_rows(rows, table)
    return table


def _other_sheets(names: list[str], profiled: str) -> list[str]:
    others = [name for name in names if name != profiled]
    if not others:
        return []
    shown = ", ".join(others[:3]) + (", …" if len(others) > 3 else "")
    s = "s" if len(others) > 1 else ""
    return [NOTE_OTHER_SHEETS.format(count=len(others), s=s, names=shown)]


def _sheet_rows(rows: Iterator[tuple[object, ...]], table: Table) -> Iterator[Sequence[object]]:
    """Data rows cut to the header's width (values beyond it are counted, then ignored)."""
    width = len(table.header)
    try:
        for row in rows:
            if any(cell is not None for cell in row[width:]):
                table.tallies[NOTE_LONG_ROWS] += 1
            yield row[:width]
    except (ElementTree.ParseError, ValueError):
        table.stopped = STOPPED_SHEET


# --- Parquet ---------------------------------------------------------------------------------


def _open_parquet(path: Path, stack: ExitStack) -> Table:
    try:
        import pyarrow as pa  # type: ignore[import-untyped]  # no stubs; imported only for Parquet
        import pyarrow.parquet as pq  # type: ignore[import-untyped]
    except ImportError as error:
        raise ProfileError(NO_READER.format(what="Parquet files")) from error

    try:
        parquet = pq.ParquetFile(path)
        stack.callback(parquet.close)
        batch = next(parquet.iter_batches(batch_size=PARQUET_SAMPLE_ROWS), None)
    except (pa.ArrowInvalid, OSError) as error:
        raise ProfileError(NOT_PARQUET) from error
    metadata = parquet.metadata
    table = Table("parquet", list(parquet.schema_arrow.names), total_rows=metadata.num_rows)
    table.fixed_bytes_read = path.stat().st_size
    if metadata.num_row_groups > 1:
        group = metadata.row_group(0)
        read = sum(group.column(i).total_compressed_size for i in range(group.num_columns))
        table.fixed_bytes_read = int(read)
    if batch is not None:
        columns = [_arrow_values(column, pa) for column in batch.columns]
        table.rows = zip(*columns, strict=True)
    return table


def _arrow_values(column: Any, pa: Any) -> list[object]:
    """Python values of an Arrow array; text where Python has no type for them (ns times)."""
    try:
        values: list[object] = column.to_pylist()
    except ValueError:
        values = column.cast(pa.string()).to_pylist()
    return values
