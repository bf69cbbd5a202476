"""`UsageDesk`: the figures of the App Home tab.

Everyone sees their own usage today (their day, in their time zone) and this month, against
their daily budget. Admins — the workspace's admins and owners (Slack's `is_admin` /
`is_owner`) and the people listed in `ANALYST_ADMINS` — also see the workspace's month: its
total against its budget, its channels and its top users.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.core.ports import Directory
from bot.core.records import UsageTotals
from bot.core.storage import Grouping, UsageLog
from bot.core.turns import UserInfo
from bot.core.usage import Budgets, day_of, month_of, zone_of

TOP_CHANNELS = 15
TOP_USERS = 10


@dataclass(frozen=True)
class WorkspaceFigures:
    """A workspace's month, for its admins."""

    month: UsageTotals
    limit: float | None
    channels: list[UsageTotals]
    """The costliest channels (at most `TOP_CHANNELS`)."""
    more_channels: int
    channel_limit: float | None
    users: list[UsageTotals]
    """The costliest people (at most `TOP_USERS`)."""
    more_users: int


@dataclass(frozen=True)
class HomeFigures:
    viewer: UserInfo
    today: UsageTotals
    month: UsageTotals
    daily_limit: float | None
    day_resets: datetime
    zone: str
    """The time zone the viewer's day is counted in."""
    now: datetime
    workspace: WorkspaceFigures | None
    """None unless the viewer is an admin."""


def _now() -> datetime:
    return datetime.now(UTC)


class UsageDesk:
    def __init__(
        self,
        *,
        usage: UsageLog,
        budgets: Budgets,
        directory: Directory,
        admins: Collection[str] = (),
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self._usage = usage
        self._budgets = budgets
        self._directory = directory
        self._admins = frozenset(admins)
        self._clock = clock

    async def figures(self, team_id: str, user_id: str) -> HomeFigures:
        now = self._clock()
        viewer = await self._directory.user(user_id, team_id=team_id)
        zone = zone_of(viewer.timezone)
        day_start, day_end = day_of(now, zone)
        month_start, _ = month_of(now)
        admin = viewer.is_admin or user_id in self._admins
        return HomeFigures(
            viewer=viewer,
            today=await self._one(team_id, day_start, user_id),
            month=await self._one(team_id, month_start, user_id),
            daily_limit=self._budgets.user_daily,
            day_resets=day_end,
            zone=zone.key,
            now=now,
            workspace=await self._workspace(team_id, month_start) if admin else None,
        )

    async def _workspace(self, team_id: str, since: datetime) -> WorkspaceFigures:
        channels = await self._usage.totals(since=since, by="channel", team_id=team_id)
        users = await self._usage.totals(since=since, by="user", team_id=team_id)
        return WorkspaceFigures(
            month=await self._one(team_id, since, None),
            limit=self._budgets.workspace_monthly,
            channels=channels[:TOP_CHANNELS],
            more_channels=max(0, len(channels) - TOP_CHANNELS),
            channel_limit=self._budgets.channel_monthly,
            users=users[:TOP_USERS],
            more_users=max(0, len(users) - TOP_USERS),
        )

    async def _one(self, team_id: str, since: datetime, user_id: str | None) -> UsageTotals:
        """A person's figures (or the workspace's, without `user_id`) since then."""
        by: Grouping = "user" if user_id else "workspace"
        found = await self._usage.totals(since=since, by=by, team_id=team_id, user_id=user_id)
        return found[0] if found else UsageTotals(team_id=team_id, subject=user_id, turns=0)
