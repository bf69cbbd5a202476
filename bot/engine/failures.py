"""OpenAI's error shapes → the bot's `EngineError`s.

Errors arrive three ways (see reference/openai.md §2.5): an `APIError` raised by the SDK (HTTP
errors, and the nested `{"error": {…}}` stream event), a flat `error` event, and a
`response.failed` / `response.incomplete` event. All end up in `from_code` so the same code
always means the same message.
"""

from __future__ import annotations

import openai

from bot.errors import (
    ContainerExpired,
    ContentRefused,
    EngineAuthError,
    EngineError,
    EngineFailed,
    EngineTimeout,
    QuotaExceeded,
    RateLimited,
    SearchIndexGone,
    ServiceOverloaded,
    ServiceUnavailable,
    StreamDropped,
)

QUOTA_CODES = frozenset(
    {
        "insufficient_quota",
        "credit_balance_exhausted",
        "billing_hard_limit_reached",
        "billing_not_active",
    }
)
RATE_CODES = frozenset({"rate_limit_exceeded", "too_many_requests", "rate_limited"})
AUTH_CODES = frozenset({"invalid_api_key", "unauthorized", "permission_denied"})
REFUSAL_CODES = frozenset(
    {
        "content_filter",
        "content_policy_violation",
        "invalid_prompt",
        "bio_policy",
        "misalignment_policy_violation",
        "image_content_policy_violation",
    }
)
OVERLOAD_CODES = frozenset({"server_is_overloaded", "overloaded", "service_unavailable"})
OVERLOAD_STATUSES = frozenset({503, 529})
SERVER_ERROR_CODES = frozenset({"server_error"})


def is_container_gone(code: str | None, message: str | None) -> bool:
    """The container is expired or gone: "Container is expired." (400, before or during a
    response, or placing a file), or a 404 for it; the real 404's wording is not captured,
    so both usual forms ("… not found", "No container found …") count."""
    text = (message or "").lower()
    return code in ("container_expired", "container_not_found") or (
        "container" in text
        and ("expired" in text or "not found" in text or "no container found" in text)
    )


def is_vector_store_gone(message: str | None) -> bool:
    """The vector store a request names is expired or gone (the service's wording for a
    vector store that expired after its idle days is not captured: both usual forms count)."""
    text = (message or "").lower()
    return "vector store" in text and ("expired" in text or "not found" in text)


def from_code(code: str | None, message: str | None, *, status: int | None = None) -> EngineError:
    """Classify an error code (plus message/status as hints)."""
    detail = f"{status or '-'} {code or '-'}: {(message or '')[:200]}"
    if is_vector_store_gone(message):
        return SearchIndexGone(detail)
    if is_container_gone(code, message):
        return ContainerExpired(detail)
    if code in QUOTA_CODES:
        return QuotaExceeded(detail)
    if code in RATE_CODES or status == 429:
        return RateLimited(detail)
    if code in AUTH_CODES or status in (401, 403):
        return EngineAuthError(detail)
    if code in REFUSAL_CODES:
        return ContentRefused(detail)
    if code in OVERLOAD_CODES or status in OVERLOAD_STATUSES:
        return ServiceOverloaded(detail)
    if code in SERVER_ERROR_CODES or (status or 0) >= 500:
        return ServiceUnavailable(detail)
    return EngineFailed(detail)


def from_exception(error: openai.APIError) -> EngineError:
    """Classify an exception raised by the SDK."""
    if isinstance(error, openai.APITimeoutError):
        return EngineTimeout("request timed out")
    if isinstance(error, openai.APIConnectionError):
        return StreamDropped(f"connection failed: {type(error.__cause__).__name__}")
    status = error.status_code if isinstance(error, openai.APIStatusError) else None
    return from_code(error.code, error.message, status=status)


def retry_after_seconds(error: openai.APIError, *, default: float) -> float:
    """The server's `retry-after`, if it sent one."""
    if isinstance(error, openai.APIStatusError):
        raw = error.response.headers.get("retry-after-ms")
        if raw:
            try:
                return float(raw) / 1000
            except ValueError:
                pass
        raw = error.response.headers.get("retry-after")
        if raw:
            try:
                return float(raw)
            except ValueError:
                pass
    return default
