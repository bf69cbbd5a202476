"""`AnswerPages`: the answer's text as Slack messages, while it grows.

Text is held back where a link or a ping may be incomplete, Markdown tables become `table`
blocks (or a CSV file when too big for one), and long answers are paged into several
messages (never truncated). Each page is one `MessageWriter`. Model output is defused.
"""

from __future__ import annotations

import csv
import hashlib
import io
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot import wording
from bot.core.events import ProducedFile, Step
from bot.core.markdown import LinkHolder, Paginator, defuse, hide_links, linked_paths, rewrite_links
from bot.core.tables import Table, TableCutter, spreadsheet_safe
from bot.core.turns import ThreadKey
from bot.slack.blocks import Block, fits_table, table
from bot.slack.writer import MessageWriter

logger = logging.getLogger(__name__)
MAX_BLOCKS_PER_PAGE = 40  # of Slack's 50, leaving room for steps and controls


def shown(raw: str) -> str:
    """Model text as it may appear while streaming: links held as labels, pings defused."""
    return defuse(hide_links(raw))


class AnswerPages:
    """The messages of one answer; `on_reply` is told when a new message is posted."""

    def __init__(
        self,
        client: AsyncWebClient,
        *,
        key: ThreadKey,
        user_id: str,
        native: bool,
        interval: float,
        soft_limit: int,
        hard_limit: int,
        on_reply: Callable[[], None],
    ) -> None:
        self._client = client
        self._key = key
        self._user_id = user_id
        self._native = native
        self._interval = interval
        self._limits = (soft_limit, hard_limit)
        self._on_reply = on_reply
        self.table_files: list[ProducedFile] = []
        """Tables too big for a block, to be attached as CSV files."""
        self.reset()

    def reset(self) -> None:
        """Start over with no messages (the text shown so far stays in Slack)."""
        self._holder = LinkHolder()
        self._tables = TableCutter()
        soft, hard = self._limits
        self._paginator = Paginator(soft=soft, hard=hard, marker=wording.CONTINUED)
        self._writers: list[MessageWriter] = []

    @property
    def reply_ts(self) -> str | None:
        return next((w.ts for w in self._writers if w.ts), None)

    @property
    def has_output(self) -> bool:
        return any(w.text for w in self._writers)

    @property
    def started(self) -> bool:
        return bool(self._writers)

    async def feed(self, delta: str) -> None:
        await self._text(self._holder.feed(delta))

    async def step(self, step: Step) -> None:
        writer = self._writer()
        await self._tracked(writer, writer.step(step))

    async def finish(self, note: str | None, controls: Sequence[Block]) -> None:
        """Write what is held back (and `note`), end every message, `controls` last."""
        await self._text(self._holder.flush(), final=True)
        if note:
            await self._text(("\n\n" if self.has_output else "") + note, final=True)
        for writer in self._writers[:-1]:
            await self._tracked(writer, writer.close())
        if self._writers:
            last = self._writers[-1]
            await self._tracked(last, last.close(controls=controls))

    async def fail_open_steps(self) -> None:
        for writer in self._writers:
            await writer.fail_open_steps()

    async def close(self) -> None:
        """End every message still open (best effort)."""
        for writer in self._writers:
            try:
                await self._tracked(writer, writer.close())
            except SlackApiError as error:
                logger.warning(
                    "closing a message in %s failed: %s", self._key, error.response.get("error")
                )

    async def relink(self, links: Mapping[str, str]) -> None:
        """Point the posted text's sandbox links at the uploaded files."""

        def linked(raw: str) -> str:
            return defuse(rewrite_links(raw, links, missing=wording.FILE_MISSING_NOTE))

        for writer in self._writers:
            if linked_paths(writer.text):
                await writer.redisplay(linked)

    # Internals -------------------------------------------------------------------------

    async def _tracked(self, writer: MessageWriter, write: Awaitable[None]) -> None:
        """Run a write; note it when it posted the writer's message (a reply)."""
        before = writer.ts
        await write
        if before is None and writer.ts is not None:
            self._on_reply()

    def _writer(self, *, new_page: bool = False) -> MessageWriter:
        if new_page or not self._writers:
            self._writers.append(
                MessageWriter(
                    self._client,
                    channel=self._key.channel_id,
                    thread_ts=self._key.thread_ts,
                    recipient_user_id=self._user_id,
                    recipient_team_id=self._key.team_id,
                    display=shown,
                    native=self._native,
                    interval=self._interval,
                )
            )
        return self._writers[-1]

    async def _text(self, text: str, *, final: bool = False) -> None:
        pieces = self._tables.feed(text) if text else []
        if final:
            pieces += self._tables.flush()
        for piece in pieces:
            if isinstance(piece, Table):
                await self._table(piece)
            else:
                await self._paged(piece)

    async def _paged(self, text: str) -> None:
        for piece in self._paginator.feed(text):
            if piece.new_page and self._writers:
                await self._tracked(self._writers[-1], self._writers[-1].close())
            writer = self._writer(new_page=piece.new_page)
            update = writer.append(piece.text)
            await (update if writer.ts else self._tracked(writer, update))

    async def _table(self, found: Table) -> None:
        rows = [[shown(cell) for cell in row] for row in found.rows]
        if not fits_table(rows):
            name = f"table-{len(self.table_files) + 1}.csv"
            self.table_files.append(_csv_file(name, found.rows))
            await self._paged(
                wording.TABLE_AS_FILE.format(
                    rows=len(rows) - 1, columns=max(len(r) for r in rows), name=name
                )
            )
            return
        if self._writers and self._writers[-1].block_count >= MAX_BLOCKS_PER_PAGE:
            await self._tracked(self._writers[-1], self._writers[-1].close())
            self._writer(new_page=True)
        writer = self._writer()
        await self._tracked(writer, writer.add_block(table(rows)))


def _csv_file(name: str, rows: Sequence[Sequence[str]]) -> ProducedFile:
    buffer = io.StringIO()
    # Model-written cells: never a formula when the file is opened in a spreadsheet.
    csv.writer(buffer).writerows([spreadsheet_safe(cell) for cell in row] for row in rows)
    data = buffer.getvalue().encode()
    return ProducedFile(
        name=name,
        path=f"table:{name}",
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
        container_file_id="",
        content=io.BytesIO(data),
    )
