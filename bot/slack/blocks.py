"""Block Kit payloads the bot sends: tables, controls, steps.

Builders only (dicts in, dicts out); limits come from Slack: 50 blocks a message, table
blocks ≤ 100 rows × 20 cells, button text ≤ 75 and value ≤ 2,000 characters.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from bot.core.events import Step
from bot.core.markdown import defuse

Block = dict[str, Any]

ACTION_CANCEL = "analyst_cancel"
ACTION_SHOW_CODE = "analyst_show_code"
ACTION_FEEDBACK = "analyst_feedback"
ACTION_RETRY = "analyst_retry"
ACTION_SUGGESTION = "analyst_suggestion"
ACTION_EXPORT_NOTEBOOK = "analyst_export_notebook"

TABLE_MAX_ROWS = 100
TABLE_MAX_COLUMNS = 20
TABLE_MAX_CHARS = 10_000  # of cells, per message
_STEP_ICONS = {"pending": "○", "in_progress": "⏳", "complete": "✓", "error": "✗"}


def step_chunk(step: Step) -> Block:
    """A step as the `task_update` chunk of Slack's native stream (titles and details come
    from code and its output: defused)."""
    chunk: Block = {
        "type": "task_update",
        "id": step.id,
        "title": defuse(step.title[:200]),
        "status": step.status,
    }
    if step.details:
        chunk["details"] = defuse(step.details[:500])
    return chunk


def step_line(step: Step) -> str:
    """A step as a Markdown line (the chat.update fallback), defused."""
    details = f" — {step.details}" if step.details else ""
    return defuse(f"{_STEP_ICONS[step.status]} {step.title}{details}")


def plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text[:75], "emoji": True}


def markdown(text: str) -> Block:
    return {"type": "markdown", "text": text}


def table(rows: Sequence[Sequence[str]]) -> Block:
    """A `table` block; the first row is the header. Caller keeps within the limits."""
    width = max(len(row) for row in rows)
    return {
        "type": "table",
        "rows": [
            [
                {"type": "raw_text", "text": (row[i] if i < len(row) else "") or " "}
                for i in range(width)
            ]
            for row in rows
        ],
    }


def fits_table(rows: Sequence[Sequence[str]]) -> bool:
    """Within a `table` block's limits: rows, columns, and 10,000 characters of cells."""
    return (
        0 < len(rows) <= TABLE_MAX_ROWS
        and max(len(r) for r in rows) <= TABLE_MAX_COLUMNS
        and table_chars(rows) <= TABLE_MAX_CHARS
    )


def table_chars(rows: Sequence[Sequence[str]]) -> int:
    return sum(len(cell) for row in rows for cell in row)


def button(text: str, action_id: str, value: str, style: str | None = None) -> Block:
    element: Block = {"type": "button", "text": plain(text), "action_id": action_id, "value": value}
    if style:
        element["style"] = style
    return element


def answer_controls(turn_id: int, *, show_code: bool) -> list[Block]:
    """Under a finished answer: Show code (when code ran), Export notebook (the whole
    thread) and 👍/👎."""
    buttons = [button("Show code", ACTION_SHOW_CODE, str(turn_id))] if show_code else []
    buttons.append(button("Export notebook", ACTION_EXPORT_NOTEBOOK, str(turn_id)))
    blocks: list[Block] = [
        {"type": "actions", "block_id": f"answer-{turn_id}", "elements": buttons}
    ]
    blocks.append(
        {
            "type": "context_actions",
            "block_id": f"feedback-{turn_id}",
            "elements": [
                {
                    "type": "feedback_buttons",
                    "action_id": ACTION_FEEDBACK,
                    "positive_button": {
                        "text": plain("Good answer"),
                        "value": f"good:{turn_id}",
                        "accessibility_label": "Mark this answer as helpful",
                    },
                    "negative_button": {
                        "text": plain("Bad answer"),
                        "value": f"bad:{turn_id}",
                        "accessibility_label": "Mark this answer as not helpful",
                    },
                }
            ],
        }
    )
    return blocks


def retry_controls(turn_id: int) -> list[Block]:
    return [
        {
            "type": "actions",
            "block_id": f"retry-{turn_id}",
            "elements": [button("Retry", ACTION_RETRY, str(turn_id), style="primary")],
        }
    ]


def cancel_message(turn_id: int, text: str) -> list[Block]:
    return [
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": text},
            "accessory": button("Cancel", ACTION_CANCEL, str(turn_id), style="danger"),
        },
    ]


def suggestion_value(file_id: str, question: str) -> str:
    return json.dumps({"f": file_id, "q": question}, separators=(",", ":"))[:2000]


def parse_suggestion(value: str) -> tuple[str, str] | None:
    try:
        data = json.loads(value)
    except ValueError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("q"), str):
        return None
    return str(data.get("f") or ""), data["q"]
