"""Store contract for the retention job (SQLite and PostgreSQL): which threads are due, what a
purge deletes and keeps, the queue of OpenAI objects to delete, and two replicas at once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from alembic import command
from alembic.config import Config
from sqlalchemy import func, insert, select, text, update
from sqlalchemy.engine import Connection

from bot.core.records import Artifact, RemoteObject, StagedReply, TurnOutcome
from bot.core.turns import ThreadKey, Turn
from store import Store, open_store
from store.database import MIGRATIONS, create_engine
from store.schema import (
    artifacts,
    channel_settings,
    deletions,
    feedback,
    files,
    replies,
    threads,
    turns,
)
from tests.aging import age_thread

OLD = ThreadKey("T1", "C1", "100.1")
FRESH = ThreadKey("T1", "C1", "200.1")
OTHER_TEAM = ThreadKey("T2", "C9", "300.1")


def now() -> datetime:
    return datetime.now(UTC)


def cutoff() -> datetime:
    return now() - timedelta(days=30)


async def finished_thread(
    store: Store, key: ThreadKey, *, files_: tuple[str, ...] = (), ts: str | None = None
) -> int:
    """A thread with one answered turn, its OpenAI objects, files, an artifact, a reply and
    feedback; returns the turn id."""
    recorded = await store.turns.record(
        Turn(key=key, message_ts=ts or key.thread_ts, user_id="U1", text="secret question")
    )
    assert recorded is not None
    suffix = key.thread_ts.replace(".", "")
    await store.threads.bind(
        recorded.thread_id,
        conversation_id=f"conv_{suffix}",
        container_id=f"cntr_{suffix}",
        vector_store_id=f"vs_{suffix}",
    )
    for slack_id in files_:
        saved = await store.threads.save_file(
            key.team_id,
            slack_file_id=slack_id,
            name=f"{slack_id}.csv",
            mimetype="text/csv",
            size=3,
            sha256="ab",
            openai_file_id=f"file-{slack_id}",
        )
        await store.threads.attach_file(recorded.thread_id, saved.id)
    [claimed] = await store.turns.claim("w", limit=1, lease_s=30)
    await store.turns.finish(
        claimed.id, TurnOutcome(status="done", answer_text="secret answer"), owner="w"
    )
    await store.artifacts.add(Artifact(turn_id=claimed.id, name="c.png", sha256="cc", size=1))
    await store.replies.stage(claimed.id, [StagedReply(seq=0, payload={"text": "secret"})])
    await store.artifacts.set_feedback(claimed.id, "U2", "good")
    return claimed.id


async def count(store: Store, table: object, *where: object) -> int:
    async with store.engine.connect() as conn:
        query = select(func.count()).select_from(table).where(*where)  # type: ignore[arg-type]
        return int((await conn.execute(query)).scalar_one())


async def test_idle_threads_are_due_and_fresh_or_busy_ones_are_not(store: Store) -> None:
    await finished_thread(store, OLD)
    await finished_thread(store, FRESH)
    busy = ThreadKey("T1", "C1", "150.1")
    await store.turns.record(Turn(key=busy, message_ts="150.1", user_id="U1", text="q"))
    await age_thread(store, OLD, 31)
    await age_thread(store, busy, 31)  # a queued question: not touched while it waits

    due = await store.retention.expired(cutoff=cutoff(), removed={}, limit=10)

    assert [d.key for d in due] == [OLD]
    assert not due[0].retired
    assert due[0].last_active < cutoff()


async def test_a_retired_workspace_is_due_whatever_its_age(store: Store) -> None:
    await finished_thread(store, FRESH)
    await finished_thread(store, OTHER_TEAM)

    removed = now()
    due = await store.retention.expired(cutoff=cutoff(), removed={"T2": removed}, limit=10)

    assert [(d.key, d.removed_at) for d in due] == [(OTHER_TEAM, removed)]


async def test_a_purge_deletes_the_thread_keeps_feedback_and_queues_its_objects(
    store: Store,
) -> None:
    old_turn = await finished_thread(store, OLD, files_=("F1", "F2"))
    await finished_thread(store, FRESH, files_=("F2", "F3"))  # F2 is shared with a live thread
    await age_thread(store, OLD, 31)
    [due] = await store.retention.expired(cutoff=cutoff(), removed={}, limit=10)
    planned = await store.retention.plan([due], cutoff=cutoff())

    purged = await store.retention.purge(due, cutoff=cutoff())

    assert purged is not None
    assert purged.objects == (
        RemoteObject("conversation", "conv_1001"),
        RemoteObject("container", "cntr_1001"),
        RemoteObject("vector_store", "vs_1001"),
        RemoteObject("file", "file-F1"),
    )
    assert planned == [purged]  # the dry run said exactly this
    assert await store.threads.find(OLD) is None
    assert await store.turns.get(old_turn) is None
    assert await count(store, artifacts, artifacts.c.turn_id == old_turn) == 0
    assert await count(store, replies, replies.c.turn_id == old_turn) == 0
    assert await store.threads.find_file("T1", "F1") is None
    assert await store.threads.find_file("T1", "F2") is not None  # the fresh thread uses it
    async with store.engine.connect() as conn:
        kept = (await conn.execute(select(feedback).order_by(feedback.c.id))).all()
    assert [(f.turn_id, f.team_id, f.channel_id, f.user_id, f.value) for f in kept] == [
        (None, "T1", "C1", "U2", "good"),  # the old answer's verdict, without the answer
        (old_turn + 1, "T1", "C1", "U2", "good"),
    ]
    queued = await store.deletions.pending(limit=10)
    assert [(p.team_id, p.object) for p in queued] == [("T1", o) for o in purged.objects]
    assert await store.threads.find(FRESH) is not None


async def test_new_activity_after_the_listing_keeps_the_thread(store: Store) -> None:
    await finished_thread(store, OLD)
    await age_thread(store, OLD, 31)
    [due] = await store.retention.expired(cutoff=cutoff(), removed={}, limit=10)
    await store.turns.record(Turn(key=OLD, message_ts="100.9", user_id="U3", text="again?"))

    assert await store.retention.purge(due, cutoff=cutoff()) is None
    assert await store.turns.find("T1", "C1", "100.9") is not None  # the question is kept
    assert await store.deletions.pending(limit=10) == []


async def test_activity_without_a_question_keeps_the_thread_too(store: Store) -> None:
    await finished_thread(store, OLD)
    await age_thread(store, OLD, 31)
    [due] = await store.retention.expired(cutoff=cutoff(), removed={}, limit=10)
    await store.threads.engage(OLD)  # a data file dropped in it, profiled: no turn

    assert await store.retention.purge(due, cutoff=cutoff()) is None
    assert await store.threads.find(OLD) is not None


async def test_a_file_goes_with_the_last_expired_thread_using_it(store: Store) -> None:
    a, b = ThreadKey("T1", "C1", "1.1"), ThreadKey("T1", "C1", "2.1")
    await finished_thread(store, a, files_=("F1",))
    await finished_thread(store, b, files_=("F1",))
    await age_thread(store, a, 40)
    await age_thread(store, b, 35)
    due = await store.retention.expired(cutoff=cutoff(), removed={}, limit=10)
    planned = await store.retention.plan(due, cutoff=cutoff())

    purged = [await store.retention.purge(d, cutoff=cutoff()) for d in due]

    assert planned == purged
    assert [RemoteObject("file", "file-F1") in p.objects for p in purged if p] == [False, True]
    assert await count(store, files) == 0


async def test_uploads_no_thread_uses_are_queued_once_old(store: Store) -> None:
    for slack_id in ("F1", "F2"):
        await store.threads.save_file(
            "T1",
            slack_file_id=slack_id,
            name="x.csv",
            mimetype="text/csv",
            size=1,
            sha256="a",
            openai_file_id=f"file-{slack_id}",
        )
    async with store.engine.begin() as conn:
        await conn.execute(
            update(files)
            .where(files.c.slack_file_id == "F1")
            .values(created_at=now() - timedelta(days=31))
        )

    listed = await store.retention.orphan_files(cutoff=cutoff(), removed={}, limit=10, dry_run=True)
    deleted = await store.retention.orphan_files(cutoff=cutoff(), removed={}, limit=10)

    assert listed == deleted == [("T1", RemoteObject("file", "file-F1"))]
    assert await store.threads.find_file("T1", "F2") is not None  # new: a turn is using it
    assert [p.object for p in await store.deletions.pending(limit=10)] == [deleted[0][1]]


async def test_claims_on_queued_objects_are_exclusive_until_they_lapse(store: Store) -> None:
    await finished_thread(store, OLD)
    await age_thread(store, OLD, 31)
    [due] = await store.retention.expired(cutoff=cutoff(), removed={}, limit=10)
    await store.retention.purge(due, cutoff=cutoff())

    first = await store.deletions.claim("a", limit=2, lease_s=60)
    second = await store.deletions.claim("b", limit=10, lease_s=60)
    lapsed = await store.deletions.claim("c", limit=10, lease_s=0)

    assert len(first) == 2
    assert len(second) == 1
    assert {p.id for p in first} & {p.id for p in second} == set()
    assert lapsed == []
    await store.deletions.done([p.id for p in first])
    assert [p.id for p in await store.deletions.pending(limit=10)] == [second[0].id]
    # A claimer that died: its claim lapses and another takes the object.
    async with store.engine.begin() as conn:
        await conn.execute(update(deletions).values(claimed_until=now() - timedelta(seconds=1)))
    assert [p.id for p in await store.deletions.claim("e", limit=10, lease_s=60)] == [second[0].id]


async def test_a_retired_workspace_is_finished_once_nothing_is_left(store: Store) -> None:
    await finished_thread(store, OTHER_TEAM, files_=("F9",))
    await finished_thread(store, FRESH)
    await store.channels.set_auto_profile("T2", "C9", False)
    await store.channels.set_auto_profile("T1", "C1", False)
    removed = {"T2": now()}
    assert not await store.retention.finish_workspace("T2", removed_at=removed["T2"])

    [due] = await store.retention.expired(cutoff=cutoff(), removed=removed, limit=10)
    purged = await store.retention.purge(due, cutoff=cutoff())
    assert purged is not None
    assert RemoteObject("file", "file-F9") in purged.objects  # new, but the workspace is gone
    assert not await store.retention.finish_workspace("T2", removed_at=removed["T2"])
    await store.deletions.done([p.id for p in await store.deletions.pending(limit=10)])

    assert await store.retention.finish_workspace("T2", removed_at=removed["T2"])
    assert await count(store, channel_settings, channel_settings.c.team_id == "T2") == 0
    assert await count(store, feedback, feedback.c.team_id == "T2") == 0
    assert await count(store, channel_settings, channel_settings.c.team_id == "T1") == 1
    assert await count(store, feedback, feedback.c.team_id == "T1") == 1


async def test_what_a_workspace_does_after_installing_again_is_kept(store: Store) -> None:
    before = ThreadKey("T2", "C9", "1.1")
    await finished_thread(store, before, files_=("F1",))
    await store.channels.set_auto_profile("T2", "C9", False)
    removed = {"T2": now()}
    after = ThreadKey("T2", "C9", "2.1")  # the app installed again, and used
    await finished_thread(store, after, files_=("F1", "F2"))  # F1 shared again
    await store.channels.set_auto_profile("T2", "C8", False)

    due = await store.retention.expired(cutoff=cutoff(), removed=removed, limit=10)
    assert [d.key for d in due] == [before]
    purged = await store.retention.purge(due[0], cutoff=cutoff())
    await store.deletions.done([p.id for p in await store.deletions.pending(limit=10)])

    assert purged is not None
    assert RemoteObject("file", "file-F1") not in purged.objects  # the new thread uses it
    assert await store.retention.finish_workspace("T2", removed_at=removed["T2"])
    assert await store.threads.find(after) is not None
    assert await store.threads.find_file("T2", "F2") is not None
    assert await count(store, feedback, feedback.c.team_id == "T2") == 1
    assert await store.channels.auto_profile("T2", "C9") is True  # from before: deleted
    assert await store.channels.auto_profile("T2", "C8") is False


async def test_two_replicas_purge_each_thread_once(database_url: str) -> None:
    """Two stores on separate engines (as two processes) purge the same list at once."""
    keys = [ThreadKey("T1", "C1", f"{n}.5") for n in range(1, 13)]
    async with open_store(database_url) as one, open_store(database_url) as two:
        for n, key in enumerate(keys):
            await finished_thread(one, key, files_=(f"F{n}", f"F{n // 2}x"))
            await age_thread(one, key, 31 + n)
        due = await one.retention.expired(cutoff=cutoff(), removed={}, limit=100)
        assert len(due) == len(keys)

        async def purge_all(store: Store, order: list[int]) -> list[object]:
            return [await store.retention.purge(due[i], cutoff=cutoff()) for i in order]

        forward, backward = list(range(len(due))), list(reversed(range(len(due))))
        a, b = await asyncio.gather(purge_all(one, forward), purge_all(two, backward))
        winners = [x if x is not None else y for x, y in zip(a, reversed(b), strict=True)]

        assert all(winners)
        assert all(x is None or y is None for x, y in zip(a, reversed(b), strict=True))
        assert await count(one, threads) == 0
        queued = [p.object for p in await one.deletions.pending(limit=1000)]
        assert len(queued) == len(set(queued))
        # Every thread's three objects and every file, queued once (a file shared by two
        # threads purged at the same moment by two replicas may be left for the orphan step).
        await one.retention.orphan_files(cutoff=cutoff(), removed={}, limit=100)
        queued = [p.object for p in await one.deletions.pending(limit=1000)]
        assert len(queued) == len(set(queued)) == 3 * len(keys) + len(keys) + len(keys) // 2
        assert await count(one, files) == 0

        claims = await asyncio.gather(
            *(s.deletions.claim(o, limit=7, lease_s=60) for s, o in [(one, "a"), (two, "b")] * 4)
        )
        claimed = [p.id for batch in claims for p in batch]
        assert len(claimed) == len(set(claimed)) == len(queued)


def _upgrade(connection: Connection, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


async def test_existing_feedback_takes_its_workspace_and_channel(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_upgrade, "0007")
            stamp = now()
            await conn.execute(
                insert(threads).values(
                    id=1,
                    team_id="T1",
                    channel_id="C1",
                    thread_ts="1.1",
                    created_at=stamp,
                    updated_at=stamp,
                )
            )
            await conn.execute(
                insert(turns).values(
                    id=1,
                    thread_id=1,
                    team_id="T1",
                    channel_id="C1",
                    message_ts="1.1",
                    user_id="U1",
                    text="q",
                    files=[],
                    channel_type="channel",
                    source="mention",
                    created_at=stamp,
                )
            )
            await conn.execute(
                text(
                    "INSERT INTO feedback (turn_id, user_id, value, created_at)"
                    " VALUES (1, 'U2', 'bad', :at)"
                ),
                {"at": stamp.replace(tzinfo=None)},
            )
        async with engine.begin() as conn:
            await conn.run_sync(_upgrade, "head")
    finally:
        await engine.dispose()
    async with open_store(database_url) as store, store.engine.connect() as conn:
        row = (await conn.execute(select(feedback))).one()
    assert (row.turn_id, row.team_id, row.channel_id, row.value) == (1, "T1", "C1", "bad")
