"""The App Home tab: a person's usage and, for admins, the workspace's (`views.publish`).

Published when the person opens the tab (`app_home_opened`, tab `home`), with the figures of
that moment. Slack keeps a home view to 100 blocks and 250 kB; this one uses about a dozen,
lists are cut to the costliest entries (`bot.core.home`).
"""

from __future__ import annotations

import logging
from typing import Any

from bot import wording
from bot.core.home import HomeFigures, UsageDesk, WorkspaceFigures
from bot.core.records import UsageTotals
from bot.slack.blocks import Block
from bot.slack.budget import Priority
from bot.slack.client import SLACK_FAILURES, at, failure_code
from bot.slack.clients import SlackClients

logger = logging.getLogger(__name__)
CALLBACK_ID = "analyst_home"


class HomeTab:
    def __init__(self, clients: SlackClients, desk: UsageDesk) -> None:
        self._clients = clients
        self._desk = desk

    async def opened(self, team_id: str, user_id: str) -> None:
        """Show `user_id` their figures (and the workspace's, to an admin)."""
        figures = await self._desk.figures(team_id, user_id)
        try:
            with at(Priority.FINAL):  # what the person is looking at: waits, never given up
                client = self._clients.for_team(team_id)
                await client.views_publish(user_id=user_id, view=home_view(figures))
        except SLACK_FAILURES as error:
            logger.warning("views.publish for %s failed: %s", user_id, failure_code(error))


def home_view(figures: HomeFigures) -> dict[str, Any]:
    blocks: list[Block] = [_header(wording.HOME_HEADER), *_own(figures)]
    if figures.workspace is not None:
        blocks += [{"type": "divider"}, _header(wording.HOME_ADMIN_HEADER)]
        blocks += _workspace(figures.workspace)
    note = wording.HOME_ESTIMATE.format(now=wording.moment(figures.now, figures.zone))
    blocks.append(_context(note))
    return {"type": "home", "callback_id": CALLBACK_ID, "blocks": blocks}


def _own(figures: HomeFigures) -> list[Block]:
    today = _line(wording.HOME_TODAY, figures.today)
    if figures.daily_limit is None:
        today += "\n" + wording.HOME_NO_DAILY
    else:
        limit = figures.daily_limit
        today += wording.HOME_OF_DAILY.format(
            limit=wording.usd(limit), share=wording.share(figures.today.cost_usd, limit)
        )
        reset = wording.moment(figures.day_resets, figures.zone)
        today += "\n" + wording.HOME_RESETS.format(reset=reset)
    blocks = [_section(today), _section(_line(wording.HOME_MONTH, figures.month))]
    if figures.month.unknown:
        blocks.append(_context(wording.HOME_UNKNOWN.format(count=figures.month.unknown)))
    return blocks


def _workspace(figures: WorkspaceFigures) -> list[Block]:
    if not figures.month.turns:
        return [_section(wording.HOME_NOTHING)]
    month = _line(wording.HOME_WORKSPACE, figures.month)
    if figures.limit is not None:
        month += wording.HOME_OF_MONTHLY.format(
            limit=wording.usd(figures.limit),
            share=wording.share(figures.month.cost_usd, figures.limit),
        )
    channels = [wording.HOME_BY_CHANNEL]
    for row in figures.channels:
        line = _line(wording.HOME_CHANNEL, row, channel=row.subject)
        if figures.channel_limit is not None:
            line += f" / {wording.usd(figures.channel_limit)}"
        channels.append(line)
    users = [wording.HOME_TOP_USERS]
    users += [_line(wording.HOME_USER, row, user=row.subject) for row in figures.users]
    if figures.more_channels:
        channels.append(wording.HOME_MORE.format(count=figures.more_channels))
    if figures.more_users:
        users.append(wording.HOME_MORE.format(count=figures.more_users))
    blocks = [_section(month), _section("\n".join(channels)), _section("\n".join(users))]
    if figures.month.unknown:
        blocks.append(_context(wording.HOME_UNKNOWN.format(count=figures.month.unknown)))
    return blocks


def _line(template: str, totals: UsageTotals, **more: str | None) -> str:
    return template.format(cost=wording.usd(totals.cost_usd), turns=totals.turns, **more)


def _header(text: str) -> Block:
    return {"type": "header", "text": {"type": "plain_text", "text": text}}


def _section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}}


def _context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}
