"""Block Kit for a dropped file's local profile: summary, columns, sample rows, and the
suggested questions as buttons."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.core.markdown import defuse
from bot.profile.profiler import DataProfile
from bot.slack.blocks import (
    ACTION_SUGGESTION,
    TABLE_MAX_ROWS,
    Block,
    button,
    markdown,
    suggestion_value,
    table,
)


def profile_blocks(
    profile: DataProfile, *, file_id: str, questions: Sequence[str], summary: str
) -> list[list[Block]]:
    """A file's local profile as messages: summary, columns and suggested questions, then
    sample rows (Slack allows one table block per message).

    Names, headers and cells come from the file: everything shown is defused."""
    columns = profile.columns[: TABLE_MAX_ROWS - 1]
    column_rows = [["Column", "Type", "Missing", "Example"]] + [
        [defuse(c.name[:60]), c.kind, f"{c.missing:,}", defuse(c.example[:60])] for c in columns
    ]
    blocks: list[Block] = [
        {"type": "header", "text": plain_long(defuse(f"📊 {profile.file_name}"), 150)},
        markdown(defuse(summary)),
        table(column_rows),
    ]
    if questions:
        blocks.append(
            {
                "type": "actions",
                "block_id": f"suggestions-{file_id}"[:255],
                "elements": [
                    button(defuse(question), ACTION_SUGGESTION, suggestion_value(file_id, question))
                    for question in questions[:5]
                ],
            }
        )
    messages = [blocks]
    shown = profile.columns[:8]
    if profile.sample_rows and shown:
        sample = [[defuse(c.name[:40]) for c in shown]] + [
            [defuse(cell[:40]) for cell in row[: len(shown)]] for row in profile.sample_rows[:5]
        ]
        messages.append([markdown(SAMPLE_ROWS), table(sample)])
    return messages


SAMPLE_ROWS = "*Sample rows*"


def plain_long(text: str, limit: int) -> dict[str, Any]:
    return {"type": "plain_text", "text": text[:limit], "emoji": True}
