"""What a turn used and what that is estimated to cost; the budgets' periods.

    TurnRecord (tokens per response, containers made, searches) ─ measure ─▶ TurnUsage
    PriceTable (USD per 1M tokens per model, per container session, per search) ─┘

A cost is an estimate: OpenAI's bill is the truth. Tokens are priced as OpenAI bills them:
input not read from the cache at the input price, cached input at the cached price, output
(reasoning included) at the output price; every container created for the turn counts as one
session, every `file_search` call as one call. A model missing from the table has no cost.

Budget periods: a person's day runs from midnight to midnight in their own time zone (from
Slack; UTC when unknown); a month runs from the 1st, 00:00 UTC.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.core.records import TurnUsage
from bot.core.rounds import TurnRecord
from bot.core.turns import Turn

BudgetKind = Literal["user_daily", "channel_monthly", "workspace_monthly"]
WARN_SHARE = 0.8
"""The share of a budget at which a person is told they are close to it."""
_SNAPSHOT = re.compile(r"-\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class ModelPrice:
    """USD per 1M tokens."""

    input: float
    cached_input: float
    output: float
    """Reasoning tokens are output tokens."""


@dataclass(frozen=True)
class PriceTable:
    """The prices the estimates use (built in, and `ANALYST_PRICES` over them)."""

    models: Mapping[str, ModelPrice] = field(default_factory=dict)
    container_session: float = 0.0
    """USD per code-interpreter container created."""
    file_search_call: float = 0.0
    """USD per `file_search` call."""

    def for_model(self, model: str) -> ModelPrice | None:
        """The model's price; a dated snapshot (`gpt-5.5-2026-04-23`) takes its alias's."""
        return self.models.get(model) or self.models.get(_SNAPSHOT.sub("", model))


@dataclass(frozen=True)
class Budgets:
    """Spending limits in USD (None: no limit)."""

    user_daily: float | None = None
    """`ANALYST_USER_DAILY_USD`: per person per day (their time zone)."""
    channel_monthly: float | None = None
    """`ANALYST_CHANNEL_MONTHLY_USD`: per channel per calendar month (UTC)."""
    workspace_monthly: float | None = None
    """`ANALYST_WORKSPACE_MONTHLY_USD`: per workspace per calendar month (UTC)."""

    def __bool__(self) -> bool:
        limits = (self.user_daily, self.channel_monthly, self.workspace_monthly)
        return any(limit is not None for limit in limits)


@dataclass(frozen=True)
class Period:
    """One budget as it applies to one turn: whose, how much, since and until when."""

    kind: BudgetKind
    limit: float
    subject: str
    """The user, channel or workspace id the budget is counted for."""
    start: datetime
    resets: datetime
    zone: str
    """The time zone the period is counted in ("UTC" unless a person's day)."""


def zone_of(name: str) -> ZoneInfo:
    """An IANA time zone; UTC when empty or unknown."""
    try:
        return ZoneInfo(name) if name else ZoneInfo("UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def day_of(now: datetime, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The local day around `now`: its midnight and the next one, in UTC."""
    local = now.astimezone(zone)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    following = midnight + timedelta(days=1)  # wall-clock arithmetic: a DST day is 23 or 25 h
    return midnight.astimezone(UTC), following.astimezone(UTC)


def month_of(now: datetime) -> tuple[datetime, datetime]:
    """The calendar month (UTC) around `now`: its first instant and the next month's."""
    start = now.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    following = (start + timedelta(days=32)).replace(day=1)
    return start, following


def periods(budgets: Budgets, turn: Turn, *, timezone: str, now: datetime) -> list[Period]:
    """The budgets that apply to `turn`, the person's first."""
    found: list[Period] = []
    key = turn.key
    if budgets.user_daily is not None:
        zone = zone_of(timezone)
        start, resets = day_of(now, zone)
        found.append(
            Period("user_daily", budgets.user_daily, turn.user_id, start, resets, zone.key)
        )
    start, resets = month_of(now)
    if budgets.channel_monthly is not None:
        limit = budgets.channel_monthly
        found.append(Period("channel_monthly", limit, key.channel_id, start, resets, "UTC"))
    if budgets.workspace_monthly is not None:
        limit = budgets.workspace_monthly
        found.append(Period("workspace_monthly", limit, key.team_id, start, resets, "UTC"))
    return found


def measure(
    turn: Turn, turn_id: int, record: TurnRecord, *, model: str, prices: PriceTable
) -> TurnUsage | None:
    """What the turn used, priced; None when it reached nothing OpenAI bills."""
    if not record.responses and not record.containers:
        return None
    usage = record.usage if record.metered else None
    tokens = _tokens(usage)
    cost = estimate(
        tokens,
        containers=len(record.containers),
        searches=record.searches,
        price=prices.for_model(model),
        prices=prices,
    )
    return TurnUsage(
        team_id=turn.key.team_id,
        channel_id=turn.key.channel_id,
        user_id=turn.user_id,
        thread_ts=turn.key.thread_ts,
        turn_id=turn_id,
        model=model,
        responses=record.responses,
        unmetered=max(0, record.responses - record.metered),
        input_tokens=tokens[0] if usage else None,
        cached_input_tokens=tokens[1] if usage else None,
        output_tokens=tokens[2] if usage else None,
        reasoning_tokens=tokens[3] if usage else None,
        container_sessions=len(record.containers),
        file_searches=record.searches,
        cost_usd=cost,
    )


def estimate(
    tokens: tuple[int, int, int, int],
    *,
    containers: int,
    searches: int,
    price: ModelPrice | None,
    prices: PriceTable,
) -> float | None:
    """USD for (input, cached input, output, reasoning) tokens plus the tools' sessions and
    calls; None without a price for the model."""
    if price is None:
        return None
    fresh_input, cached, output, _reasoning = tokens  # reasoning is part of output
    per_token = (
        max(0, fresh_input - cached) * price.input
        + cached * price.cached_input
        + output * price.output
    ) / 1_000_000
    tools = containers * prices.container_session + searches * prices.file_search_call
    return round(per_token + tools, 6)


def _tokens(usage: Mapping[str, Any] | None) -> tuple[int, int, int, int]:
    usage = usage or {}
    return (
        _count(usage.get("input_tokens")),
        _count((usage.get("input_tokens_details") or {}).get("cached_tokens")),
        _count(usage.get("output_tokens")),
        _count((usage.get("output_tokens_details") or {}).get("reasoning_tokens")),
    )


def _count(value: Any) -> int:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0
