"""Who may use the analyst: allowed channels, allowed people, and people from other
organisations in Slack Connect channels.

    event → Actor (parsed at the edge) → AccessPolicy.refusal → admitted, or refused:
    the person is told once (ephemeral) why and whom to ask; nothing is recorded, no file is
    downloaded, nothing reaches OpenAI

Empty lists allow everyone. A channel allow-list also covers direct messages: they are
allowed only when the list holds `dm` (`DM_CHANNELS`). People from another organisation
(Slack Connect guests) are refused unless `allow_external`.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from dataclasses import dataclass
from typing import Literal

from bot import wording
from bot.core.ports import Notices
from bot.core.storage import Store
from bot.core.turns import ThreadKey

logger = logging.getLogger(__name__)

DM_CHANNELS = "dm"
"""The name in `ANALYST_ALLOWED_CHANNELS` that allows direct messages."""
TOLD_ONCE_S = 3600.0
"""A refused person is told once per thread in this time, not at every message."""
Reason = Literal["external", "user", "channel", "dm"]


@dataclass(frozen=True)
class Actor:
    """Who did something where, as far as access is concerned."""

    key: ThreadKey
    """The thread (the installation's team, the channel, the thread)."""
    user_id: str
    is_dm: bool
    external: bool = False
    """From another organisation: a Slack Connect guest (see `bot.slack.payloads`)."""


@dataclass(frozen=True)
class AccessPolicy:
    channels: frozenset[str] = frozenset()
    """Allowed channel ids (and `dm`); empty: every channel the bot is in."""
    users: frozenset[str] = frozenset()
    """Allowed user ids; empty: everyone."""
    allow_external: bool = False
    contact: str = ""
    """Whom to ask for access (free text, e.g. "#data-platform"); empty: a Slack admin."""

    @classmethod
    def of(
        cls,
        *,
        channels: Collection[str] = (),
        users: Collection[str] = (),
        allow_external: bool = False,
        contact: str = "",
    ) -> AccessPolicy:
        return cls(frozenset(channels), frozenset(users), allow_external, contact)

    def refusal(self, actor: Actor) -> Reason | None:
        """Why `actor` may not use the analyst here; None: they may."""
        if actor.external and not self.allow_external:
            return "external"
        if self.users and actor.user_id not in self.users:
            return "user"
        if self.channels:
            if actor.is_dm and DM_CHANNELS not in self.channels:
                return "dm"
            if not actor.is_dm and actor.key.channel_id not in self.channels:
                return "channel"
        return None

    def explanation(self, reason: Reason) -> str:
        ask = (
            wording.ACCESS_ASK.format(contact=self.contact)
            if self.contact
            else wording.ACCESS_ASK_ADMIN
        )
        return f"{wording.ACCESS_REFUSED[reason]} {ask}"


class Gate:
    """Applies the policy where people ask: refuses, and tells each refused person once."""

    def __init__(self, policy: AccessPolicy, *, store: Store, notices: Notices) -> None:
        self._policy = policy
        self._store = store
        self._notices = notices

    def why_not(self, actor: Actor) -> str | None:
        """What to tell `actor` if they may not go on (for replies that say it themselves,
        like a slash command's acknowledgement); None: they may."""
        reason = self._policy.refusal(actor)
        return None if reason is None else self._policy.explanation(reason)

    async def admits(self, actor: Actor, *, tell: bool = True) -> bool:
        """Whether `actor` may go on; when not, they are told why once (unless `tell` is
        false: a file shared without a question is simply not looked at)."""
        reason = self._policy.refusal(actor)
        if reason is None:
            return True
        key = actor.key
        logger.info("refused %s in %s (%s)", actor.user_id, key.channel_id, reason)
        if tell and await self._store.actions.claim(
            f"refused:{key.team_id}:{key.channel_id}:{key.thread_ts}:{actor.user_id}",
            window_s=TOLD_ONCE_S,
        ):
            await self._notices.notify(key, actor.user_id, self._policy.explanation(reason))
        return False
