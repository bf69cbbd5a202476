"""A new, empty PostgreSQL database for one test or benchmark run (no pytest needed)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg


async def _admin(url: str) -> asyncpg.Connection:
    return await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))


@asynccontextmanager
async def created_database(base: str, *, prefix: str) -> AsyncIterator[str]:
    """Create a database beside `base`'s (dropped afterwards, connections or not); yields
    its URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = await _admin(base)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    try:
        yield base.rsplit("/", 1)[0] + "/" + name
    finally:
        admin = await _admin(base)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()
