"""`Metrics`: what one bot process counts, served as Prometheus text on `GET /metrics`.

Each process (each replica) has its own registry and exposes only what it saw itself; the
queue depth is read from the shared database at scrape time, so every replica reports the
same figure (aggregate it with `max`, not `sum`). No label names a workspace, channel or
person: label values come from small fixed sets (turn statuses and error codes, Slack
method names, `bot.errors` class names), anything else is counted as `other`.

    analyst_turns_total{status,error_code}         turns this process ran to an end
    analyst_turn_first_sign_seconds                recorded → first visible sign in Slack
    analyst_turn_answer_seconds                    recorded → answer complete (done turns)
    analyst_turn_model_seconds                     the turn's first model response, start → end
    analyst_turns_running / analyst_turns_queued   gauges, read at scrape time
    analyst_turns_resumed_total / _interrupted_total
    analyst_events_redelivered_total               Slack events of a dead process handled here
    analyst_slack_calls_total{method,outcome}      ok | error | rate_limited | failed
    analyst_slack_rate_limited_total{method}       Slack's 429s
    analyst_openai_errors_total{kind}              OpenAI failures, by `EngineError` class
    analyst_draining                               1 once SIGTERM arrived
"""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from bot.core.records import StoredTurn, TurnOutcome

CONTENT_TYPE = CONTENT_TYPE_LATEST
# Seconds; a turn may run up to ANALYST_TURN_TIMEOUT_S (900 s by default).
SIGN_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0)
ANSWER_BUCKETS = (1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0)
SLACK_OUTCOMES = frozenset({"ok", "error", "rate_limited", "failed"})
OTHER = "other"
_SLACK_METHOD = re.compile(r"[a-z]+(\.[a-zA-Z]+){1,3}")
_CODE = re.compile(r"[a-z][a-z0-9_]{0,47}")
_KIND = re.compile(r"[A-Z][A-Za-z]{0,47}")
_MAX_VALUES = 200
"""Distinct values one label may take before new ones are counted as `other`."""

Runner = Callable[[StoredTurn], Awaitable[TurnOutcome]]
Reporter = Callable[[StoredTurn], Awaitable[None]]


class Metrics:
    """The registry of one bot process, and the hooks the parts report through."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        reg = self.registry
        self._turns = Counter(
            "analyst_turns", "Turns this process ran to an end.", ["status", "error_code"],
            registry=reg,
        )  # fmt: skip
        self._first_sign = Histogram(
            "analyst_turn_first_sign_seconds",
            "From recording a turn to its first visible sign in Slack (session or status).",
            buckets=SIGN_BUCKETS, registry=reg,
        )  # fmt: skip
        self._answer = Histogram(
            "analyst_turn_answer_seconds",
            "From recording a turn to its answer complete in Slack (turns that ended done).",
            buckets=ANSWER_BUCKETS, registry=reg,
        )  # fmt: skip
        self._model = Histogram(
            "analyst_turn_model_seconds",
            "Model time of a turn's first response, from its start to its end.",
            buckets=ANSWER_BUCKETS, registry=reg,
        )  # fmt: skip
        self._running = Gauge(
            "analyst_turns_running", "Turns running in this process.", registry=reg
        )
        self._queued = Gauge(
            "analyst_turns_queued",
            "Turns waiting to run, across every replica (read from the database).",
            registry=reg,
        )
        self._resumed = Counter(
            "analyst_turns_resumed", "Turns this process took over and resumed.", registry=reg
        )
        self._redelivered = Counter(
            "analyst_events_redelivered",
            "Slack events another process acknowledged and did not handle, handled here.",
            registry=reg,
        )
        self._interrupted = Counter(
            "analyst_turns_interrupted",
            "Turns this process reported to their thread as interrupted.",
            registry=reg,
        )
        self._slack_calls = Counter(
            "analyst_slack_calls", "Slack Web API calls made, by method and outcome.",
            ["method", "outcome"], registry=reg,
        )  # fmt: skip
        self._slack_429 = Counter(
            "analyst_slack_rate_limited", "Slack's 429 answers, by method.", ["method"],
            registry=reg,
        )  # fmt: skip
        self._openai_errors = Counter(
            "analyst_openai_errors", "OpenAI failures, by kind (bot.errors class).", ["kind"],
            registry=reg,
        )  # fmt: skip
        self._draining = Gauge(
            "analyst_draining", "1 once the process stopped taking new work.", registry=reg
        )
        self._seen: dict[str, set[str]] = {}
        self._recorded: dict[int, float] = {}  # running turn id → when it was recorded (epoch)

    # Turns ----------------------------------------------------------------------------

    def observed(self, run: Runner) -> Runner:
        """The worker's runner, counted: outcome, latencies."""

        async def counted(stored: StoredTurn) -> TurnOutcome:
            if stored.attempts > 1:  # claimed again: its worker stopped
                self.turn_resumed()
            self._recorded[stored.id] = _epoch(stored.created_at)
            try:
                outcome = await run(stored)
            finally:
                self._recorded.pop(stored.id, None)
            self.turn_finished(stored, outcome)
            return outcome

        return counted

    def interruptions(self, report: Reporter) -> Reporter:
        """The worker's "tell the thread its turn was interrupted", counted."""

        async def counted(stored: StoredTurn) -> None:
            self.turn_interrupted()
            await report(stored)

        return counted

    def first_sign(self, turn_id: int) -> None:
        """A running turn's first visible sign reached Slack."""
        recorded = self._recorded.get(turn_id)
        if recorded is not None:
            self._first_sign.observe(max(0.0, time.time() - recorded))

    def turn_finished(self, stored: StoredTurn, outcome: TurnOutcome) -> None:
        code = self._bounded("error_code", outcome.error_code or "", _CODE, empty_ok=True)
        self._turns.labels(status=outcome.status, error_code=code).inc()
        if outcome.status == "done":
            self._answer.observe(max(0.0, time.time() - _epoch(stored.created_at)))
        timings = outcome.timings or {}
        started, ended = timings.get("model_started_s"), timings.get("model_finished_s")
        if isinstance(started, int | float) and isinstance(ended, int | float):
            self._model.observe(max(0.0, float(ended) - float(started)))

    def turn_resumed(self) -> None:
        """A turn whose worker stopped was taken over and continued here."""
        self._resumed.inc()

    def event_redelivered(self) -> None:
        """An event recorded by a process that did not handle it was handled here."""
        self._redelivered.inc()

    def turn_interrupted(self) -> None:
        """A thread was told its turn was interrupted (it could not be resumed)."""
        self._interrupted.inc()

    def draining(self) -> None:
        self._draining.set(1)

    # Vendors --------------------------------------------------------------------------

    def slack_call(self, method: str, outcome: str) -> None:
        """One Slack Web API call ended (`SLACK_OUTCOMES`)."""
        name = self._bounded("method", method, _SLACK_METHOD)
        self._slack_calls.labels(method=name, outcome=outcome).inc()
        if outcome == "rate_limited":
            self._slack_429.labels(method=name).inc()

    def openai_error(self, error: BaseException) -> None:
        """An OpenAI call failed; counted by the bot's class for it (`RateLimited`, …)."""
        self._openai_errors.labels(kind=self._bounded("kind", type(error).__name__, _KIND)).inc()

    # Exposition -----------------------------------------------------------------------

    def exposition(self, *, running: int, queued: int | None) -> bytes:
        """The registry as Prometheus text; `queued` None when the database did not answer
        (the gauge then reads NaN rather than a stale figure)."""
        self._running.set(running)
        if queued is None:
            self._queued.set(float("nan"))
        else:
            self._queued.set(queued)
        return generate_latest(self.registry)

    def _bounded(
        self, label: str, value: str, shape: re.Pattern[str], *, empty_ok: bool = False
    ) -> str:
        if empty_ok and value == "":
            return value
        seen = self._seen.setdefault(label, set())
        if value in seen:
            return value
        if not shape.fullmatch(value) or len(seen) >= _MAX_VALUES:
            return OTHER
        seen.add(value)
        return value


def _epoch(when: datetime) -> float:
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()
