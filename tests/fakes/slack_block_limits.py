"""Limits on the blocks of one whole message, on top of each block's own rules.

- at most one ``table`` block per message, and its cells at most 10,000 characters in total
  (slackapi/slack-skills-plugin block-kit guidance, vercel/chat#194) → ``invalid_blocks``;
- at most two ``data_visualization`` blocks per message (slack-morphism docs) → ``invalid_blocks``;
- ``markdown`` blocks at most 12,000 characters together (docs.slack.dev markdown-block) and all
  block text at most ≈13,200 characters (bolt-js#2509, #2867) → ``msg_blocks_too_long``.

A streamed message accumulates: the blocks of its earlier ``blocks`` chunks (and, at
chat.stopStream, its final ``blocks``) count with the new ones (``prior``), so a second table in a
later chunk of the same stream is refused like a second table in one chat.postMessage.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tests.fakes.slack_block_text import block_characters
from tests.fakes.slack_blocks import check_blocks, invalid_blocks
from tests.fakes.slack_data_blocks import Problems, table_characters
from tests.fakes.slack_methods import SlackError

MAX_TABLES = 1
MAX_TABLE_CHARACTERS = 10_000
MAX_CHARTS = 2
MAX_MARKDOWN_TOTAL = 12_000
MAX_BLOCK_CHARACTERS = 13_200


def _kind(block: Any) -> str | None:
    return block.get("type") if isinstance(block, dict) else None


def _count_problems(blocks: list[Any], pointer: str, prior: Sequence[Any]) -> Problems:
    problems: Problems = []
    tables = sum(1 for block in prior if _kind(block) == "table")
    cells = sum(table_characters(block) for block in prior if _kind(block) == "table")
    charts = sum(1 for block in prior if _kind(block) == "data_visualization")
    for i, block in enumerate(blocks):
        at = f"{pointer}/{i}"
        if _kind(block) == "table":
            tables, before = tables + 1, cells
            cells += table_characters(block)
            if tables > MAX_TABLES:
                problems.append((at, "only one table block is allowed per message"))
            if cells > MAX_TABLE_CHARACTERS >= before:
                problems.append(
                    (
                        at,
                        f"table cells hold {cells} characters in total; no more than "
                        f"{MAX_TABLE_CHARACTERS} are allowed per message",
                    )
                )
        elif _kind(block) == "data_visualization":
            charts += 1
            if charts > MAX_CHARTS:
                problems.append(
                    (at, f"no more than {MAX_CHARTS} data_visualization blocks allowed per message")
                )
    return problems


def check_message_blocks(
    blocks: Any, pointer: str = "/blocks", *, prior: Sequence[dict[str, Any]] = ()
) -> None:
    """Raise Slack's error if ``blocks`` are invalid, alone or in the message they join (which
    already holds ``prior``); return quietly when they are fine."""
    check_blocks(blocks, pointer)
    problems = _count_problems(blocks, pointer, prior)
    if problems:
        raise invalid_blocks(problems)
    whole = [*prior, *blocks]
    markdown = sum(len(b.get("text", "")) for b in whole if _kind(b) == "markdown")
    if markdown > MAX_MARKDOWN_TOTAL:
        raise SlackError(
            "msg_blocks_too_long",
            f"[ERROR] markdown blocks hold {markdown} characters in total; the limit is "
            f"{MAX_MARKDOWN_TOTAL}",
        )
    total = block_characters(whole)
    if total > MAX_BLOCK_CHARACTERS:
        raise SlackError(
            "msg_blocks_too_long",
            f"[ERROR] the message's blocks hold {total} characters in total; the limit is about "
            f"{MAX_BLOCK_CHARACTERS}",
        )
