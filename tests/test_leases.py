"""A running turn's lease and outcome when the store or another worker gets in the way.

Faults are real: another worker's takeover is a real UPDATE, an unreachable store is a real
lock held by another connection, a failing write is a real trigger raising in the database.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from bot import wording
from tests.bot_harness import BotUnderTest, running_bot, wait_until
from tests.fakes.scripted_model import ScriptedTurn

SLOW = ScriptedTurn(text="A long, careful explanation. " * 30, text_deltas=60, delta_delay=0.1)
LEASE_S = "1"  # renewed every third of a second; the watchdog looks every sixth


def _texts(bot: BotUnderTest, ts: str) -> list[str]:
    return [m.text_content() for m in bot.slack.bot_messages("C0GENERAL", ts)]


def _interrupted_reported(bot: BotUnderTest, ts: str) -> bool:
    return any(wording.error_text("interrupted") in t for t in _texts(bot, ts))


async def _response_of(bot: BotUnderTest, question: str) -> str:
    async def started() -> str | None:
        found = [r for r in bot.openai.responses.values() if question in str(r.request["input"])]
        return found[0].id if found else None

    response_id: str = await wait_until(started, what="the model's response to start")
    return response_id


async def test_a_turn_taken_over_by_another_worker_stops_at_once(tmp_path: Path) -> None:
    async with running_bot(tmp_path, ANALYST_LEASE_S=LEASE_S) as bot:
        bot.openai.model.enqueue(SLOW)
        sent = await bot.mention("explain it slowly")
        response_id = await _response_of(bot, "explain it slowly")
        turn = await bot.turn(sent.ts)
        assert turn is not None
        # Another replica found the lease expired and claimed the turn.
        async with bot.runtime.store.engine.begin() as conn:
            await conn.execute(
                text("UPDATE turns SET lease_owner = 'other-replica' WHERE id = :id"),
                {"id": turn.id},
            )
        # This worker's next renewal is refused: its model stream is closed at once (the
        # scripted answer would take 6 s), so two turns never run in one conversation.
        await bot.openai.wait_for(lambda: response_id in bot.openai.closed_streams, timeout=3)
        await wait_until(lambda: not bot.runtime.service.running_in(bot.turn_key(sent.ts)))
        row = await bot.turn(sent.ts)
        assert row is not None
        assert row.status == "running"
        assert row.lease_owner == "other-replica"
        assert not _interrupted_reported(bot, sent.ts)  # the new owner reports it, not us


@asynccontextmanager
async def _locked(database: Path) -> AsyncIterator[None]:
    """Another connection holds SQLite's write lock: the bot's writes wait (no error)."""
    blocker = sqlite3.connect(database, timeout=0, isolation_level=None)

    def taken() -> bool:  # between two of the bot's writes (never blocking its event loop)
        try:
            blocker.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError:
            return False
        return True

    await wait_until(taken, within=5, what="SQLite's write lock between the bot's writes")
    try:
        yield
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()


async def test_a_turn_whose_lease_cannot_be_renewed_stops_and_is_reported(
    tmp_path: Path,
) -> None:
    database = tmp_path / "bot.db"
    async with running_bot(
        tmp_path, database_url=f"sqlite:///{database}", ANALYST_LEASE_S=LEASE_S
    ) as bot:
        bot.openai.model.enqueue(SLOW)
        sent = await bot.mention("explain it slowly")
        response_id = await _response_of(bot, "explain it slowly")
        async with _locked(database):
            # No renewal can be confirmed: before the lease runs out the turn is stopped,
            # since another replica may take it over when it does.
            await bot.openai.wait_for(lambda: response_id in bot.openai.closed_streams, timeout=4)
        # The store is back and nobody took the turn over: this worker says what happened.
        turn = await bot.finished(sent.ts)
        assert turn.status == "interrupted"
        await wait_until(lambda: _interrupted_reported(bot, sent.ts), what="the report")


def _failing_finish_sql(dialect: str) -> list[str]:
    """A trigger that makes every attempt to mark a turn done fail, as a broken disk would."""
    if dialect == "sqlite":
        return [
            "CREATE TRIGGER fail_finish BEFORE UPDATE OF status ON turns "
            "WHEN NEW.status = 'done' BEGIN SELECT RAISE(ABORT, 'injected fault'); END"
        ]
    return [
        "CREATE FUNCTION fail_finish() RETURNS trigger AS $$ BEGIN "
        "RAISE EXCEPTION 'injected fault'; END $$ LANGUAGE plpgsql",
        "CREATE TRIGGER fail_finish BEFORE UPDATE OF status ON turns FOR EACH ROW "
        "WHEN (NEW.status = 'done') EXECUTE FUNCTION fail_finish()",
    ]


async def test_a_delivered_answer_is_recorded_once_the_store_recovers(
    tmp_path: Path, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="bot.core.worker")
    async with running_bot(tmp_path, database_url=database_url, ANALYST_LEASE_S=LEASE_S) as bot:
        engine = bot.runtime.store.engine
        async with engine.begin() as conn:
            for statement in _failing_finish_sql(engine.dialect.name):
                await conn.execute(text(statement))
        bot.openai.model.enqueue(ScriptedTurn(text="Revenue grew 12% year on year."))
        sent = await bot.mention("how did revenue grow?")

        await wait_until(
            lambda: any("Revenue grew 12%" in t for t in _texts(bot, sent.ts)), what="the answer"
        )
        delivered = datetime.now(UTC)

        async def lease_held(seconds: float) -> bool:
            async with engine.connect() as conn:
                row = (
                    await conn.execute(
                        text("SELECT status, lease_expires_at FROM turns WHERE message_ts = :ts"),
                        {"ts": sent.ts},
                    )
                ).one()
            assert row.status == "running", row.status  # never reported as interrupted
            until = _utc(row.lease_expires_at)
            return until is not None and until > delivered + timedelta(seconds=seconds)

        # While its outcome cannot be written the worker keeps the lease: renewed well past
        # two lease periods after the answer, so nobody reports the turn as interrupted.
        await wait_until(lambda: lease_held(2 * float(LEASE_S)), what="the lease kept")
        assert any("recording its outcome failed" in r.getMessage() for r in caplog.records)
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    "DROP TRIGGER fail_finish" + " ON turns" * (engine.dialect.name == "postgresql")
                )
            )
        turn = await bot.finished(sent.ts)
        assert turn.status == "done"
        assert not _interrupted_reported(bot, sent.ts)
        assert sum("Revenue grew 12%" in t for t in _texts(bot, sent.ts)) == 1


def _utc(value: datetime | str | None) -> datetime | None:
    """A timestamp read back from either database, as an aware UTC datetime."""
    if value is None:
        return None
    if isinstance(value, str):  # SQLite hands back text
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value
