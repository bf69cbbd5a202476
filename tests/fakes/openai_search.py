"""``file_search``, server side: the tool's vector stores, and a scripted search's events.

A ``file_search_call`` streams as ``output_item.added`` → ``file_search_call.in_progress`` →
``.searching`` → ``.completed`` → ``output_item.done`` (with ``queries``; ``results`` only
with ``include=["file_search_call.results"]``), and the message then carries
``file_citation`` annotations (reference openai.md §5.1). Only files whose indexing has
completed can be found: a bot that asks before its documents are indexed gets no citations.
"""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

from tests.fakes.openai_state import ApiError, OpenAIState
from tests.fakes.scripted_model import FileSearch


def search_stores(request: Mapping[str, Any]) -> list[str] | None:
    """The vector store ids of the request's file_search tool; None without one."""
    for tool in request.get("tools") or []:
        if isinstance(tool, dict) and tool.get("type") == "file_search":
            return [str(i) for i in tool.get("vector_store_ids") or []]
    return None


def check_search_tool(request: Mapping[str, Any], state: OpenAIState, scripted: bool) -> None:
    stores = search_stores(request)
    if stores is None:
        if scripted:
            raise ApiError(
                400,
                "FakeOpenAI: the scripted turn searches files but the request has no "
                "file_search tool.",
                code="fake_script_error",
            )
        return
    for store_id in stores:
        check_vector_store(state, store_id, param="tools")


def check_vector_store(state: OpenAIState, store_id: str, *, param: str | None = None) -> None:
    """A store a request uses exists and has not expired (the service's wording for an
    expired store is not captured; this one names the store and says so)."""
    store = state.vector_stores.get(store_id)
    if store is None:
        raise ApiError(400, f"Vector store with id '{store_id}' not found.", param=param)
    store.refresh_expiry(state.clock.now())
    if store.expired:
        raise ApiError(400, f"Vector store {store_id} is expired.", param=param)
    store.touch(state.clock.now())  # a search or a file added is activity


async def search_events(
    search: FileSearch,
    *,
    request: Mapping[str, Any],
    state: OpenAIState,
    item_id: str,
    add_output: Callable[[dict[str, Any]], tuple[int, dict[str, Any]]],
    event: Callable[..., dict[str, Any]],
    found: list[tuple[str, str]],
    misses: list[str],
) -> AsyncIterator[dict[str, Any]]:
    """The events of one search; appends (filename, file id) of each citable hit to `found`."""
    item: dict[str, Any] = {
        "id": item_id,
        "type": "file_search_call",
        "status": "in_progress",
        "queries": [],
        "results": None,
    }
    index, snapshot = add_output(item)
    ids = {"item_id": item_id, "output_index": index}
    yield event("response.output_item.added", output_index=index, item=snapshot)
    yield event("response.file_search_call.in_progress", **ids)
    yield event("response.file_search_call.searching", **ids)
    searchable = state.searchable_files(search_stores(request) or [])
    hits = []
    for name in search.cite:
        if name in searchable:
            found.append((name, searchable[name]))
            hits.append({"file_id": searchable[name], "filename": name, "score": 0.9,
                         "text": f"… {search.query} …", "attributes": {}})  # fmt: skip
        else:
            misses.append(name)
    yield event("response.file_search_call.completed", **ids)
    with_results = "file_search_call.results" in (request.get("include") or [])
    item |= {
        "status": "completed",
        "queries": [search.query],
        "results": hits if with_results else None,
    }
    yield event("response.output_item.done", output_index=index, item=copy.deepcopy(item))
