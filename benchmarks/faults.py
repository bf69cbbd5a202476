"""The fault suite: does any answer get lost or duplicated when everything goes wrong?

    python -m benchmarks.faults [--turns 1000] [--threads 100] [--kills 3] [--replicas 2]
                                [--fail-share 0.2] [--speed 10] [--seed 7]

Two (`--replicas`) bot processes on one fresh PostgreSQL database (`ANALYST_TEST_POSTGRES_URL`,
default the local `test` database's server), the fake Slack with its rate-limit tiers on (run
`--speed` times faster, the bot budgeting for the same), the fake OpenAI. `--threads`
conversations run at once, `--turns` questions in all: a mention starting each thread, then
follow-ups in it, each asked when the previous one was answered (or refused). Every event is
delivered three times, each time to a random replica (the mention also as its `message` twin);
`--fail-share` of the model's responses fail in one of the real shapes; Slack answers bursts of
429s; a random replica is killed with SIGKILL `--kills` times and started again.

It prints turns answered, answers lost (no answer and no error message), answers duplicated,
turns resumed (claimed again after their replica died), turns reported as failed by reason,
and mention → answer p50/p99. Target: 0 lost, 0 duplicated, every failure a clear message.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg

from benchmarks.fault_world import Deliveries, Replica, Storms, flaky_model, replica_env
from tests.fakes.openai_api import FakeOpenAI
from tests.fakes.slack_api import FakeSlack
from tests.postgres import created_database

USER = "U0ALICE"
FINISHED = frozenset({"done", "failed", "cancelled", "interrupted"})
ERROR_MARKS = (":warning:", "The answer stopped early")
"""How the bot says a turn did not end well: an error reply, or the note under a cut answer."""


@dataclass
class Question:
    thread: int
    number: int
    channel: str
    ts: str
    asked_at: float
    marker: str
    settled_at: float | None = None
    status: str | None = None
    error_code: str | None = None
    attempts: int = 0


@dataclass
class Outcome:
    questions: list[Question] = field(default_factory=list)
    answered: int = 0
    lost: list[Question] = field(default_factory=list)
    duplicated: list[Question] = field(default_factory=list)
    unexplained: list[Question] = field(default_factory=list)
    """Failed without an error message in their thread."""
    resumed: int = 0
    failed: Counter[str] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    wall_s: float = 0.0
    deliveries: int = 0
    kills: int = 0
    storms: int = 0
    evidence: list[str] = field(default_factory=list)
    """What the threads of lost and duplicated questions hold (for a failing run's report)."""


def fresh_database() -> contextlib.AbstractAsyncContextManager[str]:
    base = os.environ.get("ANALYST_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
    return created_database(base, prefix="analyst_faults")


class Ledger:
    """What the database says of each question's turn, read for all at once."""

    def __init__(self, url: str) -> None:
        self._url = url
        self.turns: dict[tuple[str, str], tuple[str, str | None, int]] = {}

    async def poll(self, stop: asyncio.Event, every_s: float = 0.25) -> None:
        connection: asyncpg.Connection | None = None
        try:
            while not stop.is_set():
                with contextlib.suppress(OSError, asyncpg.PostgresError):
                    if connection is None:
                        connection = await asyncpg.connect(self._url)
                    rows = await connection.fetch(
                        "SELECT channel_id, message_ts, status, error_code, attempts FROM turns"
                    )
                    self.turns = {
                        (r["channel_id"], r["message_ts"]): (
                            r["status"],
                            r["error_code"],
                            r["attempts"],
                        )
                        for r in rows
                    }
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(every_s):
                        await stop.wait()
        finally:
            if connection is not None:
                await connection.close()


class Conversations:
    def __init__(
        self, slack: FakeSlack, deliveries: Deliveries, ledger: Ledger, timeout_s: float
    ) -> None:
        self._slack = slack
        self._deliveries = deliveries
        self._ledger = ledger
        self._timeout_s = timeout_s
        self.asked: list[Question] = []

    async def run(self, thread: int, channel: str, questions: int) -> None:
        root = self._slack.post_user_message(
            channel, USER, f"question q{thread}-0: what is it?", mention_bot=True
        )
        asked = self._ask(thread, 0, channel, root.ts)
        assert root.app_mention_event is not None
        await asyncio.gather(
            self._deliveries.deliver(root.app_mention_event),
            self._deliveries.deliver(root.message_event),
        )
        await self._settle(asked, root.ts)
        for number in range(1, questions):
            message = self._slack.post_user_message(
                channel, USER, f"follow-up q{thread}-{number}: and then?", thread_ts=root.ts
            )
            asked = self._ask(thread, number, channel, message.ts)
            await self._deliveries.deliver(message.message_event)
            await self._settle(asked, root.ts)

    def _ask(self, thread: int, number: int, channel: str, ts: str) -> Question:
        question = Question(
            thread, number, channel, ts, time.monotonic(), f"END-q{thread}-{number}."
        )
        self.asked.append(question)
        return question

    async def _settle(self, question: Question, root_ts: str) -> None:
        """Until the question's turn ended (answered, or reported) or the time is up."""
        deadline = time.monotonic() + self._timeout_s
        while time.monotonic() < deadline:
            turn = self._ledger.turns.get((question.channel, question.ts))
            if turn is not None and turn[0] in FINISHED:
                question.status, question.error_code, question.attempts = turn
                if turn[0] != "done" or self._answers(question, root_ts):
                    question.settled_at = time.monotonic()
                    return
            await asyncio.sleep(0.1)

    def _answers(self, question: Question, root_ts: str) -> int:
        return sum(
            question.marker in m.text_content() and not (m.stream and m.stream.is_open)
            for m in self._slack.bot_messages(question.channel, root_ts)
        )

    def _show(self, question: Question, root: str, what: str) -> str:
        """What the thread of a lost or duplicated question holds."""
        lines = [f"{what} {question}"]
        for m in self._slack.bot_messages(question.channel, root):
            state = m.stream.state if m.stream else "-"
            lines.append(f"   {m.ts} stream={state} {m.text_content()[-120:]!r}")
        return "\n".join(lines)

    def judge(self, outcome: Outcome) -> None:
        warnings: Counter[tuple[str, str]] = Counter()
        roots = {(q.channel, q.thread): q.ts for q in self.asked if q.number == 0}
        for (channel, _), root in roots.items():
            warnings[(channel, root)] = sum(
                any(mark in m.text_content() for mark in ERROR_MARKS)
                for m in self._slack.bot_messages(channel, root)
            )
        failed_per_thread: Counter[tuple[str, str]] = Counter()
        for question in self.asked:
            root = roots[(question.channel, question.thread)]
            copies = self._answers(question, root)
            if copies > 1:
                outcome.duplicated.append(question)
                outcome.evidence.append(self._show(question, root, "DUPLICATED"))
            if question.status == "done" and copies >= 1:
                outcome.answered += 1
                outcome.latencies.append((question.settled_at or 0) - question.asked_at)
            elif question.status in FINISHED - {"done"}:
                outcome.failed[f"{question.status}:{question.error_code}"] += 1
                failed_per_thread[(question.channel, root)] += 1
            else:
                outcome.lost.append(question)
                outcome.evidence.append(self._show(question, root, "LOST"))
            if question.attempts > 1 and question.status == "done":
                outcome.resumed += 1
        for where, failures in failed_per_thread.items():
            if warnings[where] < failures:
                outcome.unexplained += [
                    q for q in self.asked if (q.channel, roots[(q.channel, q.thread)]) == where
                ][: failures - warnings[where]]


async def killer(
    replicas: list[Replica], rng: random.Random, kills: int, every_s: float, outcome: Outcome
) -> None:
    for _ in range(kills):
        await asyncio.sleep(every_s)
        victim = rng.choice([r for r in replicas if r.alive])
        await victim.kill()
        outcome.kills += 1
        await asyncio.sleep(1.0)  # the orchestrator notices and starts it again
        await victim.start()


async def run(
    *,
    turns: int = 1000,
    threads: int = 100,
    replicas: int = 2,
    kills: int = 3,
    fail_share: float = 0.2,
    speed: float = 10.0,
    seed: int = 7,
    deltas: int = 12,
    delta_ms: float = 25.0,
    timeout_s: float = 240.0,
    env: dict[str, str] | None = None,
    kill_every_s: float | None = None,
) -> Outcome:
    rng = random.Random(seed)
    outcome = Outcome()
    questions_per_thread = max(1, turns // threads)
    async with (
        FakeSlack(rate_limits=True, rate_speed=speed) as slack,
        FakeOpenAI(validate_spec=False) as openai,
        fresh_database() as database,
    ):
        openai.model.responder = flaky_model(rng, fail_share, deltas, delta_ms / 1000)
        channels = [f"C0FAULT{i:02d}" for i in range(max(1, threads // 10))]
        for channel in channels:
            slack.add_channel(channel, members=[USER])
        with tempfile.TemporaryDirectory(prefix="faults-") as scratch:
            # BENCH_LOG_DIR keeps the replicas' logs (BENCH_LOG_LEVEL: their level).
            workdir = Path(os.environ.get("BENCH_LOG_DIR") or scratch)
            os.makedirs(workdir, exist_ok=True)
            variables = replica_env(slack, openai, database, workdir, **(env or {}))
            bots = [Replica(f"bot-{i + 1}", variables, workdir) for i in range(replicas)]
            for bot in bots:
                await bot.start()
            deliveries = Deliveries(bots, rng)
            ledger = Ledger(database)
            conversations = Conversations(slack, deliveries, ledger, timeout_s)
            stop = asyncio.Event()
            storms = Storms(slack, rng)
            started = time.monotonic()
            try:
                async with asyncio.TaskGroup() as group:
                    group.create_task(ledger.poll(stop))
                    group.create_task(storms.run(stop))
                    # Kills land while conversations are under way (about 1.5 s a question),
                    # each after the previous one's turns were taken over (a lease, 10 s).
                    every_s = kill_every_s or max(12.0, 1.5 * questions_per_thread / (kills + 1))
                    crashes = group.create_task(killer(bots, rng, kills, every_s, outcome))
                    talks = [
                        group.create_task(
                            conversations.run(t, channels[t % len(channels)], questions_per_thread)
                        )
                        for t in range(threads)
                    ]
                    await asyncio.gather(*talks)
                    await crashes
                    stop.set()
            finally:
                outcome.wall_s = time.monotonic() - started
                for bot in bots:
                    await bot.stop()
            conversations.judge(outcome)
            outcome.questions = conversations.asked
            outcome.deliveries = deliveries.sent
            outcome.storms = len(storms.storms)
    return outcome


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def report(outcome: Outcome) -> None:
    asked = len(outcome.questions)
    print(f"{'questions asked':<34} {asked} in {outcome.wall_s:.1f} s")
    print(f"{'deliveries (incl. retries, twins)':<34} {outcome.deliveries}")
    print(f"{'replicas killed (SIGKILL)':<34} {outcome.kills}")
    print(f"{'Slack 429 storms':<34} {outcome.storms}")
    print(f"{'turns answered':<34} {outcome.answered}")
    print(f"{'answers lost':<34} {len(outcome.lost)}")
    print(f"{'answers duplicated':<34} {len(outcome.duplicated)}")
    print(f"{'turns resumed or taken over':<34} {outcome.resumed}")
    failed = ", ".join(f"{k} {v}" for k, v in outcome.failed.most_common()) or "none"
    print(f"{'turns reported as failed':<34} {sum(outcome.failed.values())} ({failed})")
    print(f"{'failures without a message':<34} {len(outcome.unexplained)}")
    print(
        f"{'mention -> answer':<34} p50 {pct(outcome.latencies, 0.5):.2f} s   "
        f"p99 {pct(outcome.latencies, 0.99):.2f} s"
    )
    for evidence in outcome.evidence:
        print(evidence)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=100)
    parser.add_argument("--replicas", type=int, default=2)
    parser.add_argument("--kills", type=int, default=3)
    parser.add_argument("--fail-share", type=float, default=0.2)
    parser.add_argument("--speed", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    outcome = asyncio.run(
        run(
            turns=args.turns,
            threads=args.threads,
            replicas=args.replicas,
            kills=args.kills,
            fail_share=args.fail_share,
            speed=args.speed,
            seed=args.seed,
        )
    )
    report(outcome)


if __name__ == "__main__":
    main()
