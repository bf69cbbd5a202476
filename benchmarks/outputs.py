"""Output relay benchmark: a big file the model wrote, from the fake OpenAI's container to a
Slack thread through the bot's output path (download → spooled, hashed → streamed upload).

    python -m benchmarks.outputs [--size-mb 90]

Prints throughput and this process's peak RSS growth, which must stay bounded (target
< 64 MB) whatever the size (outputs are capped at 100 MB each). The fakes run in a child
process, so the figures are the bot's.
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
from slack_sdk.web.async_client import AsyncWebClient

from benchmarks.measure import PeakRss
from benchmarks.relay import make_csv
from bot.core.outputs import collected
from bot.core.turns import ThreadKey
from bot.engine import OpenAIEngine
from bot.settings import Secret
from bot.slack.clients import OneWorkspace
from bot.slack.uploads import SlackUploads, Upload


async def run(size_mb: int) -> None:
    with tempfile.TemporaryDirectory(prefix="outputs-bench-") as scratch:
        path = Path(scratch) / f"result-{size_mb}mb.csv"
        make_csv(path, size_mb)
        child = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "benchmarks.fakes_server",
            "--output",
            str(path),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        assert child.stdout is not None
        assert child.stdin is not None
        info = json.loads(await child.stdout.readline())
        try:
            await relay(info, path)
        finally:
            child.stdin.close()
            with contextlib.suppress(ProcessLookupError):
                await asyncio.wait_for(child.wait(), timeout=10)


async def relay(info: dict, path: Path) -> None:
    size = await asyncio.to_thread(lambda: path.stat().st_size)
    async with (
        aiohttp.ClientSession() as session,
        AsyncOpenAI(
            api_key="sk-bench", base_url=info["openai_base_url"], http_client=DefaultAioHttpClient()
        ) as client,
    ):
        engine = OpenAIEngine(client, model="bench")
        slack = AsyncWebClient(
            token=info["slack_token"], base_url=info["slack_base_url"], session=session
        )
        key = ThreadKey("T0TEST", "C0GENERAL", info["thread_ts"])
        with PeakRss() as rss:
            started = time.perf_counter()
            async with collected(
                engine, container_id=info["container_id"], since=0, citations=()
            ) as produced:
                fetched = time.perf_counter()
                clients = OneWorkspace(slack, Secret(info["slack_token"]))
                shared = await SlackUploads(clients, session).share(
                    key, [Upload(f.name, f.name, f.content, f.size) for f in produced.files]
                )
            elapsed = time.perf_counter() - started
        [posted] = shared.files
        digest = await _download_sha256(session, posted["url_private"], info["slack_token"])
    mb = size / 2**20
    print(f"file             {mb:,.1f} MB ({size:,} bytes)")
    print(f"download         {fetched - started:.2f} s (OpenAI container → spool)")
    print(f"total            {elapsed:.2f} s ({mb / elapsed:,.1f} MB/s), upload included")
    print(
        f"peak RSS growth  {(rss.peak - rss.baseline) / 2**20:.1f} MB "
        f"(baseline {rss.baseline / 2**20:.1f} MB)"
    )
    print(f"posted bytes     {posted['size']:,} (match: {posted['size'] == size})")
    print(f"sha256 match     {digest == await asyncio.to_thread(_sha256, path)}")


async def _download_sha256(session: aiohttp.ClientSession, url: str, token: str) -> str:
    digest = hashlib.sha256()
    async with session.get(url, headers={"Authorization": f"Bearer {token}"}) as response:
        async for chunk in response.content.iter_chunked(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size-mb", type=int, default=90)
    asyncio.run(run(parser.parse_args().size_mb))


if __name__ == "__main__":
    main()
