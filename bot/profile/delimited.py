"""CSV and TSV: the delimiter sniffed from the first rows, rows fitted to the header's width."""

from __future__ import annotations

import csv
import io
import itertools
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

from bot import wording
from bot.errors import ProfileError
from bot.profile.table import Table
from bot.profile.text_source import complete, open_text

_DELIMITERS = (",", "\t", ";", "|")


def open_delimited(
    path: Path, fmt: str, stack: ExitStack, max_bytes: int, truncated: bool
) -> Table:
    label = wording.FORMAT_LABELS[fmt]
    source = open_text(path, stack, max_bytes, label)
    delimiter = _sniff_delimiter(source.head, preferred="\t" if fmt == "tsv" else ",")
    reader = csv.reader(source.stream, delimiter=delimiter)
    try:
        header = next((row for row in reader if "".join(row).strip()), None)
    except csv.Error as error:
        raise ProfileError(wording.NOT_DELIMITED.format(label=label)) from error
    if header is None:
        raise ProfileError(wording.BLANK)
    table = Table(fmt, list(header), encoding=source.encoding, delimiter=delimiter)
    table.meter, table.truncated = source.meter, truncated
    table.rows = _delimited_rows(reader, table, label)
    return table


def _sniff_delimiter(text: str, *, preferred: str) -> str:
    """The delimiter that splits the first rows into the most consistent number of fields."""
    complete_lines = text[: text.rfind("\n") + 1] or text
    best, best_score = preferred, (0.0, False)
    for delimiter in (preferred, *(d for d in _DELIMITERS if d != preferred)):
        reader = csv.reader(io.StringIO(complete_lines), delimiter=delimiter)
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
    for row in complete(_until_malformed(reader, table, label), table.truncated):
        if len(row) < width:
            table.tallies[wording.NOTE_SHORT_ROWS] += 1
            row.extend([""] * (width - len(row)))
        elif len(row) > width:
            table.tallies[wording.NOTE_LONG_ROWS] += 1
            del row[width:]
        yield row


def _until_malformed(reader: Iterator[list[str]], table: Table, label: str) -> Iterator[list[str]]:
    try:
        for row in reader:
            if len(row) > 1 or (row and row[0].strip()):
                yield row
    except csv.Error:
        table.stopped = wording.STOPPED_CSV.format(label=label)
