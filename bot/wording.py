"""Every sentence a user can read, in one place so the wording can be reviewed together.

Error messages say what happened and what to do next; they never contain vendor error text
or stack traces. `{placeholders}` are filled from the facts an error carries.
"""

from __future__ import annotations

import string
from collections.abc import Mapping, Sequence
from typing import Any

from bot.errors import TurnError

STATUS_THINKING = "is thinking…"
STATUS_READING = "is reading {names}…"
STATUS_RUNNING_PYTHON = "is running Python…"
STATUS_UPLOADING = "is posting {count} file(s)…"
STEP_PYTHON = "Running Python"
DEFAULT_TITLE = "Data analysis"
STEP_READING = "Reading {name}"
QUEUED = (
    ":hourglass_flowing_sand: I'm still answering the previous question in this thread; "
    "yours is next and will start by itself."
)
CANCEL_HINT = ":hourglass_flowing_sand: Working on it. Press Cancel to stop this analysis."
CANCELLED_BY = ":octagonal_sign: Cancelled by {name}."
TABLE_AS_FILE = "_(a table of {rows} rows × {columns} columns, attached as `{name}`)_"
CODE_SNIPPET_TITLE = "Python that ran for this answer"
FEEDBACK_THANKS = "Thanks for the feedback! It helps us improve the answers."
NOT_IN_THREAD = "Only people in this thread can cancel its analysis."
RETRY_NOT_IN_THREAD = "Only people in this thread can ask its questions again."
NOT_RECORDED = (
    ":warning: I couldn't take your question just now (a storage problem on my side), so I "
    "won't answer it. Please ask again in a minute; if it keeps happening, give this "
    "reference to the bot's admin: `{ref}`."
)
NOTHING_TO_CANCEL = "That analysis has already finished."
NO_CODE = "No Python ran for that answer, so there is no code to show."
LOADING_MESSAGES = (
    "Looking at the data…",
    "Crunching numbers…",
    "Checking the results…",
)

CONTINUED = "_(continued)_"
PROFILE_TEXT = "A quick look at {name}"
SUGGESTED_QUESTION = "> {question}\n\n"
PROFILE_FAILED = (
    ":warning: I couldn't take a quick look at *{name}*: it {reason}. Mention me with a "
    "question about it and I'll analyse it with Python instead."
)
PROFILE_TOO_BIG = "is too big for a quick look"
PROFILE_UNSUPPORTED = "is not a kind of data file I can read"
AUTO_PROFILE_ON = (
    ":white_check_mark: I'll take a quick look at data files shared in this channel. "
    "Mention me with `auto-profile off` to stop."
)
AUTO_PROFILE_OFF = (
    ":white_check_mark: I won't profile data files shared in this channel any more. "
    "Mention me with `auto-profile on` to turn it back on."
)
PROMPTS_TITLE = "Try one of these:"
PROMPTS = (
    (
        "Upload a CSV and ask me anything",
        "I'm about to share a CSV. Summarise its columns and data quality, then suggest three "
        "questions worth asking.",
    ),
    (
        "Chart a column over time",
        "Chart the main measure of the file I shared over time, by month.",
    ),
    (
        "Find outliers",
        "Find the outliers in the file I shared and explain what makes them unusual.",
    ),
    (
        "Top 10 as a table and a chart",
        "Show the top 10 rows by the main measure as a table and a bar chart.",
    ),
)
INCOMPLETE_NOTE = (
    "_The answer stopped early because it reached the model's output limit. "
    "Ask me to continue, or narrow the question._"
)
FILE_MISSING_NOTE = "{label} _(file not available)_"
FILES_MISSING = (
    ":warning: I couldn't attach {names} to this thread. Ask me to make it again if you need it."
)

# Channel analyst profiles: /analyst, its settings modal, announcements -------------------------
ANALYST_HELP = (
    "*Analyst in this channel*\n• Mention me with a question (and files); I answer in the "
    "thread.\n• `/analyst settings`: this channel's analyst (instructions, model, reasoning "
    "effort, tools, quick looks at shared data files). Anyone in the channel can change it; "
    "changes are announced in the channel.\n• `/analyst help`: this message."
)
ANALYST_IN_DM = "Analyst settings belong to a channel: run `/analyst settings` in that channel."
ANALYST_NOT_IN_CHANNEL = "I'm not in this channel: invite me (`/invite @Analyst`), then try again."
ANALYST_TOO_SLOW = "That took too long and Slack closed the window. Run `/analyst settings` again."
ANALYST_OPEN_FAILED = "I couldn't open the settings just now. Please try again in a minute."
SETTINGS_TITLE, SETTINGS_SAVE, SETTINGS_CANCEL, SETTINGS_CLOSE = (
    "Analyst settings", "Save", "Cancel", "Close"
)  # fmt: skip
SETTINGS_INTRO = "How I answer in <#{channel}>. Anyone here can change it; changes are announced."
SETTINGS_MANAGED = ":lock: The bot's admins manage this channel's analyst in a settings file."
SETTINGS_LAST_CHANGE = "Last changed by <@{user}> on {when}."
LABEL_INSTRUCTIONS, LABEL_MODEL, LABEL_EFFORT, LABEL_TOOLS, LABEL_DROPS = (
    "Instructions for this channel", "Model", "Reasoning effort", "Tools", "Shared data files"
)  # fmt: skip
HINT_INSTRUCTIONS = "Added to my own rules here, e.g. “Amounts are in EUR.” Up to 3,000 characters."
DEFAULT_MODEL_OPTION, RETIRED_MODEL_OPTION = "Default ({model})", "{model} (no longer offered)"
DEFAULT_EFFORT_OPTION, ON, OFF, NONE = "The model's default", "on", "off", "none"
TOOL_LABELS = {
    "code_interpreter": "Python (code interpreter)",
    "file_search": "Search in shared documents",
    "show_chart": "Native Slack charts",
    "show_table": "Native Slack tables",
}
AUTO_PROFILE_LABEL = "Quick look at data files shared without a question"
PROFILE_INSTRUCTIONS_TOO_LONG = "Keep it to {limit:,} characters (this is {length:,})."
PROFILE_MODEL_NOT_ALLOWED = "{model} is not offered here any more. Pick one of: {models}."
PROFILE_EFFORT_UNKNOWN = "{effort!r} is not a reasoning effort. Pick one of: {efforts}."
PROFILE_TOOLS_UNKNOWN = "Unknown tools: {names}. Known tools: {tools}."
SETTINGS_NOW_MANAGED = "The bot's admins now manage this channel in a settings file."
SETTINGS_CHANGED = "{name} changed this channel's analyst settings: {changes}."
CHANGE_MODEL, CHANGE_MODEL_DEFAULT = "model → {model}", "model → the default ({model})"
CHANGE_EFFORT, CHANGE_EFFORT_DEFAULT = "reasoning effort → {effort}", "reasoning effort → default"
CHANGE_INSTRUCTIONS, CHANGE_INSTRUCTIONS_REMOVED = "instructions updated", "instructions removed"
CHANGE_ON, CHANGE_OFF = "{what} on", "{what} off"
AUTO_PROFILE_MANAGED = ":lock: The bot's admins manage this channel's settings in a file."

# Keyed by TurnError.code.
ERRORS: dict[str, str] = {
    "file_unsupported": (
        ":warning: I can't analyse *{name}* ({kind} files aren't supported). "
        "Share it as CSV, TSV, Excel (xlsx/xls), JSON, JSONL, Parquet, text, PDF, Word, "
        "PowerPoint or an image, and ask again."
    ),
    "file_too_large": (
        ":warning: *{name}* is {size_mb} MB, over my {limit_mb} MB limit per file. "
        "Share a smaller extract (filter rows or drop columns) and ask again."
    ),
    "file_not_downloadable": (
        ":warning: I couldn't download *{name}* from Slack. Most likely I'm missing the "
        "`files:read` permission or I can't see the conversation it was shared in. "
        "Ask a workspace admin to reinstall the app with `files:read`, or re-upload the file "
        "here, then ask again."
    ),
    "file_empty": ":warning: *{name}* is empty. Share a file with data in it and ask again.",
    "python_off": (
        ":warning: Python is switched off for this channel, so I can't analyse *{name}* here. "
        "Anyone in the channel can switch it on with `/analyst settings`; then ask again."
    ),
    "engine_auth": (
        ":warning: I couldn't reach the analysis service: its API key was refused. "
        "An admin needs to check `OPENAI_API_KEY`. Then ask again."
    ),
    "engine_quota": (
        ":warning: The analysis service is out of credit or quota for this workspace. "
        "An admin needs to check the OpenAI billing. Then ask again."
    ),
    "engine_rate_limited": (
        ":hourglass: The analysis service is busy right now (rate limited). "
        "Please ask again in a minute."
    ),
    "engine_refused": (
        ":no_entry: The model declined to answer this request. Try rephrasing the question."
    ),
    "engine_incomplete": INCOMPLETE_NOTE,
    "engine_container_expired": (
        ":warning: The analysis session expired and I couldn't restart it. Please ask again."
    ),
    "engine_stream_dropped": (
        ":warning: The connection to the analysis service broke before the answer was "
        "finished. Please ask again."
    ),
    "engine_timeout": (
        ":hourglass: The analysis took too long and was stopped. Try a narrower question "
        "(fewer rows, one chart at a time)."
    ),
    "engine_failed": (
        ":warning: The analysis service couldn't finish this answer. Please ask again; if "
        "it keeps failing, simplify the question."
    ),
    "engine_overloaded": (
        ":hourglass: The analysis service is overloaded right now. "
        "Please ask again in a few minutes."
    ),
    "engine_unavailable": (
        ":warning: The analysis service had a temporary server error. "
        "Please ask again in a few minutes."
    ),
    "interrupted": (
        ":warning: I was interrupted while working on this (a restart or an outage on my "
        "side) and couldn't finish. Press Retry or ask again."
    ),
    "internal": (
        ":warning: Something went wrong on my side and I couldn't answer. "
        "Please try again; if it keeps happening, give this reference to the bot's admin: "
        "`{ref}`."
    ),
}


class _Facts(string.Formatter):
    """Fill placeholders; a missing fact renders as a neutral word instead of failing."""

    def get_value(self, key: int | str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> Any:
        if isinstance(key, str):
            return kwargs.get(key, "this")
        return super().get_value(key, args, kwargs)


def error_text(code: str, **facts: object) -> str:
    """The user-facing text for an error code (unknown codes get the generic message)."""
    template = ERRORS.get(code, ERRORS["internal"])
    return _Facts().format(template, **facts)


def for_error(error: TurnError, *, ref: str = "") -> str:
    return error_text(error.code, ref=ref, **error.facts)


def file_title(name: str) -> str:
    """A readable title from a file name: `top10_revenue.png` → `Top10 revenue`."""
    stem = name.rsplit(".", 1)[0] if "." in name else name
    words = stem.replace("_", " ").replace("-", " ").split()
    return (" ".join(words) or name)[:1].upper() + (" ".join(words) or name)[1:]


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
