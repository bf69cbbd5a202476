"""The local profile of a data file dropped in a channel (`bot.profile`)."""

from __future__ import annotations

# The local profile of a dropped data file (bot.profile) ---------------------------------------

# Why a file can't be profiled: each completes "<file name> …" (PROFILE_FAILED's "it {reason}").
NOT_SUPPORTED = "isn't a format I can preview ({fmt})"
NO_EXTENSION = "no extension"  # {fmt} of NOT_SUPPORTED for a name without one
OLD_EXCEL = "is an old .xls workbook; I can only preview .xlsx"
BINARY = "doesn't look like a {label} file (it contains binary data{hint})"
BINARY_HINT = ": it looks like {what}"
LOOKS_LIKE = {  # {what} of BINARY_HINT, by the bytes a file starts with
    b"\x89PNG": "a PNG image",
    b"GIF8": "a GIF image",
    b"\xff\xd8\xff": "a JPEG image",
    b"%PDF": "a PDF",
    b"PK\x03\x04": "a ZIP archive or Excel workbook",
    b"PAR1": "a Parquet file",
    b"\xd0\xcf\x11\xe0": "an old Office file",
    b"\x1f\x8b": "a gzip archive",
}
FORMAT_LABELS = {"csv": "CSV", "tsv": "TSV", "json": "JSON", "jsonl": "JSON Lines"}  # {label}
BLANK = "has nothing in it but blank space"
NOT_DELIMITED = "couldn't be read as {label}"
NOT_XLSX = "doesn't look like an Excel workbook (.xlsx)"
EMPTY_SHEET = "has nothing on its first sheet"
NOT_JSON = "isn't valid JSON"
NOT_RECORDS = "is JSON, but not a list of records (objects with named fields)"
TOO_BIG_OBJECT = "is one large JSON object, not a list of records"
NOT_PARQUET = "doesn't look like a Parquet file"
NO_XLSX_READER = "can't be previewed here (the reader for Excel workbooks isn't installed)"
NO_PARQUET_READER = "can't be previewed here (the reader for Parquet files isn't installed)"
EMPTY = "is empty"
NO_COLUMNS = "has no columns"

# Notes listed under a profile; a (singular, plural) pair is picked by its count, "{n}".
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
NOTE_SPACES = "header names had extra spaces"
NOTE_UNNAMED = ("{n} column had no name (now {names})", "{n} columns had no name (now {names})")
NOTE_RENAMED = "duplicate column names were renamed: {names}"
NOTE_BYTES = "only the first {read} of {total} were read"
NOTE_TIME = "stopped after {seconds:g} s: only the first {rows:,} rows were read"
NOTE_PARQUET = "profiled the first {rows:,} of {total:,} rows"
NOTE_STOPPED = ("stopped after {n} row: {why}", "stopped after {n} rows: {why}")
STOPPED_CSV = "the rest of the file couldn't be read as {label}"  # {why} of NOTE_STOPPED
STOPPED_JSON = "the rest of the file isn't valid JSON"
STOPPED_SHEET = "the rest of the sheet couldn't be read"

# The profile's summary paragraph, and a binary cell among its sample rows.
SUMMARY_SHAPE = "*{rows:,} rows × {columns} columns*"
SUMMARY_SAMPLE_SHAPE = "*{rows:,} rows read × {columns} columns* (a sample)"
SUMMARY_DELIMITER = "`{delimiter}`-separated"
SUMMARY_ASK = "Ask me anything about it, or pick a question below."
CELL_BYTES = "<{count:,} bytes>"
