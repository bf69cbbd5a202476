"""The fake Slack's "CDN": a second host that serves file bytes from presigned URLs.

Real ``files.slack.com`` answers an authorised GET of a file URL with a redirect to a presigned
URL on another host (2026 reports: goclaw#233, openclaw#1978/#14847/#63523; reference "Update
2026-12"). The fake does the same when ``slack.cdn_redirects`` is on (the default): the files host
(``127.0.0.1:<port>``) checks the bot token and answers ``302`` with ``Location:
http://localhost:<cdn port>/files/<id>/<name>?Expires=<unix>&Signature=<hmac>`` (plus a signed
``response-content-disposition=attachment`` for ``url_private_download``), valid ``url_ttl``
seconds. The CDN needs no token; it checks the HMAC (over path, expiry and disposition, with a
secret of the fake) and answers a bad or expired signature with ``403`` and an S3-style
``AccessDenied`` XML body. It records every request, Authorization header included
(``slack.cdn_requests``), so a test can assert the bot token never left Slack's hosts.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import quote

from aiohttp import web

from tests.fakes.slack_file_record import FileRecord
from tests.fakes.slack_files import file_response

URL_TTL = 300.0
HOST_NAME = "localhost"  # a different host name from the files host (127.0.0.1)


@dataclass
class CdnRequest:
    """One GET on the CDN host."""

    path: str
    query: str
    authorization: str | None
    status: int
    file_id: str | None
    served: str  # "file", "denied" (403) or "not_found"
    time: float


def _error_xml(code: str, message: str) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{message}</Message>"
        f"<RequestId>{secrets.token_hex(8).upper()}</RequestId>"
        f"<HostId>{secrets.token_urlsafe(32)}</HostId></Error>"
    )


class Cdn:
    """The CDN host: presigns URLs for the files host and serves them on its own port."""

    def __init__(self, find_file: Callable[[str], FileRecord | None]) -> None:
        self._find_file = find_file
        self.url_ttl = URL_TTL
        self.requests: list[CdnRequest] = []
        self._secret = secrets.token_bytes(32)
        self._runner: web.AppRunner | None = None
        self._port = 0

    async def start(self, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> None:
        app = web.Application()
        app.router.add_get("/files/{file_id}/{name}", handler)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self._port = self._runner.addresses[0][1]

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def host(self) -> str:
        """``localhost:<port>``, as the bot's settings name an allowed redirect host."""
        return f"{HOST_NAME}:{self._port}"

    def _signature(self, path: str, expires: int, disposition: str) -> str:
        message = f"{path}\n{expires}\n{disposition}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()

    def presign(
        self, record: FileRecord, disposition: str = "inline", *, expires_in: float | None = None
    ) -> str:
        """A presigned URL for ``record``, valid ``expires_in`` seconds (default ``url_ttl``)."""
        expires = int(time.time() + (self.url_ttl if expires_in is None else expires_in))
        path = f"/files/{record.id}/{record.name}"
        query = f"Expires={expires}&Signature={self._signature(path, expires, disposition)}"
        if disposition != "inline":
            query += f"&response-content-disposition={disposition}"
        return f"http://{self.host}/files/{record.id}/{quote(record.name, safe='')}?{query}"

    def _denial(self, request: web.Request) -> str | None:
        """Why the presigned URL is refused, or None when it is valid."""
        disposition = request.query.get("response-content-disposition", "inline")
        try:
            expires = int(request.query["Expires"])
            signature = request.query["Signature"]
        except (KeyError, ValueError):
            return "Query-string authentication requires the Signature and Expires parameters"
        expected = self._signature(request.path, expires, disposition)
        if not hmac.compare_digest(signature, expected):
            return "The request signature we calculated does not match the signature you provided"
        if time.time() > expires:
            return "Request has expired"
        return None

    def _record(self, request: web.Request, status: int, file_id: str | None, served: str) -> None:
        self.requests.append(
            CdnRequest(
                request.path,
                request.query_string,
                request.headers.get("Authorization"),
                status,
                file_id,
                served,
                time.monotonic(),
            )
        )

    def serve(self, request: web.Request) -> web.StreamResponse:
        file_id = request.match_info["file_id"]
        denial = self._denial(request)
        if denial is not None:
            self._record(request, 403, file_id, "denied")
            body = _error_xml("AccessDenied", denial)
            return web.Response(status=403, text=body, content_type="application/xml")
        record = self._find_file(file_id)
        if (
            record is None
            or not record.uploaded
            or record.deleted
            or record.name != request.match_info["name"]
        ):
            self._record(request, 404, file_id, "not_found")
            body = _error_xml("NoSuchKey", "The specified key does not exist.")
            return web.Response(status=404, text=body, content_type="application/xml")
        self._record(request, 200, record.id, "file")
        disposition = request.query.get("response-content-disposition", "inline")
        return file_response(record, disposition)
