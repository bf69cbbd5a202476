"""Operating the bot: `/livez`, `/readyz`, `/healthz` (draining included) and `/metrics`, read
through the bot's own HTTP server and parsed with prometheus_client's own parser."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text

from bot.core.records import StoredTurn
from bot.errors import QuotaExceeded
from bot.metrics import OTHER, Metrics
from store.health import head_revision
from tests.bot_harness import BotUnderTest, running_bot, wait_until
from tests.fakes.scripted_model import ScriptedTurn, Stall

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]
SESSIONS = "agents.sessions.setStatus"
LABELS = {"status", "error_code", "method", "outcome", "kind", "le"}


@pytest.fixture
async def bot(tmp_path: Path) -> AsyncIterator[BotUnderTest]:
    async with running_bot(tmp_path) as running:
        yield running


async def _get(bot: BotUnderTest, path: str) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as http, http.get(f"{bot.url}{path}") as response:
        if path == "/metrics":
            assert response.headers["Content-Type"].startswith("text/plain; version=")
            return response.status, await response.text()
        return response.status, await response.json()


async def _scrape(bot: BotUnderTest) -> Samples:
    status, body = await _get(bot, "/metrics")
    assert status == 200
    samples: Samples = {}
    for family in text_string_to_metric_families(body):
        for sample in family.samples:
            assert set(sample.labels) <= LABELS, sample  # never a team, channel or user
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def _value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def _sum(samples: Samples, name: str, **labels: str) -> float:
    wanted = set(labels.items())
    return sum(v for (n, got), v in samples.items() if n == name and wanted <= got)


async def test_live_ready_and_health_split_and_drain(bot: BotUnderTest) -> None:
    assert await _get(bot, "/livez") == (200, {"ok": True, "uptime_s": pytest.approx(0, abs=60)})
    ready = {"ok": True, "draining": False, "database": "ok", "schema": "current", "slack": "ok"}
    assert await _get(bot, "/readyz") == (200, ready)
    status, health = await _get(bot, "/healthz")
    assert (status, health) == (200, {**ready, "mode": "http", "running_turns": 0})
    assert _value(await _scrape(bot), "analyst_draining") == 0

    bot.runtime.begin_drain()  # what SIGTERM does first
    assert bot.runtime.draining
    status, report = await _get(bot, "/readyz")
    assert (status, report["ok"], report["draining"]) == (503, False, True)
    assert (await _get(bot, "/healthz"))[0] == 503  # old load balancer configs stop too
    assert (await _get(bot, "/livez"))[0] == 200  # alive: do not restart it mid-drain
    assert _value(await _scrape(bot), "analyst_draining") == 1


async def test_readyz_says_when_the_schema_is_not_this_codes(
    tmp_path: Path, database_url: str
) -> None:
    async with running_bot(tmp_path, database_url=database_url) as bot:
        engine = bot.runtime.store.engine
        async with engine.begin() as conn:
            await conn.execute(text("UPDATE alembic_version SET version_num = '0009'"))
        status, report = await _get(bot, "/readyz")
        assert status == 503
        assert report["schema"] == f"at 0009, this code needs {head_revision()}"
        assert report["database"] == "ok"

        async with engine.begin() as conn:
            await conn.execute(text("DELETE FROM alembic_version"))
        status, report = await _get(bot, "/readyz")
        assert (status, report["schema"]) == (503, f"not migrated (head is {head_revision()})")


async def test_metrics_count_turns_latencies_slack_calls_and_the_queue(bot: BotUnderTest) -> None:
    bot.openai.model.enqueue(ScriptedTurn(text="First answer.", failure=Stall(after_text_deltas=1)))
    first = await bot.mention("how many rows?")

    async def status_of(ts: str) -> str | None:
        turn = await bot.turn(ts)
        return turn.status if turn is not None else None

    await wait_until(lambda: _is(status_of(first.ts), "running"), what="the first turn to run")
    second = await bot.say("and columns?", thread_ts=first.ts)
    await wait_until(lambda: _is(status_of(second.ts), "queued"), what="the follow-up to queue")
    during = await _scrape(bot)
    assert _value(during, "analyst_turns_queued") == 1
    assert _value(during, "analyst_turns_running") == 1
    assert _value(during, "analyst_turns_total", status="done", error_code="") == 0

    await bot.openai.wait_for(lambda: bot.openai.stalled == 1)  # the stall is reached
    bot.openai.release_stalls()
    assert (await bot.finished(first.ts)).status == "done"
    assert (await bot.finished(second.ts)).status == "done"
    after = await _scrape(bot)
    assert _value(after, "analyst_turns_total", status="done", error_code="") == 2
    assert _value(after, "analyst_turns_queued") == 0
    assert _value(after, "analyst_turn_answer_seconds_count") == 2
    assert _value(after, "analyst_turn_model_seconds_count") == 2
    assert _value(after, "analyst_turn_first_sign_seconds_count") == 2
    # Every answer took less than the test did, and no first sign came after its answer.
    assert 0 < _value(after, "analyst_turn_answer_seconds_sum") < 60
    sign_sum = _value(after, "analyst_turn_first_sign_seconds_sum")
    assert sign_sum <= _value(after, "analyst_turn_answer_seconds_sum")
    sessions = _value(
        after, "analyst_slack_calls_total", method="agents.sessions.setStatus", outcome="ok"
    )
    assert sessions >= 2  # processing, then active, per turn (some ride on stopStream)
    assert _sum(after, "analyst_slack_rate_limited_total") == 0


async def test_metrics_count_slack_429s_and_openai_errors_by_kind(bot: BotUnderTest) -> None:
    bot.slack.faults.ratelimit("agents.sessions.setStatus", retry_after=1)
    bot.openai.faults.fail("POST", "/responses", 429, code="insufficient_quota")
    sent = await bot.mention("what is in the file?")
    turn = await bot.finished(sent.ts)
    assert turn.error_code == QuotaExceeded.code

    async def counted() -> Samples | None:
        samples = await _scrape(bot)
        limited = _value(samples, "analyst_slack_rate_limited_total", method=SESSIONS)
        return samples if limited else None

    samples = await wait_until(counted, what="the 429 to be counted")
    assert (
        _value(
            samples,
            "analyst_slack_calls_total",
            method=SESSIONS,
            outcome="rate_limited",
        )
        == 1
    )
    assert _value(samples, "analyst_openai_errors_total", kind="QuotaExceeded") == 1
    assert _sum(samples, "analyst_openai_errors_total") == 1
    failed = _value(samples, "analyst_turns_total", status="failed", error_code="engine_quota")
    assert failed == 1


async def _is(value: Any, expected: str) -> bool:
    return await value == expected


def test_label_values_stay_few_and_plain() -> None:
    metrics = Metrics()
    metrics.slack_call("chat.postMessage", "ok")
    metrics.slack_call("chat.postMessage?channel=C0SECRET", "ok")  # not a method name
    for n in range(300):  # 300 distinct class names: KindAA, KindAB, …
        name = f"Kind{chr(65 + n // 26)}{chr(65 + n % 26)}"
        metrics.openai_error(type(name, (Exception,), {})())
    body = metrics.exposition(running=0, queued=0).decode()
    families = {f.name: f for f in text_string_to_metric_families(body)}
    methods = {s.labels["method"] for s in families["analyst_slack_calls"].samples}
    assert methods == {"chat.postMessage", OTHER}
    kinds = {s.labels["kind"] for s in families["analyst_openai_errors"].samples}
    assert len(kinds) == 201  # 200 distinct kinds, then the rest as "other"
    assert OTHER in kinds
    assert "C0SECRET" not in body


async def test_interruptions_are_counted_as_the_thread_is_told() -> None:
    metrics = Metrics()
    told: list[int] = []

    async def report(stored: StoredTurn) -> None:
        told.append(stored.id)

    counted = metrics.interruptions(report)
    await counted(_stored(7))
    metrics.turn_resumed()
    body = metrics.exposition(running=0, queued=None).decode()
    values = {s.name: s.value for f in text_string_to_metric_families(body) for s in f.samples}
    assert told == [7]
    assert values["analyst_turns_interrupted_total"] == 1
    assert values["analyst_turns_resumed_total"] == 1
    assert values["analyst_turns_queued"] != values["analyst_turns_queued"]  # NaN: unknown


def _stored(turn_id: int) -> StoredTurn:
    from datetime import UTC, datetime

    from bot.core.turns import ThreadKey, Turn

    turn = Turn(key=ThreadKey("T0", "C0", "1.0"), message_ts="1.0", user_id="U0", text="q")
    return StoredTurn(
        id=turn_id,
        thread_id=1,
        turn=turn,
        status="running",
        attempts=1,
        created_at=datetime.now(UTC),
    )
