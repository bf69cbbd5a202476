"""The engine: the one package that imports `openai`.

It exposes `OpenAIEngine` (files, conversations, containers, streamed responses) and
`open_client`, and speaks the bot's own vocabulary (`bot.core.events`, `bot.errors`).
"""

from __future__ import annotations

from openai import AsyncOpenAI, DefaultAioHttpClient

from bot.engine.client import OpenAIEngine
from bot.settings import Settings


def open_client(settings: Settings) -> AsyncOpenAI:
    """An `AsyncOpenAI` on aiohttp (one HTTP stack with Slack); use `async with`."""
    return AsyncOpenAI(
        api_key=settings.openai_api_key.reveal(),
        base_url=settings.openai_base_url,
        http_client=DefaultAioHttpClient(),
        max_retries=2,
    )


__all__ = ["OpenAIEngine", "open_client"]
