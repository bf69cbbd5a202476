"""File relay benchmark: a big CSV from the fake Slack to the fake OpenAI through the bot's
file path (download with the token → spooled, hashed → Files API upload).

    python -m benchmarks.relay [--size-mb 200]

Prints throughput and this process's peak RSS growth during the relay, which must stay
bounded (target < 64 MB) whatever the file size. The fakes run in a child process, so the
figures are the bot's own.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
from openai import AsyncOpenAI, DefaultAioHttpClient

from benchmarks.measure import PeakRss
from bot.engine import OpenAIEngine
from bot.settings import Secret
from bot.slack.downloads import FileRelay
from bot.slack.payloads import slack_file

ROW = "{i},Company {i} Holdings,Industrials,{rev},${rev:,},{pct}%,{emp},Springfield,US\n"
HEADER = "rank,name,sector,revenue,revenue_text,growth,employees,city,country\n"


def make_csv(path: Path, size_mb: int) -> None:
    target = size_mb * 1024 * 1024
    with path.open("w") as out:
        out.write(HEADER)
        i = 0
        while out.tell() < target:
            block = "".join(
                ROW.format(
                    i=i + k,
                    rev=(i + k) * 7919 % 999_983,
                    pct=(i + k) % 97 / 10,
                    emp=(i + k) * 31 % 500_000,
                )
                for k in range(10_000)
            )
            out.write(block)
            i += 10_000


async def run(size_mb: int) -> None:
    with tempfile.TemporaryDirectory(prefix="relay-bench-") as scratch:
        path = Path(scratch) / f"big-{size_mb}mb.csv"
        make_csv(path, size_mb)
        size = path.stat().st_size
        expected = _sha256(path)
        child = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "benchmarks.fakes_server",
            "--file",
            str(path),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        assert child.stdout is not None
        assert child.stdin is not None
        info = json.loads(await child.stdout.readline())
        try:
            await relay(info, size, expected)
        finally:
            child.stdin.close()
            with contextlib.suppress(ProcessLookupError):
                await asyncio.wait_for(child.wait(), timeout=10)


async def relay(info: dict, size: int, expected_sha: str) -> None:
    async with (
        aiohttp.ClientSession() as session,
        AsyncOpenAI(
            api_key="sk-bench", base_url=info["openai_base_url"], http_client=DefaultAioHttpClient()
        ) as client,
    ):
        engine = OpenAIEngine(client, model="bench")
        relay = FileRelay(
            session,
            tokens=_token(info["slack_token"]),
            allowed_hosts=(info["slack_host"],),
            redirect_hosts=(info["slack_cdn_host"],),  # the fake's CDN, as Slack's
            max_bytes=512 * 1024 * 1024,
            uploader=engine,
            resolve=_no_stubs,
        )
        file = slack_file(info["file"])
        with PeakRss() as rss:
            started = time.perf_counter()
            relayed = await relay.relay(file, team_id="T0TEST")
            elapsed = time.perf_counter() - started
        uploaded = await client.files.retrieve(relayed.openai_file_id)
    mb = size / 2**20
    print(f"file            {mb:,.1f} MB ({size:,} bytes)")
    print(f"relay time      {elapsed:.2f} s")
    print(f"throughput      {mb / elapsed:,.1f} MB/s")
    print(
        f"peak RSS growth {(rss.peak - rss.baseline) / 2**20:.1f} MB "
        f"(baseline {rss.baseline / 2**20:.1f} MB)"
    )
    print(f"uploaded bytes  {uploaded.bytes:,} (match: {uploaded.bytes == size})")
    print(f"sha256 match    {relayed.sha256 == expected_sha}")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _token(token: str):
    async def tokens(team_id: str) -> Secret:
        return Secret(token)

    return tokens


async def _no_stubs(file, *, team_id):  # the benchmark file object is complete
    return file


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size-mb", type=int, default=200)
    asyncio.run(run(parser.parse_args().size_mb))


if __name__ == "__main__":
    main()
