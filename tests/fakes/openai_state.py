"""Server-side state of the fake: files, containers (with idle expiry), conversations, vector
stores. Pure data and rules; HTTP lives in ``openai_routes.py``.

File bytes live on disk under the fake's temp dir (uploads are streamed there), never in
memory. Object shapes follow the captures in ``shared/wire-samples/openai/``.
"""

from __future__ import annotations

import hashlib
import secrets
import shutil
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from tests.fakes.openai_objects import (
    Blob,
    Container,
    ContainerFile,
    Conversation,
    StoredFile,
    VectorStore,
    as_item,
)

# Guessed: the real code for "Container is expired." was not captured (Azure showed only the
# message, reference §1.7/§4.8). "container_expired" is plausible and easy to match on.
CONTAINER_EXPIRED_CODE = "container_expired"
CONTAINER_EXPIRED_MESSAGE = "Container is expired."
# reference §5.2: what file_search accepts (no .csv/.xlsx)
VECTOR_STORE_EXTENSIONS = frozenset(
    {".c", ".cpp", ".cs", ".css", ".doc", ".docx", ".go", ".html", ".java", ".js", ".json"}
    | {".md", ".pdf", ".php", ".pptx", ".py", ".rb", ".sh", ".tex", ".ts", ".txt"}
)


class ApiError(Exception):
    """An error the fake answers with the real body shape ``{"error": {...}}``."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",  # the wire field is called "type"
        param: str | None = None,
        code: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.param = param
        self.code = code
        self.headers = dict(headers or {})

    def body(self) -> dict[str, Any]:
        return {
            "error": {
                "message": self.message,
                "type": self.type,
                "param": self.param,
                "code": self.code,
            }
        }


def not_found(kind: str, object_id: str, param: str | None = None) -> ApiError:
    return ApiError(404, f"No {kind} found with id '{object_id}'.", param=param)


def file_not_found(file_id: str, param: str | None = None) -> ApiError:
    """The Files API's 404 (a deleted or expired file, or none by that id): "No such File
    object: file-…" with ``param: "id"`` (Azure's documented sample; the OpenAI SDKs' tests)."""
    return ApiError(404, f"No such File object: {file_id}", param=param or "id")


def container_expired(param: str | None = None) -> ApiError:
    return ApiError(400, CONTAINER_EXPIRED_MESSAGE, param=param, code=CONTAINER_EXPIRED_CODE)


def check_metadata(metadata: Mapping[str, Any] | None) -> None:
    if not metadata:
        return
    if len(metadata) > 16:
        raise ApiError(400, "Invalid 'metadata': too many properties (max 16).", param="metadata")
    for key, value in metadata.items():
        if len(key) > 64 or len(str(value)) > 512:
            raise ApiError(
                400,
                f"Invalid 'metadata': key '{key[:64]}' or its value is too long.",
                param="metadata",
            )


class Clock:
    """Wall clock plus an offset that tests move with ``advance``."""

    def __init__(self) -> None:
        self.offset = 0.0

    def now(self) -> float:
        return time.time() + self.offset

    def seconds(self) -> int:
        return int(self.now())

    def advance(self, seconds: float) -> None:
        self.offset += seconds


class Ids:
    """IDs shaped like the real ones: ``file-`` + 22 base62, ``cfile_`` + 32 hex, and
    ``cntr_``/``conv_``/``resp_``/``msg_``/``rs_``/``ci_`` + 48 hex (8 of them a timestamp)."""

    _BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

    def __init__(self, clock: Clock) -> None:
        self._clock = clock

    def new(self, prefix: str) -> str:
        if prefix == "file":
            return "file-" + "".join(secrets.choice(self._BASE62) for _ in range(22))
        stamp = f"{self._clock.seconds():08x}"
        length = 32 if prefix in ("cfile", "vs") else 48
        return f"{prefix}_{stamp}{secrets.token_hex(length)[: length - 8]}"


class OpenAIState:
    """All resources of one fake server."""

    def __init__(self, *, root: Path, clock: Clock, container_idle_expiry: float) -> None:
        self.root = root
        self.broken_contents: set[str] = set()
        """Container file names whose content download answers 500 (``break_download``)."""
        self.clock = clock
        self.ids = Ids(clock)
        self.container_idle_expiry = container_idle_expiry
        self.files: dict[str, StoredFile] = {}
        self.containers: dict[str, Container] = {}
        self.conversations: dict[str, Conversation] = {}
        self.vector_stores: dict[str, VectorStore] = {}
        self.search_misses: list[str] = []
        """Files a scripted search named but could not find (not indexed, not sent)."""
        self.unindexable: set[str] = set()
        """File names whose indexing fails (``invalid_file``), as a corrupt PDF's would."""
        self.indexing_seconds = 0.2
        """How long a file added to a vector store stays ``in_progress``."""
        (root / "blobs").mkdir(parents=True, exist_ok=True)

    # -- blobs ---------------------------------------------------------------------------

    def blob_from_bytes(self, content: bytes) -> Blob:
        path = self.root / "blobs" / secrets.token_hex(12)
        path.write_bytes(content)
        return Blob(path, len(content), hashlib.sha256(content).hexdigest())

    def adopt_blob(self, temp_path: Path, size: int, sha256: str) -> Blob:
        path = self.root / "blobs" / secrets.token_hex(12)
        shutil.move(temp_path, path)
        return Blob(path, size, sha256)

    # -- files ---------------------------------------------------------------------------

    def add_file(
        self, *, filename: str, purpose: str, blob: Blob, expires_after: int | None
    ) -> StoredFile:
        now = self.clock.seconds()
        stored = StoredFile(
            id=self.ids.new("file"),
            filename=filename,
            purpose=purpose,
            blob=blob,
            created_at=now,
            expires_at=now + expires_after if expires_after else None,
        )
        self.files[stored.id] = stored
        return stored

    def file(self, file_id: str, param: str | None = None) -> StoredFile:
        self.expire_files()
        stored = self.files.get(file_id)
        if stored is None:
            raise file_not_found(file_id, param)
        return stored

    def expire_files(self) -> None:
        """Files past their ``expires_at`` are deleted, as the service does (the content
        placed in containers earlier stays there: those are copies)."""
        now = self.clock.seconds()
        for stored in list(self.files.values()):
            if stored.expires_at is not None and stored.expires_at <= now:
                del self.files[stored.id]

    # -- containers ----------------------------------------------------------------------

    def create_container(
        self,
        *,
        name: str,
        file_ids: Iterable[str] = (),
        expires_minutes: int | None = None,
        memory_limit: str | None = None,
    ) -> Container:
        for file_id in file_ids:
            self.file(file_id, "file_ids")
        now = self.clock.seconds()
        idle = expires_minutes * 60 if expires_minutes else self.container_idle_expiry
        container = Container(
            id=self.ids.new("cntr"),
            name=name,
            created_at=now,
            last_active=self.clock.now(),
            idle_seconds=idle,
            expires_minutes=expires_minutes or max(1, round(self.container_idle_expiry / 60)),
            memory_limit=memory_limit,
        )
        self.containers[container.id] = container
        for file_id in file_ids:
            self.add_container_file_from_file(container, file_id)
        return container

    def container(
        self, container_id: str, *, live: bool = True, param: str | None = None
    ) -> Container:
        """Look a container up and refresh its activity; ``live`` rejects expired ones."""
        found = self.containers.get(container_id)
        if found is None:
            raise ApiError(404, f"Container with id '{container_id}' not found.", param=param)
        found.refresh_expiry(self.clock.now())
        if live and found.expired:
            raise container_expired(param)
        found.touch(self.clock.now())
        return found

    def expire_container(self, container_id: str) -> None:
        found = self.containers[container_id]
        found.expired = True
        found.files.clear()

    def seconds_to_next_expiry(self) -> float | None:
        """Real seconds until the next live container runs out of idle time (None: none)."""
        now = self.clock.now()
        left = [
            c.last_active + c.idle_seconds - now for c in self.containers.values() if not c.expired
        ]
        return max(0.0, min(left)) if left else None

    def refresh_expiries(self) -> None:
        now = self.clock.now()
        for container in self.containers.values():
            container.refresh_expiry(now)
        for store in self.vector_stores.values():
            store.refresh_expiry(now)
        self.expire_files()

    def add_container_file(
        self, container: Container, *, path: str, source: str, blob: Blob, file_id: str = ""
    ) -> ContainerFile:
        created = ContainerFile(
            id=file_id or self.ids.new("cfile"),
            container_id=container.id,
            path=path,
            source=source,
            blob=blob,
            created_at=self.clock.seconds(),
        )
        container.files[created.id] = created
        return created

    def user_path(self, filename: str) -> str:
        # Real uploads land at /mnt/data/<32 hex>-<name> (Delphi capture), not at /mnt/data/<name>.
        return f"/mnt/data/{secrets.token_hex(16)}-{filename}"

    def add_container_file_from_file(self, container: Container, file_id: str) -> ContainerFile:
        stored = self.file(file_id, "file_id")
        path = self.user_path(stored.filename)
        return self.add_container_file(container, path=path, source="user", blob=stored.blob)

    # -- conversations -------------------------------------------------------------------

    def create_conversation(
        self, *, metadata: Mapping[str, str] | None, items: Iterable[Mapping[str, Any]]
    ) -> Conversation:
        conversation = Conversation(
            id=self.ids.new("conv"),
            created_at=self.clock.seconds(),
            metadata=dict(metadata or {}),
        )
        conversation.items.extend(as_item(item, self.ids) for item in items)
        self.conversations[conversation.id] = conversation
        return conversation

    def conversation(self, conversation_id: str, param: str | None = None) -> Conversation:
        found = self.conversations.get(conversation_id)
        if found is None or found.deleted:
            raise ApiError(404, f"Conversation with id '{conversation_id}' not found.", param=param)
        return found

    # -- vector stores -------------------------------------------------------------------

    def add_vector_store_file(self, store: VectorStore, file_id: str) -> dict[str, Any]:
        """Start indexing a file (``in_progress`` for ``indexing_seconds``); adding a file the
        store already has returns it as it is."""
        if file_id in store.files:
            return self.vector_store_file(store, file_id)
        stored = self.file(file_id, "file_id")
        supported = Path(stored.filename).suffix.lower() in VECTOR_STORE_EXTENSIONS
        entry = {
            "id": file_id,
            "object": "vector_store.file",
            "usage_bytes": 0,
            "created_at": self.clock.seconds(),
            "vector_store_id": store.id,
            "status": "in_progress",
            "last_error": None,
            "chunking_strategy": {
                "type": "static",
                "static": {"max_chunk_size_tokens": 800, "chunk_overlap_tokens": 400},
            },
            "attributes": {},
        }
        store.files[file_id] = entry
        store.ready_at[file_id] = (self.clock.now() + self.indexing_seconds, supported)
        return self.vector_store_file(store, file_id)

    def vector_store_file(self, store: VectorStore, file_id: str) -> dict[str, Any]:
        """The file as indexing has got by now."""
        entry = store.files[file_id]
        ready_at, supported = store.ready_at.get(file_id, (0.0, True))
        if entry["status"] == "in_progress" and self.clock.now() >= ready_at:
            stored = self.files.get(file_id)
            if stored is not None and stored.filename in self.unindexable:
                entry |= {
                    "status": "failed",
                    "last_error": {
                        "code": "invalid_file",
                        "message": "The file could not be parsed.",
                    },
                }
            elif supported:
                entry |= {"status": "completed", "usage_bytes": stored.size if stored else 0}
            else:
                name = stored.filename if stored else file_id
                entry |= {
                    "status": "failed",
                    "last_error": {
                        "code": "unsupported_file",
                        "message": f"The file type of {name} is not supported for retrieval.",
                    },
                }
        return dict(entry)

    def searchable_files(self, store_ids: list[str]) -> dict[str, str]:
        """Filename -> file id of the indexed (``completed``) files of these stores."""
        found: dict[str, str] = {}
        for store_id in store_ids:
            store = self.vector_stores.get(store_id)
            for file_id in store.files if store else ():
                if self.vector_store_file(store, file_id)["status"] == "completed":  # type: ignore[arg-type]
                    stored = self.files.get(file_id)
                    if stored is not None:
                        found[stored.filename] = file_id
        return found
