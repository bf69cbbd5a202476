"""Block rules for data: ``table``, ``data_table`` and ``data_visualization`` (charts).

- ``table`` (slack_sdk 3.47 ``TableBlock``): ≤100 rows × ≤20 cells of raw_text / raw_number /
  rich_text, every row the same width, ≤20 ``column_settings``; a raw_number cell carries a
  numeric ``value`` and its display ``text`` (``RawNumberObject``).
- ``data_table`` (docs.slack.dev data-table-block; no SDK model): ``caption`` (a string) required;
  a header row plus 1-100 data rows, every row the same width, at most 20 columns; cells
  raw_text / raw_number / rich_text, header cells never rich_text; ``page_size`` 1-100 (default 5).
- ``data_visualization`` (docs.slack.dev data-visualization-block, 2026-06-16): ``title`` ≤50
  characters and ``chart`` ``{"type": "pie"|"bar"|"area"|"line", …}``. A pie takes ``segments``
  (1-6 of ``{label ≤20, value > 0}``); bar/area/line take ``series`` (1-6 of ``{name ≤20,
  data: [{label ≤20, value}]}``, names unique) and ``axis_config`` ``{categories: [≤20 chars],
  x_label? ≤50, y_label? ≤50}``, each series giving one value per category (labels = categories).

Per-message limits (one table, two charts, …) are in ``slack_block_limits``.
"""

from __future__ import annotations

from typing import Any, TypeGuard

Problems = list[tuple[str, str]]  # (json pointer, message)

CELL_TYPES = frozenset({"raw_text", "raw_number", "rich_text"})
MAX_TABLE_ROWS = 100
MAX_COLUMNS = 20
CHART_TYPES = frozenset({"pie", "bar", "area", "line"})
MAX_CHART_TITLE = 50
MAX_CHART_LABEL = 20
MAX_AXIS_LABEL = 50
MAX_SERIES = MAX_SEGMENTS = 6
MAX_POINTS = 20


def _rows(rows: Any, at: str, problems: Problems) -> list[list[Any]]:
    if not isinstance(rows, list):
        problems.append((f"{at}/rows", "must be an array"))
        return []
    valid: list[list[Any]] = []
    for i, row in enumerate(rows):
        if not isinstance(row, list):
            problems.append((f"{at}/rows/{i}", "must be an array of cells"))
            continue
        for j, cell in enumerate(row):
            if not isinstance(cell, dict) or cell.get("type") not in CELL_TYPES:
                problems.append(
                    (f"{at}/rows/{i}/{j}", "cell must be raw_text, raw_number or rich_text")
                )
            elif cell["type"] == "raw_number" and not (
                _number(cell.get("value")) and isinstance(cell.get("text"), str) and cell["text"]
            ):
                # slack_sdk 3.47 RawNumberObject: `value` (a number) and `text` (≥1 character)
                problems.append(
                    (f"{at}/rows/{i}/{j}", "raw_number needs a numeric value and a non-empty text")
                )
        valid.append(row)
    widths = {len(row) for row in valid}
    if len(widths) > 1:
        problems.append(
            (f"{at}/rows", f"all rows must have the same number of cells, got {sorted(widths)}")
        )
    for i, row in enumerate(valid):
        if len(row) > MAX_COLUMNS:
            problems.append((f"{at}/rows/{i}", f"no more than {MAX_COLUMNS} cells per row allowed"))
    return valid


def check_table(block: dict[str, Any], at: str, problems: Problems) -> None:
    rows = _rows(block.get("rows"), at, problems)
    if len(rows) > MAX_TABLE_ROWS:
        problems.append((f"{at}/rows", f"no more than {MAX_TABLE_ROWS} rows allowed"))
    if len(block.get("column_settings") or []) > MAX_COLUMNS:
        problems.append((f"{at}/column_settings", f"no more than {MAX_COLUMNS} items allowed"))


def check_data_table(block: dict[str, Any], at: str, problems: Problems) -> None:
    caption = block.get("caption")
    if caption is not None and not isinstance(caption, str):
        problems.append((f"{at}/caption", "must be a string"))
    rows = _rows(block.get("rows"), at, problems)
    if not 2 <= len(rows) <= MAX_TABLE_ROWS + 1:
        problems.append(
            (f"{at}/rows", "must have 2 to 101 rows (a header row and 1-100 data rows)")
        )
    if rows and any(cell.get("type") == "rich_text" for cell in rows[0] if isinstance(cell, dict)):
        problems.append((f"{at}/rows/0", "header cells cannot be rich_text"))
    page_size = block.get("page_size", 5)
    if isinstance(page_size, bool) or not isinstance(page_size, int) or not 1 <= page_size <= 100:
        problems.append((f"{at}/page_size", "must be an integer from 1 to 100"))


def _label(value: Any, at: str, limit: int, problems: Problems) -> str | None:
    if not isinstance(value, str) or not value:
        problems.append((at, "must be a non-empty string"))
        return None
    if len(value) > limit:
        problems.append((at, f"must be less than {limit + 1} characters"))
    return value


def _number(value: Any) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _items(obj: dict[str, Any], name: str, at: str, high: int, problems: Problems) -> list[Any]:
    items = obj.get(name)
    if not isinstance(items, list) or not 1 <= len(items) <= high:
        problems.append((f"{at}/{name}", f"must have 1 to {high} items"))
        return []
    return items


def _check_pie(chart: dict[str, Any], at: str, problems: Problems) -> None:
    for i, segment in enumerate(_items(chart, "segments", at, MAX_SEGMENTS, problems)):
        here = f"{at}/segments/{i}"
        if not isinstance(segment, dict):
            problems.append((here, "must be {label, value}"))
            continue
        _label(segment.get("label"), f"{here}/label", MAX_CHART_LABEL, problems)
        value = segment.get("value")
        if not _number(value) or value <= 0:
            problems.append((f"{here}/value", "must be a number greater than 0"))


def _categories(chart: dict[str, Any], at: str, problems: Problems) -> list[str] | None:
    axis = chart.get("axis_config")
    if not isinstance(axis, dict):
        problems.append((f"{at}/axis_config", "missing required field: axis_config"))
        return None
    for name in ("x_label", "y_label"):
        if name in axis:
            _label(axis[name], f"{at}/axis_config/{name}", MAX_AXIS_LABEL, problems)
    here = f"{at}/axis_config/categories"
    categories = axis.get("categories")
    if not isinstance(categories, list) or not 1 <= len(categories) <= MAX_POINTS:
        problems.append((here, f"must have 1 to {MAX_POINTS} items"))
        return None
    labels = [_label(c, f"{here}/{i}", MAX_CHART_LABEL, problems) for i, c in enumerate(categories)]
    if len(set(labels)) != len(labels):
        problems.append((here, "categories must be unique"))
    return [label for label in labels if label is not None]


def _check_series_chart(chart: dict[str, Any], at: str, problems: Problems) -> None:
    categories = _categories(chart, at, problems)
    names: list[str | None] = []
    for i, series in enumerate(_items(chart, "series", at, MAX_SERIES, problems)):
        here = f"{at}/series/{i}"
        if not isinstance(series, dict):
            problems.append((here, "must be {name, data}"))
            continue
        names.append(_label(series.get("name"), f"{here}/name", MAX_CHART_LABEL, problems))
        labels = []
        for j, point in enumerate(_items(series, "data", here, MAX_POINTS, problems)):
            if not isinstance(point, dict) or not _number(point.get("value")):
                problems.append((f"{here}/data/{j}", "must be {label, value} with a number"))
                continue
            labels.append(
                _label(point.get("label"), f"{here}/data/{j}/label", MAX_CHART_LABEL, problems)
            )
        if categories is not None and sorted(map(str, labels)) != sorted(categories):
            problems.append((f"{here}/data", "must give one value per axis_config category"))
    if len(set(names)) != len(names):
        problems.append((f"{at}/series", "series names must be unique"))


def check_data_visualization(block: dict[str, Any], at: str, problems: Problems) -> None:
    title = block.get("title")
    if title is not None:
        _label(title, f"{at}/title", MAX_CHART_TITLE, problems)
    chart = block.get("chart")
    if chart is None:
        return  # reported as a missing required field
    kind = chart.get("type") if isinstance(chart, dict) else None
    if not isinstance(chart, dict) or kind not in CHART_TYPES:
        problems.append((f"{at}/chart/type", f"must be one of {sorted(CHART_TYPES)}"))
    elif kind == "pie":
        _check_pie(chart, f"{at}/chart", problems)
    else:
        _check_series_chart(chart, f"{at}/chart", problems)


def table_characters(block: dict[str, Any]) -> int:
    """Characters in a table's cells (raw_text text, raw_number value, rich_text texts)."""
    total = 0
    for row in block.get("rows") or []:
        for cell in row if isinstance(row, list) else []:
            total += sum(len(text) for text in _strings(cell))
    return total


def _strings(node: Any) -> list[str]:
    if isinstance(node, dict):
        if node.get("type") == "raw_number":
            return [str(node.get("value", ""))]
        found = [node["text"]] if isinstance(node.get("text"), str) else []
        for key, value in node.items():
            if key != "text" and isinstance(value, dict | list):
                found += _strings(value)
        return found
    if isinstance(node, list):
        return [text for item in node for text in _strings(item)]
    return []
