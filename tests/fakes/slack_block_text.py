"""What a reader sees in Block Kit blocks: their text, for assertions and for Slack's cumulative
``msg_blocks_too_long`` count."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any


def _texts(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if node.get("type") in {"text", "plain_text", "mrkdwn", "markdown", "raw_text", "link"}:
            text = node.get("text") or node.get("url")
            if isinstance(text, str):
                yield text
            return
        if node.get("type") == "raw_number":
            yield str(node.get("value", ""))
            return
        for key, value in node.items():
            if key not in {"type", "block_id", "action_id", "value", "style", "url", "image_url"}:
                yield from _texts(value)
    elif isinstance(node, list):
        for item in node:
            yield from _texts(item)


def block_characters(blocks: list[dict[str, Any]] | None) -> int:
    """Characters of text in ``blocks`` (what Slack's cumulative ``msg_blocks_too_long`` counts)."""
    return sum(len(text) for text in _texts(blocks or []))


CONTROLS = frozenset({"actions", "context_actions"})


def blocks_text(blocks: list[dict[str, Any]] | None) -> str:
    """The words a reader sees in ``blocks`` (section, markdown, rich_text, table…), one a line;
    the labels of buttons (``actions``, ``context_actions`` blocks) are not content."""
    content = [b for b in blocks or [] if not (isinstance(b, dict) and b.get("type") in CONTROLS)]
    return "\n".join(_texts(content))
