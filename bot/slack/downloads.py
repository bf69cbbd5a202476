"""Shared files: download from Slack (token only to allowed hosts), relay to the model side.

Memory stays bounded whatever the file size: the download is streamed in chunks into a
spooled temporary file (in memory up to 1 MiB, then on disk) while it is hashed, and the
upload reads from that file. The token sent is the one of the workspace the file was shared
in (`team_id`): each installed workspace has its own.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import tempfile
from collections.abc import Awaitable, Callable
from typing import IO, Protocol
from urllib.parse import urljoin, urlsplit

import aiohttp

from bot.core.files import RelayedFile, Uploader, check, safe_name
from bot.core.turns import SlackFile
from bot.errors import EmptyFile, FileNotDownloadable, FileTooLarge
from bot.settings import Secret, is_loopback

logger = logging.getLogger(__name__)

_CHUNK = 256 * 1024
_SPOOL_BYTES = 1024 * 1024
_MAX_REDIRECTS = 3

Tokens = Callable[[str], Awaitable[Secret]]
"""The bot token of a workspace (by team id)."""


class Resolver(Protocol):
    """The full file object of a stub, as the workspace sees it (`files.info`)."""

    async def __call__(self, file: SlackFile, *, team_id: str) -> SlackFile: ...


class FileRelay:
    """Moves one Slack file into OpenAI without holding it in memory."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        tokens: Tokens,
        allowed_hosts: tuple[str, ...],
        redirect_hosts: tuple[str, ...] = (),
        max_bytes: int,
        uploader: Uploader,
        resolve: Resolver,
    ) -> None:
        self._session = session
        self._tokens = tokens
        self._allowed = tuple(h.lower() for h in allowed_hosts)
        self._redirects = tuple(h.lower() for h in redirect_hosts)
        self._max_bytes = max_bytes
        self._uploader = uploader
        self._resolve = resolve

    async def complete(self, file: SlackFile, *, team_id: str) -> SlackFile:
        """The full file object (Slack Connect stubs are resolved with `files.info`)."""
        return await self._resolve(file, team_id=team_id) if file.is_stub else file

    async def relay(self, file: SlackFile, *, team_id: str) -> RelayedFile:
        """Download `file` from Slack and upload it to OpenAI; return what was stored."""
        kind = check(file, max_bytes=self._max_bytes)
        with tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES) as spool:
            size, digest = await self._download(file, spool, team_id=team_id)
            spool.seek(0)
            file_id = await self._uploader.upload(
                name=safe_name(file.name), data=spool, mimetype=file.mimetype
            )
        logger.info("relayed Slack file %s (%d bytes) as %s", file.id, size, file_id)
        return RelayedFile(file, kind, size, digest, file_id)

    async def fetch(self, file: SlackFile, sink: IO[bytes], *, limit: int, team_id: str) -> int:
        """Download at most `limit` bytes of `file` into `sink` (for a local look at it);
        returns how many were written. Same host rules and HTML check as `relay`."""
        size, _digest = await self._download(file, sink, limit=limit, team_id=team_id)
        return size

    def allowed(self, url: str) -> bool:
        """The bot token may go to this URL: https on an allowed host (http only on loopback)."""
        return _matches(url, self._allowed)

    def redirect_allowed(self, url: str) -> bool:
        """A download may be redirected here and followed without the token (a presigned
        CDN URL): https on a redirect host (`*.example.com` matches its subdomains)."""
        return _matches(url, self._redirects)

    async def _download(
        self, file: SlackFile, sink: IO[bytes], *, team_id: str, limit: int | None = None
    ) -> tuple[int, str]:
        """GET the file: the token only to Slack's file hosts; a redirect to its CDN is
        followed without it; any other host is refused (and never contacted)."""
        url = file.download_url or ""
        for hop in range(_MAX_REDIRECTS + 1):
            if self.allowed(url):
                token = await self._tokens(team_id)
                headers = {"Authorization": f"Bearer {token.reveal()}"}
            elif hop and self.redirect_allowed(url):
                headers = {}
            else:
                logger.warning(
                    "refused to download %s from %s", file.id, urlsplit(url).netloc or "nowhere"
                )
                raise FileNotDownloadable("download host not allowed", name=file.name)
            async with self._session.get(url, headers=headers, allow_redirects=False) as resp:
                if resp.status in (301, 302, 303, 307, 308) and "Location" in resp.headers:
                    url = urljoin(url, resp.headers["Location"])
                    continue
                return await self._save(file, resp, sink, limit=limit)
        raise FileNotDownloadable("too many redirects", name=file.name)

    async def _save(
        self,
        file: SlackFile,
        resp: aiohttp.ClientResponse,
        sink: IO[bytes],
        *,
        limit: int | None,
    ) -> tuple[int, str]:
        """Stream the body into `sink`; past `limit` stop quietly, past the cap fail."""
        if resp.status != 200 or resp.content_type == "text/html":
            # Slack answers 200 with a login page when the token lacks files:read or access.
            raise FileNotDownloadable(f"HTTP {resp.status} {resp.content_type}", name=file.name)
        digest, size, pending = hashlib.sha256(), 0, bytearray()
        async for chunk in resp.content.iter_chunked(_CHUNK):
            if size == 0 and _looks_like_html(chunk):
                raise FileNotDownloadable("HTML body", name=file.name)
            if limit is not None and size + len(chunk) >= limit:
                pending += chunk[: limit - size]
                size = limit
                break
            size += len(chunk)
            if size > self._max_bytes:
                raise FileTooLarge(
                    f"over {self._max_bytes} bytes while downloading",
                    name=file.name,
                    size_mb=f"over {self._max_bytes // 2**20}",
                    limit_mb=self._max_bytes // 2**20,
                )
            pending += chunk
            if len(pending) >= _SPOOL_BYTES:
                await asyncio.to_thread(_write, sink, digest, bytes(pending))
                pending.clear()
        await asyncio.to_thread(_write, sink, digest, bytes(pending))
        if size == 0:
            raise EmptyFile("zero bytes", name=file.name)
        return size, digest.hexdigest()


def _write(sink: IO[bytes], digest: hashlib._Hash, data: bytes) -> None:
    digest.update(data)
    sink.write(data)


def _looks_like_html(head: bytes) -> bool:
    start = head[:512].lstrip().lower()
    return start.startswith((b"<!doctype html", b"<html"))


def _matches(url: str, hosts: tuple[str, ...]) -> bool:
    parts = urlsplit(url)
    host, netloc = (parts.hostname or "").lower(), parts.netloc.lower()
    listed = any(
        entry in (host, netloc) or (entry.startswith("*.") and host.endswith(entry[1:]))
        for entry in hosts
    )
    return listed and (parts.scheme == "https" or (parts.scheme == "http" and is_loopback(netloc)))
