"""The objects the fake serves, with their JSON shapes (from shared/wire-samples/openai/)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol


class IdFactory(Protocol):
    def new(self, prefix: str) -> str: ...


@dataclass
class Blob:
    """Bytes on disk with their size and sha256."""

    path: Path
    size: int
    sha256: str

    def read(self) -> bytes:
        return self.path.read_bytes()


@dataclass
class StoredFile:
    id: str
    filename: str
    purpose: str
    blob: Blob
    created_at: int
    expires_at: int | None = None

    @property
    def size(self) -> int:
        return self.blob.size

    @property
    def sha256(self) -> str:
        return self.blob.sha256

    def content(self) -> bytes:
        return self.blob.read()

    def to_json(self) -> dict[str, Any]:
        # No capture of a File object: follow the spec (expires_at only when set).
        body: dict[str, Any] = {
            "object": "file",
            "id": self.id,
            "purpose": self.purpose,
            "filename": self.filename,
            "bytes": self.size,
            "created_at": self.created_at,
            "status": "processed",
        }
        if self.expires_at is not None:
            body["expires_at"] = self.expires_at
        return body


@dataclass
class ContainerFile:
    id: str
    container_id: str
    path: str
    source: str
    blob: Blob
    created_at: int

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]

    def content(self) -> bytes:
        return self.blob.read()

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "container.file",
            "created_at": self.created_at,
            # W1: `bytes` was null for a model-created file (the spec and SDK say int).
            "bytes": self.blob.size if self.source == "user" else None,
            "container_id": self.container_id,
            "path": self.path,
            "source": self.source,
        }


@dataclass
class Container:
    id: str
    name: str
    created_at: int
    last_active: float
    """Fake-clock time of the last use (a float, so sub-second idle expiry works)."""
    idle_seconds: float
    expires_minutes: int
    memory_limit: str | None = None
    files: dict[str, ContainerFile] = field(default_factory=dict)
    expired: bool = False

    def touch(self, now: float) -> None:
        """Record a use (any container operation or response using it)."""
        if not self.expired:
            self.last_active = now

    def refresh_expiry(self, now: float) -> None:
        if not self.expired and now - self.last_active >= self.idle_seconds:
            self.expired = True
            self.files.clear()  # the data of an expired container is gone for good

    @property
    def status(self) -> str:
        # "running" is what the real captures show for a live container (the docs say "active").
        return "expired" if self.expired else "running"

    def file_at(self, path: str) -> ContainerFile | None:
        return next((item for item in self.files.values() if item.path == path), None)

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": self.id,
            "object": "container",
            "created_at": self.created_at,
            "status": self.status,
            "expires_after": {"anchor": "last_active_at", "minutes": self.expires_minutes},
            "last_active_at": int(self.last_active),
            "name": self.name,
        }
        if self.memory_limit is not None:
            body["memory_limit"] = self.memory_limit
        return body


@dataclass
class Conversation:
    id: str
    created_at: int
    metadata: dict[str, str]
    items: list[dict[str, Any]] = field(default_factory=list)
    deleted: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "conversation",
            "created_at": self.created_at,
            "metadata": self.metadata,
        }


@dataclass
class VectorStore:
    id: str
    name: str
    created_at: int
    metadata: dict[str, str] | None
    files: dict[str, dict[str, Any]] = field(default_factory=dict)
    ready_at: dict[str, tuple[float, bool]] = field(default_factory=dict)
    """File id -> (when indexing ends, whether it succeeds)."""
    expired: bool = False
    """It passed its ``expires_after`` idle days: requests naming it are refused."""
    expires_days: int | None = None
    """``expires_after.days`` (anchor ``last_active_at``); None: it never expires."""
    last_active: float = 0.0
    """Fake-clock time of its last use (created, a file added, searched)."""

    def touch(self, now: float) -> None:
        if not self.expired:
            self.last_active = now

    def refresh_expiry(self, now: float) -> None:
        if self.expires_days is not None and now - self.last_active >= self.expires_days * 86_400:
            self.expired = True

    def to_json(self) -> dict[str, Any]:
        statuses = [item["status"] for item in self.files.values()]
        expiry: dict[str, Any] = {"expires_at": None}
        if self.expires_days is not None:
            expiry = {
                "expires_after": {"anchor": "last_active_at", "days": self.expires_days},
                "expires_at": int(self.last_active) + self.expires_days * 86_400,
            }
        return {
            "id": self.id,
            "object": "vector_store",
            "created_at": self.created_at,
            "name": self.name,
            "usage_bytes": sum(item["usage_bytes"] for item in self.files.values()),
            "file_counts": {
                "in_progress": statuses.count("in_progress"),
                "completed": statuses.count("completed"),
                "failed": statuses.count("failed"),
                "cancelled": 0,
                "total": len(statuses),
            },
            "status": "expired" if self.expired else "completed",
            **expiry,
            "last_active_at": int(self.last_active) or self.created_at,
            "metadata": self.metadata or {},
        }


_ITEM_PREFIXES = {
    "reasoning": "rs",
    "code_interpreter_call": "ci",
    "function_call": "fc",
    "function_call_output": "fco",  # not captured; a guess in the same style
    "file_search_call": "fs",
    "web_search_call": "ws",
}


def as_item(item: Mapping[str, Any], ids: IdFactory) -> dict[str, Any]:
    """An input item as the Conversations API stores it (ids, status, content parts)."""
    stored = dict(item)
    stored.setdefault("type", "message")
    if stored["type"] == "message":
        stored.setdefault("id", ids.new("msg"))
        stored.setdefault("status", "completed")
        content = stored.get("content")
        if isinstance(content, str):
            kind = "output_text" if stored.get("role") == "assistant" else "input_text"
            part: dict[str, Any] = {"type": kind, "text": content}
            if kind == "output_text":
                part |= {"annotations": [], "logprobs": []}
            stored["content"] = [part]
    elif "id" not in stored and stored["type"] != "item_reference":
        prefix = _ITEM_PREFIXES.get(str(stored["type"]), "item")
        stored["id"] = ids.new(prefix)
    return stored


def response_object(
    request: Mapping[str, Any],
    *,
    response_id: str,
    created_at: int,
    status: str,
    conversation_id: str | None,
) -> dict[str, Any]:
    """A Response as the service echoes it (field set of the wire samples + conversation)."""

    def echo(name: str, default: Any = None) -> Any:
        value = request.get(name)
        return default if value is None else value

    return {
        "id": response_id,
        "object": "response",
        "created_at": created_at,
        "status": status,
        "background": bool(request.get("background")),
        "completed_at": None,
        "conversation": {"id": conversation_id} if conversation_id else None,
        "error": None,
        "incomplete_details": None,
        "instructions": echo("instructions"),
        "max_output_tokens": echo("max_output_tokens"),
        "max_tool_calls": echo("max_tool_calls"),
        "model": request.get("model"),
        "output": [],
        "parallel_tool_calls": echo("parallel_tool_calls", True),
        "previous_response_id": echo("previous_response_id"),
        "prompt_cache_key": echo("prompt_cache_key"),
        "reasoning": echo("reasoning", {"effort": "medium", "summary": None}),
        "safety_identifier": echo("safety_identifier"),
        "service_tier": echo("service_tier", "auto"),
        "store": echo("store", True),
        "temperature": echo("temperature", 1.0),
        "text": echo("text", {"format": {"type": "text"}, "verbosity": "medium"}),
        "tool_choice": echo("tool_choice", "auto"),
        "tools": echo("tools", []),
        "top_logprobs": echo("top_logprobs", 0),
        "top_p": echo("top_p", 1.0),
        "truncation": echo("truncation", "disabled"),
        "usage": None,
        "user": echo("user"),
        "metadata": echo("metadata", {}),
    }
