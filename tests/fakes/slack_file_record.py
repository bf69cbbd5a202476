"""Hosted files in the fake Slack: the record kept per file and its Web API JSON shapes (the full
file object as in ``events/slack-web.file-object-real.json``, and the Slack Connect stub)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

# extension -> (filetype, mimetype, pretty_type), as Slack reports them
FILETYPES: dict[str, tuple[str, str, str]] = {
    "csv": ("csv", "text/csv", "CSV"),
    "tsv": ("tsv", "text/tab-separated-values", "TSV"),
    "txt": ("text", "text/plain", "Plain Text"),
    "json": ("json", "application/json", "JSON"),
    "md": ("markdown", "text/markdown", "Markdown (raw)"),
    "png": ("png", "image/png", "PNG"),
    "jpg": ("jpg", "image/jpeg", "JPEG"),
    "jpeg": ("jpg", "image/jpeg", "JPEG"),
    "gif": ("gif", "image/gif", "GIF"),
    "svg": ("svg", "image/svg+xml", "SVG"),
    "pdf": ("pdf", "application/pdf", "PDF"),
    "xlsx": (
        "xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "Excel Spreadsheet",
    ),
    "parquet": ("binary", "application/octet-stream", "Binary"),
    "zip": ("zip", "application/zip", "Zip"),
}
_UNKNOWN_FILETYPE = ("binary", "application/octet-stream", "Binary")


def guess_filetype(name: str) -> tuple[str, str, str]:
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    return FILETYPES.get(extension, _UNKNOWN_FILETYPE)


def png_size(data: bytes | None) -> tuple[int, int] | None:
    """Width and height from a PNG's IHDR chunk (for the thumb/original_* fields)."""
    if data and data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    return None


@dataclass
class Share:
    channel: str
    ts: str
    thread_ts: str | None
    is_private: bool


@dataclass
class FileRecord:
    """A hosted file: bytes in memory (``content``) or streamed from ``path`` (never loaded)."""

    id: str
    name: str
    title: str
    filetype: str
    mimetype: str
    pretty_type: str
    user: str
    team_id: str
    root_url: str
    content: bytes | None = None
    path: Path | None = None
    alt_txt: str | None = None
    expected_length: int | None = None
    """For upload-v2 files: the ``length`` promised to files.getUploadURLExternal."""
    uploaded: bool = True
    completed: bool = True
    created: int = field(default_factory=lambda: int(time.time()))
    shares: list[Share] = field(default_factory=list)
    deleted: bool = False
    """Someone deleted it: files.info answers ``file_deleted``, its URLs 404, and messages
    that shared it carry a tombstone instead of the file."""

    @property
    def size(self) -> int:
        if self.path is not None:
            return self.path.stat().st_size
        return len(self.content or b"")

    @property
    def url_private(self) -> str:
        # The name is one path segment, percent-encoded (a name may hold '/', '?', '#').
        return f"{self.root_url}files-pri/{self.team_id}-{self.id}/{quote(self.name, safe='')}"

    @property
    def url_private_download(self) -> str:
        return (
            f"{self.root_url}files-pri/{self.team_id}-{self.id}/download/"
            f"{quote(self.name, safe='')}"
        )

    def read_bytes(self) -> bytes:
        if self.path is not None:
            return self.path.read_bytes()
        return self.content or b""

    def to_api(self) -> dict[str, Any]:
        """The full file object (files.info, message ``files[]``, completeUploadExternal);
        a deleted file is a tombstone."""
        if self.deleted:
            return {"id": self.id, "mode": "tombstone"}
        obj: dict[str, Any] = {
            "id": self.id,
            "created": self.created,
            "timestamp": self.created,
            "name": self.name,
            "title": self.title,
            "mimetype": self.mimetype,
            "filetype": self.filetype,
            "pretty_type": self.pretty_type,
            "user": self.user,
            "user_team": self.team_id,
            "editable": False,
            "size": self.size,
            "mode": "hosted",
            "is_external": False,
            "external_type": "",
            "is_public": any(not s.is_private for s in self.shares),
            "public_url_shared": False,
            "display_as_bot": False,
            "username": "",
            "url_private": self.url_private,
            "url_private_download": self.url_private_download,
            "media_display_type": "unknown",
            "permalink": f"{self.root_url}files/{self.user}/{self.id}/{self.name}",
            "permalink_public": f"{self.root_url}slack-files/{self.team_id}-{self.id}-0ce8936320",
            "comments_count": 0,
            "is_starred": False,
            "shares": self._shares_api(),
            "channels": [s.channel for s in self.shares if s.channel[0] == "C"],
            "groups": [s.channel for s in self.shares if s.channel[0] == "G"],
            "ims": [s.channel for s in self.shares if s.channel[0] == "D"],
            "has_more_shares": False,
            "has_rich_preview": False,
            "file_access": "visible",
        }
        if self.alt_txt is not None:
            obj["alt_txt"] = self.alt_txt
        dims = png_size(self.content)
        if dims is not None:
            thumb = f"{self.root_url}files-tmb/{self.team_id}-{self.id}-8d3f9a6d4b/"
            stem = self.name.rsplit(".", 1)[0]
            obj.update({f"thumb_{n}": f"{thumb}{stem}_{n}.png" for n in (64, 80, 160, 360, 480)})
            obj.update({"original_w": dims[0], "original_h": dims[1]})
        return obj

    def _shares_api(self) -> dict[str, Any]:
        shares: dict[str, Any] = {}
        for share in self.shares:
            entry = {
                "ts": share.ts,
                "channel_name": share.channel.lower(),
                "team_id": self.team_id,
                "share_user_id": self.user,
                "source": "UNKNOWN",
                "is_silent_share": False,
            }
            if share.thread_ts:
                entry.update(
                    {
                        "thread_ts": share.thread_ts,
                        "reply_users": [self.user],
                        "reply_users_count": 1,
                        "reply_count": 1,
                        "latest_reply": share.ts,
                    }
                )
            bucket = "private" if share.is_private else "public"
            shares.setdefault(bucket, {}).setdefault(share.channel, []).append(entry)
        return shares

    def stub(self) -> dict[str, Any]:
        """What Slack Connect events carry instead of the file: call files.info to get it."""
        return {
            "id": self.id,
            "mode": "file_access",
            "file_access": "check_file_info",
            "created": 0,
            "timestamp": 0,
            "user": "",
        }
