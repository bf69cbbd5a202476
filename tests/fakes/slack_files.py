"""Files in the fake Slack: files.info, the three-step upload (files.getUploadURLExternal → raw
POST to the upload URL → files.completeUploadExternal), and file hosting at ``url_private*``.

Hosting reproduces Slack's trap: without ``Authorization: Bearer <bot token>`` (or without the
files:read scope) a file URL answers **HTTP 200 with an HTML login page**, not an error status.
With the token it answers the bytes, or (``slack.cdn_redirects``) a 302 to the CDN (``slack_cdn``).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from typing import Any

from aiohttp import BodyPartReader, web

from tests.fakes.slack_block_limits import check_message_blocks
from tests.fakes.slack_file_record import FileRecord, Share, guess_filetype
from tests.fakes.slack_methods import SlackError, arg_int, arg_json, arg_list, arg_str
from tests.fakes.slack_objects import Message
from tests.fakes.slack_state import Download, Workspace

MAX_UPLOAD = 1024**3  # Slack's per-file limit: 1 GB
MAX_ALT_TXT = 1000
_UPLOAD_FILE_KEYS = frozenset({"id", "title", "highlight_type"})

LOGIN_PAGE = """<!DOCTYPE html>
<html lang="en-US" class="supports_custom_scrollbar">
<head><meta charset="utf-8"><title>Slack</title>
<meta name="referrer" content="no-referrer"></head>
<body class="signin">
<div id="page"><div id="page_contents">
<h1>Sign in to Fake Workspace</h1>
<p>This browser is no longer supported. Sign in to continue to <b>fake-workspace.slack.com</b>.</p>
<form id="signin_form" action="/" method="post"><input type="email" name="email">
<input type="password" name="password"><button type="submit">Sign in</button></form>
</div></div></body></html>
"""


def files_info(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    record = ws.files.get(arg_str(args, "file") or "")
    if record is None or not record.completed:
        raise SlackError("file_not_found")
    if record.deleted:
        raise SlackError("file_deleted")
    return {"file": record.to_api(), "comments": [], "response_metadata": {"next_cursor": ""}}


def get_upload_url(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    filename = arg_str(args, "filename") or ""
    length = arg_int(args, "length") or 0
    if length < 0:
        raise SlackError("invalid_arguments", "[ERROR] length must be a positive integer")
    if length > MAX_UPLOAD:
        raise SlackError("file_upload_size_restricted")
    alt_txt = arg_str(args, "alt_txt")
    if alt_txt is not None and len(alt_txt) > MAX_ALT_TXT:
        raise SlackError("alt_txt_too_large")
    filetype, mimetype, pretty = guess_filetype(filename)
    record = FileRecord(
        id=ws.new_id("F"),
        name=filename,
        title=filename,
        filetype=filetype,
        mimetype=mimetype,
        pretty_type=pretty,
        user=ws.bot_user_id,
        team_id=ws.team_id,
        root_url=ws.root_url,
        alt_txt=alt_txt,
        expected_length=length,
        uploaded=False,
        completed=False,
    )
    upload_id = secrets.token_urlsafe(16)
    ws.files[record.id] = record
    ws.uploads[upload_id] = record.id
    return {"upload_url": f"{ws.root_url}upload/v1/{upload_id}", "file_id": record.id}


def _pending_files(ws: Workspace, args: dict[str, Any]) -> list[tuple[FileRecord, dict[str, Any]]]:
    items = arg_list(args, "files")
    if not items:
        raise SlackError("invalid_arguments", "[ERROR] files must be a non-empty array")
    pending = []
    for i, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(item.get("id"), str):
            raise SlackError("invalid_arguments", f"[ERROR] files[{i}] needs an id")
        if set(item) - _UPLOAD_FILE_KEYS:
            raise SlackError(
                "invalid_arguments",
                f"[ERROR] files[{i}]: unknown keys {sorted(set(item) - _UPLOAD_FILE_KEYS)}",
            )
        record = ws.files.get(item["id"])
        if record is None or not record.uploaded:
            raise SlackError(
                "file_not_found", f"[ERROR] {item['id']} was never uploaded to its upload URL"
            )
        if record.completed:
            raise SlackError("invalid_arguments", f"[ERROR] {item['id']} is already complete")
        pending.append((record, item))
    return pending


def _target_channels(ws: Workspace, args: dict[str, Any]) -> list[str]:
    channel_id = arg_str(args, "channel_id")
    channels = arg_str(args, "channels")
    targets = [channel_id] if channel_id else [c for c in (channels or "").split(",") if c]
    thread_ts = arg_str(args, "thread_ts")
    if thread_ts and len(targets) != 1:
        raise SlackError("invalid_arguments", "[ERROR] thread_ts needs exactly one channel")
    for target in targets:
        channel = ws.member_channel(target)
        if thread_ts:
            ws.thread_root(channel.id, thread_ts, "thread_not_found")
    return targets


def complete_upload(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    pending = _pending_files(ws, args)
    blocks = arg_json(args, "blocks", error="invalid_blocks_format")
    if blocks:
        if any(isinstance(b, dict) and b.get("type") == "markdown" for b in blocks):
            raise SlackError("internal_error")  # real Slack bug: python-slack-sdk#1756
        check_message_blocks(blocks)
    targets = _target_channels(ws, args)
    thread_ts = arg_str(args, "thread_ts")
    comment = arg_str(args, "initial_comment")
    records = []
    for record, item in pending:
        record.completed = True
        record.title = item.get("title") or record.name
        records.append(record)
    for target in targets:
        message = Message(
            channel=target,
            ts=ws.next_ts(),
            user=ws.bot_user_id,
            bot_id=ws.bot_id,
            text=comment or "",
            blocks=None if comment else blocks or None,
            files=list(records),
            thread_ts=thread_ts or None,
            subtype="file_share",
            team=ws.team_id,
        )
        ws.add_message(message, source="files.completeUploadExternal")
        for record in records:
            record.shares.append(
                Share(target, message.ts, thread_ts, ws.channels[target].is_private)
            )
    return {"files": [record.to_api() for record in records]}


# --- raw HTTP routes ----------------------------------------------------------------------------


async def _read_upload(request: web.Request, limit: int) -> tuple[bytes, int]:
    """The uploaded bytes: the raw body as slack_sdk sends it, or the first multipart part as
    ``curl -F file=@…`` sends it. Keeps at most ``limit`` bytes but counts them all."""
    data, total = bytearray(), 0

    def keep(chunk: bytes) -> None:
        nonlocal total
        total += len(chunk)
        if len(data) < limit:
            data.extend(chunk[: limit - len(data)])

    if request.content_type.startswith("multipart/"):
        part = await (await request.multipart()).next()
        if isinstance(part, BodyPartReader):
            while chunk := await part.read_chunk():
                keep(chunk)
    else:
        async for chunk in request.content.iter_chunked(1 << 16):
            keep(chunk)
    return bytes(data), total


async def receive_upload(ws: Workspace, request: web.Request) -> web.Response:
    file_id = ws.uploads.get(request.match_info["upload_id"])
    if file_id is None:
        return web.Response(status=404, text="Not Found")
    record = ws.files[file_id]
    expected = record.expected_length or 0
    data, total = await _read_upload(request, expected)
    if total != expected:
        return web.Response(
            status=400, text=f"Upload failed: expected {expected} bytes, got {total}"
        )
    record.content, record.uploaded = data, True
    return web.Response(text=f"OK - {total}")


def _record(
    ws: Workspace, request: web.Request, file_id: str | None, status: int, kind: str, served: str
) -> None:
    auth = request.headers.get("Authorization")
    ws.downloads.append(
        Download(file_id, request.path, auth, status, kind, served, time.monotonic())
    )


def file_response(record: FileRecord, disposition: str) -> web.StreamResponse:
    """The bytes of ``record`` (streamed from its path, or from memory) with its headers."""
    headers = {
        "Content-Type": record.mimetype,
        "Content-Disposition": f'{disposition}; filename="{record.name}"',
    }
    if record.path is not None:
        return web.FileResponse(record.path, headers=headers)
    return web.Response(body=record.content or b"", headers=headers)


def serve_file(
    ws: Workspace, request: web.Request, redirect: Callable[[FileRecord, str], str] | None = None
) -> web.StreamResponse:
    """A GET of a file URL on the files host; ``redirect`` (record, disposition) → presigned CDN
    URL makes an authorised GET answer ``302`` there instead of the bytes."""
    file_id = request.match_info["team_file"].rsplit("-", 1)[-1]
    record = ws.files.get(file_id)
    authorized = request.headers.get("Authorization") == f"Bearer {ws.bot_token}"
    if not authorized or ws.faults.html_downloads or file_id in ws.faults.html_files:
        _record(ws, request, record.id if record else None, 200, "text/html", "login_page")
        return web.Response(text=LOGIN_PAGE, content_type="text/html", charset="utf-8")
    if (
        record is None
        or not record.uploaded
        or record.deleted
        or record.name != request.match_info["name"]
    ):
        _record(ws, request, file_id, 404, "text/html", "not_found")
        return web.Response(
            status=404, text="<html><body>File not found</body></html>", content_type="text/html"
        )
    disposition = "attachment" if "/download/" in request.path else "inline"
    if redirect is not None:
        _record(ws, request, record.id, 302, "", "redirect")
        return web.Response(status=302, headers={"Location": redirect(record, disposition)})
    _record(ws, request, record.id, 200, record.mimetype, "file")
    return file_response(record, disposition)
