"""How one bot message looks: its content (text and blocks, in order) and progress steps as
a whole message (`render`, for posts and edits) or as the chunks of Slack's native stream
(`chunks`, for appends). Pure functions; `display` turns raw model text into what may show.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from bot.core.events import Step
from bot.slack.blocks import Block, markdown, step_chunk, step_line

TABLES = frozenset({"table", "data_table"})
MAX_CHARTS = 2
Display = Callable[[str], str]
Segment = str | Block
Rendering = tuple[str | None, list[Block] | None]
"""(markdown_text, None) for plain text, or (None, blocks)."""


def render(
    segments: Sequence[Segment],
    steps: Iterable[Step],
    controls: Sequence[Block],
    display: Display,
) -> Rendering:
    """The whole message as `markdown_text`, or as blocks when it has blocks or controls."""
    lines = "\n".join(step_line(step) for step in steps)
    if not controls and all(isinstance(s, str) for s in segments):
        text = display("".join(s for s in segments if isinstance(s, str)))
        return "\n\n".join(part for part in (lines, text) if part) or " ", None
    blocks: list[Block] = [markdown(lines)] if lines else []
    for segment in merged(segments):
        if isinstance(segment, str):
            if segment.strip():
                blocks.append(markdown(display(segment)))
        else:
            blocks.append(segment)
    return None, blocks + list(controls)


def chunks(segments: Sequence[Segment], steps: Iterable[Step], display: Display) -> list[Block]:
    """Stream chunks for new content: steps first (they update in place), then text/blocks."""
    out: list[Block] = [step_chunk(step) for step in steps]
    for segment in merged(segments):
        if isinstance(segment, str):
            if segment:
                out.append({"type": "markdown_text", "text": display(segment)})
        else:
            out.append({"type": "blocks", "blocks": [segment]})
    return out


def merged(segments: Iterable[Segment]) -> list[Segment]:
    """Adjacent text segments joined."""
    out: list[Segment] = []
    for segment in segments:
        if isinstance(segment, str) and out and isinstance(out[-1], str):
            out[-1] += segment
        else:
            out.append(segment)
    return out


def fallback_text(rendering: Rendering) -> str:
    """The notification text of a message (blocks need one; Markdown is its own)."""
    text, blocks = rendering
    if text is not None:
        return text[:3000]
    texts = [b["text"] for b in blocks or [] if b.get("type") == "markdown"]
    return (" ".join(texts) or "Answer")[:3000]


def as_message(rendering: Rendering) -> dict[str, Any]:
    """Arguments for chat.postMessage / chat.update from a rendering."""
    text, blocks = rendering
    if blocks is None:
        return {"markdown_text": text}
    return {"blocks": blocks, "text": fallback_text(rendering)}


def table_count(segments: Iterable[Segment]) -> int:
    """Tables in a message: Slack takes one `table` per message; a `data_table` is held to
    the same rule (nothing documents more)."""
    return sum(1 for s in segments if not isinstance(s, str) and s.get("type") in TABLES)


def chart_count(segments: Iterable[Segment]) -> int:
    """Charts in a message: Slack takes at most two (`MAX_CHARTS`)."""
    return sum(
        1 for s in segments if not isinstance(s, str) and s.get("type") == "data_visualization"
    )
