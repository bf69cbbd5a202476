"""Slack listeners: parse payloads at the edge, record turns, return. Never wait on OpenAI.

Each area module exposes `register(app, intake)`; this package registers them all and lists
the Events API types they listen to (the manifest test checks the two agree).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Protocol

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext

from bot.core.access import Actor
from bot.core.turns import ThreadKey, Turn
from bot.profile.drop import FileDrop
from bot.slack.inbox import settlement_of

if TYPE_CHECKING:
    from handlers.actions import Controls
    from handlers.commands import AnalystDesk
    from handlers.home import Home
    from handlers.workspaces import Departures

# Events API types with a listener. `message` covers message.channels/.groups/.im/.mpim.
EVENT_TYPES = (
    "app_mention",
    "message",
    "app_home_opened",
    "agent_session_stopped",
    "app_uninstalled",
    "tokens_revoked",
)


Listener = Callable[..., Awaitable[None]]


def on_event(app: AsyncApp, event_type: str) -> Callable[[Listener], Listener]:
    """`@app.event(event_type)` for a listener whose end settles its delivery in the inbox
    (`bot.slack.inbox`): its listener middleware, which Bolt runs before answering, counts
    the listener in; the listener's end (failed if it raised) counts it out. The listener
    must take `context`."""

    def register(listener: Listener) -> Listener:
        if "context" not in inspect.signature(listener).parameters:
            raise TypeError(f"{listener.__name__} must take `context` to settle its event")

        @functools.wraps(listener)  # Bolt injects the arguments `listener` names
        async def settling(**kwargs: Any) -> None:
            settlement = settlement_of(kwargs["context"])
            ok = False
            try:
                await listener(**kwargs)
                ok = True
            finally:
                if settlement is not None:
                    settlement.end(ok=ok)

        app.event(event_type, middleware=[_counted_in])(settling)
        return listener

    return register


async def _counted_in(context: AsyncBoltContext, next_: Callable[[], Awaitable[None]]) -> None:
    if (settlement := settlement_of(context)) is not None:
        settlement.expect()
    await next_()


class Intake(Protocol):
    """What listeners need from the service."""

    async def submit(self, turn: Turn) -> bool:
        """Record a turn (deduplicated on the message) and wake the worker."""
        ...

    async def is_engaged(self, key: ThreadKey) -> bool:
        """Whether the bot answers follow-ups in this thread without a mention."""
        ...

    async def engaged_or_starting(self, key: ThreadKey) -> bool:
        """`is_engaged`, also counting a thread whose first mention is being recorded."""
        ...

    async def park(self, turn: Turn) -> None:
        """Keep a reply in a thread that is not engaged (yet) until its mention is recorded."""
        ...

    async def home_opened(self, user_id: str, channel_id: str, *, team_id: str) -> None:
        """The user opened the app's Messages tab."""
        ...


class Gate(Protocol):
    """Who may use the analyst (`bot.core.access.Gate`)."""

    async def admits(self, actor: Actor, *, tell: bool = True) -> bool:
        """False (the person told once why, unless `tell` is false) when they may not."""
        ...

    def why_not(self, actor: Actor) -> str | None:
        """Why `actor` may not go on (None: they may), for a reply that says it itself."""
        ...


class Drops(Protocol):
    """What listeners need for data files shared without a question."""

    async def dropped(self, drop: FileDrop) -> None: ...

    async def set_auto_profile(self, key: ThreadKey, enabled: bool, *, message_ts: str) -> None: ...


def register(
    app: AsyncApp,
    intake: Intake,
    controls: Controls,
    drops: Drops,
    analyst: AnalystDesk,
    gate: Gate,
    home_tab: Home,
    departures: Departures,
) -> None:
    from handlers import actions, commands, home, questions, sessions, workspaces

    questions.register(app, intake, drops, gate)
    home.register(app, intake, home_tab)
    actions.register(app, controls, gate)
    sessions.register(app, controls)
    commands.register(app, analyst, gate)
    workspaces.register(app, departures)
