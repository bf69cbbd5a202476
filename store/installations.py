"""The app's installations per workspace (OAuth), and the install flow's one-time states.

One row per workspace: an install (or reinstall) replaces the row, an uninstall deletes it,
so "is the app installed in T…?" is one primary-key read. A state is consumed by deleting
it: of two callbacks carrying the same state (a replay, two replicas) exactly one wins.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, select

from bot.core.records import Installation
from store.database import Database
from store.schema import oauth_states, slack_installations


def _now() -> datetime:
    return datetime.now(UTC)


class Installations:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def save(self, installation: Installation) -> None:
        """Record an install; a reinstall replaces the workspace's previous one."""
        values: dict[str, Any] = {
            "team_name": installation.team_name,
            "enterprise_id": installation.enterprise_id,
            "app_id": installation.app_id,
            "bot_user_id": installation.bot_user_id,
            "bot_id": installation.bot_id,
            "bot_token": installation.bot_token,
            "bot_scopes": installation.bot_scopes,
            "installer_user_id": installation.installer_user_id,
            "installed_at": installation.installed_at,
        }
        stmt = self._db.insert(slack_installations).values(team_id=installation.team_id, **values)
        stmt = stmt.on_conflict_do_update(index_elements=["team_id"], set_=values)
        async with self._db.write() as conn:
            await conn.execute(stmt)

    async def find(self, team_id: str) -> Installation | None:
        query = select(slack_installations).where(slack_installations.c.team_id == team_id)
        async with self._db.read() as conn:
            row = (await conn.execute(query)).first()
        return None if row is None else _installation(row)

    async def every(self, *, limit: int = 1000) -> list[Installation]:
        """The workspaces the app is installed in (oldest install first)."""
        query = select(slack_installations).order_by(slack_installations.c.installed_at)
        async with self._db.read() as conn:
            rows = (await conn.execute(query.limit(limit))).all()
        return [_installation(row) for row in rows]

    async def delete(self, team_id: str) -> bool:
        """Forget the workspace's installation; False when there was none."""
        stmt = delete(slack_installations).where(slack_installations.c.team_id == team_id)
        async with self._db.write() as conn:
            return bool((await conn.execute(stmt)).rowcount)

    async def issue_state(self, state: str, *, ttl_s: float) -> None:
        """Remember a state handed to an installer's browser (expired ones are swept)."""
        now = _now()
        async with self._db.write() as conn:
            await conn.execute(delete(oauth_states).where(oauth_states.c.expires_at < now))
            await conn.execute(
                oauth_states.insert().values(state=state, expires_at=now + timedelta(seconds=ttl_s))
            )

    async def consume_state(self, state: str) -> bool:
        """True exactly once for a state issued and not expired."""
        stmt = delete(oauth_states).where(
            oauth_states.c.state == state, oauth_states.c.expires_at > _now()
        )
        async with self._db.write() as conn:
            return bool((await conn.execute(stmt)).rowcount)


def _installation(row: Any) -> Installation:
    return Installation(
        team_id=row.team_id,
        team_name=row.team_name,
        enterprise_id=row.enterprise_id,
        app_id=row.app_id,
        bot_user_id=row.bot_user_id,
        bot_id=row.bot_id,
        bot_token=row.bot_token,
        bot_scopes=row.bot_scopes,
        installer_user_id=row.installer_user_id,
        installed_at=row.installed_at,
    )
