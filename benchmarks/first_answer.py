"""First-answer benchmark: how long a question waits before the model is asked.

    python -m benchmarks.first_answer [--repeat 7] [--responses-ms 0] [--no-latency]

The bot runs as its own process (`python -m bot`, HTTP mode, SQLite) against the fake Slack
and the fake OpenAI on loopback; the fake OpenAI answers with the real service's round-trip
times (`Latency.realistic()`: files 0.4 s, conversations 0.3 s, containers 0.8 s, container
files 0.5 s, container reads 0.15 s; `--responses-ms` adds a time to first byte, which only
the recovery case d waits for). Each case is a signed event sent to the bot; the figure is
from sending it to the moment the fake OpenAI receives the turn's `POST /v1/responses`:

    a  first turn with a CSV            floor: one upload + one round trip (the container)
    b  first turn, text only            floor: one round trip (the container)
    c  follow-up in the same thread     floor: 0
    d  follow-up with a CSV in the thread after its container expired (to the accepted
       request: a fresh container, the CSV placed again; not a target of issue 9)

Turns run one at a time (each waits until the previous one finished), after a warm-up turn,
so the figures are the bot's path, not queueing. The fake Slack enforces no rate limits here.
Optional: BENCH_LOG=file (the bot's log; BENCH_LOG_LEVEL=INFO).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import sqlite3
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.load import bot_process, pct
from tests.bot_harness import SIGNING_SECRET
from tests.fakes.openai_api import FakeOpenAI
from tests.fakes.openai_http import Recorded
from tests.fakes.openai_latency import Latency
from tests.fakes.scripted_model import ScriptedTurn
from tests.fakes.slack_api import FakeSlack, UserMessage
from tests.fakes.slack_events import EventSender

CHANNEL = "C0GENERAL"
USER = "U0ALICE"
FINISHED = ("done", "failed", "cancelled", "interrupted")
CASES = {
    "a": "first turn with a CSV",
    "b": "first turn, text only",
    "c": "follow-up in the same thread",
    "d": "follow-up, container expired",
}


def sales_csv(rows: int = 2000) -> bytes:
    out = io.StringIO()
    out.write("date,region,product,units,revenue\n")
    for i in range(rows):
        out.write(f"2026-{i % 12 + 1:02d}-{i % 28 + 1:02d},R{i % 7},P{i % 31},{i % 97},{i * 7.5}\n")
    return out.getvalue().encode()


def floors(latency: Latency) -> dict[str, tuple[float, str]]:
    """The least each case can wait, given the fake's round trips."""
    return {
        "a": (latency.files + latency.containers, "one upload + one round trip"),
        "b": (latency.containers, "one round trip"),
        "c": (0.0, "no round trip"),
        "d": (
            latency.responses + latency.containers + latency.container_files,
            "refused request + new container + placement",
        ),
    }


@dataclass
class Bench:
    slack: FakeSlack
    openai: FakeOpenAI
    sender: EventSender
    database: Path
    waits: dict[str, list[float]] = field(default_factory=dict)
    failed: list[str] = field(default_factory=list)

    async def ask(
        self, case: str, sent: UserMessage, envelope: dict[str, Any] | None, thread_ts: str
    ) -> None:
        """Send the event, time it to the turn's accepted model request, wait for the end."""
        assert envelope is not None
        seen = len(self.openai.requests)
        started = time.monotonic()
        response = await self.sender.send(envelope)
        assert response.status == 200, response.body
        request = await self._model_request(seen, thread_ts)
        self.waits.setdefault(case, []).append(request.received - started)
        status = await self._finished(sent.ts)
        if status != "done":
            self.failed.append(f"{case}: turn {sent.ts} ended {status}")

    async def mention(self, case: str, text: str, files: list[dict[str, Any]]) -> str:
        sent = self.slack.post_user_message(CHANNEL, USER, text, files=files, mention_bot=True)
        await self.ask(case, sent, sent.app_mention_event, sent.ts)
        return sent.ts

    async def follow_up(self, case: str, thread_ts: str, text: str) -> None:
        sent = self.slack.post_user_message(CHANNEL, USER, text, thread_ts=thread_ts)
        await self.ask(case, sent, sent.message_event, thread_ts)

    def container_of(self, thread_ts: str) -> str:
        for recorded in reversed(self.openai.requests_to("POST", "/responses")):
            body = recorded.json or {}
            if (body.get("metadata") or {}).get("slack_thread_ts") == thread_ts:
                return str(body["tools"][0]["container"])
        raise AssertionError(f"no model request for thread {thread_ts}")

    async def _model_request(self, seen: int, thread_ts: str) -> Recorded:
        def accepted() -> Recorded | None:
            for recorded in self.openai.requests[seen:]:
                body = recorded.json or {}
                if (
                    recorded.method == "POST"
                    and recorded.path == "/responses"
                    and recorded.status == 200
                    and (body.get("metadata") or {}).get("slack_thread_ts") == thread_ts
                ):
                    return recorded
            return None

        found: Recorded = await self.openai.wait_for(accepted, timeout=60)
        return found

    async def _finished(self, message_ts: str) -> str:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            status = _turn_status(self.database, message_ts)
            if status in FINISHED:
                return status
            await asyncio.sleep(0.02)
        return "still running"


def _turn_status(database: Path, message_ts: str) -> str | None:
    with contextlib.suppress(sqlite3.OperationalError):  # not created yet, or busy: ask again
        uri = f"file:{database}?mode=ro"
        with contextlib.closing(sqlite3.connect(uri, uri=True, timeout=1)) as db:
            query = "SELECT status FROM turns WHERE message_ts = ?"
            found = db.execute(query, (message_ts,)).fetchone()
            return str(found[0]) if found else None
    return None


async def run(repeat: int, latency: Latency) -> None:
    async with (
        FakeSlack(rate_limits=False) as slack,
        FakeOpenAI(validate_spec=False) as openai,
    ):
        slack.limits.speed = 100.0  # the bot's Slack budget never binds
        openai.model.responder = lambda request: ScriptedTurn(text="Done.")
        csv = sales_csv()
        with tempfile.TemporaryDirectory(prefix="first-answer-bench-") as scratch:
            workdir = Path(scratch)
            async with (
                bot_process(slack, openai, workdir) as (base, _bot),
                EventSender(f"{base}/slack/events", SIGNING_SECRET) as sender,
            ):
                bench = Bench(slack, openai, sender, workdir / "bench.db")
                warm = slack.add_file("warm-up.csv", csv, filetype="csv", mimetype="text/csv")
                warm_ts = await bench.mention("warm-up", "warm up", [warm])  # imports, pools
                await bench.follow_up("warm-up", warm_ts, "and again")
                openai.latency = latency
                await measure(bench, repeat, csv)
        report(bench, latency, repeat)


async def measure(bench: Bench, repeat: int, csv: bytes) -> None:
    for i in range(repeat):
        shared = bench.slack.add_file(f"sales-{i}.csv", csv, filetype="csv", mimetype="text/csv")
        with_csv = await bench.mention("a", f"revenue by region? ({i})", [shared])
        await bench.mention("b", f"what is a cohort analysis? ({i})", [])
        await bench.follow_up("c", with_csv, f"and by product? ({i})")
        bench.openai.expire_container(bench.container_of(with_csv))
        await bench.follow_up("d", with_csv, f"and by month? ({i})")


def report(bench: Bench, latency: Latency, repeat: int) -> None:
    print(
        f"mention -> model request, {repeat} turns per case, round trips: files "
        f"{latency.files:g} s, conversations {latency.conversations:g} s, containers "
        f"{latency.containers:g} s, container files {latency.container_files:g} s, container "
        f"reads {latency.container_reads:g} s, responses {latency.responses:g} s"
    )
    floor = floors(latency)
    for case, title in CASES.items():
        values = bench.waits.get(case, [])
        if not values:
            continue
        least, why = floor[case]
        print(
            f"{case}  {title:<31} p50 {pct(values, 50):6.2f} s   max {max(values):6.2f} s   "
            f"floor {least:5.2f} s ({why})"
        )
    if latency.files < latency.containers:
        reachable = max(latency.files, latency.containers) + latency.container_files
        print(
            f"   (a with the file's path learned from the API: the container is created while "
            f"the file uploads, then the file is placed: {reachable:.2f} s)"
        )
    for failure in bench.failed:
        print(f"FAILED {failure}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=7, help="turns per case")
    parser.add_argument(
        "--responses-ms", type=float, default=0.0, help="the model's time to first byte"
    )
    parser.add_argument("--no-latency", action="store_true", help="every round trip at once")
    args = parser.parse_args()
    latency = (
        Latency(responses=args.responses_ms / 1000)
        if args.no_latency
        else Latency.realistic(responses=args.responses_ms / 1000)
    )
    asyncio.run(run(args.repeat, latency))


if __name__ == "__main__":
    main()
