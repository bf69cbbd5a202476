"""Each channel's analyst profile (`ChannelProfile`): instructions, model, reasoning effort,
tools, the auto-profile switch, and who changed it last. A channel without a row has the
defaults. Tools are stored as the ones switched off, so a tool added later is on by default."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from bot.core.records import ALL_TOOLS, ChannelProfile
from store.database import Database
from store.schema import channel_settings


def _now() -> datetime:
    return datetime.now(UTC)


def _profile(row: Any) -> ChannelProfile:
    disabled = set(row.disabled_tools or ())
    return ChannelProfile(
        instructions=row.instructions or "",
        model=row.model,
        reasoning_effort=row.reasoning_effort,
        auto_profile=bool(row.auto_profile),
        tools=frozenset(ALL_TOOLS - disabled),
        updated_by=row.updated_by,
        updated_at=row.updated_at,
    )


class ChannelSettings:
    """Per-channel analyst profiles."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def profile(self, team_id: str, channel_id: str) -> ChannelProfile:
        query = select(channel_settings).where(
            channel_settings.c.team_id == team_id, channel_settings.c.channel_id == channel_id
        )
        async with self._db.read() as conn:
            row = (await conn.execute(query)).first()
        return ChannelProfile() if row is None else _profile(row)

    async def save_profile(
        self, team_id: str, channel_id: str, profile: ChannelProfile, *, by: str
    ) -> None:
        """Replace the channel's profile, noting who changed it and when."""
        values = {
            "auto_profile": profile.auto_profile,
            "instructions": profile.instructions,
            "model": profile.model,
            "reasoning_effort": profile.reasoning_effort,
            "disabled_tools": sorted(ALL_TOOLS - profile.tools),
            "updated_by": by,
            "updated_at": _now(),
        }
        stmt = self._db.insert(channel_settings).values(
            team_id=team_id, channel_id=channel_id, **values
        )
        stmt = stmt.on_conflict_do_update(index_elements=["team_id", "channel_id"], set_=values)
        async with self._db.write() as conn:
            await conn.execute(stmt)

    async def auto_profile(self, team_id: str, channel_id: str) -> bool:
        query = select(channel_settings.c.auto_profile).where(
            channel_settings.c.team_id == team_id, channel_settings.c.channel_id == channel_id
        )
        async with self._db.read() as conn:
            value = (await conn.execute(query)).scalar_one_or_none()
        return True if value is None else bool(value)

    async def set_auto_profile(
        self, team_id: str, channel_id: str, enabled: bool, *, by: str | None = None
    ) -> bool:
        """Switch quick looks at dropped files; the rest of the profile stays."""
        changed: dict[str, Any] = {"auto_profile": enabled, "updated_at": _now()}
        if by is not None:
            changed["updated_by"] = by
        stmt = self._db.insert(channel_settings).values(
            team_id=team_id, channel_id=channel_id, **changed
        )
        stmt = stmt.on_conflict_do_update(index_elements=["team_id", "channel_id"], set_=changed)
        async with self._db.write() as conn:
            await conn.execute(stmt)
        return True
