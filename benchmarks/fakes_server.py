"""Run FakeSlack and FakeOpenAI in their own process for benchmarks (so the bot's figures are
its own). Prints one JSON line with their addresses, then serves until stdin closes.

    python -m benchmarks.fakes_server [--file PATH] [--output PATH]

``--file`` is shared in the fake Slack (for the input relay); ``--output`` is put in a fake
OpenAI container as a file the model wrote (for the output relay), next to a Slack thread.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import sys
from pathlib import Path

from tests.fakes.openai_api import FakeOpenAI
from tests.fakes.openai_objects import Blob
from tests.fakes.slack_api import FakeSlack


async def serve(file: Path | None, output: Path | None) -> None:
    async with FakeSlack() as slack, FakeOpenAI(validate_spec=False) as openai:
        shared = slack.add_file(file.name, path=file, filetype="csv") if file else None
        container_id = thread_ts = None
        if output is not None:
            state = openai._state  # the fake's own state: a file the model wrote
            container = state.create_container(name="bench")
            size, digest = await asyncio.to_thread(lambda: (output.stat().st_size, _sha256(output)))
            blob = Blob(output, size, digest)
            state.add_container_file(
                container, path=f"/mnt/data/{output.name}", source="assistant", blob=blob
            )
            container_id = container.id
            thread_ts = slack.post_user_message("C0GENERAL", "U0ALICE", "make a big file").ts
        print(
            json.dumps(
                {
                    "slack_base_url": slack.base_url,
                    "slack_host": slack.host,
                    "slack_cdn_host": slack.cdn_host,
                    "slack_token": slack.bot_token,
                    "openai_base_url": openai.base_url,
                    "file": shared,
                    "container_id": container_id,
                    "thread_ts": thread_ts,
                }
            ),
            flush=True,
        )
        await asyncio.to_thread(sys.stdin.read)  # until the parent closes our stdin


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--file", type=Path)
    parser.add_argument("--output", type=Path)
    options = parser.parse_args()
    asyncio.run(serve(options.file, options.output))


if __name__ == "__main__":
    main()
