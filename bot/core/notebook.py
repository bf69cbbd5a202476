"""A thread's analysis as a Jupyter notebook (nbformat 4.5): plain data in, a dict out.

    markdown  title, when it was exported, the files the code read
    per question, in order:
      markdown  who asked, when, and the question
      code      each Python run, with what it printed (`stream`) or its traceback (`error`);
                the turn's images as `display_data` under the run that saved them
      markdown  notes on files that could not be embedded
      markdown  the answer as it was shown, or how the turn ended

Code, logs and answers go in verbatim: a notebook is a file, not a Slack message.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO, Any

from bot import wording
from bot.core.records import TurnStatus

Cell = dict[str, Any]

NBFORMAT, NBFORMAT_MINOR = 4, 5
METADATA = {
    "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
    "language_info": {"name": "python"},
}
# The last line of a Python traceback: `KeyError: 'region'`, `pandas.errors.ParserError: …`.
_EXCEPTION_LINE = re.compile(r"^([A-Za-z_][\w.]*)(?::\s*(.*))?$")
_EXCEPTION_NAMES = ("Error", "Exception", "Interrupt", "Exit", "Warning")


@dataclass(frozen=True)
class Image:
    """An image a turn produced, ready to embed."""

    name: str
    mimetype: str
    """`image/png`, `image/jpeg` or `image/gif`."""
    data: str
    """The bytes, base64-encoded."""


@dataclass(frozen=True)
class Question:
    """One turn of the thread, as the notebook shows it."""

    asker: str
    """Display name (or user id) of who asked: text, never a Slack mention."""
    asked_at: datetime
    text: str
    status: TurnStatus
    code_runs: Sequence[Mapping[str, Any]] = ()
    """`{"code", "logs", "ok"}` per run, in order, as the turn recorded them."""
    answer: str | None = None
    """The answer's Markdown as shown (None when it was not kept, or there was none)."""
    images: Sequence[Image] = ()
    notes: Sequence[str] = ()
    """Files that could not be embedded, and other files the turn posted."""


def notebook(
    questions: Sequence[Question],
    *,
    title: str,
    exported_at: datetime,
    files: Sequence[str] = (),
) -> dict[str, Any]:
    """The notebook of a thread (valid nbformat 4.5: every cell has an id)."""
    intro = [
        f"# {_one_line(title)}",
        wording.NOTEBOOK_INTRO.format(when=_when(exported_at), count=len(questions)),
    ]
    if files:
        intro.append(wording.NOTEBOOK_FILES.format(names=", ".join(f"`{n}`" for n in files)))
    cells = [_markdown("title", "\n\n".join(intro))]
    counter = itertools.count(1)
    for number, question in enumerate(questions, start=1):
        cells += _question_cells(f"q{number}", question, counter)
    return {
        "nbformat": NBFORMAT,
        "nbformat_minor": NBFORMAT_MINOR,
        "metadata": METADATA,
        "cells": cells,
    }


def write(notebook: Mapping[str, Any], sink: IO[str]) -> None:
    """Serialise as Jupyter does (one-space indent, sorted keys), streamed into `sink`."""
    json.dump(notebook, sink, indent=1, sort_keys=True, ensure_ascii=False)
    sink.write("\n")


def _question_cells(prefix: str, question: Question, counter: Iterator[int]) -> list[Cell]:
    quoted = "\n".join(f"> {line}" for line in question.text.splitlines() or [""])
    asked = wording.NOTEBOOK_ASKED.format(name=question.asker, when=_when(question.asked_at))
    cells = [_markdown(f"{prefix}-question", f"{asked}\n\n{quoted}")]
    runs = list(question.code_runs)
    placed = _place_images(question.images, runs)
    for index, run in enumerate(runs):
        outputs = _run_outputs(run) + [_display(image) for image in placed.get(index, [])]
        cells.append(
            _code(f"{prefix}-run{index + 1}", str(run.get("code") or ""), outputs, counter)
        )
    notes = list(question.notes)
    if not runs:  # images live under code cells; without one they are named instead
        notes += [wording.NOTEBOOK_FILE_POSTED.format(name=i.name) for i in question.images]
    if notes:
        cells.append(_markdown(f"{prefix}-files", "\n\n".join(notes)))
    cells.append(_markdown(f"{prefix}-answer", _ending(question)))
    return cells


def _ending(question: Question) -> str:
    if question.answer:
        return question.answer
    if question.status == "done":
        return wording.NOTEBOOK_NO_TEXT
    return wording.NOTEBOOK_ENDED.get(question.status, wording.NOTEBOOK_ENDED["failed"])


def _place_images(
    images: Sequence[Image], runs: Sequence[Mapping[str, Any]]
) -> dict[int, list[Image]]:
    """Each image under the run whose code names it (`savefig('chart.png')`), else under
    the last run (a chart shown with `plt.show()` is named by the interpreter)."""
    placed: dict[int, list[Image]] = {}
    if not runs:
        return placed
    for image in images:
        naming = [i for i, run in enumerate(runs) if image.name in str(run.get("code") or "")]
        placed.setdefault(naming[-1] if naming else len(runs) - 1, []).append(image)
    return placed


def _run_outputs(run: Mapping[str, Any]) -> list[Cell]:
    logs = str(run.get("logs") or "")
    if run.get("ok", True):
        return [{"output_type": "stream", "name": "stdout", "text": logs}] if logs else []
    lines = logs.rstrip("\n").splitlines()
    ename, evalue = _exception(lines)
    return [{"output_type": "error", "ename": ename, "evalue": evalue, "traceback": lines}]


def _exception(lines: Sequence[str]) -> tuple[str, str]:
    """The exception's name and message, from the traceback's last line."""
    last = next((line.strip() for line in reversed(lines) if line.strip()), "")
    match = _EXCEPTION_LINE.match(last)
    if match and (match.group(2) is not None or match.group(1).endswith(_EXCEPTION_NAMES)):
        return match.group(1), (match.group(2) or "").strip()
    return "Error", last


def _display(image: Image) -> Cell:
    return {
        "output_type": "display_data",
        "data": {image.mimetype: image.data, "text/plain": image.name},
        "metadata": {},
    }


def _code(cell_id: str, source: str, outputs: list[Cell], counter: Iterator[int]) -> Cell:
    return {
        "cell_type": "code",
        "id": cell_id,
        "execution_count": next(counter),
        "metadata": {},
        "source": source,
        "outputs": outputs,
    }


def _markdown(cell_id: str, source: str) -> Cell:
    return {"cell_type": "markdown", "id": cell_id, "metadata": {}, "source": source}


def _when(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _one_line(text: str) -> str:
    return " ".join(text.split())[:120] or wording.DEFAULT_TITLE
