"""FakeOpenAI's expiry and deletion, as the retention job and the bot meet them: uploads that
expire after ``expires_after``, vector stores that idle out, and the 404s of objects deleted
(or expired) before."""

from __future__ import annotations

import openai
import pytest
from openai import AsyncOpenAI

from tests.fakes.openai_api import FakeOpenAI

pytest_plugins = ["tests.fakes.openai_fixtures"]  # fake_openai, openai_client

CSV = b"region,revenue\nnorth,120\nsouth,95\n"
DAY = 86_400


async def test_an_upload_past_its_expiry_is_gone_like_a_deleted_one(
    fake_openai: FakeOpenAI, openai_client: AsyncOpenAI
) -> None:
    expiring = await openai_client.files.create(
        file=("a.csv", CSV),
        purpose="user_data",
        expires_after={"anchor": "created_at", "seconds": 2 * DAY},
    )
    kept = await openai_client.files.create(file=("b.csv", CSV), purpose="user_data")
    assert expiring.expires_at == expiring.created_at + 2 * DAY

    fake_openai.advance_clock(2 * DAY)

    with pytest.raises(openai.NotFoundError) as caught:
        await openai_client.files.retrieve(expiring.id)
    assert caught.value.body == {
        "message": f"No such File object: {expiring.id}",
        "type": "invalid_request_error",
        "param": "id",
        "code": None,
    }
    with pytest.raises(openai.NotFoundError, match="No such File object"):
        await openai_client.files.delete(expiring.id)
    fresh = await openai_client.containers.create(name="d")
    with pytest.raises(openai.NotFoundError, match="No such File object") as placing:
        await openai_client.containers.files.create(fresh.id, file_id=expiring.id)
    assert placing.value.param == "file_id"
    assert [f.id for f in (await openai_client.files.list()).data] == [kept.id]
    assert set(fake_openai.files) == {kept.id}


async def test_expires_after_outside_the_apis_range_is_refused(
    fake_openai: FakeOpenAI, openai_client: AsyncOpenAI
) -> None:
    for seconds in (60, 31 * DAY):
        with pytest.raises(openai.BadRequestError, match="expires_after"):
            await openai_client.files.create(
                file=("a.csv", CSV),
                purpose="user_data",
                expires_after={"anchor": "created_at", "seconds": seconds},
            )
    with pytest.raises(openai.BadRequestError, match="expires_after"):
        await openai_client.vector_stores.create(
            name="v", expires_after={"anchor": "last_active_at", "days": 366}
        )
    assert len(fake_openai.spec_violations) == 3
    fake_openai.spec_violations.clear()  # deliberate: the fixture fails on leftovers


async def test_a_vector_store_idles_out_after_its_days(
    fake_openai: FakeOpenAI, openai_client: AsyncOpenAI
) -> None:
    store = await openai_client.vector_stores.create(
        name="v", expires_after={"anchor": "last_active_at", "days": 3}
    )
    assert store.expires_after is not None
    assert store.expires_after.days == 3
    assert store.expires_at == store.last_active_at + 3 * DAY
    fake_openai.advance_clock(2 * DAY)
    notes = await openai_client.files.create(file=("n.md", b"# n"), purpose="assistants")
    await openai_client.vector_stores.files.create(store.id, file_id=notes.id)  # activity
    fake_openai.advance_clock(2 * DAY)
    assert (await openai_client.vector_stores.retrieve(store.id)).status == "completed"

    fake_openai.advance_clock(1 * DAY + 1)

    assert (await openai_client.vector_stores.retrieve(store.id)).status == "expired"


async def test_deleted_objects_answer_404_in_their_own_words(
    openai_client: AsyncOpenAI,
) -> None:
    said = [{"role": "user", "content": "hi"}]
    conversation = await openai_client.conversations.create(items=said)  # type: ignore[list-item]
    container = await openai_client.containers.create(name="c")
    store = await openai_client.vector_stores.create(name="v")
    upload = await openai_client.files.create(file=("a.csv", CSV), purpose="user_data")

    assert (await openai_client.conversations.delete(conversation.id)).deleted
    await openai_client.containers.delete(container.id)
    assert (await openai_client.vector_stores.delete(store.id)).deleted
    assert (await openai_client.files.delete(upload.id)).deleted

    gone = {
        f"Conversation with id '{conversation.id}' not found.": openai_client.conversations.delete(
            conversation.id
        ),
        f"Container with id '{container.id}' not found.": openai_client.containers.delete(
            container.id
        ),
        f"No vector store found with id '{store.id}'.": openai_client.vector_stores.delete(
            store.id
        ),
        f"No such File object: {upload.id}": openai_client.files.delete(upload.id),
    }
    for message, call in gone.items():
        with pytest.raises(openai.NotFoundError) as caught:
            await call
        assert caught.value.body["message"] == message  # type: ignore[index]
        assert caught.value.body["type"] == "invalid_request_error"  # type: ignore[index]
