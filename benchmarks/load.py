"""Load benchmark: N simultaneous mentions in N threads against the fakes, within Slack's
rate limits (the fake enforces Slack's tiers per workspace, method and channel).

    python -m benchmarks.load [--threads 200] [--channels 1] [--no-limits] [--speed 1]
                              [--deltas 200] [--delta-ms 10]

Optional: BENCH_LOG=file (the bot's log; BENCH_LOG_LEVEL=INFO), BENCH_PROFILE=file (run the
bot under cProfile), BENCH_PYSPY=file (sample it with py-spy, if installed).

The bot runs as its own process (`python -m bot`, HTTP mode, SQLite); the fake Slack, the
fake OpenAI and the load generator share this process and its clock. The fake model streams
each answer as `--deltas` text deltas `--delta-ms` apart, each ending with its own marker, so
answers can be counted: complete, lost, duplicated. Prints ack latency, time to the first
visible sign in each thread, answer complete minus model finished, the bot's CPU per turn,
its peak RSS, Slack calls per answer, 429s per method and the last answer next to the floor
Slack's limits allow (`benchmarks.slack_floor`). `--speed` runs Slack's limits that much faster
(the bot budgets for the same); `--no-limits` switches the fake's limits off and gives the bot
a budget it never reaches, to measure the bot alone.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp
import psutil

from benchmarks.measure import PeakRss
from benchmarks.slack_floor import floor_s
from tests.bot_harness import SIGNING_SECRET, free_port, process_env
from tests.fakes.openai_api import FakeOpenAI
from tests.fakes.scripted_model import ScriptedTurn
from tests.fakes.slack_api import FakeSlack
from tests.fakes.slack_events import EventSender, sign_request

WORDS = ["revenue", "grew", "steadily", "while", "costs", "fell", "so", "margins", "widened"]


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def line(name: str, values: list[float], unit: str = "ms", scale: float = 1000) -> None:
    print(
        f"{name:<38} p50 {pct(values, 50) * scale:8.1f} {unit}   "
        f"p99 {pct(values, 99) * scale:8.1f} {unit}   max {max(values) * scale:8.1f} {unit}"
    )


class Blaster:
    """Delivers a burst of signed events as Slack's delivery workers would: each on its own
    kept-alive connection, all at once. Raw HTTP/1.1 over asyncio streams keeps the client's
    own overhead (which would otherwise count as ack latency) to a few microseconds."""

    def __init__(self, url: str, streams: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]]):
        self.url = url
        self._streams = streams

    @classmethod
    async def connect(cls, url: str, count: int) -> Blaster:
        parts = urlsplit(url)
        streams = [await asyncio.open_connection(parts.hostname, parts.port) for _ in range(count)]
        return cls(url, streams)

    async def blast(
        self, envelopes: list[tuple[str, dict]], secret: str, sent_at: dict[str, float]
    ) -> list[float]:
        path = urlsplit(self.url).path
        requests = []
        for ts, envelope in envelopes:
            body = json.dumps(envelope).encode()
            headers = sign_request(body, secret)
            head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
            requests.append(
                (
                    ts,
                    (
                        f"POST {path} HTTP/1.1\r\nHost: bot\r\n"
                        f"Content-Type: application/json\r\n{head}"
                        f"Content-Length: {len(body)}\r\n\r\n"
                    ).encode()
                    + body,
                )
            )

        async def one(
            ts: str, request: bytes, stream: tuple[asyncio.StreamReader, asyncio.StreamWriter]
        ) -> float:
            reader, writer = stream
            sent_at[ts] = time.monotonic()
            writer.write(request)
            status = await reader.readline()
            elapsed = time.monotonic() - sent_at[ts]
            assert b" 200 " in status, status
            writer.close()
            return elapsed

        return list(
            await asyncio.gather(
                *(
                    one(ts, request, stream)
                    for (ts, request), stream in zip(requests, self._streams, strict=True)
                )
            )
        )


@contextlib.asynccontextmanager
async def bot_process(slack: FakeSlack, openai: FakeOpenAI, workdir: Path):
    port = free_port()
    env = process_env(slack, openai, f"sqlite:///{workdir / 'bench.db'}", workdir, port)
    env["LOG_LEVEL"] = os.environ.get("BENCH_LOG_LEVEL", "WARNING")
    profile = (
        ["-m", "cProfile", "-o", os.environ["BENCH_PROFILE"]]
        if os.environ.get("BENCH_PROFILE")
        else []
    )
    spy = os.environ.get("BENCH_PYSPY")  # a py-spy output file: sample the bot while measured
    log = open(os.environ.get("BENCH_LOG", os.devnull), "w")  # noqa: SIM115, ASYNC230
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        *profile,
        "-m",
        "bot",
        cwd=workdir,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=log,
    )
    base = f"http://127.0.0.1:{port}"
    async with aiohttp.ClientSession() as http:
        for _ in range(600):
            with contextlib.suppress(aiohttp.ClientError):
                async with http.get(f"{base}/healthz") as response:
                    if response.status == 200:
                        break
            await asyncio.sleep(0.05)
    sampler = None
    if spy:
        sampler = await asyncio.create_subprocess_exec(
            "py-spy",
            "record",
            "--pid",
            str(process.pid),
            "--rate",
            "250",
            "--format",
            "raw",
            "--output",
            spy,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
    try:
        yield base, psutil.Process(process.pid)
    finally:
        process.send_signal(signal.SIGINT if profile else signal.SIGTERM)
        await process.wait()
        if sampler is not None:
            await sampler.wait()
        log.close()


def answer_turn(deltas: int, delay_s: float, number: str) -> ScriptedTurn:
    words = [WORDS[i % len(WORDS)] for i in range(deltas - 1)] + [f"END-{number}."]
    return ScriptedTurn(text=" ".join(words), text_deltas=deltas, delta_delay=delay_s)


def responder(deltas: int, delay_s: float):
    def answer(request: dict) -> ScriptedTurn:
        number = str(request["input"]).split("question ")[-1].split("'")[0].split('"')[0]
        return answer_turn(deltas, delay_s, number)

    return answer


async def run(
    threads: int, channels: int, deltas: int, delta_ms: float, limits: bool, speed: float
) -> None:
    async with (
        FakeSlack(rate_limits=limits, rate_speed=speed) as slack,
        FakeOpenAI(validate_spec=False) as openai,
    ):
        openai.model.responder = responder(deltas, delta_ms / 1000)
        names = [f"C0LOAD{i:02d}" for i in range(channels)]
        for name in names:
            slack.add_channel(name, members=["U0ALICE"])
        if not limits:
            slack.limits.speed = 100.0  # the bot's budget (SLACK_RATE_SCALE) never binds
        with tempfile.TemporaryDirectory(prefix="load-bench-") as scratch:
            async with (
                bot_process(slack, openai, Path(scratch)) as (base, bot),
                EventSender(f"{base}/slack/events", SIGNING_SECRET) as sender,
            ):
                await one_mention(slack, sender, "question warm-up")  # imports, auth.test
                await measure(slack, openai, sender, bot, names, threads, deltas, delta_ms)
            report_phases(Path(scratch) / "bench.db")


def report_phases(database: Path) -> None:
    """Where each turn's time went, from the timings the bot records on every turn."""
    with contextlib.closing(sqlite3.connect(database)) as db:
        rows = [json.loads(r[0]) for r in db.execute("SELECT timings FROM turns WHERE id > 1")]
    for phase in ("ready_s", "model_started_s", "first_event_s", "model_finished_s", "total_s"):
        values = [r[phase] for r in rows if phase in r]
        if values:
            line(f"  turn clock: {phase}", values, unit="s ", scale=1)


class Answers:
    """Reads the fake's threads: which answers are complete (final: posted, or a stopped
    stream), when they were first seen so, and which appear more than once."""

    def __init__(self, slack: FakeSlack, wanted: dict[str, tuple[str, str]]) -> None:
        self._slack = slack
        self._wanted = wanted  # thread ts -> (channel, marker)
        self.complete: dict[str, float] = {}
        self.copies: dict[str, int] = {}
        self.errors: set[str] = set()

    def update(self) -> bool:
        now = time.monotonic()
        for ts, (channel, marker) in self._wanted.items():
            messages = self._slack.bot_messages(channel, ts)
            final = [
                m
                for m in messages
                if marker in m.text_content() and not (m.stream and m.stream.is_open)
            ]
            self.copies[ts] = len(final)
            if final and ts not in self.complete:
                self.complete[ts] = now
            if any(":warning:" in m.text_content() for m in messages):
                self.errors.add(ts)
        return len(self.complete) == len(self._wanted)


async def one_mention(slack: FakeSlack, sender: EventSender, text: str) -> str:
    sent = slack.post_user_message("C0GENERAL", "U0ALICE", text, mention_bot=True)
    assert sent.app_mention_event is not None
    await sender.send(sent.app_mention_event)
    answers = Answers(slack, {sent.ts: ("C0GENERAL", "END-warm-up.")})
    await slack.wait_for(answers.update, timeout=120, poll=0.05)
    return sent.ts


async def measure(
    slack: FakeSlack,
    openai: FakeOpenAI,
    sender: EventSender,
    bot: psutil.Process,
    channels: list[str],
    threads: int,
    deltas: int,
    delta_ms: float,
) -> None:
    messages = [
        (
            channels[i % len(channels)],
            slack.post_user_message(
                channels[i % len(channels)], "U0ALICE", f"question {i}", mention_bot=True
            ),
        )
        for i in range(threads)
    ]
    wanted = {m.ts: (channel, f"END-{i}.") for i, (channel, m) in enumerate(messages)}
    per_channel = {c: sum(1 for ch, _ in messages if ch == c) for c in channels}
    model_s = deltas * delta_ms / 1000
    floor = floor_s(per_channel, ready_s=model_s, speed=slack.limits.speed)
    connections = await Blaster.connect(sender.url, len(messages))
    calls_before = len(slack.calls)
    refused_before = dict(slack.rate_limited())
    cpu_before = sum(bot.cpu_times()[:2])
    fakes_before = sum(psutil.Process().cpu_times()[:2])
    sent_at: dict[str, float] = {}
    answers = Answers(slack, wanted)

    with PeakRss(bot, every_s=0.02) as rss:
        started = time.monotonic()
        acks = await connections.blast(
            [(m.ts, m.app_mention_event) for _, m in messages], sender.signing_secret, sent_at
        )
        with contextlib.suppress(AssertionError):  # lost answers are reported, not raised
            await slack.wait_for(answers.update, timeout=max(120.0, floor * 3), poll=0.05)
        wall = time.monotonic() - started
    cpu = sum(bot.cpu_times()[:2]) - cpu_before
    fakes_cpu = sum(psutil.Process().cpu_times()[:2]) - fakes_before
    print(
        f"(fakes + load generator used {fakes_cpu:.1f} s CPU in {time.monotonic() - started:.1f} s;"
        " near 1 s per second means the fakes, not the bot, set the pace)"
    )
    refused = {
        k: v - refused_before.get(k, 0)
        for k, v in slack.rate_limited().items()
        if v - refused_before.get(k, 0)
    }
    finished = {
        (run.request.get("metadata") or {}).get("slack_thread_ts"): run.finished_at
        for run in openai.responses.values()
        if run.finished_at
    }
    ready = [(channel, finished[m.ts] - started) for channel, m in messages if m.ts in finished]
    floor_ready = floor_s(ready=ready, speed=slack.limits.speed) if ready else floor
    report(
        openai,
        [m for _, m in messages],
        sent_at,
        acks,
        slack.calls[calls_before:],
        cpu,
        rss.peak,
        wall,
        answers,
        refused,
        (floor, floor_ready),
        started,
        threads,
        deltas,
        delta_ms,
    )


def report(
    openai,
    messages,
    sent_at,
    acks,
    calls,
    cpu,
    peak,
    wall,
    answers,
    refused,
    floor,
    started,
    threads,
    deltas,
    delta_ms,
) -> None:
    first_sign, complete_lag, end_to_end, model_done = [], [], [], {}
    model_asked: dict[str, float] = {}
    for run in openai.responses.values():
        thread_ts = (run.request.get("metadata") or {}).get("slack_thread_ts")
        if thread_ts and run.finished_at:
            model_asked[thread_ts] = run.started_at
            model_done[thread_ts] = run.finished_at
    for message in messages:
        ts = message.ts
        thread_calls = [c.time for c in calls if ts in (c.args.get("thread_ts"), c.args.get("ts"))]
        if thread_calls:
            first_sign.append(min(thread_calls) - sent_at[ts])
        if ts in answers.complete and ts in model_done:
            complete_lag.append(answers.complete[ts] - model_done[ts])
            end_to_end.append(answers.complete[ts] - sent_at[ts])
    model_s = deltas * delta_ms / 1000
    last = max(answers.complete.values(), default=started) - started
    print(
        f"threads {threads}, {deltas} deltas {delta_ms:g} ms apart (model {model_s:.1f} s), "
        f"wall {wall:.2f} s"
    )
    line("ack latency", acks)
    if first_sign:
        line("first visible sign (session/status)", first_sign)
    if complete_lag:
        line("answer complete - model finished", complete_lag)
        line("mention -> answer complete", end_to_end, unit="s ", scale=1)
    asked = [model_asked[m.ts] - sent_at[m.ts] for m in messages if m.ts in model_asked]
    if asked:
        line("  of which mention -> model asked", asked)
    lost = threads - len(answers.complete)
    duplicated = sum(1 for n in answers.copies.values() if n > 1)
    complete = len(answers.complete)
    print(f"{'answers complete / lost / duplicated':<38} {complete} / {lost} / {duplicated}")
    print(f"{'error replies':<38} {len(answers.errors)}")
    floor, floor_ready = floor
    print(
        f"{'last answer complete':<38} {last:8.2f} s   floor {floor:.2f} s (model's end) "
        f"ratio {last / floor:.2f};"
    )
    print(
        f"{'':<38} floor {floor_ready:.2f} s given when each answer was ready "
        f"ratio {last / floor_ready:.2f}"
    )
    print(
        f"{'429s answered by Slack':<38} "
        + (", ".join(f"{k} {v}" for k, v in sorted(refused.items())) or "none")
    )
    print(f"{'bot CPU per turn':<38} {cpu / threads * 1000:8.1f} ms")
    print(f"{'bot peak RSS':<38} {peak / 2**20:8.1f} MB")
    methods: dict[str, int] = {}
    for call in calls:
        methods[call.method] = methods.get(call.method, 0) + 1
    print(
        f"{'Slack calls per answer':<38} {len(calls) / threads:8.2f}   "
        + ", ".join(f"{k} {v / threads:.2f}" for k, v in sorted(methods.items()))
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=200)
    parser.add_argument("--channels", type=int, default=1)
    parser.add_argument("--deltas", type=int, default=200)
    parser.add_argument("--delta-ms", type=float, default=10.0)
    parser.add_argument("--no-limits", action="store_true", help="the fake enforces no limits")
    parser.add_argument("--speed", type=float, default=1.0, help="run Slack's limits faster")
    args = parser.parse_args()
    asyncio.run(
        run(args.threads, args.channels, args.deltas, args.delta_ms, not args.no_limits, args.speed)
    )


if __name__ == "__main__":
    main()
