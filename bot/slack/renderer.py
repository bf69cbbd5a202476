"""`SlackRenderer`: the one place a turn's answer is posted to Slack.

Text streams into the thread as it arrives, paged into several messages when long (never
truncated); Markdown tables become table blocks (or a CSV file when too big); code runs and
file reads appear as progress steps; model output is defused (no pings) and `sandbox:`
links are held back until the files they point to are posted. A Cancel control is shown
while code runs; the finished answer carries Show code and feedback, a failure a Retry
button. The status indicator is always cleared by `close()`.
"""

from __future__ import annotations

import csv
import hashlib
import io
import logging
from collections.abc import Awaitable, Mapping, Sequence

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot import messages
from bot.events import (
    CodeFinished,
    CodeReady,
    CodeStarted,
    EngineEvent,
    ProducedFile,
    Step,
    TextDelta,
)
from bot.markdown import (
    LinkHolder,
    Paginator,
    Table,
    TableCutter,
    defuse,
    first_meaningful_line,
    hide_links,
    linked_paths,
    log_summary,
    rewrite_links,
)
from bot.slack_blocks import (
    Block,
    answer_controls,
    cancel_message,
    fits_table,
    retry_controls,
    table,
)
from bot.slack_message import MessageWriter
from bot.turns import ThreadKey

logger = logging.getLogger(__name__)
MAX_BLOCKS_PER_PAGE = 40  # of Slack's 50, leaving room for steps and controls


def _shown(raw: str) -> str:
    return defuse(hide_links(raw))


class SlackRenderer:
    """Renders one turn into one Slack thread."""

    def __init__(
        self,
        client: AsyncWebClient,
        *,
        key: ThreadKey,
        user_id: str,
        turn_id: int,
        native_stream: bool = True,
        interval: float = 1.0,
        soft_limit: int = 9_000,
        hard_limit: int = 11_000,
    ) -> None:
        self._client = client
        self._key = key
        self._user_id = user_id
        self._turn_id = turn_id
        self._native = native_stream
        self._interval = interval
        self._limits = (soft_limit, hard_limit)
        self._status = ""
        self._cancel_ts: str | None = None
        self._table_files: list[ProducedFile] = []
        self._titles: dict[str, str] = {}
        self._reset()

    def _reset(self) -> None:
        self._holder = LinkHolder()
        self._tables = TableCutter()
        soft, hard = self._limits
        self._pages = Paginator(soft=soft, hard=hard, marker=messages.CONTINUED)
        self._writers: list[MessageWriter] = []

    @property
    def reply_ts(self) -> str | None:
        return next((w.ts for w in self._writers if w.ts), None)

    @property
    def has_output(self) -> bool:
        return any(w.text for w in self._writers)

    # Progress --------------------------------------------------------------------------

    async def status(self, text: str, loading: Sequence[str] = ()) -> None:
        if text == self._status:
            return
        self._status = text
        try:
            await self._client.assistant_threads_setStatus(
                channel_id=self._key.channel_id,
                thread_ts=self._key.thread_ts,
                status=text,
                loading_messages=[*loading, *messages.LOADING_MESSAGES] if text else None,
            )
        except SlackApiError as error:  # a missing status must not fail the answer
            logger.warning("setStatus failed in %s: %s", self._key, error.response.get("error"))

    async def step(self, step: Step) -> None:
        await self._tracked(self._writer(), self._writer().step(step))

    async def show(self, event: EngineEvent) -> None:
        if isinstance(event, TextDelta):
            await self._text(self._holder.feed(event.text))
        elif isinstance(event, CodeStarted):
            self._titles[event.run_id] = messages.STEP_PYTHON
            await self.status(messages.STATUS_RUNNING_PYTHON, [messages.STEP_PYTHON + "…"])
            await self.step(Step(event.run_id, messages.STEP_PYTHON, "in_progress"))
            await self._offer_cancel()
        elif isinstance(event, CodeReady):
            title = f"{messages.STEP_PYTHON}: {first_meaningful_line(event.code)}"
            self._titles[event.run_id] = title
            await self.step(Step(event.run_id, title, "in_progress"))
        elif isinstance(event, CodeFinished):
            title = self._titles.get(event.run_id) or (
                f"{messages.STEP_PYTHON}: {first_meaningful_line(event.code)}"
            )
            await self.step(
                Step(
                    event.run_id,
                    title,
                    "complete" if event.ok else "error",
                    log_summary(event.logs),
                )
            )

    async def queued(self) -> None:
        """Tell the asker their question waits behind the one being answered."""
        await self._ephemeral(messages.QUEUED)

    async def title(self, text: str) -> None:
        """Name the thread (DM threads in the Messages tab) after its first question."""
        try:
            await self._client.assistant_threads_setTitle(
                channel_id=self._key.channel_id,
                thread_ts=self._key.thread_ts,
                title=" ".join(text.split())[:100] or "Analysis",
            )
        except SlackApiError as error:
            logger.info("setTitle failed in %s: %s", self._key, error.response.get("error"))

    # The answer ------------------------------------------------------------------------

    async def end_text(
        self, note: str | None = None, *, show_code: bool = False, controls: bool = True
    ) -> None:
        """The answer's text is complete: write what is held back, end the messages, and put
        the answer's controls (Show code, feedback) under the last one."""
        blocks = answer_controls(self._turn_id, show_code=show_code) if controls else []
        await self._finish(note, blocks)

    async def _finish(self, note: str | None, controls: Sequence[Block]) -> None:
        await self._text(self._holder.flush(), final=True)
        if note:
            await self._text(("\n\n" if self.has_output else "") + note, final=True)
        for writer in self._writers[:-1]:
            await self._tracked(writer, writer.close())
        if self._writers:
            last = self._writers[-1]
            await self._tracked(last, last.close(controls=controls))

    async def post_files(self, files: Sequence[ProducedFile]) -> dict[str, str]:
        """Upload files (and tables too big for a block) into the thread in one message;
        returns container path → permalink."""
        files = [*files, *self._table_files]
        if not files:
            return {}
        response = await self._client.files_upload_v2(
            channel=self._key.channel_id,
            thread_ts=self._key.thread_ts,
            file_uploads=[
                {"content": f.data, "filename": f.name, "title": messages.file_title(f.name)}
                for f in files
            ],
        )
        self._replied()
        posted = {info.get("name"): info for info in response.get("files") or []}
        return {
            f.path: str(posted[f.name].get("permalink") or posted[f.name].get("url_private"))
            for f in files
            if f.name in posted
        }

    async def relink(self, links: Mapping[str, str]) -> None:
        """Point the posted text's sandbox links at the uploaded files."""

        def linked(raw: str) -> str:
            return defuse(rewrite_links(raw, links, missing=messages.FILE_MISSING_NOTE))

        for writer in self._writers:
            if linked_paths(writer.text):
                await writer.redisplay(linked)

    async def error(self, text: str, *, retry: bool = False) -> None:
        """Tell the user what went wrong, after whatever text was already shown."""
        for writer in self._writers:
            await writer.fail_open_steps()
        if self._writers:
            await self._finish(None, ())  # no feedback controls on a failed answer
        blocks = retry_controls(self._turn_id) if retry else None
        await self._client.chat_postMessage(
            channel=self._key.channel_id,
            thread_ts=self._key.thread_ts,
            markdown_text=None if blocks else text,
            blocks=[{"type": "markdown", "text": text}, *blocks] if blocks else None,
            text=text[:3000] if blocks else None,
            unfurl_links=False,
            unfurl_media=False,
        )
        self._replied()

    async def restart(self, note: str) -> None:
        """Start the answer over (e.g. on a fresh container), noting why if text was shown."""
        if self.has_output:
            await self.end_text(note)
        self._reset()

    async def close(self) -> None:
        """End any open message, remove the Cancel control, clear the status indicator."""
        for writer in self._writers:
            try:
                await self._tracked(writer, writer.close())
            except SlackApiError as error:
                logger.warning(
                    "closing a message in %s failed: %s", self._key, error.response.get("error")
                )
        if self._cancel_ts is not None:
            try:
                await self._client.chat_delete(channel=self._key.channel_id, ts=self._cancel_ts)
            except SlackApiError as error:
                logger.info("removing the Cancel control failed: %s", error.response.get("error"))
            self._cancel_ts = None
        await self.status("")  # a no-op when a reply since the last status already cleared it

    async def notify(self, user_id: str, text: str) -> None:
        await self._ephemeral(text, user_id=user_id)

    async def post_code(self, name: str, code: str) -> None:
        await self._client.files_upload_v2(
            channel=self._key.channel_id,
            thread_ts=self._key.thread_ts,
            content=code,
            filename=name,
            title=messages.CODE_SNIPPET_TITLE,
            snippet_type="python",
        )

    # Internals -------------------------------------------------------------------------

    async def _offer_cancel(self) -> None:
        if self._cancel_ts is not None:
            return
        response = await self._client.chat_postMessage(
            channel=self._key.channel_id,
            thread_ts=self._key.thread_ts,
            text=messages.CANCEL_HINT,
            blocks=cancel_message(self._turn_id, messages.CANCEL_HINT),
        )
        self._cancel_ts = response["ts"]

    async def _ephemeral(self, text: str, *, user_id: str | None = None) -> None:
        try:
            await self._client.chat_postEphemeral(
                channel=self._key.channel_id,
                user=user_id or self._user_id,
                text=text,
                thread_ts=self._key.thread_ts,
            )
        except SlackApiError as error:
            logger.info(
                "ephemeral message failed in %s: %s", self._key, error.response.get("error")
            )

    def _replied(self) -> None:
        # Slack clears the thread's status when the app replies in it.
        self._status = ""

    async def _tracked(self, writer: MessageWriter, write: Awaitable[None]) -> None:
        """Run a write; note it when it posted the writer's message (a reply)."""
        before = writer.ts
        await write
        if before is None and writer.ts is not None:
            self._replied()

    def _writer(self, *, new_page: bool = False) -> MessageWriter:
        if new_page or not self._writers:
            self._writers.append(
                MessageWriter(
                    self._client,
                    channel=self._key.channel_id,
                    thread_ts=self._key.thread_ts,
                    recipient_user_id=self._user_id,
                    recipient_team_id=self._key.team_id,
                    display=_shown,
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
        for piece in self._pages.feed(text):
            if piece.new_page and self._writers:
                await self._tracked(self._writers[-1], self._writers[-1].close())
            writer = self._writer(new_page=piece.new_page)
            update = writer.append(piece.text)
            await (update if writer.ts else self._tracked(writer, update))

    async def _table(self, found: Table) -> None:
        rows = [[_shown(cell) for cell in row] for row in found.rows]
        if not fits_table(rows):
            name = f"table-{len(self._table_files) + 1}.csv"
            self._table_files.append(_csv_file(name, found.rows))
            await self._paged(
                messages.TABLE_AS_FILE.format(
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
    csv.writer(buffer).writerows(rows)
    data = buffer.getvalue().encode()
    return ProducedFile(
        name=name,
        path=f"table:{name}",
        data=data,
        sha256=hashlib.sha256(data).hexdigest(),
        container_file_id="",
    )
