"""Events recorded before they are acknowledged: what a replica acknowledged and did not
handle (it died in between, or its listener failed) is handled by another, exactly once."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.slack.inbox import EventInbox, event_key
from store import Store
from tests.bot_harness import BotUnderTest, running_bot, wait_until
from tests.fakes import slack_events
from tests.fakes.scripted_model import ScriptedTurn

LEASE = "1.5"  # ANALYST_LEASE_S: takeovers within a couple of seconds


async def waiting(bot: BotUnderTest) -> int:
    return await bot.runtime.store.events.waiting()


def redelivered(bot: BotUnderTest) -> float:
    text = bot.runtime.metrics.exposition(running=0, queued=0).decode()
    for family in text_string_to_metric_families(text):
        if family.name == "analyst_events_redelivered":
            return sum(s.value for s in family.samples if s.name.endswith("_total"))
    raise AssertionError("no analyst_events_redelivered metric")


# The store's part, on both databases.


async def test_a_copy_of_a_recorded_event_is_not_recorded_again(store: Store) -> None:
    body = {"type": "event_callback", "event_id": "Ev01", "event": {"type": "message"}}
    other = {**body, "event_id": "Ev02"}
    first = await store.events.record([("Ev01", body, "T1")], owner="a", lease_s=30)
    assert list(first) == ["Ev01"]
    again = await store.events.record(
        [("Ev01", body, "T1"), ("Ev02", other, None)], owner="b", lease_s=30
    )
    assert list(again) == ["Ev02"]  # in one transaction with a new one: only that is recorded
    assert await store.events.waiting() == 2
    await store.events.settle([first["Ev01"], again["Ev02"]])
    assert await store.events.waiting() == 0


async def test_only_lapsed_or_handed_back_events_are_claimed_and_only_once(store: Store) -> None:
    events = store.events
    held = await events.record(
        [("EvLIVE", {"n": 1}, None), ("EvFAIL", {"n": 3}, None)], owner="alive", lease_s=30
    )
    # A lease that lapsed a second ago, and one handed back to be taken from a second ago.
    await events.record([("EvDEAD", {"n": 2}, None)], owner="dead", lease_s=-1)
    await events.release([held["EvFAIL"]], retry_in_s=-1)
    assert await events.renew("alive", lease_s=30) == 1  # the handed-back one is not its own
    claims = await asyncio.gather(
        *(events.claim_expired(f"taker{i}", limit=10, lease_s=30) for i in range(4))
    )
    taken = [event for claim in claims for event in claim]
    assert sorted(e.key for e in taken) == ["EvDEAD", "EvFAIL"]
    assert {e.key: (e.body, e.attempts) for e in taken} == {
        "EvDEAD": ({"n": 2}, 2),
        "EvFAIL": ({"n": 3}, 2),
    }
    assert await events.claim_expired("late", limit=10, lease_s=30) == []


async def test_the_inbox_keeps_no_verification_token_and_keys_events_by_their_id(
    store: Store,
) -> None:
    inbox = EventInbox(store.events, owner="me", lease_s=30)
    body = slack_events.envelope(
        slack_events.message(user="U0ALICE", channel="C0GENERAL", text="hi"), event_id="Ev0TOKEN"
    )
    body["token"] = "verification-token-value"
    delivery = await inbox.record(body)
    assert delivery is not None
    assert delivery.key == "Ev0TOKEN"
    [event] = await store.events.claim_expired("x", limit=1, lease_s=30) or [None]
    assert event is None  # held by `me`
    async with store.engine.connect() as conn:
        from sqlalchemy import select

        from store.events import received_events

        [stored] = (await conn.execute(select(received_events.c.body))).scalars()
    assert "token" not in stored
    assert stored["event_id"] == "Ev0TOKEN"
    no_id = {"type": "event_callback", "event": {"type": "message", "text": "x"}}
    assert event_key(no_id) == event_key(dict(no_id)) != event_key({**no_id, "event": {}})


async def test_deliveries_arriving_together_are_recorded_together_and_copies_once(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    writes: list[int] = []
    real = store.events.record

    async def counted(events: Any, **kwargs: Any) -> dict[str, int]:
        writes.append(len(events))
        return await real(events, **kwargs)

    monkeypatch.setattr(store.events, "record", counted)
    inbox = EventInbox(store.events, owner="me", lease_s=30)
    bodies = [{"type": "event_callback", "event_id": f"Ev0{i}"} for i in range(20)]
    copy = dict(bodies[0])
    results = await asyncio.gather(*(inbox.record(b) for b in [*bodies, copy]))
    assert sorted(d.key for d in results if d is not None) == sorted(f"Ev0{i}" for i in range(20))
    assert results[-1] is None  # the copy, in the same batch as its original
    assert len(writes) <= 3  # not one transaction per delivery
    assert await store.events.waiting() == 20


async def test_a_record_its_caller_gave_up_on_is_not_left_behind(store: Store) -> None:
    inbox = EventInbox(store.events, owner="me", lease_s=30)
    waiting = asyncio.create_task(inbox.record({"type": "event_callback", "event_id": "Ev0LATE"}))
    await asyncio.sleep(0)  # queued for the recorder
    waiting.cancel()  # the front door stopped waiting: it handles the event itself
    await inbox.flush()  # recorded all the same, then settled
    assert await store.events.waiting() == 0


# Through the front door.


async def test_an_event_a_dead_replica_acknowledged_is_answered_by_another(
    tmp_path: Path,
) -> None:
    async with running_bot(tmp_path, ANALYST_LEASE_S=LEASE) as bot:
        bot.openai.model.enqueue(ScriptedTurn(text="Answered after the other replica died."))
        sent = bot.slack.post_user_message(
            "C0GENERAL", "U0ALICE", "<@UBOT> what is in the data?", mention_bot=True
        )
        envelope = sent.app_mention_event
        assert envelope is not None
        # The dead replica recorded the event and answered 200, then died before handling it.
        dead = EventInbox(bot.runtime.store.events, owner="dead-replica", lease_s=0.1)
        assert await dead.record(envelope) is not None
        # Slack never delivers it again; a copy that did arrive would be dropped at the door.
        assert (await bot.send(envelope)).status == 200
        turn = await bot.finished(sent.ts, within=20)
        assert turn.status == "done"
        answers = bot.slack.bot_messages("C0GENERAL", sent.ts)
        assert [m.text_content() for m in answers].count(
            "Answered after the other replica died."
        ) == 1
        await wait_until(lambda: _none_waiting(bot), what="the event to be settled")
        assert redelivered(bot) == 1


async def _none_waiting(bot: BotUnderTest) -> bool:
    return await waiting(bot) == 0


async def test_an_event_stays_recorded_until_its_listener_has_recorded_the_question(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with running_bot(tmp_path) as bot:
        intake = bot.runtime.intake
        real = intake.submit
        entered, release = asyncio.Event(), asyncio.Event()

        async def slow_submit(turn: Any) -> bool:
            entered.set()
            await release.wait()
            return await real(turn)

        monkeypatch.setattr(intake, "submit", slow_submit)
        bot.openai.model.enqueue(ScriptedTurn(text="Recorded, then answered."))
        sent = await bot.mention("how many rows?")
        await wait_until(entered.is_set, what="the listener to start")
        assert await waiting(bot) == 1  # acknowledged, handled, not yet recorded: kept
        release.set()
        assert (await bot.finished(sent.ts)).status == "done"
        await wait_until(lambda: _none_waiting(bot), what="the event to be settled")


async def test_a_listener_that_fails_has_its_event_handled_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.slack.inbox")
    async with running_bot(tmp_path, ANALYST_LEASE_S=LEASE) as bot:
        intake = bot.runtime.intake
        real = intake.submit
        calls = 0

        async def failing_once(turn: Any) -> bool:
            nonlocal calls
            calls += 1
            if calls == 1:
                raise RuntimeError("the listener broke")
            return await real(turn)

        monkeypatch.setattr(intake, "submit", failing_once)
        bot.openai.model.enqueue(ScriptedTurn(text="Answered on the second attempt."))
        sent = await bot.mention("and now?")
        turn = await bot.finished(sent.ts, within=20)
        assert turn.status == "done"
        assert calls == 2
        assert "handling event" in caplog.text
        assert "(attempt 2)" in caplog.text
        await wait_until(lambda: _none_waiting(bot), what="the event to be settled")


async def test_an_event_that_always_fails_is_dropped_after_three_attempts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="bot.slack.inbox")
    async with running_bot(tmp_path, ANALYST_LEASE_S="1") as bot:
        calls = 0

        async def broken(turn: Any) -> bool:
            nonlocal calls
            calls += 1
            raise RuntimeError("always broken")

        monkeypatch.setattr(bot.runtime.intake, "submit", broken)
        await bot.mention("will this work?")
        await wait_until(lambda: _none_waiting(bot), within=20, what="the event to be dropped")
        assert calls == 3
        assert "handling failed 3 times" in caplog.text


async def test_copies_of_one_event_are_handled_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with running_bot(tmp_path) as bot:
        handled: list[str] = []
        real = bot.runtime.app.async_dispatch

        async def counting(request: Any) -> Any:
            handled.append(str(request.body.get("event_id")))
            return await real(request)

        monkeypatch.setattr(bot.runtime.app, "async_dispatch", counting)
        bot.openai.model.enqueue(ScriptedTurn(text="Once."))
        sent = bot.slack.post_user_message("C0GENERAL", "U0ALICE", "<@UBOT> hi", mention_bot=True)
        envelope = sent.app_mention_event
        assert envelope is not None
        responses = await asyncio.gather(*(bot.send(envelope) for _ in range(3)))
        assert [r.status for r in responses] == [200, 200, 200]
        assert (await bot.finished(sent.ts)).status == "done"
        await bot.settled()
        assert handled == [envelope["event_id"]]


async def _unreachable(*_args: Any, **_kwargs: Any) -> dict[str, int]:
    raise OSError("database unreachable")


async def _stalled(*_args: Any, **_kwargs: Any) -> dict[str, int]:
    await asyncio.Event().wait()  # the database never answers
    return {}


@pytest.mark.parametrize(
    ("record", "why"),
    [(_unreachable, "OSError"), (_stalled, "TimeoutError")],
    ids=["error", "hang"],
)
async def test_an_event_the_store_cannot_record_is_acknowledged_and_answered(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    record: Any,
    why: str,
) -> None:
    caplog.set_level(logging.WARNING, logger="bot.slack.front_door")
    async with running_bot(tmp_path) as bot:
        monkeypatch.setattr(bot.runtime.store.events, "record", record)
        bot.openai.model.enqueue(ScriptedTurn(text="Answered without a record."))
        sent = await bot.mention("anyone?")  # asserts the 200 (Slack would retry otherwise)
        assert (await bot.finished(sent.ts)).status == "done"
        assert "could not record event" in caplog.text
        assert why in caplog.text
