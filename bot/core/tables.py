"""Markdown tables in the model's text: cut out of the stream so they can be shown as
tables (Slack `table` blocks, a CSV file when too big) instead of pipes and dashes."""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Table:
    """A Markdown table cut out of the text: header row first, cells as written."""

    rows: tuple[tuple[str, ...], ...]
    source: str
    """The Markdown it came from (to show as text if it cannot be a table block)."""


_SEPARATOR_CELL = re.compile(r"^\s*:?-{2,}:?\s*$")


def _is_table_line(line: str) -> bool:
    return line.lstrip().startswith("|")


def _cells(line: str) -> tuple[str, ...]:
    body = line.strip()
    body = body[1:] if body.startswith("|") else body
    body = body[:-1] if body.endswith("|") and not body.endswith("\\|") else body
    cells = re.split(r"(?<!\\)\|", body)
    return tuple(cell.strip().replace("\\|", "|") for cell in cells)


def _is_separator(line: str) -> bool:
    cells = _cells(line)
    return bool(cells) and all(_SEPARATOR_CELL.match(cell) for cell in cells)


class TableCutter:
    """Cuts Markdown tables out of streamed text so they can be shown as table blocks.

    Text passes through at once except a line that may start a table, which is held until
    the table is complete (or turns out not to be one). Tables inside code blocks stay text.
    """

    def __init__(self) -> None:
        self._held: list[str] = []  # complete lines of a table in progress
        self._partial = ""  # an incomplete line that might be a table row
        self._in_fence = False

    def feed(self, text: str) -> list[str | Table]:
        if not (self._held or self._partial or "|" in text or "`" in text):
            return [text] if text else []  # no table or code fence can start here
        out: list[str | Table] = []
        data = self._partial + text
        self._partial = ""
        lines = data.splitlines(keepends=True)
        if lines and not lines[-1].endswith("\n"):
            last = lines.pop()
            head = last.lstrip()
            if self._held or head.startswith(("|", "```")) or "```".startswith(head):
                self._partial = last  # a table row or code fence may be starting: wait
            else:
                lines.append(last)
        for line in lines:
            self._line(line, out)
        return _merge(out)

    def flush(self) -> list[str | Table]:
        out: list[str | Table] = []
        if self._partial:
            partial, self._partial = self._partial, ""
            self._line(partial, out)
        self._end_table(out)
        return _merge(out)

    def _line(self, line: str, out: list[str | Table]) -> None:
        if line.lstrip().startswith("```"):
            self._end_table(out)
            self._in_fence = not self._in_fence
            out.append(line)
        elif not self._in_fence and _is_table_line(line):
            self._held.append(line)
            if len(self._held) == 2 and not _is_separator(self._held[1]):
                out.append(self._held.pop(0))  # a line with a pipe, not a table header
        else:
            self._end_table(out)
            out.append(line)

    def _end_table(self, out: list[str | Table]) -> None:
        held, self._held = self._held, []
        if len(held) >= 2 and _is_separator(held[1]):
            rows = (_cells(held[0]), *(_cells(line) for line in held[2:]))
            out.append(Table(rows=rows, source="".join(held)))
        elif held:
            out.append("".join(held))


def _merge(pieces: list[str | Table]) -> list[str | Table]:
    merged: list[str | Table] = []
    for piece in pieces:
        if isinstance(piece, str) and merged and isinstance(merged[-1], str):
            merged[-1] += piece
        elif piece != "":
            merged.append(piece)
    return merged


# Spreadsheets run a cell that starts with one of these as a formula (`=HYPERLINK(…)`,
# `@SUM(…)`, DDE `=cmd|…`); the full-width forms count in some locales.
_FORMULA_START = frozenset("=+-@\t\r\uff1d\uff0b\uff0d\uff20")
_NUMBER = re.compile(r"[+\-\uff0b\uff0d]?\$?(\d[\d,\s]*)?(\.\d+)?([eE][+-]?\d+)?%?")


def spreadsheet_safe(cell: str) -> str:
    """A cell for a CSV file people open in a spreadsheet: text that would start a formula
    gets a leading apostrophe (shown as text, not run); signed numbers stay numbers."""
    if cell[:1] in _FORMULA_START and not (
        any(c.isdigit() for c in cell) and _NUMBER.fullmatch(cell.strip())
    ):
        return "'" + cell
    return cell
