"""The notebook builder on its own: plain data in, a valid nbformat 4.5 notebook out."""

from __future__ import annotations

import base64
import io
import re
from datetime import UTC, datetime, timedelta, timezone

import nbformat
import pytest

from bot import wording
from bot.core.notebook import Image, Question, notebook, write
from tests.fakes.scripted_model import tiny_png

WHEN = datetime(2026, 12, 3, 14, 5, tzinfo=UTC)
PNG = base64.b64encode(tiny_png()).decode()
TRACEBACK = (
    "Traceback (most recent call last):\n"
    '  File "<stdin>", line 1, in <module>\n'
    "KeyError: 'region'\n"
)


def valid(built: dict) -> nbformat.NotebookNode:
    """Round-trip through JSON as a file would, then validate against the nbformat schema."""
    sink = io.StringIO()
    write(built, sink)
    loaded = nbformat.reads(sink.getvalue(), as_version=4)
    nbformat.validate(loaded)
    return loaded


def question(**fields: object) -> Question:
    defaults: dict[str, object] = {
        "asker": "Dana",
        "asked_at": WHEN,
        "text": "top 10 by revenue",
        "status": "done",
    }
    return Question(**{**defaults, **fields})  # type: ignore[arg-type]


def test_a_thread_becomes_cells_in_order_with_unique_ids() -> None:
    built = notebook(
        [
            question(
                code_runs=[{"code": "x = 1", "logs": "", "ok": True}],
                answer="Done: **1**.",
            ),
            question(asker="Sam", text="and 2?", code_runs=[{"code": "x + 1", "logs": "2\n"}]),
        ],
        title="top 10 by revenue",
        exported_at=WHEN,
        files=["sales.csv"],
    )
    loaded = valid(built)

    kinds = [(c.cell_type, c.id) for c in loaded.cells]
    assert kinds == [
        ("markdown", "title"),
        ("markdown", "q1-question"),
        ("code", "q1-run1"),
        ("markdown", "q1-answer"),
        ("markdown", "q2-question"),
        ("code", "q2-run1"),
        ("markdown", "q2-answer"),
    ]
    assert all(re.fullmatch(r"[a-zA-Z0-9_-]{1,64}", c.id) for c in loaded.cells)
    assert loaded.cells[0].source.startswith("# top 10 by revenue\n\n")
    assert "2 question(s)" in loaded.cells[0].source
    assert "`sales.csv`" in loaded.cells[0].source
    assert (
        loaded.cells[1].source == "**Dana** asked on 2026-12-03 14:05 UTC:\n\n> top 10 by revenue"
    )
    assert loaded.cells[2].outputs == []  # nothing printed, nothing shown
    assert loaded.cells[3].source == "Done: **1**."
    assert loaded.cells[5].outputs[0].text == "2\n"
    assert [c.execution_count for c in loaded.cells if c.cell_type == "code"] == [1, 2]
    assert loaded.metadata.kernelspec == {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    assert (loaded.nbformat, loaded.nbformat_minor) == (4, 5)


def test_a_failed_run_shows_its_traceback_as_an_error_output() -> None:
    built = notebook(
        [question(code_runs=[{"code": "df['region']", "logs": TRACEBACK, "ok": False}])],
        title="t",
        exported_at=WHEN,
    )
    [error] = valid(built).cells[2].outputs

    assert (error.output_type, error.ename, error.evalue) == ("error", "KeyError", "'region'")
    assert error.traceback == TRACEBACK.rstrip("\n").splitlines()


@pytest.mark.parametrize(
    ("logs", "ename", "evalue"),
    [
        (
            "pandas.errors.ParserError: Error tokenizing data",
            "pandas.errors.ParserError",
            "Error tokenizing data",
        ),
        ("Traceback (most recent call last):\nKeyboardInterrupt\n", "KeyboardInterrupt", ""),
        ("the kernel died", "Error", "the kernel died"),
        ("", "Error", ""),
    ],
)
def test_the_exception_is_read_from_the_last_line(logs: str, ename: str, evalue: str) -> None:
    built = notebook(
        [question(code_runs=[{"code": "x", "logs": logs, "ok": False}])],
        title="t",
        exported_at=WHEN,
    )
    [error] = valid(built).cells[2].outputs

    assert (error.ename, error.evalue) == (ename, evalue)


def test_images_go_under_the_run_that_saved_them_else_under_the_last() -> None:
    runs = [
        {"code": "plt.savefig('/mnt/data/share.png')", "logs": ""},
        {"code": "plt.show()", "logs": "shown"},
    ]
    images = [Image("share.png", "image/png", PNG), Image("cfile_1a2b.png", "image/png", PNG)]
    loaded = valid(notebook([question(code_runs=runs, images=images)], title="t", exported_at=WHEN))

    first, second = (c for c in loaded.cells if c.cell_type == "code")
    assert [o.output_type for o in first.outputs] == ["display_data"]
    assert first.outputs[0].data["text/plain"] == "share.png"
    assert [o.output_type for o in second.outputs] == ["stream", "display_data"]
    assert second.outputs[1].data["image/png"] == PNG
    assert base64.b64decode(second.outputs[1].data["image/png"]) == tiny_png()


def test_notes_and_images_without_a_run_become_a_markdown_cell() -> None:
    loaded = valid(
        notebook(
            [
                question(
                    images=[Image("chart.png", "image/png", PNG)],
                    notes=[wording.NOTEBOOK_FILE_GONE.format(name="old.png")],
                )
            ],
            title="t",
            exported_at=WHEN,
        )
    )

    [files] = [c for c in loaded.cells if c.id == "q1-files"]
    assert wording.NOTEBOOK_FILE_GONE.format(name="old.png") in files.source
    assert wording.NOTEBOOK_FILE_POSTED.format(name="chart.png") in files.source
    assert not any(c.cell_type == "code" for c in loaded.cells)


@pytest.mark.parametrize("status", ["failed", "cancelled", "interrupted", "queued", "running"])
def test_a_turn_without_an_answer_says_how_it_ended(status: str) -> None:
    loaded = valid(notebook([question(status=status)], title="t", exported_at=WHEN))

    assert loaded.cells[-1].source == wording.NOTEBOOK_ENDED[status]
    assert "> top 10 by revenue" in loaded.cells[-2].source


def test_an_answer_cut_short_keeps_its_text_and_an_old_turn_says_its_text_was_not_kept() -> None:
    loaded = valid(
        notebook(
            [
                question(status="failed", answer="Partial answer.\n\n_stopped early_"),
                question(status="done", answer=None),
            ],
            title="t",
            exported_at=WHEN,
        )
    )

    answers = [c.source for c in loaded.cells if c.id.endswith("-answer")]
    assert answers == ["Partial answer.\n\n_stopped early_", wording.NOTEBOOK_NO_TEXT]


def test_text_goes_in_verbatim_and_times_are_utc() -> None:
    paris = timezone(timedelta(hours=1))
    text = "<!channel> line one\nline two with <@U0ALICE>"
    loaded = valid(
        notebook(
            [question(text=text, asked_at=datetime(2026, 12, 3, 15, 5, tzinfo=paris))],
            title="  many\nlines  ",
            exported_at=WHEN,
        )
    )

    assert loaded.cells[0].source.startswith("# many lines\n")
    assert loaded.cells[1].source.endswith(
        "14:05 UTC:\n\n> <!channel> line one\n> line two with <@U0ALICE>"
    )


def test_the_file_is_written_as_jupyter_writes_it() -> None:
    built = notebook([question(answer="é")], title="t", exported_at=WHEN)
    sink = io.StringIO()
    write(built, sink)

    assert sink.getvalue().startswith('{\n "cells": [')
    assert sink.getvalue().endswith("}\n")
    assert "é" in sink.getvalue()  # UTF-8, not \\u escapes
