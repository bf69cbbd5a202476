"""Channel analyst profiles: each channel's instructions, model, reasoning effort, tools and
auto-profile switch, used by every turn there.

Where a profile comes from, first match wins:
1. the admins' file (`ANALYST_CHANNEL_PROFILES`): a channel listed there is *managed* by it —
   `/analyst settings` shows it read-only and nothing else may change it (not even
   `@Analyst auto-profile on|off`);
2. what the channel's members saved with `/analyst settings` (the store);
3. the defaults (`ChannelProfile()`): the bot's own settings.

A saved model that is no longer in `ANALYST_MODELS` is not used: turns fall back to
`ANALYST_MODEL` until someone picks another.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping, Sequence
from dataclasses import replace
from typing import Protocol

from bot import wording
from bot.core.records import ChannelProfile
from bot.core.tools import ALL_TOOLS, TOOL_NAMES

logger = logging.getLogger(__name__)

# OpenAI's `reasoning.effort` values (specs/openai-openapi.yml `ReasoningEffort`; which ones a
# model accepts depends on the model).
REASONING_EFFORTS = ("none", "minimal", "low", "medium", "high", "xhigh", "max")
MAX_INSTRUCTIONS = 3000


def profile_problems(profile: ChannelProfile, *, models: Collection[str]) -> dict[str, str]:
    """What is wrong with a profile, by field name (empty when it can be used)."""
    problems: dict[str, str] = {}
    if len(profile.instructions) > MAX_INSTRUCTIONS:
        problems["instructions"] = wording.PROFILE_INSTRUCTIONS_TOO_LONG.format(
            limit=MAX_INSTRUCTIONS, length=len(profile.instructions)
        )
    if profile.model is not None and profile.model not in models:
        problems["model"] = wording.PROFILE_MODEL_NOT_ALLOWED.format(
            model=profile.model, models=", ".join(models)
        )
    if profile.reasoning_effort is not None and profile.reasoning_effort not in REASONING_EFFORTS:
        problems["reasoning_effort"] = wording.PROFILE_EFFORT_UNKNOWN.format(
            effort=profile.reasoning_effort, efforts=", ".join(REASONING_EFFORTS)
        )
    unknown = sorted(profile.tools - ALL_TOOLS)
    if unknown:
        problems["tools"] = wording.PROFILE_TOOLS_UNKNOWN.format(
            names=", ".join(unknown), tools=", ".join(TOOL_NAMES)
        )
    return problems


def changes(old: ChannelProfile, new: ChannelProfile, *, default_model: str) -> list[str]:
    """What changed, as short phrases for the channel ("model → x", "instructions updated")."""
    said: list[str] = []
    if old.model != new.model:
        said.append(
            wording.CHANGE_MODEL.format(model=new.model)
            if new.model
            else wording.CHANGE_MODEL_DEFAULT.format(model=default_model)
        )
    if old.reasoning_effort != new.reasoning_effort:
        said.append(
            wording.CHANGE_EFFORT.format(effort=new.reasoning_effort)
            if new.reasoning_effort
            else wording.CHANGE_EFFORT_DEFAULT
        )
    if old.instructions.strip() != new.instructions.strip():
        said.append(
            wording.CHANGE_INSTRUCTIONS
            if new.instructions.strip()
            else wording.CHANGE_INSTRUCTIONS_REMOVED
        )
    for tool in TOOL_NAMES:
        if (tool in old.tools) != (tool in new.tools):
            template = wording.CHANGE_ON if tool in new.tools else wording.CHANGE_OFF
            said.append(template.format(what=wording.TOOL_LABELS[tool]))
    if old.auto_profile != new.auto_profile:
        template = wording.CHANGE_ON if new.auto_profile else wording.CHANGE_OFF
        said.append(template.format(what=wording.AUTO_PROFILE_LABEL))
    return said


class ProfileStore(Protocol):
    """Saved profiles (see `store.artifacts.ChannelSettings`)."""

    async def profile(self, team_id: str, channel_id: str) -> ChannelProfile: ...

    async def save_profile(
        self, team_id: str, channel_id: str, profile: ChannelProfile, *, by: str
    ) -> None: ...

    async def set_auto_profile(self, team_id: str, channel_id: str, enabled: bool) -> bool: ...


class ChannelProfiles:
    """Every channel's profile, with the admins' file first."""

    def __init__(
        self,
        *,
        store: ProfileStore,
        managed: Mapping[str, ChannelProfile],
        models: Sequence[str],
        default_model: str,
    ) -> None:
        self._store = store
        self._managed = dict(managed)
        self.models = tuple(models)
        """The models a channel may choose (`ANALYST_MODELS`)."""
        self.default_model = default_model

    def managed(self, channel_id: str) -> bool:
        """Listed in the admins' file: shown read-only, never changed from Slack."""
        return channel_id in self._managed

    async def get(self, team_id: str, channel_id: str) -> ChannelProfile:
        """The profile as configured (a saved model may since have left the allow-list)."""
        managed = self._managed.get(channel_id)
        if managed is not None:
            return managed
        return await self._store.profile(team_id, channel_id)

    async def for_turn(self, team_id: str, channel_id: str) -> ChannelProfile:
        """The profile a turn uses."""
        profile = await self.get(team_id, channel_id)
        if profile.model is not None and profile.model not in self.models:
            logger.info(
                "channel %s: model %s is no longer offered; using the default",
                channel_id,
                profile.model,
            )
            profile = replace(profile, model=None)
        return profile

    def problems(self, profile: ChannelProfile) -> dict[str, str]:
        return profile_problems(profile, models=self.models)

    async def save(
        self, team_id: str, channel_id: str, profile: ChannelProfile, *, by: str
    ) -> list[str]:
        """Store a checked profile; returns what changed (nothing stored when nothing did)."""
        if self.managed(channel_id):
            raise PermissionError(f"channel {channel_id} is managed by the profiles file")
        old = await self._store.profile(team_id, channel_id)
        said = changes(old, profile, default_model=self.default_model)
        if said:
            await self._store.save_profile(team_id, channel_id, profile, by=by)
            logger.info("channel %s: analyst settings changed by %s", channel_id, by)
        return said

    # The file-drop profiler's switch (`bot.profile.drop`) -----------------------------------

    async def auto_profile(self, team_id: str, channel_id: str) -> bool:
        return (await self.get(team_id, channel_id)).auto_profile

    async def set_auto_profile(self, team_id: str, channel_id: str, enabled: bool) -> bool:
        """Switch quick looks on or off; False (and nothing changed) in a managed channel."""
        if self.managed(channel_id):
            return False
        return await self._store.set_auto_profile(team_id, channel_id, enabled)
