"""pytest fixtures for the fake OpenAI server.

Load them as a plugin from a test module or the root conftest::

    pytest_plugins = ["tests.fakes.openai_fixtures"]

``fake_openai`` fails the test at teardown when any request broke the OpenAPI spec; a test that
sends a malformed request on purpose asserts on ``fake.spec_violations`` and clears it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from openai import AsyncOpenAI

from tests.fakes.openai_api import FakeOpenAI


@pytest.fixture
async def fake_openai() -> AsyncIterator[FakeOpenAI]:
    async with FakeOpenAI() as fake:
        yield fake
        if report := fake.spec_report():
            pytest.fail(f"FakeOpenAI saw bad requests:\n{report}", pytrace=False)


@pytest.fixture
async def openai_client(fake_openai: FakeOpenAI) -> AsyncIterator[AsyncOpenAI]:
    async with fake_openai.client() as client:
        yield client
