"""Files into a Slack thread, streamed: `files.getUploadURLExternal` → POST the bytes to the
upload URL → `files.completeUploadExternal` (Slack's three-step upload).

slack_sdk's `files_upload_v2` reads every file whole into memory first; this reads each one
in chunks from its (spooled) temporary file, so memory stays bounded whatever the size. A file
that cannot be uploaded is reported by name and the others are still shared.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO, Any

import aiohttp

from bot.core.events import PostedFile
from bot.core.turns import ThreadKey
from bot.slack.client import SLACK_FAILURES, ScheduledSlack, failure_code
from bot.slack.clients import SlackClients
from bot.slack.reads import thread_replies

logger = logging.getLogger(__name__)

CHUNK = 256 * 1024
UPLOAD_ATTEMPTS = 3
RETRY_DELAY_S = 1.0


@dataclass(frozen=True)
class Upload:
    name: str
    title: str
    content: IO[bytes]
    size: int


@dataclass
class Shared:
    """What reached the thread (Slack's file objects) and what did not (names)."""

    files: list[dict[str, Any]] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


class UploadRefused(Exception):
    """The upload URL refused the bytes."""


class SlackUploads:
    def __init__(self, clients: SlackClients, session: aiohttp.ClientSession) -> None:
        self._clients = clients
        self._session = session

    async def share(
        self, key: ThreadKey, uploads: Sequence[Upload], *, reuse_after: str | None = None
    ) -> Shared:
        """Upload each file, then share the ones that made it in one message of the thread.

        `reuse_after` (a takeover: the first message of the attempt that died) — files of the
        same name the bot shared in the thread since then are that attempt's, made by the same
        responses: they are reused, not shared twice."""
        client = self._clients.for_team(key.team_id)
        shared, ready = Shared(), []
        kept = await _shared_since(client, key, reuse_after) if reuse_after else {}
        for upload in uploads:
            if (earlier := kept.get(upload.name)) is not None:
                shared.files.append(earlier)
                continue
            try:
                ticket = await client.files_getUploadURLExternal(
                    filename=upload.name, length=upload.size
                )
                await self._send(str(ticket["upload_url"]), upload)
            except (*SLACK_FAILURES, UploadRefused) as error:
                logger.warning(
                    "uploading %s to %s failed: %s", upload.name, key, failure_code(error)
                )
                shared.failed.append(upload.name)
                continue
            ready.append((upload, {"id": ticket["file_id"], "title": upload.title}))
        if not ready:
            return shared
        try:
            done = await client.files_completeUploadExternal(
                files=[entry for _, entry in ready],
                channel_id=key.channel_id,
                thread_ts=key.thread_ts,
            )
        except SLACK_FAILURES as error:
            logger.warning(
                "sharing %d file(s) in %s failed: %s", len(ready), key, failure_code(error)
            )
            shared.failed += [upload.name for upload, _ in ready]
            return shared
        shared.files += list(done.get("files") or [])
        return shared

    async def _send(self, url: str, upload: Upload) -> None:
        """POST the bytes (no token: the URL is the credential), retrying transient failures."""
        for attempt in range(1, UPLOAD_ATTEMPTS + 1):
            await asyncio.to_thread(upload.content.seek, 0)
            try:
                async with self._session.post(
                    url,
                    data=_chunks(upload.content),
                    headers={
                        "Content-Type": "application/octet-stream",
                        "Content-Length": str(upload.size),
                    },
                ) as response:
                    if response.status == 200:
                        return
                    if response.status < 500 or attempt == UPLOAD_ATTEMPTS:
                        raise UploadRefused(f"HTTP {response.status}")
            except (aiohttp.ClientError, TimeoutError):
                if attempt == UPLOAD_ATTEMPTS:
                    raise
            await asyncio.sleep(RETRY_DELAY_S * attempt)


async def _shared_since(
    client: ScheduledSlack, key: ThreadKey, oldest: str
) -> dict[str, dict[str, Any]]:
    """The files the bot shared in the thread from `oldest` on, by name (none if the thread
    cannot be read: the files are then shared again)."""
    found: dict[str, dict[str, Any]] = {}
    try:
        async for message in thread_replies(client, key, oldest=oldest, inclusive=True):
            if message.get("bot_id"):  # a person's file of the same name is not ours
                for info in message.get("files") or []:
                    found.setdefault(str(info.get("name")), info)
    except SLACK_FAILURES as error:
        logger.warning("reading %s for files already shared: %s", key, failure_code(error))
        return {}
    return found


def posted_file(info: Mapping[str, object]) -> PostedFile:
    """A file object from the upload → where the file is (permalink, file id)."""
    link = str(info.get("permalink") or info.get("url_private"))
    return PostedFile(link, str(info["id"]) if info.get("id") else None)


async def _chunks(content: IO[bytes]) -> AsyncIterator[bytes]:
    while chunk := await asyncio.to_thread(content.read, CHUNK):
        yield chunk
