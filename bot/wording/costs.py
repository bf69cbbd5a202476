"""What it costs: budget refusals, the near-the-limit notice, the App Home tab."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

# Keyed by TurnError.code (merged into ERRORS): {spent}, {limit}, {reset} are filled in.
BUDGET_ERRORS: dict[str, str] = {
    "budget_user_daily": (
        ":no_entry: You've used up your daily budget for questions to me ({spent} of {limit} "
        "today), so I won't start on this one. It resets at midnight: {reset}. If you need "
        "more today, ask the bot's admin."
    ),
    "budget_channel_monthly": (
        ":no_entry: This channel has used up its monthly budget for questions to me "
        "({spent} of {limit} this month), so I won't start on this one. It resets on the "
        "1st: {reset}. If the channel needs more, ask the bot's admin."
    ),
    "budget_workspace_monthly": (
        ":no_entry: This workspace has used up its monthly budget for questions to me "
        "({spent} of {limit} this month), so I won't start on this one. It resets on the "
        "1st: {reset}. If you need more, ask the bot's admin."
    ),
}
# Told once per budget period, only to the person whose question crossed the line.
BUDGET_NEAR: dict[str, str] = {
    "user_daily": (
        ":chart_with_upwards_trend: Heads-up: you've used {spent} of your {limit} daily "
        "budget for questions to me ({share}). Once it's used up I won't start new answers "
        "for you until {reset}."
    ),
    "channel_monthly": (
        ":chart_with_upwards_trend: Heads-up: this channel has used {spent} of its {limit} "
        "monthly budget for questions to me ({share}). Once it's used up I won't start new "
        "answers here until {reset}."
    ),
    "workspace_monthly": (
        ":chart_with_upwards_trend: Heads-up: this workspace has used {spent} of its {limit} "
        "monthly budget for questions to me ({share}). Once it's used up I won't start new "
        "answers until {reset}."
    ),
}

HOME_TEXT = "Your usage of Analyst"
HOME_HEADER = "Your usage"
HOME_TODAY = "*Today:* {cost} · {turns} question(s)"
HOME_MONTH = "*This month:* {cost} · {turns} question(s)"
HOME_OF_DAILY = " of your {limit} daily budget ({share})"
HOME_NO_DAILY = "_No daily budget per person is set._"
HOME_RESETS = "Your day resets at {reset}."
HOME_ADMIN_HEADER = "This workspace this month"
HOME_WORKSPACE = "*Workspace:* {cost} · {turns} question(s)"
HOME_OF_MONTHLY = " of its {limit} monthly budget ({share})"
HOME_BY_CHANNEL = "*By channel*"
HOME_CHANNEL = "<#{channel}>  {cost} · {turns} question(s)"
HOME_TOP_USERS = "*Top users*"
HOME_USER = "<@{user}>  {cost} · {turns} question(s)"
HOME_NOTHING = "_No questions this month yet._"
HOME_MORE = "_…and {count} more (`slack-analyst usage` lists them all)._"
HOME_UNKNOWN = "{count} question(s) with an unknown cost are not counted."
HOME_ESTIMATE = (
    "Costs are estimates from the bot's price table; OpenAI's invoice is the reference. "
    "Months run from the 1st, UTC. As of {now}."
)


def usd(amount: float) -> str:
    """An amount for people: `$4.03`; a tiny one as `<$0.01`."""
    if 0 < amount < 0.005:
        return "<$0.01"
    return f"${amount:,.2f}"


def share(spent: float, limit: float) -> str:
    """`83%` of a budget (a zero budget is always full)."""
    return f"{spent / limit:.0%}" if limit > 0 else "100%"


def moment(at: datetime, zone: str) -> str:
    """A time in a zone, for people: `00:00 on Sun 13 Dec 2026 (Europe/Paris time)`."""
    local = at.astimezone(ZoneInfo(zone))
    return f"{local:%H:%M} on {local:%a} {local.day} {local:%b %Y} ({zone} time)"
