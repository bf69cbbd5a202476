"""Shared fixtures: paths, databases (SQLite and a real PostgreSQL), deadlines."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from store import Store, open_store
from tests.postgres import created_database

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


@asynccontextmanager
async def fresh_postgres_database() -> AsyncIterator[str]:
    """A new, empty PostgreSQL database (dropped afterwards); yields its URL."""
    async with created_database(_postgres_or_skip(), prefix="analyst_test") as url:
        yield url


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
