"""What a turn shows: statuses, steps, answers' notes, controls' replies and error messages."""

from __future__ import annotations

import string
from collections.abc import Mapping, Sequence
from typing import Any

from bot.errors import TurnError
from bot.wording.costs import BUDGET_ERRORS

STATUS_THINKING = "is thinking…"
STATUS_RESUMING = "is picking up where it left off…"
STATUS_READING = "is reading {names}…"
STATUS_RUNNING_PYTHON = "is running Python…"
STATUS_UPLOADING = "is posting {count} file(s)…"
STEP_PYTHON = "Running Python"
DEFAULT_TITLE = "Data analysis"
STEP_READING = "Reading {name}"
STEP_INDEXING = "Indexing {name} for search"
STEP_SEARCHING = "Searching the documents"
SOURCE = "(source: {link})"
NOT_INDEXED = (
    "_I couldn't index {names} for search, so I can only read it with Python (not search it)._"
)
QUEUED = (
    ":hourglass_flowing_sand: I'm still answering the previous question in this thread; "
    "yours is next and will start by itself."
)
CANCEL_HINT = ":hourglass_flowing_sand: Working on it. Press Cancel to stop this analysis."
CANCELLED_BY = ":octagonal_sign: Cancelled by {name}."
TABLE_AS_FILE = "_(a table of {rows} rows × {columns} columns, attached as `{name}`)_"
TABLE_PART = "{caption} (first {shown} of {total} rows; all of them are in {name})"
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


# Keyed by TurnError.code.
ERRORS: dict[str, str] = {
    "file_unsupported": (
        ":warning: I can't analyse *{name}* ({kind} files aren't supported). "
        "Share it as CSV, TSV, Excel (xlsx/xls), JSON, JSONL, Parquet, text, PDF, Word, "
        "PowerPoint, Markdown, HTML or an image, and ask again."
    ),
    "engine_search_index_gone": (
        ":warning: I couldn't search this thread's documents just now. Please ask again."
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
    **BUDGET_ERRORS,
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
