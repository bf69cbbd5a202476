"""The request pipeline in front of every handler: record, check against the spec, inject
faults, render errors in the real shape.

Multipart bodies are parsed here, streaming each file part to a temp file (1 MiB chunks,
sha256 on the fly) so a 200 MB upload never sits in memory; handlers adopt the temp file.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import BodyPartReader, web
from multidict import CIMultiDict

from tests.fakes.openai_faults import DropConnection, Faults
from tests.fakes.openai_latency import Latency
from tests.fakes.openai_models import check_key
from tests.fakes.openai_spec import OpenAPISpec
from tests.fakes.openai_state import ApiError, Clock

logger = logging.getLogger(__name__)
API_PREFIX = "/v1"
_CHUNK = 1 << 20
_LEGACY_PREFIXES = ("/assistants", "/threads")
Handler = Callable[[web.Request], Any]


@dataclass(frozen=True)
class Upload:
    """A multipart file part, streamed to ``path`` (adopted by the handler or deleted)."""

    field: str
    filename: str
    content_type: str
    path: Path
    size: int
    sha256: str

    def summary(self) -> dict[str, Any]:
        return {
            "filename": self.filename,
            "content_type": self.content_type,
            "size": self.size,
            "sha256": self.sha256,
        }


@dataclass
class Recorded:
    """One request as the fake received it."""

    method: str
    path: str
    """Without the ``/v1`` prefix, e.g. ``/containers/cntr_…/files``."""
    query: dict[str, str | list[str]]
    """Names as sent (``include[]``); a list when a name repeats."""
    json: Any
    """The parsed JSON body, or None."""
    multipart: dict[str, Any] | None
    """Form fields; file parts as ``{"filename", "content_type", "size", "sha256"}``."""
    headers: CIMultiDict[str]
    time: float
    """The fake clock's time when the request arrived."""
    received: float = field(default_factory=time.monotonic)
    """`time.monotonic()` when the request arrived (before any latency; for benchmarks)."""
    status: int | None = None
    """The HTTP status answered (None while in flight or when the connection was dropped)."""
    spec_errors: list[str] = field(default_factory=list)


@dataclass
class Incoming:
    """What the pipeline parsed from a request, for the handlers."""

    recorded: Recorded
    raw: bytes = b""
    form: dict[str, Any] | None = None
    uploads: dict[str, Upload] = field(default_factory=dict)

    @property
    def json(self) -> Any:
        return self.recorded.json


INCOMING = web.RequestKey("fake_openai_incoming", Incoming)


def incoming(request: web.Request) -> Incoming:
    return request[INCOMING]


def error_response(error: ApiError) -> web.Response:
    return web.json_response(error.body(), status=error.status, headers=error.headers)


async def read_multipart(
    request: web.Request, folder: Path
) -> tuple[dict[str, Any], dict[str, Upload]]:
    """Form fields (repeated names -> lists) and streamed file parts of a multipart body."""
    fields: dict[str, Any] = {}
    uploads: dict[str, Upload] = {}
    reader = await request.multipart()
    async for part in reader:
        if not isinstance(part, BodyPartReader) or part.name is None:
            continue
        if part.filename is None:
            value = await part.text()
            previous = fields.get(part.name)
            if previous is None:
                fields[part.name] = value
            elif isinstance(previous, list):
                previous.append(value)
            else:
                fields[part.name] = [previous, value]
            continue
        target = folder / f"upload-{secrets.token_hex(8)}"
        digest, size = hashlib.sha256(), 0
        sink = await asyncio.to_thread(target.open, "wb")
        try:
            while chunk := await part.read_chunk(_CHUNK):
                digest.update(chunk)
                size += len(chunk)
                sink.write(chunk)
        finally:
            sink.close()
        content_type = part.headers.get("Content-Type", "application/octet-stream")
        upload = Upload(part.name, part.filename, content_type, target, size, digest.hexdigest())
        uploads[part.name] = upload
        fields[part.name] = upload
    return fields, uploads


class Gateway:
    """aiohttp middleware: the pipeline every request goes through."""

    def __init__(
        self,
        *,
        clock: Clock,
        faults: Faults,
        spec: Callable[[], OpenAPISpec | None],
        notify: Callable[[], None],
        upload_dir: Path,
        latency: Callable[[], Latency] = Latency,
        keys: Callable[[], set[str] | None] = lambda: None,
    ) -> None:
        self.keys = keys
        self.clock = clock
        self.faults = faults
        self.latency = latency
        self.spec = spec
        self.notify = notify
        self.requests: list[Recorded] = []
        self.spec_violations: list[str] = []
        self.unhandled: list[str] = []
        """Requests the fake could not serve: unimplemented endpoints, crashes of the fake."""
        self.upload_dir = upload_dir
        upload_dir.mkdir(parents=True, exist_ok=True)

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        recorded: Recorded | None = None
        uploads: dict[str, Upload] = {}
        try:
            recorded, uploads = await self._record(request)
            return await self._dispatch(request, handler, recorded)
        except ApiError as error:
            if recorded is not None:
                recorded.status = error.status
            return error_response(error)
        except (asyncio.CancelledError, ConnectionError, web.HTTPException):
            raise
        except Exception as error:  # a bug in the fake: answer 500 and make the test fail
            logger.exception("FakeOpenAI failed on %s %s", request.method, request.path)
            self.unhandled.append(f"{request.method} {request.path}: fake crashed: {error!r}")
            message = f"FakeOpenAI crashed: {error!r}"
            return error_response(ApiError(500, message, type="server_error", code="fake_crash"))
        finally:
            for upload in uploads.values():
                upload.path.unlink(missing_ok=True)
            self.notify()

    async def _record(self, request: web.Request) -> tuple[Recorded, dict[str, Upload]]:
        path = request.path.removeprefix(API_PREFIX) if request.path.startswith(API_PREFIX) else ""
        query: dict[str, str | list[str]] = {}
        for name in request.query:
            values = request.query.getall(name)
            query[name] = values[0] if len(values) == 1 else values
        recorded = Recorded(
            method=request.method,
            path=path or request.path,
            query=query,
            json=None,
            multipart=None,
            headers=CIMultiDict(request.headers),
            time=self.clock.now(),
        )
        self.requests.append(recorded)
        parsed = Incoming(recorded)
        request[INCOMING] = parsed
        if request.content_type == "multipart/form-data":
            parsed.form, parsed.uploads = await read_multipart(request, self.upload_dir)
            recorded.multipart = {
                name: value.summary() if isinstance(value, Upload) else value
                for name, value in parsed.form.items()
            }
        elif request.can_read_body:
            parsed.raw = await request.read()
            if parsed.raw and request.content_type in ("application/json", "text/plain", ""):
                try:
                    recorded.json = json.loads(parsed.raw)
                except ValueError as error:
                    raise ApiError(
                        400,
                        "We could not parse the JSON body of your request. (HINT: This likely "
                        "means you aren't using your HTTP library correctly.)",
                    ) from error
        return recorded, parsed.uploads

    async def _dispatch(
        self, request: web.Request, handler: Handler, recorded: Recorded
    ) -> web.StreamResponse:
        path = recorded.path
        check_key(request.headers.get("Authorization"), self.keys)
        if not request.path.startswith(API_PREFIX + "/") or path.startswith(_LEGACY_PREFIXES):
            # The sunset Assistants API (/assistants, /threads…) answers 404 like any unknown URL.
            raise ApiError(404, f"Invalid URL ({request.method} {request.path})")
        spec = self.spec()
        if spec is not None:
            errors = spec.request_errors(
                request.method,
                path,
                query=request.query.items(),
                content_type=request.headers.get("Content-Type"),
                body=recorded.json,
                has_body=bool(incoming(request).raw),
                form=incoming(request).form,
            )
            if errors:
                recorded.spec_errors = errors
                self.spec_violations.extend(errors)
                raise ApiError(400, "; ".join(errors), code="spec_violation")
        try:
            await self.faults.apply(request.method, path)
        except DropConnection:
            if request.transport is not None:
                request.transport.abort()
            raise asyncio.CancelledError from None
        await self.latency().wait(request.method, path)
        try:
            response = await handler(request)
        except (web.HTTPNotFound, web.HTTPMethodNotAllowed) as error:
            self.unhandled.append(f"{request.method} {path}")
            message = f"FakeOpenAI does not implement {request.method} {API_PREFIX}{path}"
            raise ApiError(404, message, code="fake_not_implemented") from error
        recorded.status = response.status
        return response  # type: ignore[no-any-return]
