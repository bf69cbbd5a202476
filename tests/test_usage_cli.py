"""`slack-analyst usage` as an operator runs it: a process reading the bot's database (SQLite
or PostgreSQL), whose figures are the sums of the recorded turns."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.core.records import TurnUsage
from bot.usage_report import report, since_of
from store import open_store
from tests.conftest import REPO

NOW = datetime.now(UTC)
FIGURES = (
    "input_tokens",
    "cached_input_tokens",
    "output_tokens",
    "reasoning_tokens",
    "container_sessions",
    "file_searches",
)


def row(
    team: str, channel: str, user: str, cost: float | None, days_ago: float, n: int
) -> TurnUsage:
    known = cost is not None or n % 2  # some unpriced turns still have tokens
    return TurnUsage(
        team_id=team,
        channel_id=channel,
        user_id=user,
        thread_ts=f"1700000000.{n:06d}",
        turn_id=n,
        model="gpt-5.5" if cost is not None else "unpriced-model",
        responses=1 + n % 3,
        unmetered=0,
        input_tokens=1000 + 7 * n if known else None,
        cached_input_tokens=100 * (n % 4) if known else None,
        output_tokens=50 + n if known else None,
        reasoning_tokens=8 * (n % 5) if known else None,
        container_sessions=n % 2,
        file_searches=n % 3,
        cost_usd=cost,
        created_at=NOW - timedelta(days=days_ago),
    )


ROWS = [
    row("T1", "C1", "U1", 0.125, 1, 1),
    row("T1", "C1", "U1", 0.5, 2, 2),
    row("T1", "C2", "U2", 2.25, 3, 3),
    row("T1", "C2", "U1", None, 4, 4),  # unknown cost
    row("T2", "C9", "U9", 1.0, 5, 5),
    row("T2", "C9", "U9", 0.0625, 6, 6),
    row("T1", "C1", "U1", 9.0, 45, 7),  # older than 30 days: not in the report
]


def expected_by_user() -> dict[tuple[str, str], dict[str, float]]:
    groups: dict[tuple[str, str], dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for usage in ROWS:
        if usage.created_at is None or usage.created_at < NOW - timedelta(days=30):
            continue
        group = groups[(usage.team_id, usage.user_id)]
        group["turns"] += 1
        group["cost_usd"] += usage.cost_usd or 0.0
        group["unknown"] += usage.cost_usd is None or usage.input_tokens is None
        for name in FIGURES:
            group[name] += getattr(usage, name) or 0
    return groups


def run_cli(database_url: str, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(REPO),
        "HOME": str(cwd),
        "DATABASE_URL": database_url,  # nothing else: no Slack or OpenAI settings needed
    }
    return subprocess.run(
        [sys.executable, "-m", "bot", "usage", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
async def recorded(database_url: str) -> str:
    async with open_store(database_url) as store:
        for usage in ROWS:
            await store.usage.record(usage)
    return database_url


async def test_csv_by_user_sums_the_recorded_turns(recorded: str, tmp_path: Path) -> None:
    done = run_cli(recorded, tmp_path, "--by", "user", "--csv")
    assert done.returncode == 0, done.stderr

    lines = list(csv.DictReader(io.StringIO(done.stdout)))
    *groups, total = lines
    expected = expected_by_user()
    assert {(g["workspace"], g["user"]) for g in groups} == set(expected)
    for group in groups:
        want = expected[(group["workspace"], group["user"])]
        assert int(group["turns"]) == want["turns"]
        assert float(group["cost_usd"]) == pytest.approx(want["cost_usd"], abs=1e-4)
        assert int(group["unknown"]) == want["unknown"]
        for name in FIGURES:
            assert int(group[name]) == want[name], name
    costs = [float(g["cost_usd"]) for g in groups]
    assert costs == sorted(costs, reverse=True)  # the costliest first
    assert total["workspace"] == "TOTAL"
    assert int(total["turns"]) == 6
    assert float(total["cost_usd"]) == pytest.approx(0.125 + 0.5 + 2.25 + 1.0 + 0.0625, abs=1e-4)
    for name in FIGURES:
        assert int(total[name]) == sum(w[name] for w in expected.values())


async def test_the_table_by_user_and_by_channel(recorded: str, tmp_path: Path) -> None:
    done = run_cli(recorded, tmp_path, "--by", "user", "--since", "30d")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("Usage since ")
    assert lines[1].split() == ["workspace", "user", "turns", *FIGURES, "cost_usd", "unknown"]
    rows = {tuple(line.split()[:2]): line.split() for line in lines[3:-3]}
    for (team, user), want in expected_by_user().items():
        cells = rows[(team, user)]
        assert int(cells[2]) == want["turns"]
        assert float(cells[-2]) == pytest.approx(want["cost_usd"], abs=1e-4)
    assert lines[-2].split()[:2] == ["TOTAL", "6"]
    assert lines[-1] == "1 turn(s) with unknown tokens or cost: only what is known is counted."

    by_channel = run_cli(recorded, tmp_path, "--by", "channel", "--since", "2026-01-01", "--csv")
    channels = {
        (r["workspace"], r["channel"]): r for r in csv.DictReader(io.StringIO(by_channel.stdout))
    }
    assert float(channels[("T1", "C1")]["cost_usd"]) == pytest.approx(0.125 + 0.5 + 9.0)
    assert int(channels[("T1", "C2")]["turns"]) == 2


def test_bad_arguments_and_settings_are_reported() -> None:
    out, err = io.StringIO(), io.StringIO()
    assert report({}, since="yesterday", by="user", as_csv=False, out=out, err=err) == 2
    assert "--since: expected 30d, 12h, 2w or a date" in err.getvalue()
    err = io.StringIO()
    env = {"DATABASE_URL": "mysql://x"}
    assert report(env, since="30d", by="user", as_csv=False, out=out, err=err) == 2
    assert "DATABASE_URL: only sqlite" in err.getvalue()
    assert out.getvalue() == ""


def test_since_takes_spans_and_dates() -> None:
    now = datetime(2026, 12, 12, 15, 0, tzinfo=UTC)
    assert since_of("30d", now) == now - timedelta(days=30)
    assert since_of("12h", now) == now - timedelta(hours=12)
    assert since_of("2w", now) == now - timedelta(weeks=2)
    assert since_of("2026-12-01", now) == datetime(2026, 12, 1, tzinfo=UTC)
    with pytest.raises(ValueError, match="--since"):
        since_of("30 days", now)
