"""HTTP handlers for files, containers, container files, conversations and vector stores."""

from __future__ import annotations

import mimetypes
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

from aiohttp import web

from tests.fakes.openai_http import incoming
from tests.fakes.openai_objects import Blob, VectorStore, as_item
from tests.fakes.openai_search import check_vector_store
from tests.fakes.openai_state import ApiError, OpenAIState, check_metadata


def json_ok(body: Any) -> web.Response:
    return web.json_response(body)


def paginate(
    items: Sequence[Mapping[str, Any]],
    query: Mapping[str, str],
    *,
    default_limit: int = 20,
    default_order: str = "desc",
) -> dict[str, Any]:
    """A cursor page (``after``, ``limit``, ``order``) over items in creation order."""
    ordered = list(items) if query.get("order", default_order) == "asc" else list(items)[::-1]
    after = query.get("after")
    if after:
        ids = [item["id"] for item in ordered]
        ordered = ordered[ids.index(after) + 1 :] if after in ids else []
    limit = int(query.get("limit", default_limit))
    page = ordered[:limit]
    return {
        "object": "list",
        "data": list(page),
        "first_id": page[0]["id"] if page else None,
        "last_id": page[-1]["id"] if page else None,
        "has_more": len(ordered) > limit,
    }


def included(item: dict[str, Any], request: web.Request) -> dict[str, Any]:
    """A stored item as returned: code_interpreter_call outputs only when ``include``d."""
    wanted = request.query.getall("include[]", []) + request.query.getall("include", [])
    if item.get("type") != "code_interpreter_call" or "code_interpreter_call.outputs" in wanted:
        return item
    return item | {"outputs": None}


def download(blob: Blob, filename: str) -> web.FileResponse:
    content_type = mimetypes.guess_type(filename)[0] or "application/octet-stream"
    extension = filename.rsplit(".", 1)[-1] if "." in filename else "bin"
    # W1: filename="file.<ext>" plus the real name in filename* (RFC 5987).
    disposition = f"attachment; filename=\"file.{extension}\"; filename*=UTF-8''{quote(filename)}"
    headers = {"Content-Type": content_type, "Content-Disposition": disposition}
    return web.FileResponse(blob.path, headers=headers)


POLL_AFTER_MS = 50
"""What vector-store file reads tell pollers to wait (the real header; the SDK's default is 1 s)."""


class ResourceRoutes:
    def __init__(self, state: OpenAIState) -> None:
        self.state = state

    def register(self, router: web.UrlDispatcher) -> None:
        routes = [
            ("POST", "/files", self.create_file),
            ("GET", "/files", self.list_files),
            ("GET", "/files/{file_id}", self.retrieve_file),
            ("DELETE", "/files/{file_id}", self.delete_file),
            ("GET", "/files/{file_id}/content", self.file_content),
            ("POST", "/containers", self.create_container),
            ("GET", "/containers", self.list_containers),
            ("GET", "/containers/{container_id}", self.retrieve_container),
            ("DELETE", "/containers/{container_id}", self.delete_container),
            ("POST", "/containers/{container_id}/files", self.create_container_file),
            ("GET", "/containers/{container_id}/files", self.list_container_files),
            ("GET", "/containers/{container_id}/files/{file_id}", self.retrieve_container_file),
            ("DELETE", "/containers/{container_id}/files/{file_id}", self.delete_container_file),
            ("GET", "/containers/{container_id}/files/{file_id}/content", self.container_content),
            ("POST", "/conversations", self.create_conversation),
            ("GET", "/conversations/{conversation_id}", self.retrieve_conversation),
            ("POST", "/conversations/{conversation_id}", self.update_conversation),
            ("DELETE", "/conversations/{conversation_id}", self.delete_conversation),
            ("POST", "/conversations/{conversation_id}/items", self.create_items),
            ("GET", "/conversations/{conversation_id}/items", self.list_items),
            ("GET", "/conversations/{conversation_id}/items/{item_id}", self.retrieve_item),
            ("DELETE", "/conversations/{conversation_id}/items/{item_id}", self.delete_item),
            ("POST", "/vector_stores", self.create_vector_store),
            ("GET", "/vector_stores/{vector_store_id}", self.retrieve_vector_store),
            ("DELETE", "/vector_stores/{vector_store_id}", self.delete_vector_store),
            ("POST", "/vector_stores/{vector_store_id}/files", self.create_vector_store_file),
            ("GET", "/vector_stores/{vector_store_id}/files", self.list_vector_store_files),
            (
                "GET",
                "/vector_stores/{vector_store_id}/files/{file_id}",
                self.retrieve_vector_store_file,
            ),
        ]
        for method, path, handler in routes:
            router.add_route(method, "/v1" + path, handler)

    # -- files ---------------------------------------------------------------------------

    async def create_file(self, request: web.Request) -> web.Response:
        form = incoming(request).form or {}
        upload = incoming(request).uploads["file"]
        blob = self.state.adopt_blob(upload.path, upload.size, upload.sha256)
        expires = form.get("expires_after[seconds]")
        stored = self.state.add_file(
            filename=upload.filename,
            purpose=form["purpose"],
            blob=blob,
            expires_after=int(expires) if expires else None,
        )
        return json_ok(stored.to_json())

    async def list_files(self, request: web.Request) -> web.Response:
        purpose = request.query.get("purpose")
        self.state.expire_files()
        files = [f.to_json() for f in self.state.files.values() if purpose in (None, f.purpose)]
        return json_ok(paginate(files, request.query, default_limit=10000))

    async def retrieve_file(self, request: web.Request) -> web.Response:
        return json_ok(self.state.file(request.match_info["file_id"]).to_json())

    async def delete_file(self, request: web.Request) -> web.Response:
        stored = self.state.file(request.match_info["file_id"])
        del self.state.files[stored.id]
        return json_ok({"id": stored.id, "object": "file", "deleted": True})

    async def file_content(self, request: web.Request) -> web.FileResponse:
        stored = self.state.file(request.match_info["file_id"])
        if stored.purpose == "assistants":  # a long-standing restriction of the real API
            raise ApiError(400, "Not allowed to download files of purpose: assistants")
        return download(stored.blob, stored.filename)

    # -- containers ----------------------------------------------------------------------

    async def create_container(self, request: web.Request) -> web.Response:
        body = incoming(request).json
        expires = body.get("expires_after") or {}
        container = self.state.create_container(
            name=body["name"],
            file_ids=body.get("file_ids") or [],
            expires_minutes=expires.get("minutes"),
            memory_limit=body.get("memory_limit"),
        )
        return json_ok(container.to_json())

    async def list_containers(self, request: web.Request) -> web.Response:
        self.state.refresh_expiries()
        name = request.query.get("name")
        containers = [c.to_json() for c in self.state.containers.values() if name in (None, c.name)]
        return json_ok(paginate(containers, request.query))

    async def retrieve_container(self, request: web.Request) -> web.Response:
        container = self.state.container(request.match_info["container_id"], live=False)
        return json_ok(container.to_json())

    async def delete_container(self, request: web.Request) -> web.Response:
        container = self.state.container(request.match_info["container_id"], live=False)
        del self.state.containers[container.id]
        return json_ok({"id": container.id, "object": "container.deleted", "deleted": True})

    async def create_container_file(self, request: web.Request) -> web.Response:
        container = self.state.container(request.match_info["container_id"])
        uploads = incoming(request).uploads
        if "file" in uploads:
            upload = uploads["file"]
            blob = self.state.adopt_blob(upload.path, upload.size, upload.sha256)
            path = self.state.user_path(upload.filename)
            created = self.state.add_container_file(container, path=path, source="user", blob=blob)
        elif (incoming(request).json or {}).get("file_id"):
            created = self.state.add_container_file_from_file(
                container, incoming(request).json["file_id"]
            )
        else:
            raise ApiError(400, "Either 'file' or 'file_id' must be provided.", param="file")
        return json_ok(created.to_json())

    async def list_container_files(self, request: web.Request) -> web.Response:
        container = self.state.container(request.match_info["container_id"])
        files = [item.to_json() for item in container.files.values()]
        return json_ok(paginate(files, request.query))

    def _container_file(self, request: web.Request) -> Any:
        container = self.state.container(request.match_info["container_id"])
        file_id = request.match_info["file_id"]
        if file_id not in container.files:
            raise ApiError(404, f"Container file with id '{file_id}' not found.")
        return container, container.files[file_id]

    async def retrieve_container_file(self, request: web.Request) -> web.Response:
        return json_ok(self._container_file(request)[1].to_json())

    async def delete_container_file(self, request: web.Request) -> web.Response:
        container, found = self._container_file(request)
        del container.files[found.id]
        return json_ok({"id": found.id, "object": "container.file.deleted", "deleted": True})

    async def container_content(self, request: web.Request) -> web.FileResponse:
        found = self._container_file(request)[1]
        if found.name in self.state.broken_contents:
            raise ApiError(
                500, "The server had an error processing your request.", type="server_error"
            )
        return download(found.blob, found.name)

    # -- conversations -------------------------------------------------------------------

    async def create_conversation(self, request: web.Request) -> web.Response:
        body = incoming(request).json or {}
        check_metadata(body.get("metadata"))
        conversation = self.state.create_conversation(
            metadata=body.get("metadata"), items=body.get("items") or []
        )
        return json_ok(conversation.to_json())

    async def retrieve_conversation(self, request: web.Request) -> web.Response:
        return json_ok(self.state.conversation(request.match_info["conversation_id"]).to_json())

    async def update_conversation(self, request: web.Request) -> web.Response:
        conversation = self.state.conversation(request.match_info["conversation_id"])
        check_metadata(incoming(request).json["metadata"])
        conversation.metadata = dict(incoming(request).json["metadata"] or {})
        return json_ok(conversation.to_json())

    async def delete_conversation(self, request: web.Request) -> web.Response:
        conversation = self.state.conversation(request.match_info["conversation_id"])
        conversation.deleted = True  # its items are not deleted (reference §1.9)
        return json_ok({"id": conversation.id, "object": "conversation.deleted", "deleted": True})

    async def create_items(self, request: web.Request) -> web.Response:
        conversation = self.state.conversation(request.match_info["conversation_id"])
        added = [as_item(item, self.state.ids) for item in incoming(request).json["items"]]
        conversation.items.extend(added)
        return json_ok(paginate(added, {}, default_order="asc", default_limit=len(added) or 1))

    async def list_items(self, request: web.Request) -> web.Response:
        conversation = self.state.conversation(request.match_info["conversation_id"])
        items = [included(item, request) for item in conversation.items]
        return json_ok(paginate(items, request.query))

    def _item(self, request: web.Request) -> tuple[Any, dict[str, Any]]:
        conversation = self.state.conversation(request.match_info["conversation_id"])
        item_id = request.match_info["item_id"]
        for item in conversation.items:
            if item.get("id") == item_id:
                return conversation, item
        raise ApiError(404, f"Item with id '{item_id}' not found.")

    async def retrieve_item(self, request: web.Request) -> web.Response:
        return json_ok(included(self._item(request)[1], request))

    async def delete_item(self, request: web.Request) -> web.Response:
        conversation, item = self._item(request)
        conversation.items.remove(item)
        return json_ok(conversation.to_json())

    # -- vector stores -------------------------------------------------------------------

    def _vector_store(self, request: web.Request) -> VectorStore:
        store_id = request.match_info["vector_store_id"]
        if store_id not in self.state.vector_stores:
            raise ApiError(404, f"No vector store found with id '{store_id}'.")
        store = self.state.vector_stores[store_id]
        store.refresh_expiry(self.state.clock.now())
        return store

    async def create_vector_store(self, request: web.Request) -> web.Response:
        body = incoming(request).json or {}
        store = VectorStore(
            id=self.state.ids.new("vs"),
            name=body.get("name") or "",
            created_at=self.state.clock.seconds(),
            metadata=body.get("metadata"),
            expires_days=(body.get("expires_after") or {}).get("days"),
            last_active=self.state.clock.now(),
        )
        for file_id in body.get("file_ids") or []:
            self.state.add_vector_store_file(store, file_id)
        self.state.vector_stores[store.id] = store
        return json_ok(store.to_json())

    async def retrieve_vector_store(self, request: web.Request) -> web.Response:
        return json_ok(self._vector_store(request).to_json())

    async def delete_vector_store(self, request: web.Request) -> web.Response:
        store = self._vector_store(request)
        del self.state.vector_stores[store.id]
        return json_ok({"id": store.id, "object": "vector_store.deleted", "deleted": True})

    async def create_vector_store_file(self, request: web.Request) -> web.Response:
        store = self._vector_store(request)
        check_vector_store(self.state, store.id)
        store.touch(self.state.clock.now())
        return json_ok(self.state.add_vector_store_file(store, incoming(request).json["file_id"]))

    async def list_vector_store_files(self, request: web.Request) -> web.Response:
        store = self._vector_store(request)
        current = [self.state.vector_store_file(store, file_id) for file_id in store.files]
        return json_ok(paginate(current, request.query))

    async def retrieve_vector_store_file(self, request: web.Request) -> web.Response:
        store = self._vector_store(request)
        file_id = request.match_info["file_id"]
        if file_id not in store.files:
            raise ApiError(404, f"No file found with id '{file_id}' in vector store '{store.id}'.")
        response = json_ok(self.state.vector_store_file(store, file_id))
        response.headers["openai-poll-after-ms"] = str(POLL_AFTER_MS)  # the SDK poller reads it
        return response
