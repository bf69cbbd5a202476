"""Store contract for what turns cost: the same tests on SQLite and on a real PostgreSQL server."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete

from bot.core.records import TurnOutcome, TurnUsage
from bot.core.turns import ThreadKey, Turn
from store import Store
from store.schema import threads

NOW = datetime(2026, 12, 12, 15, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def usage(**fields: object) -> TurnUsage:
    base = TurnUsage(
        team_id="T1",
        channel_id="C1",
        user_id="U1",
        thread_ts="1700000000.000100",
        turn_id=1,
        model="gpt-5.5",
        responses=1,
        unmetered=0,
        input_tokens=1000,
        cached_input_tokens=200,
        output_tokens=300,
        reasoning_tokens=64,
        container_sessions=1,
        file_searches=0,
        cost_usd=0.05,
        created_at=NOW,
    )
    return replace(base, **fields)  # type: ignore[arg-type]


async def test_a_turns_figures_round_trip(store: Store) -> None:
    recorded = usage(turn_id=7, file_searches=2, cost_usd=0.123456)
    await store.usage.record(recorded)
    assert await store.usage.for_turn(7) == [recorded]
    assert await store.usage.for_turn(8) == []


async def test_unknown_tokens_and_cost_stay_unknown(store: Store) -> None:
    unknown = usage(
        turn_id=2,
        unmetered=1,
        input_tokens=None,
        cached_input_tokens=None,
        output_tokens=None,
        reasoning_tokens=None,
        cost_usd=None,
    )
    await store.usage.record(unknown)
    await store.usage.record(usage(turn_id=3))
    [stored, _] = [*(await store.usage.for_turn(2)), *(await store.usage.for_turn(3))]
    assert stored.input_tokens is None
    assert stored.cost_usd is None
    [total] = await store.usage.totals(since=NOW - HOUR, by="workspace")
    assert (total.turns, total.input_tokens, total.cost_usd, total.unknown) == (2, 1000, 0.05, 1)
    assert await store.usage.spent("T1", since=NOW - HOUR) == 0.05  # what is known


async def test_spent_counts_a_person_a_channel_a_workspace_since_a_time(store: Store) -> None:
    rows = [
        usage(cost_usd=1.0, created_at=NOW - 25 * HOUR),  # before the period
        usage(cost_usd=0.5, created_at=NOW - HOUR),
        usage(cost_usd=0.25, user_id="U2", created_at=NOW),
        usage(cost_usd=2.0, channel_id="C2", created_at=NOW),
        usage(cost_usd=4.0, team_id="T2", created_at=NOW),  # another workspace
    ]
    await asyncio.gather(*(store.usage.record(row) for row in rows))
    since = NOW - 2 * HOUR
    assert await store.usage.spent("T1", since=since, user_id="U1") == 2.5
    assert await store.usage.spent("T1", since=since, user_id="U2") == 0.25
    assert await store.usage.spent("T1", since=since, channel_id="C1") == 0.75
    assert await store.usage.spent("T1", since=since) == 2.75
    assert await store.usage.spent("T1", since=NOW - 26 * HOUR) == 3.75
    assert await store.usage.spent("T3", since=since) == 0.0


async def test_totals_group_add_up_and_put_the_costliest_first(store: Store) -> None:
    await store.usage.record(usage(user_id="U1", cost_usd=0.5, file_searches=1))
    await store.usage.record(usage(user_id="U1", cost_usd=0.25, input_tokens=10))
    await store.usage.record(usage(user_id="U2", channel_id="C2", cost_usd=3.0))
    await store.usage.record(usage(team_id="T2", user_id="U9", cost_usd=None))
    await store.usage.record(usage(user_id="U3", created_at=NOW - 48 * HOUR))  # too old
    since = NOW - HOUR

    users = await store.usage.totals(since=since, by="user")
    assert [(u.team_id, u.subject, u.turns, u.cost_usd) for u in users] == [
        ("T1", "U2", 1, 3.0),
        ("T1", "U1", 2, 0.75),
        ("T2", "U9", 1, 0.0),
    ]
    [u1] = [u for u in users if u.subject == "U1"]
    assert (u1.input_tokens, u1.cached_input_tokens, u1.output_tokens) == (1010, 400, 600)
    assert (u1.reasoning_tokens, u1.container_sessions, u1.file_searches) == (128, 2, 1)
    assert users[-1].unknown == 1

    channels = await store.usage.totals(since=since, by="channel", team_id="T1")
    assert [(c.subject, c.turns, c.cost_usd) for c in channels] == [("C2", 1, 3.0), ("C1", 2, 0.75)]
    workspaces = await store.usage.totals(since=since, by="workspace")
    assert [(w.team_id, w.subject, w.turns) for w in workspaces] == [
        ("T1", None, 3),
        ("T2", None, 1),
    ]
    mine = await store.usage.totals(since=since, by="user", team_id="T1", user_id="U1")
    assert [(m.subject, m.turns) for m in mine] == [("U1", 2)]
    top = await store.usage.totals(since=since, by="user", limit=1)
    assert [t.subject for t in top] == ["U2"]


async def test_a_budget_notice_is_claimed_once_per_period(store: Store) -> None:
    day = NOW.replace(hour=0)
    claims = await asyncio.gather(
        *(store.usage.claim_notice("T1", "user_daily", "U1", day) for _ in range(5))
    )
    assert sorted(claims) == [False, False, False, False, True]
    assert await store.usage.claim_notice("T1", "user_daily", "U1", day + 24 * HOUR)
    assert await store.usage.claim_notice("T1", "user_daily", "U2", day)
    assert await store.usage.claim_notice("T1", "channel_monthly", "U1", day)
    assert await store.usage.claim_notice("T2", "user_daily", "U1", day)


async def test_figures_outlive_their_turns_and_threads(store: Store) -> None:
    key = ThreadKey("T1", "C1", "1700000000.000100")
    stored = await store.turns.record(
        Turn(key=key, message_ts=key.thread_ts, user_id="U1", text="q")
    )
    assert stored is not None
    await store.turns.finish(stored.id, TurnOutcome(status="done"), owner=None)
    await store.usage.record(usage(turn_id=stored.id))
    async with store.engine.begin() as conn:  # what retention does to a thread: gone, turns too
        await conn.execute(delete(threads).where(threads.c.id == stored.thread_id))
    assert await store.turns.get(stored.id) is None
    assert [u.turn_id for u in await store.usage.for_turn(stored.id)] == [stored.id]
    assert await store.usage.spent("T1", since=NOW - HOUR) == 0.05
