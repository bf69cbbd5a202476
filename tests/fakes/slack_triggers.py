"""Trigger ids and response URLs: the short-lived capabilities Slack hands an app with each
interaction (slash command, button click, view submission).

- A ``trigger_id`` ("13345224609.738474920.8088930838d88f008e0") may be exchanged once, within
  **3 seconds** of the interaction, for a modal (``views.open``/``views.push``). Slack answers
  ``invalid_trigger_id`` for one it never issued (or a malformed one), ``expired_trigger_id``
  after 3 s and ``exchanged_trigger_id`` when it was used already (docs.slack.dev
  views.open/views.push error tables). ``Triggers.ttl`` shortens the 3 s for tests.
- A ``response_url`` accepts at most **5** posts within **30 minutes** (docs.slack.dev
  "Handling user interaction": "use it up to five times within 30 minutes"); after that Slack
  answers 404 ``used_url`` / ``expired_url``; an unknown hook 404 ``no_service``. Posts
  refused for their body (HTTP 400) do not count.
"""

from __future__ import annotations

import re
import secrets
import time
from dataclasses import dataclass

from tests.fakes.slack_methods import SlackError

TRIGGER_TTL_S = 3.0
TRIGGER_FORMAT = re.compile(r"\d+\.\d+\.[0-9a-f]+")
HOOK_USES = 5
HOOK_TTL_S = 30 * 60.0


@dataclass
class Trigger:
    """One interaction's trigger: who it belongs to and whether it was exchanged."""

    id: str
    user: str
    issued: float
    source: str
    """"command", "block_actions" or "view_submission"."""
    view_id: str | None = None
    """The modal the interaction happened in (views.push may stack on it)."""
    exchanged_at: float | None = None


class Triggers:
    """Every trigger the fake issued."""

    def __init__(self) -> None:
        self.ttl = TRIGGER_TTL_S
        self._issued: dict[str, Trigger] = {}

    def issue(self, user: str, *, source: str, view_id: str | None = None) -> str:
        trigger_id = f"{int(time.time())}.{secrets.randbelow(10**12)}.{secrets.token_hex(16)}"
        self._issued[trigger_id] = Trigger(trigger_id, user, time.monotonic(), source, view_id)
        return trigger_id

    def exchange(self, trigger_id: str | None) -> Trigger:
        """Use a trigger for a view, or raise Slack's error for it."""
        if not trigger_id or not TRIGGER_FORMAT.fullmatch(trigger_id):
            raise SlackError(
                "invalid_trigger_id", '[ERROR] expected format: "132456.7890123.abcdef"'
            )
        trigger = self._issued.get(trigger_id)
        if trigger is None:
            raise SlackError("invalid_trigger_id")
        if trigger.exchanged_at is not None:
            raise SlackError("exchanged_trigger_id")
        if time.monotonic() - trigger.issued > self.ttl:
            raise SlackError("expired_trigger_id")
        trigger.exchanged_at = time.monotonic()
        return trigger


@dataclass
class Hook:
    """A response_url: where it came from and how often it was used."""

    id: str
    kind: str
    """"commands" or "actions" (the URL path it lives under)."""
    user: str
    channel: str
    issued: float
    uses: int = 0


class HookError(Exception):
    def __init__(self, status: int, error: str) -> None:
        super().__init__(error)
        self.status, self.error = status, error


class Hooks:
    """Every response_url the fake handed out."""

    def __init__(self) -> None:
        self._hooks: dict[str, Hook] = {}

    def issue(self, kind: str, *, user: str, channel: str) -> Hook:
        hook = Hook(secrets.token_urlsafe(18), kind, user, channel, time.monotonic())
        self._hooks[hook.id] = hook
        return hook

    def usable(self, kind: str, hook_id: str) -> Hook:
        """The hook, if it may take one more post (count it with ``hook.uses += 1``)."""
        hook = self._hooks.get(hook_id)
        if hook is None or hook.kind != kind:
            raise HookError(404, "no_service")
        if time.monotonic() - hook.issued > HOOK_TTL_S:
            raise HookError(404, "expired_url")
        if hook.uses >= HOOK_USES:
            raise HookError(404, "used_url")
        return hook
