"""What `slack-analyst doctor` asks OpenAI: does the key work, does each configured model exist
for it (`GET /v1/models/{model}`), and is a shutdown announced for it.

Never raises for OpenAI's answers or an unreachable endpoint; the wording is `bot.doctor`'s.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import openai

from bot.engine import open_client
from bot.settings import Settings

TIMEOUT_S = 15.0
ModelState = Literal["ok", "unknown", "refused", "unreachable", "error"]


@dataclass(frozen=True)
class ModelCheck:
    name: str
    state: ModelState
    """ok; unknown (404: no such model, or not for this key); refused (the key: 401/403);
    unreachable (no answer); error (anything else)."""
    detail: str | None = None
    """OpenAI's error code or HTTP status, or the transport error's type."""
    shutdown_date: str | None = None
    """When OpenAI shuts the model down, if announced."""


async def check_models(settings: Settings, models: Sequence[str]) -> list[ModelCheck]:
    """Each model in turn; after a refused key the rest are not asked (same answer)."""
    checks: list[ModelCheck] = []
    async with open_client(settings) as client:
        quick = client.with_options(max_retries=0, timeout=TIMEOUT_S)
        for name in models:
            check = await _check(quick, name)
            checks.append(check)
            if check.state in ("refused", "unreachable"):
                break
    return checks


async def _check(client: openai.AsyncOpenAI, name: str) -> ModelCheck:
    try:
        model = await client.models.retrieve(name)
    except openai.NotFoundError as error:
        return ModelCheck(name, "unknown", error.code or "404")
    except (openai.AuthenticationError, openai.PermissionDeniedError) as error:
        return ModelCheck(name, "refused", error.code or str(error.status_code))
    except openai.APIStatusError as error:
        return ModelCheck(name, "error", error.code or str(error.status_code))
    except openai.APIError as error:  # connection refused, timed out
        return ModelCheck(name, "unreachable", type(error).__name__)
    shutdown = model.model_dump().get("shutdown_date")
    return ModelCheck(name, "ok", shutdown_date=str(shutdown) if shutdown else None)
