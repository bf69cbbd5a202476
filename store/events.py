"""Received events: Slack's Events API deliveries, recorded before Slack is told 200.

Slack does not deliver an acknowledged event again, so a process that acknowledged one and
died before its listener recorded the question would lose it. The front door records each
delivery here first (`record`), under a lease its process renews (`renew`); the row is
deleted once the event's listeners ran (`settle`). A row whose lease lapsed (its process
died) or that its process handed back after a failure (`release`) is claimed by any replica
(`claim_expired`) and its event handled again: handling an event twice is safe (the store
keeps one turn per Slack message).

Copies of one event (Slack's retries, the same delivery reaching two replicas) share its
`event_id`: only the first is recorded; the others are acknowledged and dropped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Column, Index, Integer, String, Table, delete, func, select, update

from store.columns import JSONValue, UTCDateTime, metadata, now_column
from store.database import Database

# Part of the one schema (`store.schema` is full): migration 0013 creates it.
received_events = Table(
    "received_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("event_key", String(128), nullable=False, unique=True),  # Slack's event_id
    Column("team_id", String(32)),
    Column("body", JSONValue, nullable=False),  # the delivery, its verification token removed
    Column("owner", String(128)),  # the process handling it; none: handed back
    Column("lease_expires_at", UTCDateTime(), nullable=False),
    Column("attempts", Integer, nullable=False),
    now_column("received_at"),
    Index("ix_received_events_lease_expires_at", "lease_expires_at"),
)


@dataclass(frozen=True)
class ReceivedEvent:
    id: int
    key: str
    body: dict[str, Any]
    attempts: int
    """How many times it has been taken (1: by the process that received it)."""


def _now() -> datetime:
    return datetime.now(UTC)


class ReceivedEvents:
    """The deliveries not yet handled; see the module docstring."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def record(
        self,
        events: Sequence[tuple[str, Mapping[str, Any], str | None]],
        *,
        owner: str,
        lease_s: float,
    ) -> dict[str, int]:
        """Record deliveries — (key, body, team id) — held by `owner`, in one transaction;
        the ids of those recorded by key (an event already recorded is left out)."""
        if not events:
            return {}
        now = _now()
        rows = [
            {
                "event_key": key,
                "team_id": team_id,
                "body": dict(body),
                "owner": owner,
                "lease_expires_at": now + timedelta(seconds=lease_s),
                "attempts": 1,
                "received_at": now,
            }
            for key, body, team_id in events
        ]
        stmt = (
            self._db.insert(received_events)
            .values(rows)
            .on_conflict_do_nothing(index_elements=["event_key"])
            .returning(received_events.c.id, received_events.c.event_key)
        )
        async with self._db.write() as conn:
            return {row.event_key: int(row.id) for row in (await conn.execute(stmt)).all()}

    async def settle(self, ids: Sequence[int]) -> None:
        """These events were handled: forget them."""
        if ids:
            async with self._db.write() as conn:
                await conn.execute(delete(received_events).where(received_events.c.id.in_(ids)))

    async def release(self, ids: Sequence[int], *, retry_in_s: float) -> None:
        """Hand these events back (their handling failed): any replica may take them again
        once `retry_in_s` has passed."""
        if ids:
            stmt = (
                update(received_events)
                .where(received_events.c.id.in_(ids))
                .values(owner=None, lease_expires_at=_now() + timedelta(seconds=retry_in_s))
            )
            async with self._db.write() as conn:
                await conn.execute(stmt)

    async def renew(self, owner: str, *, lease_s: float) -> int:
        """Extend the leases of every event this owner holds; how many it holds."""
        stmt = (
            update(received_events)
            .where(received_events.c.owner == owner)
            .values(lease_expires_at=_now() + timedelta(seconds=lease_s))
        )
        async with self._db.write() as conn:
            return int((await conn.execute(stmt)).rowcount or 0)

    async def claim_expired(self, owner: str, *, limit: int, lease_s: float) -> list[ReceivedEvent]:
        """Take events whose lease lapsed (their process died) or that were handed back, oldest
        first. Concurrent takers never get the same event."""
        if limit <= 0:
            return []
        now = _now()
        candidates = (
            select(received_events.c.id)
            .where(received_events.c.lease_expires_at < now)
            .order_by(received_events.c.id)
            .limit(limit)
        )
        stmt = (
            update(received_events)
            # Re-checking the lease makes a taker that lost a row race skip that row.
            .where(
                received_events.c.id.in_(candidates.scalar_subquery()),
                received_events.c.lease_expires_at < now,
            )
            .values(
                owner=owner,
                lease_expires_at=now + timedelta(seconds=lease_s),
                attempts=received_events.c.attempts + 1,
            )
            .returning(
                received_events.c.id,
                received_events.c.event_key,
                received_events.c.body,
                received_events.c.attempts,
            )
        )
        async with self._db.write() as conn:
            rows = (await conn.execute(stmt)).all()
        return sorted(
            (ReceivedEvent(r.id, r.event_key, dict(r.body), r.attempts) for r in rows),
            key=lambda event: event.id,
        )

    async def waiting(self) -> int:
        """Events recorded and not yet handled, across every replica."""
        async with self._db.read() as conn:
            return int(
                (await conn.execute(select(func.count()).select_from(received_events))).scalar_one()
            )
