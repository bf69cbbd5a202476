"""What a reader hands the profiler: a file's header and its rows, streamed as a `Table`."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from bot.profile.text_source import LimitedReader

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
    meter: LimitedReader | None = None
    notes: list[str] = field(default_factory=list)
    tallies: Counter[Tally] = field(default_factory=Counter)
    stopped: str | None = None
    """Why reading ended before the end of the file (malformed data), if it did."""

    def bytes_read(self) -> int:
        return self.meter.position if self.meter else self.fixed_bytes_read or 0
