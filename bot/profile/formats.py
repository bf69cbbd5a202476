"""Which reader a data file gets, from its name or Slack filetype; `open_table` opens it.

Every reader streams and stays bounded: delimited text and JSON go through a reader that stops
at `max_bytes` (`bot.profile.text_source`), workbooks through openpyxl's read-only mode,
Parquet through one record batch (the row count comes from its metadata). openpyxl and pyarrow
are imported only when such a file arrives. A reader returns a `Table`: the header, a row
iterator, and counters that fill in while the rows are consumed. Files that cannot be read at
all raise `ProfileError`.
"""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path

from bot import wording
from bot.errors import ProfileError
from bot.profile.delimited import open_delimited
from bot.profile.json_records import open_json
from bot.profile.parquet import open_parquet
from bot.profile.table import Table
from bot.profile.workbooks import open_xlsx

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


def format_of(name: str, fmt: str | None) -> str:
    """The reader for a file: `fmt` (an extension or Slack filetype) or the name's extension."""
    key = (fmt or Path(name).suffix).lower().lstrip(".")
    if key == "xls":
        raise ProfileError(wording.OLD_EXCEL)
    if key not in FORMATS:
        raise ProfileError(wording.NOT_SUPPORTED.format(fmt=key or wording.NO_EXTENSION))
    return FORMATS[key]


def open_table(
    path: Path, fmt: str, *, stack: ExitStack, max_bytes: int, total_bytes: int
) -> Table:
    """Open `path` as `fmt` (a value of FORMATS); files are closed when `stack` closes.

    `total_bytes` is the size of the whole file, which `path` may hold only the start of.
    """
    truncated = total_bytes > min(max_bytes, path.stat().st_size)
    if fmt in ("csv", "tsv"):
        return open_delimited(path, fmt, stack, max_bytes, truncated)
    if fmt in ("json", "jsonl"):
        return open_json(path, fmt, stack, max_bytes, truncated)
    if fmt == "xlsx":
        return open_xlsx(path, stack)
    return open_parquet(path, stack)
