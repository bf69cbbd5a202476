"""On-demand faults for any endpoint of the fake OpenAI server.

    fake.faults.fail("POST", "/files", 429, headers={"retry-after": "1"})
    fake.faults.fail("POST", "/containers", 500, times=2)
    fake.faults.delay("GET", "/containers/", 0.5)
    fake.faults.drop("POST", "/conversations")

Rules match a method (or "*") and a path prefix without ``/v1``; each fires ``times`` times
(``None`` = forever), first matching rule first. Spec validation runs before faults, so a
malformed request is reported even when a fault is armed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from tests.fakes.openai_state import ApiError

_DEFAULT_ERRORS: dict[int, tuple[str, str | None, str]] = {
    400: ("invalid_request_error", None, "Bad request."),
    401: ("invalid_request_error", "invalid_api_key", "Incorrect API key provided: sk-test."),
    403: ("invalid_request_error", "unsupported_country_region_territory", "Forbidden."),
    404: ("invalid_request_error", None, "Not found."),
    409: ("invalid_request_error", None, "Conflict."),
    429: ("requests", "rate_limit_exceeded", "Rate limit reached. Please try again later."),
    500: ("server_error", None, "The server had an error while processing your request."),
    503: ("server_error", None, "The server is overloaded or not ready yet."),
}


class DropConnection(Exception):
    """Raised by a drop fault: the HTTP layer aborts the TCP connection without answering."""


@dataclass
class FaultRule:
    method: str
    path_prefix: str
    action: Literal["fail", "delay", "drop"]
    times: int | None = 1
    status: int = 500
    code: str | None = None
    message: str | None = None
    type: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    fired: int = 0

    def matches(self, method: str, path: str) -> bool:
        if self.times is not None and self.fired >= self.times:
            return False
        return self.method in ("*", method.upper()) and path.startswith(self.path_prefix)

    def error(self) -> ApiError:
        kind, code, message = _DEFAULT_ERRORS.get(
            self.status,
            (
                "server_error" if self.status >= 500 else "invalid_request_error",
                None,
                f"Error {self.status}.",
            ),
        )
        return ApiError(
            self.status,
            self.message or message,
            type=self.type or kind,
            code=self.code if self.code is not None else code,
            headers=self.headers,
        )


class Faults:
    def __init__(self) -> None:
        self.rules: list[FaultRule] = []

    def fail(
        self,
        method: str,
        path_prefix: str,
        status: int,
        *,
        code: str | None = None,
        message: str | None = None,
        type: str | None = None,  # the wire field is called "type"
        headers: Mapping[str, str] | None = None,
        times: int | None = 1,
    ) -> FaultRule:
        """Answer matching requests with an HTTP error in the real ``{"error": {...}}`` shape."""
        rule = FaultRule(
            method.upper(),
            path_prefix,
            "fail",
            times,
            status,
            code,
            message,
            type,
            dict(headers or {}),
        )
        self.rules.append(rule)
        return rule

    def delay(
        self, method: str, path_prefix: str, seconds: float, *, times: int | None = 1
    ) -> FaultRule:
        """Hold matching requests for ``seconds`` before handling them normally."""
        rule = FaultRule(method.upper(), path_prefix, "delay", times, seconds=seconds)
        self.rules.append(rule)
        return rule

    def drop(self, method: str, path_prefix: str, *, times: int | None = 1) -> FaultRule:
        """Abort the TCP connection of matching requests without any response."""
        rule = FaultRule(method.upper(), path_prefix, "drop", times)
        self.rules.append(rule)
        return rule

    def clear(self) -> None:
        self.rules.clear()

    async def apply(self, method: str, path: str) -> None:
        """Fire the first matching rule: sleep, raise `ApiError`, or raise `DropConnection`."""
        for rule in self.rules:
            if not rule.matches(method, path):
                continue
            rule.fired += 1
            if rule.action == "delay":
                await asyncio.sleep(rule.seconds)
                return
            if rule.action == "drop":
                raise DropConnection
            raise rule.error()
