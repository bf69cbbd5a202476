"""The fake's models (``GET /v1/models``, ``GET /v1/models/{model}``) and its API keys.

A model the account cannot use answers 404 ``model_not_found`` like the real service
("The model `x` does not exist or you do not have access to it."); the `Model` object carries
``shutdown_date`` when one is announced (specs/openai-openapi.yml ``Model``). A key the fake
does not know answers 401 ``invalid_api_key`` on every endpoint, and a request without one
401 with no code, as OpenAI does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web

from tests.fakes.openai_state import ApiError

DEFAULT_MODELS = ("test-model", "test-model-mini", "gpt-5.5", "gpt-5.5-mini", "gpt-5.6")
CREATED = 1_767_225_600  # 2026-01-01


@dataclass
class FakeModel:
    id: str
    owned_by: str = "system"
    shutdown_date: str | None = None
    """ISO date (YYYY-MM-DD) when the model shuts down, if announced."""

    def to_api(self) -> dict[str, object]:
        return {
            "id": self.id,
            "object": "model",
            "created": CREATED,
            "owned_by": self.owned_by,
            "shutdown_date": self.shutdown_date,
        }


class Models:
    """What models the fake's account may use (``fake.models``)."""

    def __init__(self, names: tuple[str, ...] = DEFAULT_MODELS) -> None:
        self.available: dict[str, FakeModel] = {name: FakeModel(name) for name in names}

    def add(self, name: str, *, shutdown_date: str | None = None) -> None:
        self.available[name] = FakeModel(name, shutdown_date=shutdown_date)

    def remove(self, name: str) -> None:
        self.available.pop(name, None)

    def register(self, router: web.UrlDispatcher) -> None:
        router.add_route("GET", "/v1/models", self.list_models)
        router.add_route("GET", "/v1/models/{model}", self.retrieve)

    async def list_models(self, _request: web.Request) -> web.Response:
        data = [model.to_api() for model in self.available.values()]
        return web.json_response({"object": "list", "data": data})

    async def retrieve(self, request: web.Request) -> web.Response:
        name = request.match_info["model"]
        model = self.available.get(name)
        if model is None:
            raise ApiError(
                404,
                f"The model `{name}` does not exist or you do not have access to it.",
                param="model",
                code="model_not_found",
            )
        return web.json_response(model.to_api())


def check_key(authorization: str | None, accepted: Callable[[], set[str] | None]) -> None:
    """Raise the real 401 unless the request carries a key the fake accepts (None: any)."""
    scheme, _, key = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise ApiError(
            401,
            "You didn't provide an API key. You need to provide your API key in an "
            "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
        )
    keys = accepted()
    if keys is not None and key not in keys:
        shown = f"{key[:3]}***{key[-4:]}" if len(key) > 8 else "***"
        raise ApiError(
            401,
            f"Incorrect API key provided: {shown}. You can find your API key at "
            "https://platform.openai.com/account/api-keys.",
            code="invalid_api_key",
        )
