"""A thread's documents for retrieval: its vector store, created on first need, each document
indexed once, and the "(source: …)" line an answer's citations become.

Documents (PDF, Word, PowerPoint, Markdown, text, HTML) are still placed in the container
too, so Python can read them; data files (CSV, Excel, …) are never indexed — `file_search`
does not take them (reference openai.md §5). A document that cannot be indexed is reported
once and stays usable from Python.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Collection, Iterable, Sequence
from dataclasses import dataclass

from bot import wording
from bot.core.events import Source
from bot.core.ports import Engine
from bot.core.records import ThreadFile, ThreadState
from bot.core.storage import Store
from bot.core.tasks import run_all
from bot.errors import SearchIndexGone

logger = logging.getLogger(__name__)

SEARCHABLE = frozenset({"pdf", "docx", "pptx", "md", "markdown", "txt", "html", "htm"})
Indexing = Callable[[str, bool], Awaitable[None]]
"""Told when a document starts being indexed (name, False) and when it is done (name, True)."""


def searchable(name: str) -> bool:
    return "." in name and name.rsplit(".", 1)[-1].lower() in SEARCHABLE


@dataclass(frozen=True)
class Document:
    name: str
    permalink: str | None


@dataclass(frozen=True)
class SearchIndex:
    """The thread's searchable documents, ready for a turn."""

    vector_store_id: str
    documents: dict[str, Document]
    """By OpenAI file id (what citations name)."""
    failed: tuple[str, ...] = ()
    """Documents that could not be indexed this turn (by name)."""


class Library:
    def __init__(self, *, store: Store, engine: Engine) -> None:
        self._store = store
        self._engine = engine

    async def prepare(
        self,
        thread: ThreadState,
        indexing: Indexing,
        names: Iterable[str],
        *,
        renew: bool = False,
        usable: Collection[str] | None = None,
    ) -> SearchIndex | None:
        """Index the thread's documents (`names`: the thread's files; `usable`: the OpenAI
        file ids the turn may use, when not all) not yet in its vector store; None: no
        documents. `renew`: the store expired or is gone: a new one, with every document
        indexed again (also done here when indexing finds it gone)."""
        if not any(searchable(name) for name in names):
            return None
        documents = [
            tf
            for tf in await self._store.threads.thread_files(thread.id)
            if searchable(tf.file.name) and (usable is None or tf.file.openai_file_id in usable)
        ]
        if not documents:
            return None
        store_id = None if renew else thread.vector_store_id
        if store_id is None:
            store_id = await self._engine.new_vector_store(thread.key)
            await self._store.threads.bind(thread.id, vector_store_id=store_id)
        todo = [tf for tf in documents if tf.vector_store_id != store_id]
        try:
            outcomes = await run_all(
                [self._index(thread.id, store_id, tf, indexing) for tf in todo]
            )
        except SearchIndexGone:
            if renew:
                raise
            logger.info("vector store %s of %s is gone; indexing again", store_id, thread.key)
            return await self.prepare(thread, indexing, names, renew=True, usable=usable)
        failed = tuple(tf.file.name for tf, ok in zip(todo, outcomes, strict=True) if not ok)
        return SearchIndex(
            store_id,
            {
                tf.file.openai_file_id: Document(tf.file.name, tf.file.permalink)
                for tf in documents
                if tf.file.name not in failed and tf.search_status != "failed"
            },
            failed,
        )

    async def _index(
        self, thread_id: int, store_id: str, document: ThreadFile, indexing: Indexing
    ) -> bool:
        name = document.file.name
        await indexing(name, False)
        indexed = await self._engine.index_file(store_id, document.file.openai_file_id)
        await indexing(name, True)
        if indexed.status == "in_progress":  # still going: searchable soon, checked next turn
            logger.info("document %s still indexing in %s", document.file.id, store_id)
            return True
        await self._store.threads.index_file(
            thread_id, document.file.id, vector_store_id=store_id, status=indexed.status
        )
        if indexed.status != "completed":
            logger.info(
                "document %s not indexed in %s: %s",
                document.file.id,
                store_id,
                indexed.error_code or indexed.status,
            )
            return False
        return True


def sources_line(sources: Sequence[Source], index: SearchIndex | None) -> str | None:
    """The answer's cited documents as one line of links, or None."""
    if not sources:
        return None
    known = index.documents if index else {}
    shown: list[str] = []
    for source in sources:
        document = known.get(source.file_id)
        name = document.name if document else source.filename
        link = f"[{name}]({document.permalink})" if document and document.permalink else name
        if name and link not in shown:
            shown.append(link)
    return " ".join(wording.SOURCE.format(link=link) for link in shown) or None
