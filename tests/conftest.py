"""Shared fixtures: paths, databases (SQLite and a real PostgreSQL), deadlines."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
import pytest

from store import Store, open_store

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("ANALYST_SHARED_DIR", REPO.parent / "shared")).resolve()
DATASETS = SHARED / "datasets"

# CI exports this (see .ci/run); locally the Postgres half of the contract suite is skipped
# unless it is set. ANALYST_REQUIRE_POSTGRES=1 turns the skip into a failure.
POSTGRES_URL = os.environ.get("ANALYST_TEST_POSTGRES_URL", "")
REQUIRE_POSTGRES = os.environ.get("ANALYST_REQUIRE_POSTGRES") == "1"


def _postgres_or_skip() -> str:
    if POSTGRES_URL:
        return POSTGRES_URL
    if REQUIRE_POSTGRES:
        pytest.fail("ANALYST_REQUIRE_POSTGRES=1 but ANALYST_TEST_POSTGRES_URL is not set")
    pytest.skip("set ANALYST_TEST_POSTGRES_URL to run the PostgreSQL contract tests")


async def _admin(url: str) -> asyncpg.Connection:
    return await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))


@asynccontextmanager
async def fresh_postgres_database() -> AsyncIterator[str]:
    """A new, empty PostgreSQL database (dropped afterwards); yields its URL."""
    base = _postgres_or_skip()
    name = f"analyst_test_{uuid.uuid4().hex[:12]}"
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


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """The same test once on SQLite and once on a real PostgreSQL server."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'analyst.db'}"
        return
    async with fresh_postgres_database() as url:
        yield url


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[Store]:
    async with open_store(database_url) as opened:
        yield opened
