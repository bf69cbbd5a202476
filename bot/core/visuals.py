"""Native charts and tables the model asks for (`show_chart`, `show_table`), checked against
what the chat surface can draw.

The limits are those of Slack's `data_visualization` and `data_table` blocks (reference
slack.md, "Update 2026-12"): a chart's title ≤ 50 characters; 1–6 series named ≤ 20
characters, each with one value per category; 1–20 categories of ≤ 20 characters; a pie
has one series of 1–6 segments with positive values. A table has 1–20 columns and rows as
wide as its header; what one block cannot hold is attached whole as a CSV file. Anything
else raises `VisualError`, whose message tells the model what to change.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, cast

ChartType = Literal["bar", "line", "area", "pie"]
CHART_TYPES: tuple[ChartType, ...] = ("bar", "line", "area", "pie")
MAX_TITLE = 50
MAX_LABEL = 20
MAX_SERIES = 6
MAX_SEGMENTS = 6
MAX_CATEGORIES = 20
MAX_COLUMNS = 20
MAX_CAPTION = 200
MAX_COLUMN_NAME = 100
MAX_TABLE_ROWS = 5_000
"""Rows a `show_table` call may carry at all (the whole table goes into a CSV file)."""

Cell = str | int | float | None


class VisualError(ValueError):
    """The arguments cannot be drawn; the message says why, for the model."""


@dataclass(frozen=True)
class Series:
    name: str
    values: tuple[float, ...]


@dataclass(frozen=True)
class Chart:
    title: str
    type: ChartType
    categories: tuple[str, ...]
    """The x-axis categories (a pie: its segment labels)."""
    series: tuple[Series, ...]


@dataclass(frozen=True)
class DataTable:
    caption: str
    columns: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]


Visual = Chart | DataTable


def chart_from(arguments: Mapping[str, Any]) -> Chart:
    """A chart from `show_chart` arguments, or `VisualError` listing every problem."""
    problems: list[str] = []
    title = _text(arguments.get("title"), "title", MAX_TITLE, problems)
    kind = arguments.get("type")
    if kind not in CHART_TYPES:
        problems.append(f"type must be one of {', '.join(CHART_TYPES)}")
    categories = _labels(arguments.get("categories"), problems)
    series = _series(arguments.get("series"), len(categories), problems)
    if kind == "pie":
        if len(series) > 1:
            problems.append("a pie chart takes exactly one series")
        if len(categories) > MAX_SEGMENTS:
            problems.append(
                f"a pie chart has at most {MAX_SEGMENTS} segments (got {len(categories)}): "
                "group the smallest into 'Other' or use a bar chart"
            )
        if any(v <= 0 for s in series for v in s.values):
            problems.append("pie values must all be greater than 0")
    if problems:
        raise VisualError("; ".join(problems))
    return Chart(title, cast(ChartType, kind), tuple(categories), tuple(series))


def table_from(arguments: Mapping[str, Any]) -> DataTable:
    """A table from `show_table` arguments, or `VisualError` listing every problem."""
    problems: list[str] = []
    caption = _text(arguments.get("caption"), "caption", MAX_CAPTION, problems)
    columns = arguments.get("columns")
    if (
        not isinstance(columns, list)
        or not 1 <= len(columns) <= MAX_COLUMNS
        or not all(isinstance(c, str) and 0 < len(c.strip()) <= MAX_COLUMN_NAME for c in columns)
    ):
        problems.append(
            f"columns must be 1 to {MAX_COLUMNS} non-empty names of at most "
            f"{MAX_COLUMN_NAME} characters (select the columns that matter)"
        )
        columns = []
    rows = _rows(arguments.get("rows"), len(columns), problems)
    if problems:
        raise VisualError("; ".join(problems))
    return DataTable(caption, tuple(c.strip() for c in columns), rows)


def describe(visual: Visual) -> str:
    """One line for the model: what was shown."""
    if isinstance(visual, Chart):
        return (
            f"shown: {visual.type} chart '{visual.title}' with {len(visual.categories)} "
            f"categories and {len(visual.series)} series"
        )
    return f"shown: table '{visual.caption}' with {len(visual.rows)} rows"


def _text(value: Any, name: str, limit: int, problems: list[str]) -> str:
    if not isinstance(value, str) or not value.strip():
        problems.append(f"{name} is required")
        return ""
    if len(value.strip()) > limit:
        problems.append(f"{name} is at most {limit} characters (got {len(value.strip())})")
    return value.strip()


def _labels(value: Any, problems: list[str]) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        problems.append("categories must be a list of non-empty strings")
        return []
    labels = [v.strip() for v in value]
    if not 1 <= len(labels) <= MAX_CATEGORIES:
        problems.append(
            f"a chart has 1 to {MAX_CATEGORIES} categories (got {len(labels)}): aggregate "
            "(e.g. top 19 and 'Other', or by month) or draw it with matplotlib"
        )
    long = [label for label in labels if len(label) > MAX_LABEL]
    if long:
        problems.append(f"category labels are at most {MAX_LABEL} characters; shorten {long[0]!r}")
    if len(set(labels)) != len(labels):
        problems.append("categories must be unique")
    return labels


def _series(value: Any, width: int, problems: list[str]) -> list[Series]:
    if not isinstance(value, list) or not 1 <= len(value) <= MAX_SERIES:
        problems.append(f"series must be a list of 1 to {MAX_SERIES} series")
        return []
    found: list[Series] = []
    for index, item in enumerate(value):
        name = item.get("name") if isinstance(item, dict) else None
        values = item.get("values") if isinstance(item, dict) else None
        if not isinstance(name, str) or not 0 < len(name.strip()) <= MAX_LABEL:
            problems.append(f"series {index}: name must be 1 to {MAX_LABEL} characters")
            continue
        if not isinstance(values, list) or not all(_finite(v) for v in values):
            problems.append(
                f"series {name!r}: values must be finite numbers (fill or drop missing values)"
            )
            continue
        if len(values) != width:
            problems.append(
                f"series {name!r} has {len(values)} values for {width} categories "
                "(one value per category)"
            )
        found.append(Series(name.strip(), tuple(float(v) for v in values)))
    if len({s.name for s in found}) != len(found):
        problems.append("series names must be unique")
    return found


def _rows(value: Any, width: int, problems: list[str]) -> tuple[tuple[Cell, ...], ...]:
    if not isinstance(value, list) or not value:
        problems.append("rows must be a non-empty list (with no rows, say so in words)")
        return ()
    if len(value) > MAX_TABLE_ROWS:
        problems.append(
            f"at most {MAX_TABLE_ROWS} rows (got {len(value)}): save larger results as a CSV "
            "file with pandas and link it"
        )
        return ()
    rows: list[tuple[Cell, ...]] = []
    for index, row in enumerate(value):
        if not isinstance(row, list) or not all(_cell(c) for c in row):
            problems.append(f"row {index}: cells must be strings, numbers or null")
            break
        if width and len(row) != width:
            problems.append(f"row {index} has {len(row)} cells for {width} columns")
            break
        rows.append(tuple(row))
    return tuple(rows)


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _cell(value: Any) -> bool:
    return value is None or isinstance(value, str) or _finite(value)


def as_text(cell: Cell) -> str:
    """A cell as a reader sees it (numbers without a spurious `.0`)."""
    if cell is None:
        return ""
    if isinstance(cell, float) and cell.is_integer() and abs(cell) < 1e15:
        return str(int(cell))
    return str(cell)


def column_widths(rows: Sequence[Sequence[Cell]]) -> list[int]:
    """The widest text of each column (for plain-text rendering)."""
    widths: list[int] = []
    for row in rows:
        for i, cell in enumerate(row):
            size = len(as_text(cell))
            if i == len(widths):
                widths.append(size)
            else:
                widths[i] = max(widths[i], size)
    return widths


def plain_text(visual: Visual, *, max_rows: int = 20, bar_width: int = 24) -> str:
    """The visual as monospaced text (terminals, notification fallbacks)."""
    if isinstance(visual, DataTable):
        shown = [visual.columns, *visual.rows[:max_rows]]
        widths = column_widths(shown)
        lines = [
            "  ".join(as_text(cell).ljust(width) for cell, width in zip(row, widths, strict=False))
            for row in shown
        ]
        lines.insert(1, "  ".join("-" * width for width in widths))
        more = len(visual.rows) - max_rows
        tail = [f"… {more} more rows"] if more > 0 else []
        return "\n".join([visual.caption, "", *lines, *tail])
    peak = max((abs(v) for s in visual.series for v in s.values), default=0.0) or 1.0
    label_width = max(len(c) for c in visual.categories)
    lines = [f"{visual.title} ({visual.type} chart)"]
    for series in visual.series:
        if len(visual.series) > 1:
            lines.append(f"  {series.name}")
        for category, value in zip(visual.categories, series.values, strict=False):
            bar = "█" * round(abs(value) / peak * bar_width)
            lines.append(f"  {category.ljust(label_width)}  {bar} {as_text(value)}")
    return "\n".join(lines)
