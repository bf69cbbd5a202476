"""`slack-analyst usage [--since 30d] [--by user|channel|workspace] [--csv]`: what turns cost.

Reads the bot's database (`DATABASE_URL`, nothing else is needed) and prints, per group, the
turns that reached OpenAI, their tokens, container sessions, file-search calls and estimated
cost, with a total. Token counts and costs that are unknown are not counted as zero: the
`unknown` column says how many turns had something unknown.
"""

from __future__ import annotations

import asyncio
import csv
import io
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import IO

from bot.core.records import UsageTotals
from bot.core.storage import Grouping
from bot.env_reader import EnvReader
from bot.errors import ConfigError
from store import open_store

GROUPS: dict[str, tuple[str, ...]] = {
    "user": ("workspace", "user"),
    "channel": ("workspace", "channel"),
    "workspace": ("workspace",),
}
FIGURES = (
    "turns",
    "input_tokens",
    "cached_input_tokens",
    "output_tokens",
    "reasoning_tokens",
    "container_sessions",
    "file_searches",
    "cost_usd",
    "unknown",
)
_SPAN = re.compile(r"(\d+)([hdw])")
_UNITS = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}


def since_of(text: str, now: datetime) -> datetime:
    """`30d`, `12h`, `2w` before `now`, or a date (`2026-12-01`, midnight UTC)."""
    span = _SPAN.fullmatch(text.strip())
    if span:
        return now - int(span.group(1)) * _UNITS[span.group(2)]
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        expected = "expected 30d, 12h, 2w or a date (2026-12-01)"
        raise ValueError(f"--since: {expected}, got {text!r}") from None
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def report(
    env: Mapping[str, str],
    *,
    since: str,
    by: Grouping,
    as_csv: bool,
    out: IO[str],
    err: IO[str],
    now: datetime | None = None,
) -> int:
    """Print the report to `out`; 2 (and why, to `err`) for bad arguments or settings."""
    reader = EnvReader(env)
    url = reader.database_url("DATABASE_URL")
    try:
        reader.raise_if_problems()
        start = since_of(since, now or datetime.now(UTC))
    except ConfigError as error:
        print(error.render(), file=err)
        return 2
    except ValueError as error:
        print(error, file=err)
        return 2
    rows = asyncio.run(_totals(url, since=start, by=by))
    out.write(as_text(rows, by=by, since=start) if not as_csv else as_csv_text(rows, by=by))
    return 0


async def _totals(url: str, *, since: datetime, by: Grouping) -> list[UsageTotals]:
    async with open_store(url) as store:
        return await store.usage.totals(since=since, by=by)


def total(rows: Sequence[UsageTotals]) -> UsageTotals:
    """Every group added up."""
    return UsageTotals(
        team_id=None,
        subject=None,
        **{name: sum(getattr(row, name) for row in rows) for name in FIGURES},
    )


def _cells(row: UsageTotals, by: Grouping, *, label: str | None = None) -> list[str]:
    if label is not None:  # the total row
        keys = [label] + [""] * (len(GROUPS[by]) - 1)
    else:
        keys = [row.team_id or ""] + ([row.subject or ""] if by != "workspace" else [])
    figures = [
        f"{row.cost_usd:.4f}" if name == "cost_usd" else str(getattr(row, name)) for name in FIGURES
    ]
    return keys + figures


def as_csv_text(rows: Sequence[UsageTotals], *, by: Grouping) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([*GROUPS[by], *FIGURES])
    writer.writerows(_cells(row, by) for row in rows)
    writer.writerow(_cells(total(rows), by, label="TOTAL"))
    return buffer.getvalue()


def as_text(rows: Sequence[UsageTotals], *, by: Grouping, since: datetime) -> str:
    header = [*GROUPS[by], *FIGURES]
    body = [_cells(row, by) for row in rows]
    table = [header, *body, _cells(total(rows), by, label="TOTAL")]
    widths = [max(len(line[i]) for line in table) for i in range(len(header))]
    keys = len(GROUPS[by])

    def line(cells: list[str]) -> str:
        return "  ".join(
            cell.ljust(width) if i < keys else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    rule = "  ".join("-" * width for width in widths)
    lines = [f"Usage since {since:%Y-%m-%d %H:%M} UTC, by {by} (costs are estimates, USD)"]
    lines += [line(header), rule, *(line(cells) for cells in body), rule, line(table[-1])]
    unknown = total(rows).unknown
    if unknown:
        lines.append(
            f"{unknown} turn(s) with unknown tokens or cost: only what is known is counted."
        )
    return "\n".join(lines) + "\n"
