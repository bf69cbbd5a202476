"""How long data is kept, through the front door: the bot's threads and uploads, the fake
OpenAI's objects, `slack-analyst cleanup [--dry-run]` as a process, the bot's own hourly run,
removed workspaces, and two replicas cleaning up at once."""

from __future__ import annotations

import asyncio
import io
import os
import sys
from collections import Counter
from pathlib import Path

from sqlalchemy import select, update

from bot.cleanup import cleanup, retention_job
from bot.core.records import ChannelProfile, StoredTurn, ThreadState, TurnOutcome
from bot.core.turns import ThreadKey, Turn
from bot.engine import OpenAIEngine
from bot.slack.blocks import ACTION_FEEDBACK
from store import Store, open_store
from store.schema import deletions, feedback
from tests.aging import age_thread, age_uploads
from tests.bot_harness import REPO, BotUnderTest, free_port, process_env, running_bot, wait_until
from tests.fakes.openai_api import FakeOpenAI
from tests.fakes.scripted_model import CodeRun, ScriptedTurn

CSV = b"month,revenue\nJan,100\nFeb,80\n"
PDF = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
OTHER_TEAM = "T0OTHERCO"
TELLING = {"chat.postMessage", "chat.postEphemeral", "chat.update", "chat.startStream"}
TELLING |= {"files.completeUploadExternal", "conversations.open"}


async def ask(
    bot: BotUnderTest, text: str, files: list[dict] | None = None, thread_ts: str | None = None
) -> StoredTurn:
    bot.openai.model.enqueue(ScriptedTurn(text="Done.", runs=(CodeRun("df.sum()", logs="180"),)))
    if thread_ts is None:
        sent = await bot.mention(text, files=files or [])
    else:
        sent = await bot.say(text, files=files or [], thread_ts=thread_ts)
    turn = await bot.finished(sent.ts)
    assert turn.status == "done", turn.error_code
    return turn


async def thread_of(store: Store, turn: StoredTurn) -> ThreadState:
    return await store.threads.get(turn.thread_id)


def deletes(openai: FakeOpenAI) -> list[str]:
    """Paths of every DELETE the fake received (items of conversations included)."""
    return [r.path for r in openai.requests if r.method == "DELETE"]


def objects_deleted(openai: FakeOpenAI) -> set[str]:
    """The deleted objects (not conversation items), as API paths."""
    return {path for path in deletes(openai) if "/items/" not in path}


def thread_paths(state: ThreadState) -> set[str]:
    assert state.conversation_id
    assert state.container_id
    paths = {f"/conversations/{state.conversation_id}", f"/containers/{state.container_id}"}
    if state.vector_store_id:
        paths.add(f"/vector_stores/{state.vector_store_id}")
    return paths


async def run_cleanup(bot: BotUnderTest, database_url: str, *args: str) -> str:
    """`python -m bot cleanup ARGS` against the bot's database and the fake OpenAI."""
    env = process_env(bot.slack, bot.openai, database_url, REPO, free_port())
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "cleanup",
        *args,
        cwd=REPO,
        env={**env, "HOME": os.environ.get("HOME", str(REPO))},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 0, stderr.decode()
    return stdout.decode()


async def like(bot: BotUnderTest, turn: StoredTurn, user: str) -> None:
    """`user` presses 👍 under the answer."""
    payload = bot.slack.block_actions(
        user=user,
        channel="C0GENERAL",
        message_ts=turn.reply_ts or turn.turn.message_ts,
        action_id=ACTION_FEEDBACK,
        value=f"good:{turn.id}",
    )
    assert (await bot.events.send_interaction(payload)).status == 200
    await wait_until(lambda: bot.runtime.store.artifacts.feedback_for(turn.id), what="the feedback")


async def test_cleanup_deletes_exactly_what_expired(tmp_path: Path, database_url: str) -> None:
    async with running_bot(tmp_path, database_url=database_url) as bot:
        store = bot.runtime.store
        shared = bot.slack.add_file("sales.csv", CSV, filetype="csv")
        own = bot.slack.add_file("costs.csv", CSV, filetype="csv")
        report = bot.slack.add_file("report.pdf", PDF, filetype="pdf")
        old_turn = await ask(bot, "why did revenue fall?", [shared, own, report])
        fresh_turn = await ask(bot, "and by month?", [shared])  # another thread, same file
        await like(bot, old_turn, "U0BOB")
        old, fresh = await thread_of(store, old_turn), await thread_of(store, fresh_turn)
        ids = {f.file.name: f.file.openai_file_id for f in await store.threads.thread_files(old.id)}
        await age_thread(store, old.key, 31)
        conversation = bot.openai.conversations[old.conversation_id or ""]
        assert conversation.items  # what the bot wants gone: questions, code, answers

        listed = await run_cleanup(bot, database_url, "--dry-run")

        assert deletes(bot.openai) == []
        assert await store.threads.find(old.key) is not None
        deleted = await run_cleanup(bot, database_url)

        expected = thread_paths(old) | {f"/files/{ids['costs.csv']}", f"/files/{ids['report.pdf']}"}
        assert objects_deleted(bot.openai) == expected
        assert conversation.deleted
        assert conversation.items == []  # deleting a conversation alone keeps its items
        assert await store.threads.find(old.key) is None
        assert await store.turns.get(old_turn.id) is None
        # Newer data stays: the fresh thread, its objects, and the file it shares.
        assert await store.threads.find(fresh.key) == fresh
        assert ids["sales.csv"] in bot.openai.files
        assert await store.threads.find_file(bot.team, shared["id"]) is not None
        assert fresh.conversation_id in bot.openai.conversations
        assert not bot.openai.conversations[fresh.conversation_id or ""].deleted
        # The verdict outlives the answer, without it.
        async with store.engine.connect() as conn:
            rows = (await conn.execute(select(feedback))).all()
        assert [(r.turn_id, r.team_id, r.user_id, r.value) for r in rows] == [
            (None, bot.team, "U0BOB", "good")
        ]
        # The dry run listed what the real run deleted, in the same words.
        for path in expected:
            object_id = path.rsplit("/", 1)[-1]
            assert object_id in listed
            assert object_id in deleted
        assert fresh.conversation_id not in listed + deleted
        assert "Dry run" in listed
        assert "Would delete 1 thread(s)" in listed
        assert "Deleted 1 thread(s)" in deleted
        assert "5 deleted, 0 already gone, 0 failed" in deleted
        again = await run_cleanup(bot, database_url)
        assert "Nothing to delete." in again


async def test_uploads_expire_and_vector_stores_idle_out_with_the_retention(
    tmp_path: Path,
) -> None:
    async with running_bot(tmp_path, ANALYST_RETENTION_DAYS="45") as bot:
        report = bot.slack.add_file("report.pdf", PDF, filetype="pdf")
        await ask(bot, "summarise", [report])
        [upload] = bot.openai.requests_to("POST", "/files")
        [store] = bot.openai.requests_to("POST", "/vector_stores")
    assert upload.multipart is not None
    # 45 days is longer than the Files API allows: capped at its 30 days.
    assert upload.multipart["expires_after[anchor]"] == "created_at"
    assert upload.multipart["expires_after[seconds]"] == str(30 * 86_400)
    assert store.json["expires_after"] == {"anchor": "last_active_at", "days": 45}


async def test_a_thread_used_longer_than_an_upload_lasts_uploads_it_again(
    tmp_path: Path,
) -> None:
    async with running_bot(tmp_path, ANALYST_RETENTION_DAYS="7") as bot:
        sales = bot.slack.add_file("sales.csv", CSV, filetype="csv")
        first = await ask(bot, "total revenue?", [sales])
        [upload] = bot.openai.requests_to("POST", "/files")
        assert upload.multipart is not None
        assert upload.multipart["expires_after[seconds]"] == str(7 * 86_400)
        # Eight days on: OpenAI deleted the upload (and the container idled out), while the
        # thread was in use all along.
        bot.openai.advance_clock(8 * 86_400)
        await age_uploads(bot.runtime.store, first.turn.key, 8)
        assert bot.openai.files == {}

        await ask(bot, "and the mean?", thread_ts=first.turn.key.thread_ts)

        uploads = bot.openai.requests_to("POST", "/files")
        assert len(uploads) == 2  # brought back from Slack once
        [again] = bot.openai.files
        placed = bot.openai.requests_to("POST", "/containers/{id}/files")
        assert placed[-1].json == {"file_id": again}
        assert "sales.csv" in bot.openai.model.seen[-1]["instructions"]
        [stored] = await bot.runtime.store.threads.thread_files(first.thread_id)
        assert stored.file.openai_file_id == again


async def test_a_removed_workspace_loses_everything_on_the_next_run(
    tmp_path: Path, database_url: str
) -> None:
    async with running_bot(tmp_path, database_url=database_url) as bot:
        store = bot.runtime.store
        ours = await thread_of(store, await ask(bot, "sum it"))
        theirs, upload = await _other_workspace_thread(bot)  # answered a minute ago
        await store.retired.retire(OTHER_TEAM)
        out = io.StringIO()

        assert await cleanup(bot.runtime.settings, dry_run=False, out=out) == 0

        assert objects_deleted(bot.openai) == thread_paths(theirs) | {f"/files/{upload}"}
        assert await store.threads.find(theirs.key) is None
        assert await store.retired.retired() == []
        assert await store.channels.profile(OTHER_TEAM, "C0THEIRS") == ChannelProfile()
        async with store.engine.connect() as conn:
            left = (await conn.execute(select(feedback.c.team_id))).scalars().all()
            queued = (await conn.execute(select(deletions))).all()
        assert OTHER_TEAM not in left
        assert queued == []
        assert await store.threads.find(ours.key) == ours  # the other workspace keeps its data
        assert not bot.openai.conversations[ours.conversation_id or ""].deleted
        assert f"Workspace {OTHER_TEAM}: everything is deleted." in out.getvalue()


async def _other_workspace_thread(bot: BotUnderTest) -> tuple[ThreadState, str]:
    """A thread another installation made in workspace OTHER_TEAM: its conversation,
    container, upload and vector store at OpenAI, its records, settings and feedback here;
    and the upload's id."""
    store = bot.runtime.store
    key = ThreadKey(OTHER_TEAM, "C0THEIRS", "1700000000.000900")
    async with bot.openai.client() as client:
        conversation = await client.conversations.create()
        container = await client.containers.create(name="theirs")
        vector_store = await client.vector_stores.create(name="theirs")
        upload = await client.files.create(file=("q.csv", CSV, "text/csv"), purpose="user_data")
    recorded = await store.turns.record(
        Turn(key=key, message_ts=key.thread_ts, user_id="U9", text="q")
    )
    assert recorded is not None
    await store.threads.bind(
        recorded.thread_id,
        conversation_id=conversation.id,
        container_id=container.id,
        vector_store_id=vector_store.id,
    )
    saved = await store.threads.save_file(
        OTHER_TEAM,
        slack_file_id="F9",
        name="q.csv",
        mimetype="text/csv",
        size=1,
        sha256="a",
        openai_file_id=upload.id,
    )
    await store.threads.attach_file(recorded.thread_id, saved.id)
    [claimed] = await store.turns.claim("elsewhere", limit=5, lease_s=30)
    assert claimed.id == recorded.id
    await store.turns.finish(claimed.id, TurnOutcome(status="done"), owner="elsewhere")
    await store.artifacts.set_feedback(claimed.id, "U9", "bad")
    await store.channels.set_auto_profile(OTHER_TEAM, "C0THEIRS", False)
    return await store.threads.get(recorded.thread_id), upload.id


async def test_two_replicas_clean_up_at_once(tmp_path: Path, database_url: str) -> None:
    async with running_bot(tmp_path, database_url=database_url) as bot:
        store = bot.runtime.store
        shared = bot.slack.add_file("sales.csv", CSV, filetype="csv")
        turns = await asyncio.gather(
            *(
                ask(bot, f"question {n}", [shared, bot.slack.add_file(f"f{n}.csv", CSV)])
                for n in range(6)
            )
        )
        expired = [await thread_of(store, t) for t in turns]
        uploads = {
            f"/files/{tf.file.openai_file_id}"
            for state in expired
            for tf in await store.threads.thread_files(state.id)
        }
        assert len(uploads) == 7  # six own files and the shared one
        assert len(bot.openai.files) == 7  # uploads of the shared file that lost a race: gone
        for state in expired:
            await age_thread(store, state.key, 31)
        earlier = len(deletes(bot.openai))
        settings = bot.runtime.settings
        async with (
            open_store(database_url) as one,
            open_store(database_url) as two,
            bot.openai.client() as client_one,
            bot.openai.client() as client_two,
        ):
            jobs = [
                retention_job(settings, s, OpenAIEngine(c, model="m"), owner=name)
                for s, c, name in [(one, client_one, "replica-1"), (two, client_two, "replica-2")]
            ]
            reports = await asyncio.gather(*(job.run() for job in jobs))

        requests = [r for r in bot.openai.requests if r.method == "DELETE"][earlier:]
        assert Counter(r.path for r in requests).most_common(1)[0][1] == 1  # none twice
        assert all(r.status == 200 for r in requests)  # and none found already gone
        assert all(report.failed == () for report in reports)
        purged = [thread.key for report in reports for thread in report.threads]
        assert sorted(purged, key=str) == sorted((s.key for s in expired), key=str)
        objects = {r.path for r in requests if "/items/" not in r.path}
        assert objects == set().union(*(thread_paths(s) for s in expired)) | uploads
        assert bot.openai.files == {}
        for state in expired:
            assert await store.threads.find(state.key) is None


async def test_the_bot_runs_the_job_on_its_own(tmp_path: Path) -> None:
    async with running_bot(tmp_path, ANALYST_RETENTION_INTERVAL_S="0.05") as bot:
        store = bot.runtime.store
        state = await thread_of(store, await ask(bot, "sum it"))
        runs = bot.runtime.retention.runs
        await wait_until(lambda: bot.runtime.retention.runs > runs + 1, what="two runs")
        assert objects_deleted(bot.openai) == set()  # a fresh thread is left alone

        await bot.settled()
        slack_calls = len(bot.slack.calls)
        await age_thread(store, state.key, 31)

        await wait_until(
            lambda: objects_deleted(bot.openai) == thread_paths(state), what="the deletions"
        )
        await wait_until(lambda: _gone(store, state.key), what="the thread's records to go")
        told = [c.method for c in bot.slack.calls[slack_calls:] if c.method in TELLING]
        assert told == []  # nobody was told


async def _gone(store: Store, key: ThreadKey) -> bool:
    return await store.threads.find(key) is None


async def test_a_failed_deletion_stays_queued_and_the_next_run_finishes_it(
    tmp_path: Path,
) -> None:
    async with running_bot(tmp_path) as bot:
        store = bot.runtime.store
        state = await thread_of(store, await ask(bot, "sum it"))
        await age_thread(store, state.key, 31)
        # OpenAI fails this one for a while (beyond the SDK's own retries).
        bot.openai.faults.fail("DELETE", f"/containers/{state.container_id}", 500, times=None)
        first, second = io.StringIO(), io.StringIO()

        assert await cleanup(bot.runtime.settings, dry_run=False, out=first) == 1
        assert await store.threads.find(state.key) is None  # the records went first
        assert state.container_id in first.getvalue()
        assert "1 failed" in first.getvalue()
        bot.openai.faults.clear()
        async with store.engine.begin() as conn:  # an hour later: its claim has lapsed
            await conn.execute(update(deletions).values(claimed_until=None))
        assert await cleanup(bot.runtime.settings, dry_run=False, out=second) == 0

        assert "1 deleted, 0 already gone, 0 failed" in second.getvalue()
        assert objects_deleted(bot.openai) == thread_paths(state)
        assert state.container_id not in bot.openai.containers


async def test_an_expired_upload_slack_no_longer_has_is_left_out(tmp_path: Path) -> None:
    async with running_bot(tmp_path, ANALYST_RETENTION_DAYS="7") as bot:
        gone = bot.slack.add_file("gone.csv", CSV, filetype="csv")
        kept = bot.slack.add_file("kept.csv", CSV, filetype="csv")
        first = await ask(bot, "compare them", [gone, kept])
        bot.slack.delete_file(gone["id"])
        bot.openai.advance_clock(8 * 86_400)
        await age_uploads(bot.runtime.store, first.turn.key, 8)

        await ask(bot, "again?", thread_ts=first.turn.key.thread_ts)

        instructions = bot.openai.model.seen[-1]["instructions"]
        assert "kept.csv" in instructions
        assert "gone.csv" not in instructions
        placing = bot.openai.requests_to("POST", "/containers/{id}/files")
        assert placing[-1].json["file_id"] in bot.openai.files  # only uploads OpenAI has
