"""Store contract: the same tests on SQLite and on a real PostgreSQL server."""

from __future__ import annotations

import asyncio
import json
import sys
import textwrap
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from bot.core.records import Artifact, ChannelProfile, TurnOutcome
from bot.core.tools import ALL_TOOLS
from bot.core.turns import SlackFile, ThreadKey, Turn
from store import Store, open_store
from store.columns import metadata
from store.schema import channel_settings, turns
from tests.conftest import REPO

KEY = ThreadKey("T1", "C1", "1700000000.000100")
OTHER = ThreadKey("T1", "C1", "1700000000.000200")


def turn(key: ThreadKey = KEY, ts: str = "1700000000.000100", **kw: object) -> Turn:
    fields: dict[str, object] = {"user_id": "U1", "text": "top 10 by revenue"}
    fields.update(kw)
    return Turn(key=key, message_ts=ts, **fields)  # type: ignore[arg-type]


async def test_recording_a_message_twice_gives_one_turn(store: Store) -> None:
    first = await store.turns.record(turn(source="mention"))
    again = await store.turns.record(turn(source="message"))  # the app_mention/message twin
    assert first is not None
    assert first.status == "queued"
    assert again is None
    assert await store.threads.is_engaged(KEY)


async def test_a_burst_of_messages_is_recorded_once_each(store: Store) -> None:
    keys = [ThreadKey("T1", "C1", f"50.{i}") for i in range(60)]
    burst = [turn(key, ts=key.thread_ts, source="mention") for key in keys]
    twins = [turn(key, ts=key.thread_ts, source="message") for key in keys[:20]]
    in_thread = [turn(keys[0], ts=f"50.0.{n}") for n in range(5)]
    ids = await asyncio.gather(*(store.turns.add(t) for t in burst + twins + in_thread))
    new = [i for i in ids if i is not None]
    assert len(new) == len(set(new)) == 60 + 5
    assert ids[60:80] == [None] * 20  # the twins collapsed onto the first delivery
    claimed = await store.turns.claim("w", limit=100, lease_s=30)
    assert len(claimed) == 60  # one per thread; the thread's later turns wait
    assert all(await asyncio.gather(*(store.threads.is_engaged(k) for k in keys)))


async def test_turn_round_trips_its_request(store: Store) -> None:
    csv = SlackFile(
        id="F1",
        name="sales.csv",
        mimetype="text/csv",
        filetype="csv",
        size=10,
        download_url="https://files.slack.com/x",
    )
    recorded = await store.turns.record(
        turn(files=(csv,), channel_type="im", source="dm", gather_context=True)
    )
    assert recorded is not None
    loaded = await store.turns.get(recorded.id)
    assert loaded is not None
    assert loaded.turn == recorded.turn
    assert loaded.turn.files == (csv,)
    assert loaded.created_at.tzinfo is UTC


async def test_one_running_turn_per_thread_and_fifo_within_a_thread(store: Store) -> None:
    a1 = await store.turns.record(turn(ts="1.1"))
    a2 = await store.turns.record(turn(ts="1.2"))
    b1 = await store.turns.record(turn(OTHER, ts="2.1"))
    assert a1
    assert a2
    assert b1

    claimed = await store.turns.claim("w1", limit=10, lease_s=30)
    assert [t.id for t in claimed] == [a1.id, b1.id]  # a2 waits behind a1
    assert all(t.status == "running" and t.lease_owner == "w1" for t in claimed)
    assert await store.turns.claim("w1", limit=10, lease_s=30) == []
    waiting = await store.turns.get(a2.id)
    assert waiting is not None
    assert waiting.status == "queued"

    assert await store.turns.finish(a1.id, TurnOutcome(status="done"), owner="w1")
    next_up = await store.turns.claim("w1", limit=10, lease_s=30)
    assert [t.id for t in next_up] == [a2.id]


async def test_database_refuses_two_running_turns_in_one_thread(store: Store) -> None:
    a1 = await store.turns.record(turn(ts="1.1"))
    a2 = await store.turns.record(turn(ts="1.2"))
    assert a1
    assert a2
    async with store.engine.begin() as conn:
        await conn.execute(update(turns).where(turns.c.id == a1.id).values(status="running"))
    with pytest.raises(IntegrityError):
        async with store.engine.begin() as conn:
            await conn.execute(update(turns).where(turns.c.id == a2.id).values(status="running"))


async def test_concurrent_claimers_never_share_a_thread(database_url: str) -> None:
    """Two stores on separate engines (as two processes would be) race for the same work."""
    async with open_store(database_url) as one, open_store(database_url) as two:
        threads = [ThreadKey("T1", "C1", f"17.{i}") for i in range(20)]
        for key in threads:
            for n in range(3):
                await one.turns.record(turn(key, ts=f"{key.thread_ts}.{n}"))

        for _round in range(3):
            got_one, got_two = await asyncio.gather(
                one.turns.claim("one", limit=20, lease_s=30),
                two.turns.claim("two", limit=20, lease_s=30),
            )
            winners = [t.turn.key for t in got_one + got_two]
            assert len(winners) == len(set(winners)), "a thread ran two turns at once"
            assert len(winners) == 20, "every idle thread gets exactly one running turn"
            for t in got_one:
                assert await one.turns.finish(t.id, TurnOutcome(status="done"), owner="one")
            for t in got_two:
                assert await two.turns.finish(t.id, TurnOutcome(status="done"), owner="two")


async def test_only_the_lease_owner_can_finish_or_renew(store: Store) -> None:
    recorded = await store.turns.record(turn())
    assert recorded
    [claimed] = await store.turns.claim("w1", limit=1, lease_s=30)
    assert await store.turns.renew("w2", [claimed.id], lease_s=30) == set()
    assert await store.turns.renew("w1", [claimed.id], lease_s=30) == {claimed.id}
    assert not await store.turns.finish(claimed.id, TurnOutcome(status="done"), owner="w2")
    assert await store.turns.finish(claimed.id, TurnOutcome(status="failed"), owner="w1")
    # Finished turns stay finished.
    assert not await store.turns.finish(claimed.id, TurnOutcome(status="done"), owner=None)


async def test_expired_leases_are_interrupted_and_free_the_thread(store: Store) -> None:
    first = await store.turns.record(turn(ts="1.1"))
    second = await store.turns.record(turn(ts="1.2"))
    assert first
    assert second
    [claimed] = await store.turns.claim("dead-process", limit=5, lease_s=-1)
    interrupted = await store.turns.interrupt_expired()
    assert [t.id for t in interrupted] == [claimed.id]
    assert interrupted[0].status == "interrupted"
    [next_up] = await store.turns.claim("w2", limit=5, lease_s=30)
    assert next_up.id == second.id


async def test_finish_records_the_outcome(store: Store) -> None:
    recorded = await store.turns.record(turn())
    assert recorded
    [claimed] = await store.turns.claim("w1", limit=1, lease_s=30)
    outcome = TurnOutcome(
        status="done",
        response_id="resp_1",
        reply_ts="1700000001.000100",
        usage={"input_tokens": 10, "output_tokens": 5},
        timings={"total_s": 1.5},
        code_runs=[{"code": "print(1)", "logs": "1\n"}],
        answer_text="The answer, with [a chart](https://x.slack.com/files/U/F1/c.png) — ✓",
    )
    assert await store.turns.finish(claimed.id, outcome, owner="w1")
    done = await store.turns.get(claimed.id)
    assert done is not None
    assert (done.status, done.response_id) == ("done", "resp_1")
    assert done.usage == {"input_tokens": 10, "output_tokens": 5}
    assert done.code_runs == [{"code": "print(1)", "logs": "1\n"}]
    assert done.reply_ts == "1700000001.000100"
    assert done.answer_text == outcome.answer_text
    assert done.finished_at is not None
    assert done.finished_at >= claimed.created_at


async def test_threads_remember_conversation_container_and_files(store: Store) -> None:
    state = await store.threads.engage(KEY)
    await store.threads.bind(state.id, conversation_id="conv_1")
    await store.threads.bind(state.id, container_id="cntr_1")
    saved = await store.threads.save_file(
        "T1",
        slack_file_id="F1",
        name="a.csv",
        mimetype="text/csv",
        size=3,
        sha256="ab",
        openai_file_id="file-1",
    )
    # A second save of the same Slack file keeps the first upload (never uploaded twice).
    again = await store.threads.save_file(
        "T1",
        slack_file_id="F1",
        name="a.csv",
        mimetype="text/csv",
        size=3,
        sha256="ab",
        openai_file_id="file-2",
    )
    assert again.openai_file_id == "file-1"
    other = await store.threads.save_file(
        "T1",
        slack_file_id="F2",
        name="b.csv",
        mimetype="text/csv",
        size=4,
        sha256="cd",
        openai_file_id="file-3",
    )
    await store.threads.attach_file(state.id, saved.id)
    await store.threads.attach_file(state.id, saved.id)
    await store.threads.attach_file(state.id, other.id)
    await store.threads.place_file(
        state.id,
        saved.id,
        container_id="cntr_1",
        container_file_id="cfile_1",
        path="/mnt/data/x-a.csv",
    )
    loaded = await store.threads.get(state.id)
    assert (loaded.conversation_id, loaded.container_id) == ("conv_1", "cntr_1")
    files = await store.threads.thread_files(state.id)
    assert [f.file.slack_file_id for f in files] == ["F1", "F2"]
    assert files[0].container_path == "/mnt/data/x-a.csv"
    assert files[1].container_path is None
    assert await store.threads.find_file("T1", "F9") is None


async def test_threads_remember_their_vector_store_and_indexed_documents(store: Store) -> None:
    state = await store.threads.engage(KEY)
    doc = await store.threads.save_file(
        "T1",
        slack_file_id="F1",
        name="report.pdf",
        mimetype="application/pdf",
        size=9,
        sha256="ef",
        openai_file_id="file-9",
        permalink="https://example.slack.com/files/U1/F1/report.pdf",
    )
    await store.threads.attach_file(state.id, doc.id)
    await store.threads.bind(state.id, vector_store_id="vs_1")
    [before] = await store.threads.thread_files(state.id)
    assert (before.vector_store_id, before.search_status) == (None, None)
    await store.threads.index_file(state.id, doc.id, vector_store_id="vs_1", status="completed")
    [after] = await store.threads.thread_files(state.id)
    assert (after.vector_store_id, after.search_status) == ("vs_1", "completed")
    assert after.file.permalink == "https://example.slack.com/files/U1/F1/report.pdf"
    assert (await store.threads.get(state.id)).vector_store_id == "vs_1"


async def test_a_thread_lists_its_turns_in_order(store: Store) -> None:
    first = await store.turns.record(turn(ts="1.1", text="first"))
    await store.turns.record(turn(OTHER, ts="2.1", text="elsewhere"))
    second = await store.turns.record(turn(ts="1.2", text="second"))
    assert first
    assert second

    listed = await store.turns.of_thread(first.thread_id)

    assert [t.turn.text for t in listed] == ["first", "second"]
    assert [t.id for t in listed] == [first.id, second.id]
    assert all(t.answer_text is None for t in listed)


async def test_artifacts_feedback_and_channel_settings(store: Store) -> None:
    recorded = await store.turns.record(turn())
    assert recorded
    chart = Artifact(
        turn_id=recorded.id, name="chart.png", sha256="aa", size=10, slack_file_id="F9"
    )
    assert await store.artifacts.add(chart)
    assert not await store.artifacts.add(chart)  # same bytes twice: one artifact
    assert await store.artifacts.for_turn(recorded.id) == [chart]

    await store.artifacts.set_feedback(recorded.id, "U1", "good")
    await store.artifacts.set_feedback(recorded.id, "U1", "bad")
    assert await store.artifacts.feedback_for(recorded.id) == {"U1": "bad"}

    assert await store.channels.auto_profile("T1", "C1") is True
    await store.channels.set_auto_profile("T1", "C1", False)
    assert await store.channels.auto_profile("T1", "C1") is False


async def test_state_survives_reopening_in_a_new_process(database_url: str) -> None:
    async with open_store(database_url) as store:
        state = await store.threads.engage(KEY)
        await store.threads.bind(state.id, conversation_id="conv_survivor")
        await store.turns.record(turn(ts="9.9"))

    script = textwrap.dedent(
        f"""
        import asyncio, json
        from bot.core.turns import ThreadKey
        from store import open_store

        async def main():
            async with open_store({database_url!r}) as store:
                state = await store.threads.find(ThreadKey("T1", "C1", {KEY.thread_ts!r}))
                turn = await store.turns.find("T1", "C1", "9.9")
                print(json.dumps([state.conversation_id, state.engaged, turn.status]))

        asyncio.run(main())
        """
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        script,
        cwd=REPO,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 0, stderr.decode()
    last_line = stdout.decode().strip().splitlines()[-1]
    assert json.loads(last_line) == ["conv_survivor", True, "queued"]


async def test_migrations_are_idempotent(database_url: str) -> None:
    async with open_store(database_url) as store:
        await store.turns.record(turn())
    async with open_store(database_url) as store:  # second start: nothing to do, data kept
        assert await store.turns.find("T1", "C1", KEY.thread_ts) is not None


async def test_a_button_click_is_acted_on_once_within_its_window(store: Store) -> None:
    assert await store.actions.claim("show_code:1", window_s=60)
    assert not await store.actions.claim("show_code:1", window_s=60)  # the double click
    assert await store.actions.claim("show_code:2", window_s=60)
    assert await store.actions.claim("show_code:1", window_s=0)  # the window has passed


async def test_a_channel_profile_round_trips_and_defaults_without_a_row(store: Store) -> None:
    assert await store.channels.profile("T1", "C1") == ChannelProfile()
    profile = ChannelProfile(
        instructions="Amounts are in EUR.",
        model="model-b",
        reasoning_effort="high",
        auto_profile=False,
        tools=frozenset({"code_interpreter", "show_table"}),
    )
    before = datetime.now(UTC)
    await store.channels.save_profile("T1", "C1", profile, by="U1")

    saved = await store.channels.profile("T1", "C1")
    assert replace(saved, updated_by=None, updated_at=None) == profile
    assert saved.updated_by == "U1"
    assert saved.updated_at is not None
    assert saved.updated_at >= before.replace(microsecond=0)
    assert await store.channels.profile("T1", "C2") == ChannelProfile()  # per channel
    assert await store.channels.auto_profile("T1", "C1") is False

    # The @Analyst auto-profile switch changes only that; clearing fields clears them.
    assert await store.channels.set_auto_profile("T1", "C1", True)
    assert (await store.channels.profile("T1", "C1")).instructions == "Amounts are in EUR."
    await store.channels.save_profile("T1", "C1", ChannelProfile(), by="U2")
    cleared = await store.channels.profile("T1", "C1")
    assert (cleared.model, cleared.reasoning_effort, cleared.instructions) == (None, None, "")
    assert cleared.tools == ALL_TOOLS


async def test_tools_are_stored_as_the_ones_switched_off(store: Store) -> None:
    """A tool added to the bot later is on in every channel that never switched it off."""
    await store.channels.save_profile(
        "T1", "C1", ChannelProfile(tools=ALL_TOOLS - {"show_chart"}), by="U1"
    )
    async with store.engine.connect() as conn:
        stored = (await conn.execute(select(channel_settings.c.disabled_tools))).scalar_one()
    assert stored == ["show_chart"]


async def test_migrations_build_exactly_the_schema(store: Store) -> None:
    """What the migrations create is what `store.schema` declares (columns, types, indexes)."""

    def compare(connection: Connection) -> list[object]:
        return compare_metadata(MigrationContext.configure(connection), metadata)

    async with store.engine.connect() as conn:
        assert await conn.run_sync(compare) == []


async def test_retired_workspaces_wait_for_deletion_once(store: Store) -> None:
    await store.retired.retire("T1")
    await store.retired.retire("T2")
    await store.retired.retire("T1")  # uninstall and tokens_revoked both arrive
    assert await store.retired.retired() == ["T1", "T2"]
    await store.retired.forget("T1")
    assert await store.retired.retired() == ["T2"]


async def test_a_returning_workspace_is_served_and_its_old_data_stays_due(store: Store) -> None:
    await store.retired.retire("T1")
    first = (await store.retired.retired_since())["T1"]
    assert await store.retired.away() == ["T1"]
    await store.retired.returned("T1")  # installed again
    assert await store.retired.away() == []
    assert await store.retired.retired_since() == {"T1": first}  # still to delete
    await store.retired.retire("T1")  # and left again: everything until now is due
    assert await store.retired.away() == ["T1"]
    assert (await store.retired.retired_since())["T1"] > first
