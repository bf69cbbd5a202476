"""`Probes`: what the bot's operational endpoints answer (the front door serves them).

    GET /livez     the process's event loop answers (no I/O): restart the process if not
    GET /readyz    ready to take events: the database answers and is migrated to this code's
                   head, the process is not draining, its Slack client is constructed (and in
                   Socket Mode connected): send it no traffic if not
    GET /healthz   /readyz plus the mode and the turns running here (kept for load balancers
                   configured before the split; it now also says 503 while draining)
    GET /metrics   Prometheus text (`bot.metrics`)

Draining starts when SIGTERM arrives (`begin_drain`): from then on `/readyz` and `/healthz`
answer 503 so load balancers stop sending events, while `/livez` stays 200 until the process
ends. Probes are answered with 200 or 503 and a small JSON body; no probe ever raises.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from bot.metrics import CONTENT_TYPE, Metrics
from store import Store
from store.health import FAILURES

logger = logging.getLogger(__name__)

PROBE_TIMEOUT_S = 2.0
"""How long a probe or a scrape waits for the database before calling it unreachable."""


class Probes:
    """Health and metrics of one bot process."""

    content_type = CONTENT_TYPE

    def __init__(
        self, *, store: Store, metrics: Metrics, running: Callable[[], int], mode: str
    ) -> None:
        self._store = store
        self.metrics = metrics
        self._running = running
        self._mode = mode
        self._started = time.monotonic()
        self.draining = False
        """True once SIGTERM arrived: the process takes no new work."""
        self.slack_ready = False
        """The Slack client is constructed (and, in Socket Mode, connected)."""

    def begin_drain(self) -> None:
        """Stop reporting ready (idempotent); the caller stops taking work."""
        if not self.draining:
            logger.info("draining: /readyz now answers 503")
        self.draining = True
        self.metrics.draining()

    def live(self) -> dict[str, Any]:
        return {"ok": True, "uptime_s": round(time.monotonic() - self._started, 1)}

    async def ready(self) -> dict[str, Any]:
        try:
            async with asyncio.timeout(PROBE_TIMEOUT_S):
                schema = await self._store.schema()
        except TimeoutError:
            database, revision = "TimeoutError", "unknown"
        else:
            database = schema.error or "ok"
            revision = _revision(schema.current, schema.head) if schema.error is None else "unknown"
        slack = "ok" if self.slack_ready else "not connected"
        ok = database == "ok" and revision == "current" and not self.draining and slack == "ok"
        return {
            "ok": ok,
            "draining": self.draining,
            "database": database,
            "schema": revision,
            "slack": slack,
        }

    async def healthz(self) -> dict[str, Any]:
        report = await self.ready()
        return {**report, "mode": self._mode, "running_turns": self._running()}

    async def scrape(self) -> bytes:
        """The metrics, with the queue depth read from the database now."""
        queued: int | None
        try:
            async with asyncio.timeout(PROBE_TIMEOUT_S):
                queued = await self._store.queue_depth()
        except (*FAILURES, TimeoutError) as error:
            logger.warning("metrics: the queue depth could not be read (%s)", type(error).__name__)
            queued = None
        return self.metrics.exposition(running=self._running(), queued=queued)


def _revision(current: str | None, head: str) -> str:
    if current == head:
        return "current"
    if current is None:
        return f"not migrated (head is {head})"
    return f"at {current}, this code needs {head}"
