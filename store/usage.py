"""What turns cost: one row per turn that reached OpenAI, and the budgets' sums over them.

The rows stand alone (no foreign key): deleting a turn, its thread or its content leaves the
figures in place. A NULL token count or cost means unknown and is never summed as zero: totals
count what is known and say how many turns had something unknown.
"""

from __future__ import annotations

from dataclasses import asdict, fields
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, case, func, or_, select

from bot.core.records import TurnUsage, UsageTotals
from store.database import Database
from store.schema import budget_notices, turn_usage

_TOKENS = ("input_tokens", "cached_input_tokens", "output_tokens", "reasoning_tokens")
_COUNTS = ("container_sessions", "file_searches")


class UsageLog:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def record(self, usage: TurnUsage) -> None:
        values = asdict(usage)
        values["created_at"] = usage.created_at or datetime.now(UTC)
        async with self._db.write() as conn:
            await conn.execute(turn_usage.insert().values(**values))

    async def for_turn(self, turn_id: int) -> list[TurnUsage]:
        """A turn's figures (one row per run of it), oldest first."""
        query = select(turn_usage).where(turn_usage.c.turn_id == turn_id).order_by(turn_usage.c.id)
        async with self._db.read() as conn:
            rows = (await conn.execute(query)).all()
        names = [f.name for f in fields(TurnUsage)]
        return [TurnUsage(**{name: getattr(row, name) for name in names}) for row in rows]

    async def spent(
        self,
        team_id: str,
        *,
        since: datetime,
        user_id: str | None = None,
        channel_id: str | None = None,
    ) -> float:
        """The known cost (USD) of a workspace's turns since `since` (a person's, a channel's)."""
        query = select(func.coalesce(func.sum(turn_usage.c.cost_usd), 0.0)).where(
            turn_usage.c.team_id == team_id, turn_usage.c.created_at >= since
        )
        if user_id is not None:
            query = query.where(turn_usage.c.user_id == user_id)
        if channel_id is not None:
            query = query.where(turn_usage.c.channel_id == channel_id)
        async with self._db.read() as conn:
            return float((await conn.execute(query)).scalar_one())

    async def totals(
        self,
        *,
        since: datetime,
        by: str,
        team_id: str | None = None,
        user_id: str | None = None,
        limit: int | None = None,
    ) -> list[UsageTotals]:
        """Figures per workspace, or per channel or person within their workspace; costliest
        first (then the most turns), optionally for one workspace or one person."""
        groups: list[Any] = [turn_usage.c.team_id]
        if by in ("user", "channel"):
            groups.append(turn_usage.c[f"{by}_id"])
        cost = func.coalesce(func.sum(turn_usage.c.cost_usd), 0.0)
        turns = func.count()
        query = (
            select(*groups, turns.label("turns"), cost.label("cost_usd"), *_sums(), _unknown())
            .where(turn_usage.c.created_at >= since)
            .group_by(*groups)
            .order_by(cost.desc(), turns.desc(), *groups)
        )
        if team_id is not None:
            query = query.where(turn_usage.c.team_id == team_id)
        if user_id is not None:
            query = query.where(turn_usage.c.user_id == user_id)
        if limit is not None:
            query = query.limit(limit)
        async with self._db.read() as conn:
            rows = (await conn.execute(query)).all()
        return [_totals(row, subject=row[1] if len(groups) > 1 else None) for row in rows]

    async def claim_notice(self, team_id: str, budget: str, subject: str, period: datetime) -> bool:
        """True for the first claim of a budget's notice in a period (on any replica)."""
        stmt = (
            self._db.insert(budget_notices)
            .values(
                team_id=team_id,
                budget=budget,
                subject=subject,
                period_start=period,
                created_at=datetime.now(UTC),
            )
            .on_conflict_do_nothing()
            .returning(budget_notices.c.team_id)
        )
        async with self._db.write() as conn:
            return (await conn.execute(stmt)).first() is not None


def _sums() -> list[Any]:
    return [
        func.coalesce(func.sum(turn_usage.c[name]), 0).label(name) for name in _TOKENS + _COUNTS
    ]


def _unknown() -> Any:
    """Turns with an unknown token count (or only a floor of it) or an unknown cost."""
    unknown: ColumnElement[bool] = or_(
        turn_usage.c.input_tokens.is_(None),
        turn_usage.c.cost_usd.is_(None),
        turn_usage.c.unmetered > 0,
    )
    return func.sum(case((unknown, 1), else_=0)).label("unknown")


def _totals(row: Any, *, subject: str | None) -> UsageTotals:
    return UsageTotals(
        team_id=row.team_id,
        subject=subject,
        turns=int(row.turns),
        cost_usd=float(row.cost_usd),
        unknown=int(row.unknown or 0),
        **{name: int(getattr(row, name)) for name in _TOKENS + _COUNTS},
    )
