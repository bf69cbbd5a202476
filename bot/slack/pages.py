"""`AnswerPages`: the answer's text as Slack messages, while it grows.

Text is held back where a link or a ping may be incomplete, Markdown tables become `table`
blocks (one per message, as Slack allows; a CSV file when too big for one), and long
answers are paged into several messages (never truncated). Each page is one
`MessageWriter`; a full page is closed in the background (the model's stream is never kept
waiting for Slack) and the next page is only posted once the previous one has its place in
the thread, so pages keep their order. Model output is defused.
"""

from __future__ import annotations

import asyncio
import csv
import hashlib
import io
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from bot import wording
from bot.core.events import ProducedFile, Step
from bot.core.files import safe_name
from bot.core.markdown import LinkHolder, Paginator, defuse, hide_links, linked_paths, rewrite_links
from bot.core.tables import Table, TableCutter, spreadsheet_safe
from bot.core.turns import ThreadKey
from bot.core.visuals import Chart, DataTable, Visual, as_text
from bot.slack.blocks import Block, fits_table, table, table_chars
from bot.slack.client import SLACK_FAILURES, ScheduledSlack, failure_code
from bot.slack.message_calls import MessageCalls
from bot.slack.message_render import MAX_CHARTS, Rendering
from bot.slack.visual_blocks import chart_block, data_table_block, table_text_size
from bot.slack.writer import MessageWriter

logger = logging.getLogger(__name__)
MAX_BLOCKS_PER_PAGE = 40  # of Slack's 50, leaving room for steps and controls


def shown(raw: str) -> str:
    """Model text as it may appear while streaming: links held as labels, pings defused."""
    return defuse(hide_links(raw))


class AnswerPages:
    """The messages of one answer."""

    def __init__(
        self,
        client: ScheduledSlack,
        *,
        key: ThreadKey,
        user_id: str,
        native: bool,
        interval: float,
        soft_limit: int,
        hard_limit: int,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        self._client = client
        self._key = key
        self._user_id = user_id
        self._native = native
        self._interval = interval
        self._limits = (soft_limit, hard_limit)
        self._metadata = metadata
        self.table_files: list[ProducedFile] = []
        """Tables too big for a block, to be attached as CSV files."""
        self._closing: list[asyncio.Task[bool]] = []
        self.on_message: Callable[[], Awaitable[None]] | None = None
        """Told whenever one of the pages posts a message."""
        self.reset()

    def reset(self) -> None:
        """Start over with no messages (the text shown so far stays in Slack)."""
        self._round = getattr(self, "_round", -1) + 1  # page numbers stay unique per turn
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
        return any(w.page.text for w in self._writers)

    @property
    def started(self) -> bool:
        return bool(self._writers)

    async def feed(self, delta: str) -> None:
        await self._text(self._holder.feed(delta))

    async def step(self, step: Step) -> None:
        await self._writer().step(step)

    async def complete(self, note: str | None = None) -> None:
        """Everything held back (and `note`) is now written into the pages."""
        await self._text(self._holder.flush(), final=True)
        if note:
            await self._text(("\n\n" if self.has_output else "") + note, final=True)

    def unfinished(self, controls: Sequence[Block]) -> list[tuple[int, int, str | None, Rendering]]:
        """How each page still to be finished must look: (its number, the part of it still
        open — a stream Slack ended continues in another part —, that part's message if one
        exists, its content); the last page carries `controls`."""
        last, unfinished = len(self._writers) - 1, []
        for i, writer in enumerate(self._writers):
            if not writer.closed:
                page, part = writer.page, writer.page.current
                ending = controls if i == last else ()
                rendering = page.render(part, page.whole(part), ending, shown)
                unfinished.append((self._number(i), len(page.parts) - 1, part.ts, rendering))
        return unfinished

    async def _message_posted(self) -> None:
        if self.on_message is not None:
            await self.on_message()

    def messages(self) -> list[str]:
        """Every message of the pages so far (a stream Slack ended continues in another)."""
        return [part.ts for w in self._writers for part in w.page.parts if part.ts is not None]

    def posted(self) -> list[tuple[int, str]]:
        """(number, last message ts) of every page in the thread."""
        return [
            (self._number(i), ts)
            for i, writer in enumerate(self._writers)
            if (ts := writer.last_ts) is not None
        ]

    def _number(self, index: int) -> int:
        return self._round * 1000 + index

    async def finish(
        self, note: str | None, controls: Sequence[Block], *, session_status: str | None = None
    ) -> bool:
        """End every message, in order, `controls` under the last. True when
        `session_status` went with the final write."""
        await self.complete(note)
        await self._closed_in_order()
        applied = False
        for i, writer in enumerate(self._writers):
            last = i == len(self._writers) - 1
            applied = await writer.close(
                controls=controls if last else (), session_status=session_status if last else None
            )
        return applied

    async def fail_open_steps(self) -> None:
        for writer in self._writers:
            writer.page.fail_open_steps()

    async def close(self) -> None:
        """End every message still open (best effort)."""
        await self._closed_in_order()
        for writer in self._writers:
            try:
                await writer.close()
            except SLACK_FAILURES as error:
                logger.warning("closing a message in %s failed: %s", self._key, failure_code(error))

    async def relink(self, links: Mapping[str, str]) -> None:
        """Point the posted text's sandbox links at the uploaded files."""

        def linked(raw: str) -> str:
            return defuse(rewrite_links(raw, links, missing=wording.FILE_MISSING_NOTE))

        for writer in self._writers:
            if linked_paths(writer.page.text):
                await writer.redisplay(linked)

    # Internals -------------------------------------------------------------------------

    async def _closed_in_order(self) -> None:
        closing, self._closing = self._closing, []
        for task in closing:
            await task

    def _writer(self, *, new_page: bool = False) -> MessageWriter:
        if self._writers and new_page:
            # Closed in the background: its final write waits for budget, the answer goes on.
            full = self._writers[-1]
            self._closing.append(asyncio.create_task(full.close(), name="slack-page-close"))
        if new_page or not self._writers:
            page = self._number(len(self._writers))  # the number its staged reply has
            metadata = {**self._metadata, "page": page} if self._metadata else None
            self._writers.append(
                MessageWriter(
                    self._client,
                    MessageCalls(
                        self._client,
                        channel=self._key.channel_id,
                        thread_ts=self._key.thread_ts,
                        recipient_user_id=self._user_id,
                        recipient_team_id=self._key.team_id,
                    ),
                    display=shown,
                    native=self._native,
                    interval=self._interval,
                    metadata=metadata,
                    after=self._writers[-1] if self._writers else None,
                    on_message=self._message_posted,
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
            await self._writer(new_page=piece.new_page).add(piece.text)

    async def visual(self, visual: Visual) -> None:
        """A native chart or table, after the text so far (which is complete: the model
        asks for visuals at the end of a response)."""
        await self.complete()
        if isinstance(visual, Chart):
            full = self._writer().page.chart_count >= MAX_CHARTS
            await self._place(chart_block(visual), new_page=full)
            return
        block, shown_rows = data_table_block(visual, visual.caption)
        if shown_rows < len(visual.rows):  # the whole table goes with the answer as a file
            name = self._file_name(visual.caption)
            self.table_files.append(_csv_file(name, _as_rows(visual)))
            block["caption"] = defuse(
                wording.TABLE_PART.format(
                    caption=visual.caption, shown=shown_rows, total=len(visual.rows), name=name
                )
            )
        await self._place(block, new_page=self._writer().page.table_count > 0)
        self._paginator.occupy(table_text_size(block))

    async def _place(self, block: Block, *, new_page: bool) -> None:
        writer = self._writer()
        if new_page or writer.page.block_count >= MAX_BLOCKS_PER_PAGE:
            self._paginator.turn_page()
            writer = self._writer(new_page=True)
        await writer.add(block)

    def _file_name(self, caption: str) -> str:
        stem = safe_name(caption)[:60].rsplit(".", 1)[0].strip(" ._") or "table"
        name = f"{stem}.csv"
        taken = {f.name for f in self.table_files}
        number = 2
        while name in taken:
            name, number = f"{stem}-{number}.csv", number + 1
        return name

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
        writer = self._writer()
        if writer.page.table_count or writer.page.block_count >= MAX_BLOCKS_PER_PAGE:
            # Slack allows one table block per message: this one starts the next page.
            self._paginator.turn_page()
            writer = self._writer(new_page=True)
        await writer.add(table(rows))
        self._paginator.occupy(table_chars(rows))


def _as_rows(table: DataTable) -> list[list[str]]:
    return [list(table.columns), *([as_text(cell) for cell in row] for row in table.rows)]


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
