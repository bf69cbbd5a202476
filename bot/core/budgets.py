"""`Spending`: budgets checked before a turn starts, its usage recorded when it ends.

    turn claimed → check: each budget that applies (the asker's day, the channel's month, the
    workspace's month), spent in its period ≥ its limit → refused before any OpenAI call
    … the turn runs …
    settle (whatever the ending): usage measured, priced, recorded; a budget now at 80% or
    more is told to the asker once per period (a message only they see, in the thread)

Budgets are checked against recorded turns: turns that start at the same moment may all pass
the check, and a turn already running when a limit is crossed is finished. A budget can thus
be overshot by the turns in flight, never by turns started after those were recorded.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from datetime import UTC, datetime

from bot import wording
from bot.core.ports import Directory, Notices
from bot.core.records import StoredTurn
from bot.core.rounds import TurnRecord
from bot.core.storage import UsageLog
from bot.core.turns import Turn
from bot.core.usage import WARN_SHARE, Budgets, Period, PriceTable, measure, periods
from bot.errors import (
    BudgetReached,
    ChannelBudgetReached,
    UserBudgetReached,
    WorkspaceBudgetReached,
)

logger = logging.getLogger(__name__)

REFUSALS: dict[str, type[BudgetReached]] = {
    "user_daily": UserBudgetReached,
    "channel_monthly": ChannelBudgetReached,
    "workspace_monthly": WorkspaceBudgetReached,
}


def _now() -> datetime:
    return datetime.now(UTC)


class Spending:
    """The turns' side of the budgets: refuse, record, warn."""

    def __init__(
        self,
        *,
        usage: UsageLog,
        budgets: Budgets,
        prices: PriceTable,
        default_model: str,
        directory: Directory,
        notices: Notices | None = None,
        offered: Collection[str] = (),
        clock: Callable[[], datetime] = _now,
    ) -> None:
        """`offered`: the models turns may use (`ANALYST_MODELS`); one without a price is
        warned about now rather than at its first turn."""
        self._usage = usage
        self.budgets = budgets
        self.prices = prices
        self._default_model = default_model
        self._directory = directory
        self._notices = notices
        self._clock = clock
        self._unpriced: set[str] = set()  # models already warned about
        for model in {default_model, *offered}:
            self._warn_if_unpriced(model)

    async def check(self, turn: Turn) -> None:
        """Refuse `turn` (raise `BudgetReached`) when a budget it counts against is used up."""
        for period in await self._periods(turn):
            spent = await self.spent(turn.key.team_id, period)
            if spent >= period.limit:
                refusal = REFUSALS[period.kind]
                raise refusal(
                    f"{period.kind} of {period.subject}: {spent:.4f} of {period.limit:g} USD",
                    spent=wording.usd(spent),
                    limit=wording.usd(period.limit),
                    reset=wording.moment(period.resets, period.zone),
                )

    async def settle(self, stored: StoredTurn, record: TurnRecord) -> None:
        """Record what the turn used (nothing if it reached nothing OpenAI bills), then tell
        its asker about a budget they brought near its limit."""
        model = record.model or self._default_model
        usage = measure(stored.turn, stored.id, record, model=model, prices=self.prices)
        if usage is None:
            return
        self._warn_if_unpriced(model)
        await self._usage.record(usage)
        if self._notices is not None:
            await self._tell_near(stored.turn, self._notices)

    def _warn_if_unpriced(self, model: str) -> None:
        if model in self._unpriced or self.prices.for_model(model) is not None:
            return
        self._unpriced.add(model)
        logger.warning(
            "no price for model %s: its turns' cost is recorded as unknown "
            "(add the model to the ANALYST_PRICES file)",
            model,
        )

    async def spent(self, team_id: str, period: Period) -> float:
        """What was spent against `period`'s budget so far (known costs)."""
        since = period.start
        if period.kind == "user_daily":
            return await self._usage.spent(team_id, since=since, user_id=period.subject)
        if period.kind == "channel_monthly":
            return await self._usage.spent(team_id, since=since, channel_id=period.subject)
        return await self._usage.spent(team_id, since=since)

    async def _tell_near(self, turn: Turn, notices: Notices) -> None:
        for period in await self._periods(turn):
            spent = await self.spent(turn.key.team_id, period)
            if spent < WARN_SHARE * period.limit:
                continue
            claimed = await self._usage.claim_notice(
                turn.key.team_id, period.kind, period.subject, period.start
            )
            if claimed:  # once per period, whichever replica gets there first
                text = wording.BUDGET_NEAR[period.kind].format(
                    spent=wording.usd(spent),
                    limit=wording.usd(period.limit),
                    share=wording.share(spent, period.limit),
                    reset=wording.moment(period.resets, period.zone),
                )
                await notices.notify(turn.key, turn.user_id, text)

    async def _periods(self, turn: Turn) -> list[Period]:
        if not self.budgets:
            return []
        timezone = ""
        if self.budgets.user_daily is not None:  # a person's day is in their time zone
            person = await self._directory.user(turn.user_id, team_id=turn.key.team_id)
            timezone = person.timezone
        return periods(self.budgets, turn, timezone=timezone, now=self._clock())
