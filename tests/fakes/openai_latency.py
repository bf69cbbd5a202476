"""Round-trip latency of the fake OpenAI, per endpoint family (off by default).

    fake = FakeOpenAI(latency=Latency(files=0.4, containers=0.8))
    fake.latency.container_files = 0.5      # takes effect on the next request
    fake.latency = Latency.realistic()      # the figures of issue 9

The server waits this long after it received a request (its body included: an upload's
transfer is real) and before it answers, as the real service spends time on every call. A
streamed response waits before its first byte. Spec checks and faults come first, so a
refused request is refused at once, like a real gateway's 400.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, fields

# (method or "*", path pattern without /v1) -> family; the first match wins.
_ROUTES: tuple[tuple[str, re.Pattern[str], str], ...] = tuple(
    (method, re.compile(pattern), family)
    for method, pattern, family in (
        ("*", r"/files(/.*)?|/uploads(/.*)?", "files"),
        ("*", r"/conversations(/.*)?", "conversations"),
        ("POST", r"/containers/[^/]+/files", "container_files"),
        ("DELETE", r"/containers/[^/]+/files/[^/]+", "container_files"),
        ("GET", r"/containers/[^/]+(/files(/.*)?)?", "container_reads"),
        ("*", r"/containers(/[^/]+)?", "containers"),
        ("*", r"/responses(/.*)?", "responses"),
    )
)


@dataclass
class Latency:
    """Seconds each family of endpoints takes to answer (0: at once)."""

    files: float = 0.0
    """`/files` (the upload, and the file's metadata and content), `/uploads`."""
    conversations: float = 0.0
    """`/conversations…` (create, items)."""
    containers: float = 0.0
    """`/containers` (create, list) and deleting one."""
    container_files: float = 0.0
    """Putting a file in a container (`POST /containers/{id}/files`) or deleting one."""
    container_reads: float = 0.0
    """Reads of one container: its status (retrieve), its files' list, metadata, content.
    (Issue 9 measured a follow-up, whose only call was the retrieve, at 0.2 s.)"""
    responses: float = 0.0
    """`/responses…`: time to the first byte (a stream's headers, or the whole JSON)."""

    @classmethod
    def realistic(cls, *, responses: float = 0.0) -> Latency:
        """Round trips measured on the real service (issue 9): files 0.4 s, conversations
        0.3 s, containers 0.8 s, container files 0.5 s, container reads 0.15 s."""
        return cls(
            files=0.4,
            conversations=0.3,
            containers=0.8,
            container_files=0.5,
            container_reads=0.15,
            responses=responses,
        )

    @staticmethod
    def family(method: str, path: str) -> str | None:
        """The family of ``METHOD /path`` (path without ``/v1``); None: never delayed."""
        for wanted, pattern, family in _ROUTES:
            if wanted in ("*", method.upper()) and pattern.fullmatch(path):
                return family
        return None

    def of(self, method: str, path: str) -> float:
        family = self.family(method, path)
        return float(getattr(self, family)) if family else 0.0

    async def wait(self, method: str, path: str) -> None:
        seconds = self.of(method, path)
        if seconds > 0:
            await asyncio.sleep(seconds)

    def __post_init__(self) -> None:
        for field in fields(self):
            if getattr(self, field.name) < 0:
                raise ValueError(f"latency {field.name} must not be negative")
