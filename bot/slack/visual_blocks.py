"""Block Kit for the model's native visuals: `data_visualization` charts and `data_table`s.

Shapes and limits (reference slack.md "Update 2026-12"; docs.slack.dev data-visualization
and data-table blocks): a chart has a `title` (≤ 50) and a `chart` — a pie's `segments`
(label, value), or `series` (name, `data` of label/value per category) with `axis_config`
categories for bar/line/area; labels ≤ 20 characters. A `data_table` has a required
`caption`, a header row and 1–100 data rows, `raw_text` / `raw_number` cells (`raw_number`
carries `value` and its display `text`), and a `page_size`. The core has already checked the
counts (`bot.core.visuals`); here text is defused and cut to fit, and a long table is cut
to what one message can hold (the caller attaches the whole table as a CSV file).
"""

from __future__ import annotations

from bot.core.markdown import defuse
from bot.core.visuals import MAX_LABEL, MAX_TITLE, Cell, Chart, DataTable, as_text
from bot.slack.blocks import Block

DATA_TABLE_PAGE_SIZE = 10
DATA_TABLE_MAX_ROWS = 100
DATA_TABLE_MAX_CHARS = 10_000
"""Of the ≈13,200 characters of block text a message may hold, what one table may use."""
MAX_CELL_CHARS = 300


def _fit(text: str, limit: int) -> str:
    safe = defuse(text)
    return safe if len(safe) <= limit else safe[: limit - 1] + "…"


def chart_block(chart: Chart) -> Block:
    labels = [_fit(c, MAX_LABEL) for c in chart.categories]
    body: Block
    if chart.type == "pie":
        values = chart.series[0].values
        body = {
            "type": "pie",
            "segments": [
                {"label": label, "value": v} for label, v in zip(labels, values, strict=True)
            ],
        }
    else:
        body = {
            "type": chart.type,
            "series": [
                {
                    "name": _fit(series.name, MAX_LABEL),
                    "data": [
                        {"label": label, "value": v}
                        for label, v in zip(labels, series.values, strict=True)
                    ],
                }
                for series in chart.series
            ],
            "axis_config": {"categories": labels},
        }
    return {"type": "data_visualization", "title": _fit(chart.title, MAX_TITLE), "chart": body}


def _cell(value: Cell) -> Block:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return {"type": "raw_number", "value": value, "text": as_text(value)}
    return {"type": "raw_text", "text": _fit(as_text(value), MAX_CELL_CHARS) or " "}


def data_table_block(table: DataTable, caption: str) -> tuple[Block, int]:
    """The block, and how many of the table's rows it holds (the rest do not fit)."""
    header = [{"type": "raw_text", "text": _fit(c, MAX_CELL_CHARS)} for c in table.columns]
    used = sum(len(c["text"]) for c in header)
    rows: list[list[Block]] = []
    for row in table.rows[:DATA_TABLE_MAX_ROWS]:
        cells = [_cell(value) for value in row]
        size = sum(len(str(c["text"])) for c in cells)
        if rows and used + size > DATA_TABLE_MAX_CHARS:
            break
        rows.append(cells)
        used += size
    block = {
        "type": "data_table",
        "caption": defuse(caption),
        "rows": [header, *rows],
        "page_size": DATA_TABLE_PAGE_SIZE,
    }
    return block, len(rows)


def table_text_size(block: Block) -> int:
    """Characters of text the block's cells hold (what it spends of a message)."""
    return sum(len(str(cell.get("text", ""))) for row in block["rows"] for cell in row)
