"""Run FakeSlack and FakeOpenAI in their own process for benchmarks (so the bot's figures are
its own). Prints one JSON line with their addresses, then serves until stdin closes.

    python -m benchmarks.fakes_server [--file PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

from tests.fakes.openai_api import FakeOpenAI
from tests.fakes.slack_api import FakeSlack


async def serve(file: Path | None) -> None:
    async with FakeSlack() as slack, FakeOpenAI(validate_spec=False) as openai:
        shared = slack.add_file(file.name, path=file, filetype="csv") if file else None
        print(
            json.dumps(
                {
                    "slack_base_url": slack.base_url,
                    "slack_host": slack.host,
                    "slack_token": slack.bot_token,
                    "openai_base_url": openai.base_url,
                    "file": shared,
                }
            ),
            flush=True,
        )
        await asyncio.to_thread(sys.stdin.read)  # until the parent closes our stdin


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--file", type=Path)
    asyncio.run(serve(parser.parse_args().file))


if __name__ == "__main__":
    main()
