"""Documents in a thread are searchable: one vector store per thread, each document indexed
once, `file_search` next to the code interpreter, citations shown as sources."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot import wording
from tests.bot_harness import BotUnderTest, running_bot
from tests.fakes.scripted_model import CodeRun, FileSearch, ScriptedTurn

PDF = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
CSV = b"month,revenue\nJan,100\nFeb,80\n"


@pytest.fixture
async def bot(tmp_path: Path):
    async with running_bot(tmp_path) as running:
        yield running


def texts(bot: BotUnderTest, ts: str) -> str:
    return " ".join(m.text_content() for m in bot.slack.bot_messages("C0GENERAL", ts))


def tools_of(request: dict) -> dict[str, dict]:
    return {t["type"]: t for t in request["tools"]}


async def test_a_pdf_and_a_csv_in_one_thread(bot: BotUnderTest) -> None:
    report = bot.slack.add_file("report.pdf", PDF, filetype="pdf")
    sales = bot.slack.add_file("sales.csv", CSV, filetype="csv")
    bot.openai.model.enqueue(
        ScriptedTurn(
            text="Revenue fell 20% in February, as the report explains.",
            runs=(CodeRun("df.revenue.pct_change()", logs="-0.2"),),
            searches=(FileSearch("why did revenue fall", cite=("report.pdf",)),),
        )
    )
    sent = await bot.mention("why did revenue fall?", files=[report, sales])
    assert (await bot.finished(sent.ts)).status == "done"

    [store] = bot.openai.vector_stores.values()
    names = {bot.openai.files[file_id].filename for file_id in store.files}
    assert names == {"report.pdf"}  # data files go to the container only
    request = bot.openai.model.seen[0]
    tools = tools_of(request)
    assert tools["file_search"]["vector_store_ids"] == [store.id]
    assert "code_interpreter" in tools
    assert "`report.pdf`" in request["instructions"]
    assert bot.openai.search_misses == []  # indexed before the model was asked
    link = f"[report.pdf]({report['permalink']})"
    assert wording.SOURCE.format(link=link) in texts(bot, sent.ts)

    # A follow-up with another document: the same vector store, only the new file indexed.
    notes = bot.slack.add_file("notes.md", b"# Notes\nFebruary had a strike.\n", filetype="md")
    bot.openai.model.enqueue(
        ScriptedTurn(text="A strike.", searches=(FileSearch("strike", cite=("notes.md",)),))
    )
    reply = await bot.say("what happened in February?", thread_ts=sent.ts, files=[notes])
    assert (await bot.finished(reply.ts)).status == "done"
    assert len(bot.openai.vector_stores) == 1
    assert len(store.files) == 2
    indexing = bot.openai.requests_to("POST", "/vector_stores/{id}/files")
    assert len(indexing) == 2

    # A follow-up without files indexes nothing and still searches.
    bot.openai.model.enqueue(ScriptedTurn(text="Yes.", searches=(FileSearch("again"),)))
    again = await bot.say("anything else?", thread_ts=sent.ts)
    assert (await bot.finished(again.ts)).status == "done"
    assert len(bot.openai.requests_to("POST", "/vector_stores/{id}/files")) == 2
    assert tools_of(bot.openai.model.seen[-1])["file_search"]["vector_store_ids"] == [store.id]


async def test_a_thread_without_documents_gets_no_vector_store(bot: BotUnderTest) -> None:
    sales = bot.slack.add_file("sales.csv", CSV, filetype="csv")
    bot.openai.model.enqueue(ScriptedTurn(text="Done."))
    sent = await bot.mention("sum it", files=[sales])
    assert (await bot.finished(sent.ts)).status == "done"
    assert bot.openai.vector_stores == {}
    assert "file_search" not in tools_of(bot.openai.model.seen[0])


async def test_a_document_that_cannot_be_indexed_is_said_and_still_read(
    bot: BotUnderTest,
) -> None:
    bot.openai.unindexable.add("scan.pdf")
    scan = bot.slack.add_file("scan.pdf", PDF, filetype="pdf")
    bot.openai.model.enqueue(ScriptedTurn(text="I read it with Python."))
    sent = await bot.mention("what is in it?", files=[scan])
    assert (await bot.finished(sent.ts)).status == "done"
    assert wording.NOT_INDEXED.format(names="scan.pdf") in texts(bot, sent.ts)
    request = bot.openai.model.seen[0]
    assert "/mnt/data/" in request["instructions"]  # placed in the container all the same
    assert "`scan.pdf`." not in request["instructions"].split("file_search")[-1][:80]


async def test_an_expired_vector_store_is_replaced_and_the_documents_indexed_again(
    bot: BotUnderTest,
) -> None:
    report = bot.slack.add_file("report.pdf", PDF, filetype="pdf")
    bot.openai.model.enqueue(ScriptedTurn(text="Read it."))
    sent = await bot.mention("read the report", files=[report])
    assert (await bot.finished(sent.ts)).status == "done"
    [old] = bot.openai.vector_stores
    bot.openai.expire_vector_store(old)  # the thread sat idle past the store's days

    bot.openai.model.enqueue(
        ScriptedTurn(text="Strikes.", searches=(FileSearch("why", cite=("report.pdf",)),))
    )
    reply = await bot.say("why did revenue fall?", thread_ts=sent.ts)
    assert (await bot.finished(reply.ts)).status == "done"
    [new] = [s for s in bot.openai.vector_stores if s != old]
    assert tools_of(bot.openai.model.seen[-1])["file_search"]["vector_store_ids"] == [new]
    assert bot.openai.search_misses == []  # indexed again before the model was asked
    assert "(source: [report.pdf](" in texts(bot, sent.ts)


async def test_a_new_document_for_an_expired_store_goes_into_a_new_one_with_the_rest(
    bot: BotUnderTest,
) -> None:
    report = bot.slack.add_file("report.pdf", PDF, filetype="pdf")
    bot.openai.model.enqueue(ScriptedTurn(text="Read it."))
    sent = await bot.mention("read the report", files=[report])
    assert (await bot.finished(sent.ts)).status == "done"
    [old] = bot.openai.vector_stores
    bot.openai.expire_vector_store(old)

    notes = bot.slack.add_file("notes.md", b"# Notes\nA strike.\n", filetype="md")
    bot.openai.model.enqueue(ScriptedTurn(text="Both read."))
    reply = await bot.say("and these notes?", thread_ts=sent.ts, files=[notes])
    assert (await bot.finished(reply.ts)).status == "done"
    [new] = [s for s in bot.openai.vector_stores.values() if s.id != old]
    names = {bot.openai.files[file_id].filename for file_id in new.files}
    assert names == {"report.pdf", "notes.md"}
