"""Terminal mode: the same service, with local files in and a terminal renderer out.

    slack-analyst ask --file sales.csv "top 10 companies by revenue, as a chart"

The answer streams to stdout; produced files are saved under ./analyst-output/; follow-up
questions are read from an interactive prompt. Only OPENAI_API_KEY is needed, which shows
the service does not depend on Slack.
"""

from __future__ import annotations

import asyncio
import getpass
import hashlib
import mimetypes
import shutil
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import IO, TextIO

from bot import wording
from bot.core.answering import Answerer
from bot.core.events import (
    CodeFinished,
    CodeStarted,
    EngineEvent,
    PostedFile,
    ProducedFile,
    SearchFinished,
    Step,
    TextDelta,
)
from bot.core.files import RelayedFile, Uploader, check, safe_name
from bot.core.functions import visual_tools
from bot.core.markdown import LinkHolder, first_meaningful_line, hide_links
from bot.core.service import AnalystService
from bot.core.turns import PriorMessage, SlackFile, ThreadKey, Turn, UserInfo
from bot.core.visuals import Visual, plain_text
from bot.core.workspace import WorkspaceBuilder
from bot.engine import OpenAIEngine, open_client
from bot.settings import Settings
from store import open_store

OUTPUT_DIR = Path("analyst-output")
KEY = ThreadKey("terminal", "terminal", "0")


class TerminalRenderer:
    """Streams the answer to stdout; progress and errors go to stderr."""

    def __init__(
        self, out: TextIO = sys.stdout, err: TextIO = sys.stderr, output_dir: Path = OUTPUT_DIR
    ) -> None:
        self._out, self._err, self._dir = out, err, output_dir
        self._holder = LinkHolder()
        self._wrote = False

    @property
    def reply_ts(self) -> str | None:
        return None

    async def status(self, text: str, loading: Sequence[str] = ()) -> None:
        if text:
            self._err.write(f"… {text}\n")

    async def step(self, step: Step) -> None:
        if step.status in ("complete", "error"):
            mark = "✓" if step.status == "complete" else "✗"
            details = f" — {step.details}" if step.details else ""
            self._err.write(f"  {mark} {step.title}{details}\n")

    async def show(self, event: EngineEvent) -> None:
        if isinstance(event, TextDelta):
            self._write(self._holder.feed(event.text))
        elif isinstance(event, CodeStarted):
            self._err.write("… running Python\n")
        elif isinstance(event, SearchFinished):
            queries = "; ".join(event.queries)
            self._err.write(f"  {'✓' if event.ok else '✗'} {wording.STEP_SEARCHING}: {queries}\n")
        elif isinstance(event, CodeFinished):
            mark = "✓" if event.ok else "✗"
            self._err.write(f"  {mark} {first_meaningful_line(event.code)}\n")

    async def visual(self, visual: Visual) -> None:
        self._write(self._holder.flush() + "\n\n" + plain_text(visual) + "\n\n")

    async def title(self, text: str) -> None:
        self._err.write(f"── {' '.join(text.split())[:100]} ──\n")

    async def end_text(
        self,
        note: str | None = None,
        *,
        show_code: bool = False,
        controls: bool = True,
        error_code: str | None = None,
    ) -> None:
        self._write(self._holder.flush())
        if note:
            self._write(f"\n\n{note}")
        self._out.write("\n")
        self._out.flush()

    async def attach(
        self,
        files: Sequence[ProducedFile],
        *,
        aliases: Mapping[str, str],
        failed: Sequence[str] = (),
    ) -> dict[str, PostedFile]:
        """Save the files under the output folder (printed text cannot be relinked)."""
        self._dir.mkdir(parents=True, exist_ok=True)
        saved = {}
        for file in files:
            target = self._dir / safe_name(file.name)
            await asyncio.to_thread(_save, file.content, target)
            saved[file.path] = PostedFile(str(target))
            self._err.write(f"  saved {target}\n")
        if failed:
            names = ", ".join(f"`{name}`" for name in failed)
            self._err.write(wording.FILES_MISSING.format(names=names) + "\n")
        return saved

    async def error(self, text: str, *, retry: bool = False) -> None:
        self._err.write(f"\n{text}\n")

    async def restart(self, note: str) -> None:
        if self._wrote:
            await self.end_text(note)
        self._holder, self._wrote = LinkHolder(), False

    async def close(self) -> None:
        self._out.flush()

    @property
    def messages(self) -> list[str]:
        return []  # printed text cannot be taken back, nor is a terminal turn taken over

    def on_message(self, listener: Callable[[], Awaitable[None]]) -> None:
        return None

    async def retract(self, messages: Sequence[str]) -> None:
        return None

    def _write(self, text: str) -> None:
        if text:
            self._out.write(hide_links(text))
            self._out.flush()
            self._wrote = True


class LocalFiles:
    """The relay for files on this machine (`download_url` is a local path)."""

    def __init__(self, uploader: Uploader, *, max_bytes: int) -> None:
        self._uploader = uploader
        self._max_bytes = max_bytes

    async def complete(self, file: SlackFile, *, team_id: str) -> SlackFile:
        return file

    async def relay(self, file: SlackFile, *, team_id: str) -> RelayedFile:
        kind = check(file, max_bytes=self._max_bytes)
        path = Path(file.download_url or "")
        digest, size = await asyncio.to_thread(_sha256, path)
        data = await asyncio.to_thread(path.open, "rb")
        with data:
            file_id = await self._uploader.upload(
                name=safe_name(file.name), data=data, mimetype=file.mimetype
            )
        return RelayedFile(file, kind, size, digest, file_id)


def _save(content: IO[bytes], target: Path) -> None:
    with target.open("wb") as out:
        shutil.copyfileobj(content, out)


def _sha256(path: Path) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size


def local_file(path: str) -> SlackFile:
    resolved = Path(path).expanduser().resolve()
    if not resolved.is_file():
        raise SystemExit(f"no such file: {path}")
    return SlackFile(
        id="local:" + hashlib.sha256(str(resolved).encode()).hexdigest()[:16],
        name=resolved.name,
        mimetype=mimetypes.guess_type(resolved.name)[0] or "application/octet-stream",
        size=resolved.stat().st_size,
        download_url=str(resolved),
    )


class _Nobody:
    async def user(self, user_id: str, *, team_id: str) -> UserInfo:
        return UserInfo(user_id, getpass.getuser(), time.strftime("%Z"))

    async def earlier(self, key: ThreadKey, *, before_ts: str, limit: int) -> list[PriorMessage]:
        return []

    async def participants(self, key: ThreadKey) -> set[str]:
        return {"terminal"}


async def ask(
    settings: Settings, *, files: Sequence[str], question: str, prompt: IO[str] = sys.stdin
) -> int:
    """Answer `question` about `files`, then follow-ups typed at the prompt, until EOF."""
    with tempfile.TemporaryDirectory(prefix="slack-analyst-") as scratch:
        async with (
            open_store(f"sqlite:///{scratch}/terminal.db") as store,
            open_client(settings) as client,
        ):
            engine = OpenAIEngine(
                client,
                model=settings.model,
                rate_limit_budget_s=settings.rate_limit_wait_s,
                idle_timeout_s=settings.stream_idle_timeout_s,
                retention_days=settings.retention_days,
            )
            people = _Nobody()
            service = AnalystService(
                answerer=Answerer(
                    store=store,
                    engine=engine,
                    workspace=WorkspaceBuilder(
                        store=store,
                        engine=engine,
                        relay=LocalFiles(engine, max_bytes=settings.max_file_bytes),
                        max_file_bytes=settings.max_file_bytes,
                    ),
                    directory=people,
                    history=people,
                    instructions=settings.instructions,
                    functions=visual_tools(),
                ),
                renderers=lambda _turn, _turn_id: TerminalRenderer(),
                directory=people,
                turn_timeout_s=settings.turn_timeout_s,
            )
            shared = tuple(local_file(f) for f in files)
            number, failures = 0, 0
            next_question: str | None = question
            while True:
                if not next_question:
                    next_question = await asyncio.to_thread(_read_question, prompt)
                    if next_question is None:
                        return 1 if failures else 0
                number += 1
                turn = Turn(
                    key=KEY,
                    message_ts=str(number),
                    user_id="terminal",
                    text=next_question,
                    files=shared if number == 1 else (),
                    channel_type="im",
                    source="dm",
                )
                await store.turns.record(turn)
                [claimed] = await store.turns.claim("terminal", limit=1, lease_s=3600)
                outcome = await service.run(claimed)
                await store.turns.finish(claimed.id, outcome, owner="terminal")
                failures += outcome.status != "done"
                next_question = ""


def _read_question(prompt: IO[str]) -> str | None:
    """The next non-empty line, or None at end of input."""
    while True:
        sys.stderr.write("\nfollow-up (Ctrl-D to quit)> ")
        sys.stderr.flush()
        line = prompt.readline()
        if not line:
            return None
        if line.strip():
            return line.strip()
