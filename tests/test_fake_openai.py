"""FakeOpenAI's own tests, through the real AsyncOpenAI SDK on the aiohttp transport."""

from __future__ import annotations

import hashlib
import time
from collections.abc import AsyncIterator, Sequence
from itertools import groupby
from typing import Any

import openai
import pytest
from openai import AsyncOpenAI

from tests.fakes.openai_api import FakeOpenAI
from tests.fakes.openai_latency import Latency
from tests.fakes.scripted_model import (
    CodeRun,
    ContainerExpiresMidTurn,
    Drop,
    ErrorEvent,
    GeneratedFile,
    HttpError,
    ResponseFailed,
    ResponseIncomplete,
    ScriptedTurn,
    Stall,
    tiny_png,
)

pytest_plugins = ["tests.fakes.openai_fixtures"]  # fake_openai, openai_client

MODEL = "gpt-5.5"
CSV = b"region,revenue\nnorth,120\nsouth,95\n"
PNG = tiny_png()
CHART_TEXT = "Revenue by region is charted here: [the chart](sandbox:/mnt/data/revenue.png). Done."
TWO_RUNS = ScriptedTurn(
    text=CHART_TEXT,
    runs=(
        CodeRun("import pandas as pd\ndf = pd.read_csv(path)\ndf.shape", logs="(2, 2)"),
        CodeRun(
            "df.plot.bar()\nplt.savefig('/mnt/data/revenue.png')",
            logs="saved",
            files=(GeneratedFile("revenue.png", PNG),),
        ),
    ),
)
CODE_RUN_EVENTS = [
    "response.output_item.added",
    "response.output_item.done",  # reasoning
    "response.output_item.added",
    "response.code_interpreter_call.in_progress",
    "response.code_interpreter_call_code.delta",
    "response.code_interpreter_call_code.done",
    "response.code_interpreter_call.interpreting",
    "response.code_interpreter_call.completed",
    "response.output_item.done",
]
MESSAGE_EVENTS = [
    "response.output_item.added",
    "response.output_item.done",  # reasoning
    "response.output_item.added",
    "response.content_part.added",
    "response.output_text.delta",
    "response.output_text.annotation.added",
    "response.output_text.done",
    "response.content_part.done",
    "response.output_item.done",
    "response.completed",
]


def collapse(types: Sequence[str]) -> list[str]:
    """Event types with runs of the same type (deltas) folded into one."""
    return [kind for kind, _ in groupby(types)]


async def collect(stream: AsyncIterator[Any]) -> list[Any]:
    return [event async for event in stream]


async def drain(stream: AsyncIterator[Any], into: list[Any]) -> None:
    """Consume ``stream`` into ``into`` (what arrived is kept if iteration raises)."""
    async for event in stream:
        into.append(event)


async def read_until(stream: AsyncIterator[Any], kind: str) -> list[Any]:
    """Events up to and including the first one of type ``kind``."""
    events = []
    async for event in stream:
        events.append(event)
        if event.type == kind:
            return events
    raise AssertionError(f"the stream ended without {kind}")


async def new_container(client: AsyncOpenAI, *file_ids: str) -> str:
    container = await client.containers.create(name="thread", file_ids=list(file_ids))
    return container.id


def code_tool(container_id: str) -> list[Any]:
    return [{"type": "code_interpreter", "container": container_id}]


# -- the main flow -------------------------------------------------------------------------


async def test_upload_container_and_streamed_code_interpreter_turn(
    fake_openai: FakeOpenAI, openai_client: AsyncOpenAI
) -> None:
    uploaded = await openai_client.files.create(file=("sales.csv", CSV), purpose="user_data")
    recorded = fake_openai.requests_to("POST", "/files")[0]
    assert recorded.multipart is not None
    assert recorded.multipart["purpose"] == "user_data"
    assert recorded.multipart["file"]["sha256"] == hashlib.sha256(CSV).hexdigest()
    assert fake_openai.files[uploaded.id].content() == CSV
    assert uploaded.id.startswith("file-")
    assert uploaded.bytes == len(CSV)

    container_id = await new_container(openai_client, uploaded.id)
    (listed,) = (await openai_client.containers.files.list(container_id)).data
    assert listed.source == "user"
    assert listed.id.startswith("cfile_")
    assert listed.path.startswith("/mnt/data/")
    assert listed.path.endswith("-sales.csv")
    assert listed.path != "/mnt/data/sales.csv"  # the bot must read `path`

    conversation = await openai_client.conversations.create(metadata={"thread_ts": "1.2"})
    assert conversation.metadata == {"thread_ts": "1.2"}
    fake_openai.model.enqueue(TWO_RUNS)
    stream = await openai_client.responses.create(
        model=MODEL,
        stream=True,
        conversation=conversation.id,
        tools=code_tool(container_id),
        include=["code_interpreter_call.outputs"],
        instructions="You are a data analyst.",
        input=[{"role": "user", "content": "Chart revenue by region"}],
    )
    events = await collect(stream)

    types = [event.type for event in events]
    expected = ["response.created", "response.in_progress", *CODE_RUN_EVENTS * 2, *MESSAGE_EVENTS]
    assert collapse(types) == expected
    assert [event.sequence_number for event in events] == list(range(len(events)))
    deltas = [e for e in events if e.type.endswith(".delta")]
    assert all(getattr(e, "obfuscation", None) is not None for e in deltas)

    code = "".join(e.delta for e in events if e.type == "response.code_interpreter_call_code.delta")
    assert code == TWO_RUNS.runs[0].code + TWO_RUNS.runs[1].code
    added = [e.item for e in events if e.type == "response.output_item.added"]
    calls = [item for item in added if item.type == "code_interpreter_call"]
    assert [(c.container_id, c.status, c.code) for c in calls] == [
        (container_id, "in_progress", "")
    ] * 2
    done_calls = [
        e.item
        for e in events
        if e.type == "response.output_item.done" and e.item.type == "code_interpreter_call"
    ]
    assert [c.outputs[0].logs for c in done_calls] == ["(2, 2)", "saved"]
    assert done_calls[1].outputs[1].type == "image"  # the PNG inline, as in W2

    last_text_delta = max(i for i, kind in enumerate(types) if kind == "response.output_text.delta")
    (annotation_event,) = [e for e in events if e.type == "response.output_text.annotation.added"]
    assert events.index(annotation_event) > last_text_delta
    annotation = annotation_event.annotation
    assert annotation.type == "container_file_citation"
    assert CHART_TEXT[annotation.start_index : annotation.end_index] == (
        "sandbox:/mnt/data/revenue.png"
    )
    assert (annotation.container_id, annotation.filename) == (container_id, "revenue.png")

    completed = events[-1].response
    assert completed.status == "completed"
    assert completed.output_text == CHART_TEXT
    assert completed.instructions == "You are a data analyst."
    assert completed.conversation is not None
    assert completed.conversation.id == conversation.id
    usage = completed.usage
    assert usage is not None
    assert usage.total_tokens == usage.input_tokens + usage.output_tokens
    assert usage.input_tokens_details.cached_tokens == 0
    assert usage.output_tokens_details.reasoning_tokens > 0

    content = await openai_client.containers.files.content.retrieve(
        annotation.file_id, container_id=container_id
    )
    assert content.read() == PNG
    generated = await openai_client.containers.files.retrieve(
        annotation.file_id, container_id=container_id
    )
    assert (generated.source, generated.path) == ("assistant", "/mnt/data/revenue.png")

    items = await openai_client.conversations.items.list(conversation.id, order="asc")
    assert [item.type for item in items.data] == [
        "message",
        "reasoning",
        "code_interpreter_call",
        "reasoning",
        "code_interpreter_call",
        "reasoning",
        "message",
    ]
    assert items.data[0].role == "user"
    assert items.data[-1].role == "assistant"
    assert items.data[2].outputs is None  # outputs only with include=[...]
    call = await openai_client.conversations.items.retrieve(
        items.data[2].id,
        conversation_id=conversation.id,
        include=["code_interpreter_call.outputs"],
    )
    assert call.outputs[0].logs == "(2, 2)"


async def test_non_streamed_create_returns_the_final_response(
    fake_openai: FakeOpenAI, openai_client: AsyncOpenAI
) -> None:
    container_id = await new_container(openai_client)
    fake_openai.model.enqueue(TWO_RUNS)
    response = await openai_client.responses.create(
        model=MODEL, input="chart it", tools=code_tool(container_id)
    )
    assert response.status == "completed"
    assert response.output_text == CHART_TEXT
    assert [item.type for item in response.output] == [
        "reasoning",
        "code_interpreter_call",
        "reasoning",
        "code_interpreter_call",
        "reasoning",
        "message",
    ]
    assert response.output[1].outputs is None  # no include=["code_interpreter_call.outputs"]
    annotation = response.output[-1].content[0].annotations[0]
    assert annotation.type == "container_file_citation"
    retrieved = await openai_client.responses.retrieve(response.id)
    assert retrieved.output_text == CHART_TEXT


async def test_duplicate_image_citation_is_a_second_file_with_the_same_bytes(
    fake_openai: FakeOpenAI, openai_client: AsyncOpenAI
) -> None:
    container_id = await new_container(openai_client)
    fake_openai.model.enqueue(
        ScriptedTurn(text=CHART_TEXT, runs=TWO_RUNS.runs[1:], duplicate_image_citation=True)
    )
    response = await openai_client.responses.create(
        model=MODEL, input="chart", tools=code_tool(container_id)
    )
    displayed, named = response.output[-1].content[0].annotations
    assert (displayed.start_index, displayed.end_index) == (0, 0)
    assert displayed.filename == f"{displayed.file_id}.png"
    assert named.filename == "revenue.png"
    assert named.file_id != displayed.file_id
    for citation in (displayed, named):
        content = await openai_client.containers.files.content.retrieve(
            citation.file_id, container_id=container_id
        )
        assert content.read() == PNG


# -- conversations -------------------------------------------------------------------------


async def test_second_response_on_a_busy_conversation_is_locked(
    fake_openai: FakeOpenAI, openai_client: AsyncOpenAI
) -> None:
    conversation = await openai_client.conversations.create()
    fake_openai.model.enqueue(ScriptedTurn(text="slow answer", failure=Stall(after_text_deltas=1)))
    stream = await openai_client.responses.create(
        model=MODEL, input="first", conversation=conversation.id, stream=True
    )
    await read_until(stream, "response.output_text.delta")

    with pytest.raises(openai.BadRequestError) as caught:
        await openai_client.responses.create(
            model=MODEL, input="second", conversation=conversation.id
        )
    assert caught.value.code == "conversation_locked"
    assert caught.value.param == "conversation"
    # e.message is "Error code: 400 - <message>"; the bare message is in e.body.
    assert caught.value.body["message"].startswith("Another process is currently operating")

    fake_openai.release_stalls()
    rest = await collect(stream)
    assert rest[-1].type == "response.completed"
    after = await openai_client.responses.create(
        model=MODEL, input="third", conversation=conversation.id
    )
    assert after.status == "completed"


async def test_conversation_items_api(openai_client: AsyncOpenAI) -> None:
    conversation = await openai_client.conversations.create(
        items=[{"role": "user", "content": "Hello!"}], metadata={"topic": "demo"}
    )
    created = await openai_client.conversations.items.create(
        conversation.id,
        items=[
            {"role": "assistant", "content": "Hi."},
            {"role": "user", "content": "Numbers?"},
        ],
    )
    assert [item.role for item in created.data] == ["assistant", "user"]
    first_page = await openai_client.conversations.items.list(conversation.id, limit=2)
    assert first_page.has_more
    assert [i.role for i in first_page.data] == ["user", "assistant"]
    rest = await openai_client.conversations.items.list(
        conversation.id, limit=2, after=first_page.data[-1].id
    )
    assert [i.content[0].text for i in rest.data] == ["Hello!"]
    assert not rest.has_more
    item = await openai_client.conversations.items.retrieve(
        created.data[0].id, conversation_id=conversation.id
    )
    assert item.content[0].type == "output_text"
    await openai_client.conversations.items.delete(item.id, conversation_id=conversation.id)
    updated = await openai_client.conversations.update(conversation.id, metadata={"topic": "new"})
    assert updated.metadata == {"topic": "new"}
    deleted = await openai_client.conversations.delete(conversation.id)
    assert deleted.deleted
    with pytest.raises(openai.NotFoundError):
        await openai_client.conversations.retrieve(conversation.id)


# -- containers ----------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["expire_container", "advance_clock"])
async def test_expired_container(
    fake_openai: FakeOpenAI, openai_client: AsyncOpenAI, how: str
) -> None:
    container_id = await new_container(openai_client)
    if how == "expire_container":
        fake_openai.expire_container(container_id)
    else:
        fake_openai.advance_clock(20 * 60 + 1)

    retrieved = await openai_client.containers.retrieve(container_id)
    assert retrieved.status == "expired"
    with pytest.raises(openai.BadRequestError) as listing:
        await openai_client.containers.files.list(container_id)
    assert listing.value.code == "container_expired"
    with pytest.raises(openai.BadRequestError) as caught:
        await openai_client.responses.create(
            model=MODEL, input="again", tools=code_tool(container_id)
        )
    assert caught.value.status_code == 400
    assert caught.value.body == {
        "message": "Container is expired.",
        "type": "invalid_request_error",
        "param": "tools",
        "code": "container_expired",
    }


async def test_container_activity_refreshes_the_idle_timer(
    fake_openai: FakeOpenAI, openai_client: AsyncOpenAI
) -> None:
    container_id = await new_container(openai_client)
    fake_openai.advance_clock(15 * 60)
    await openai_client.containers.files.list(container_id)  # activity
    fake_openai.advance_clock(15 * 60)
    await openai_client.responses.create(model=MODEL, input="hi", tools=code_tool(container_id))
    fake_openai.advance_clock(15 * 60)
    assert (await openai_client.containers.retrieve(container_id)).status == "running"
    fake_openai.advance_clock(20 * 60)
    assert (await openai_client.containers.retrieve(container_id)).status == "expired"


async def test_container_files_from_file_id_and_multipart(
    fake_openai: FakeOpenAI, openai_client: AsyncOpenAI
) -> None:
    uploaded = await openai_client.files.create(file=("a.csv", CSV), purpose="user_data")
    container_id = await new_container(openai_client)
    by_id = await openai_client.containers.files.create(container_id, file_id=uploaded.id)
    direct = await openai_client.containers.files.create(container_id, file=("b.json", b"{}"))
    assert by_id.path.endswith("-a.csv")
    assert direct.path.endswith("-b.json")
    assert fake_openai.requests_to("POST", "/containers/{id}/files")[0].json == {
        "file_id": uploaded.id
    }
    listed = await openai_client.containers.files.list(container_id)
    assert {f.id for f in listed.data} == {by_id.id, direct.id}
    await openai_client.containers.files.delete(direct.id, container_id=container_id)
    assert [f.id for f in (await openai_client.containers.files.list(container_id)).data] == [
        by_id.id
    ]
    await openai_client.containers.delete(container_id)
    with pytest.raises(openai.NotFoundError):
        await openai_client.containers.retrieve(container_id)


async def test_container_expires_mid_turn(
    fake_openai: FakeOpenAI, openai_client: AsyncOpenAI
) -> None:
    container_id = await new_container(openai_client)
    fake_openai.model.enqueue(
        ScriptedTurn(runs=TWO_RUNS.runs, failure=ContainerExpiresMidTurn(after_run_index=0))
    )
    stream = await openai_client.responses.create(
        model=MODEL, input="go", tools=code_tool(container_id), stream=True
    )
    seen: list[Any] = []
    with pytest.raises(openai.APIError, match="Container is expired."):
        await drain(stream, seen)
    assert [e.type for e in seen].count("response.code_interpreter_call.completed") == 1
    assert fake_openai.containers[container_id].status == "expired"


# -- failure shapes ------------------------------------------------------------------------

STREAM_ENDINGS = [
    pytest.param(ErrorEvent(after_text_deltas=2, nested=False), "error", id="flat-error-event"),
    pytest.param(ResponseFailed(after_text_deltas=1), "response.failed", id="response-failed"),
    pytest.param(ResponseIncomplete(after_text_deltas=2), "response.incomplete", id="incomplete"),
    pytest.param(
        ResponseIncomplete(reason="content_filter"), "response.incomplete", id="content-filter"
    ),
]


@pytest.mark.parametrize(("failure", "last_type"), STREAM_ENDINGS)
async def test_failures_the_sdk_yields_as_events(
    fake_openai: FakeOpenAI, openai_client: AsyncOpenAI, failure: Any, last_type: str
) -> None:
    fake_openai.model.enqueue(ScriptedTurn(text="x" * 100, text_deltas=5, failure=failure))
    stream = await openai_client.responses.create(model=MODEL, input="q", stream=True)
    events = await collect(stream)
    assert events[-1].type == last_type
    sent = [e for e in events if e.type == "response.output_text.delta"]
    assert len(sent) == failure.after_text_deltas
    final = fake_openai.responses[events[0].response.id].response
    if isinstance(failure, ResponseIncomplete):
        assert events[-1].response.incomplete_details.reason == failure.reason
        assert events[-1].response.output_text == "x" * 20 * len(sent)
    else:
        assert final["status"] == "failed"
        assert final["error"]["code"] == failure.code


async def test_nested_error_event_raises_api_error(
    fake_openai: FakeOpenAI, openai_client: AsyncOpenAI
) -> None:
    fake_openai.model.enqueue(
        ScriptedTurn(failure=ErrorEvent(code="too_many_requests", message="Slow down."))
    )
    stream = await openai_client.responses.create(model=MODEL, input="q", stream=True)
    with pytest.raises(openai.APIError) as caught:
        await collect(stream)
    assert caught.value.message == "Slow down."
    assert caught.value.body["code"] == "too_many_requests"


HTTP_FAILURES = [
    pytest.param(
        HttpError(401, "invalid_api_key", "Incorrect API key provided: sk-test."),
        openai.AuthenticationError,
        id="401",
    ),
    pytest.param(
        HttpError(
            429,
            "rate_limit_exceeded",
            "Rate limit reached.",
            type="requests",
            headers={"retry-after": "7"},
        ),
        openai.RateLimitError,
        id="429-rate-limit",
    ),
    pytest.param(
        HttpError(
            429, "insufficient_quota", "You exceeded your current quota.", type="insufficient_quota"
        ),
        openai.RateLimitError,
        id="429-quota",
    ),
    pytest.param(
        HttpError(500, None, "Server error.", type="server_error"),
        openai.InternalServerError,
        id="500",
    ),
]


@pytest.mark.parametrize(("failure", "exception"), HTTP_FAILURES)
async def test_http_errors_before_the_stream(
    fake_openai: FakeOpenAI,
    openai_client: AsyncOpenAI,
    failure: HttpError,
    exception: type[openai.APIStatusError],
) -> None:
    fake_openai.model.enqueue(ScriptedTurn(failure=failure))
    with pytest.raises(exception) as caught:
        await openai_client.responses.create(model=MODEL, input="q", stream=True)
    error = caught.value
    assert (error.status_code, error.code, error.body["message"]) == (
        failure.status,
        failure.code,
        failure.message,
    )
    for name, value in failure.headers.items():
        assert error.response.headers[name] == value
    assert error.request_id is not None
    assert error.request_id.startswith("req_")


async def test_dropped_stream_raises_a_connection_error(
    fake_openai: FakeOpenAI, openai_client: AsyncOpenAI
) -> None:
    fake_openai.model.enqueue(ScriptedTurn(text="y" * 80, text_deltas=4, failure=Drop(2)))
    stream = await openai_client.responses.create(model=MODEL, input="q", stream=True)
    seen: list[Any] = []
    with pytest.raises(openai.APIConnectionError):
        await drain(stream, seen)
    assert [e.type for e in seen].count("response.output_text.delta") == 2
    (run,) = fake_openai.responses.values()
    assert run.status == "cancelled"


async def test_client_disconnect_cancels_a_sync_response_and_frees_the_lock(
    fake_openai: FakeOpenAI, openai_client: AsyncOpenAI
) -> None:
    conversation = await openai_client.conversations.create()
    fake_openai.model.enqueue(ScriptedTurn(failure=Stall(after_text_deltas=0)))
    stream = await openai_client.responses.create(
        model=MODEL, input="q", conversation=conversation.id, stream=True
    )
    created = await anext(stream)
    await stream.close()
    response_id = created.response.id
    await fake_openai.wait_for(lambda: response_id in fake_openai.closed_streams)
    await fake_openai.wait_for(lambda: fake_openai.responses[response_id].done)
    assert fake_openai.responses[response_id].status == "cancelled"
    assert conversation.id not in fake_openai.conversation_locks
    assert fake_openai.conversations[conversation.id].items == []  # cancelled: nothing appended


async def test_refusal(fake_openai: FakeOpenAI, openai_client: AsyncOpenAI) -> None:
    fake_openai.model.enqueue(ScriptedTurn(refusal="I can't help with that."))
    events = await collect(
        await openai_client.responses.create(model=MODEL, input="q", stream=True)
    )
    assert "response.refusal.delta" in [e.type for e in events]
    part = events[-1].response.output[-1].content[0]
    assert (part.type, part.refusal) == ("refusal", "I can't help with that.")


# -- background mode -----------------------------------------------------------------------


async def test_background_stream_resumes_with_starting_after(
    fake_openai: FakeOpenAI, openai_client: AsyncOpenAI
) -> None:
    fake_openai.model.enqueue(
        ScriptedTurn(text="z" * 200, text_deltas=10, failure=Stall(after_text_deltas=3))
    )
    stream = await openai_client.responses.create(
        model=MODEL, input="long analysis", background=True, stream=True
    )
    head = [await anext(stream) for _ in range(7)]
    assert [e.type for e in head[:3]] == [
        "response.created",
        "response.queued",
        "response.in_progress",
    ]
    assert head[0].response.status == "queued"
    assert head[0].response.background
    await stream.close()  # the client goes away; a background response keeps running
    response_id = head[0].response.id
    await fake_openai.wait_for(lambda: response_id in fake_openai.closed_streams)
    assert fake_openai.responses[response_id].status == "in_progress"

    last_seen = head[-1].sequence_number
    resumed = await openai_client.responses.retrieve(
        response_id, stream=True, starting_after=last_seen
    )
    first = await anext(resumed)
    assert first.sequence_number == last_seen + 1
    fake_openai.release_stalls()
    tail = [first, *await collect(resumed)]
    numbers = [e.sequence_number for e in head + tail]
    assert numbers == list(range(len(numbers)))
    assert tail[-1].type == "response.completed"
    assert tail[-1].response.output_text == "z" * 200
    assert fake_openai.requests_to("GET", "/responses/{id}")[0].query == {
        "stream": "true",
        "starting_after": str(last_seen),
    }


async def test_background_poll_and_cancel(
    fake_openai: FakeOpenAI, openai_client: AsyncOpenAI
) -> None:
    fake_openai.model.enqueue(ScriptedTurn(failure=Stall(after_text_deltas=0)), ScriptedTurn())
    queued = await openai_client.responses.create(model=MODEL, input="q", background=True)
    assert (queued.status, queued.background) == ("queued", True)
    await fake_openai.wait_for(lambda: fake_openai.responses[queued.id].status == "in_progress")
    assert (await openai_client.responses.retrieve(queued.id)).status == "in_progress"

    cancelled = await openai_client.responses.cancel(queued.id)
    again = await openai_client.responses.cancel(queued.id)  # idempotent
    assert (cancelled.status, again.status) == ("cancelled", "cancelled")
    assert fake_openai.cancelled_responses == [queued.id]

    polled = await openai_client.responses.create(model=MODEL, input="q2", background=True)
    await fake_openai.wait_for(lambda: fake_openai.responses[polled.id].done)
    assert (await openai_client.responses.retrieve(polled.id)).output_text == "Here is my answer."

    sync = await openai_client.responses.create(model=MODEL, input="q3")
    with pytest.raises(openai.BadRequestError):
        await openai_client.responses.cancel(sync.id)
    await openai_client.responses.delete(sync.id)
    with pytest.raises(openai.NotFoundError):
        await openai_client.responses.retrieve(sync.id)


# -- requests the fake checks ----------------------------------------------------------------


async def test_responder_sees_the_request(
    fake_openai: FakeOpenAI, openai_client: AsyncOpenAI
) -> None:
    def answer(request: dict[str, Any]) -> ScriptedTurn:
        return ScriptedTurn(text=f"{request['instructions']} / {request['tool_choice']['type']}")

    fake_openai.model.responder = answer
    container_id = await new_container(openai_client)
    response = await openai_client.responses.create(
        model=MODEL,
        input="q",
        instructions="Address Ann by name.",
        tools=code_tool(container_id),
        tool_choice={"type": "code_interpreter"},
        truncation="auto",
        metadata={"turn": "7"},
    )
    assert response.output_text == "Address Ann by name. / code_interpreter"
    assert (response.truncation, response.metadata) == ("auto", {"turn": "7"})
    assert response.tools[0].type == "code_interpreter"


@pytest.mark.parametrize(
    ("body", "code", "param"),
    [
        ({"input": "q"}, "missing_required_parameter", "model"),
        (
            {"model": MODEL, "input": "q", "tool_choice": {"type": "code_interpreter"}},
            None,
            "tool_choice",
        ),
        (
            {"model": MODEL, "input": "q", "conversation": "conv_1", "previous_response_id": "r"},
            "mutually_exclusive_parameters",
            "conversation",
        ),
    ],
)
async def test_invalid_response_requests(
    openai_client: AsyncOpenAI, body: dict[str, Any], code: str | None, param: str
) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        await openai_client.post("/responses", body=body, cast_to=object)
    assert (caught.value.code, caught.value.param) == (code, param)


async def test_spec_violations_are_rejected_and_recorded(
    fake_openai: FakeOpenAI, openai_client: AsyncOpenAI
) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        await openai_client.post("/responses", body={"model": 5, "input": "hi"}, cast_to=object)
    assert caught.value.code == "spec_violation"
    assert "$.model" in caught.value.message
    with pytest.raises(openai.BadRequestError, match="purpose"):
        await openai_client.files.create(file=("a.csv", CSV), purpose="bogus")  # type: ignore[arg-type]
    with pytest.raises(openai.BadRequestError, match="unknown query parameter 'colour'"):
        await openai_client.containers.list(extra_query={"colour": "red"})
    with pytest.raises(openai.BadRequestError, match="no such path"):
        await openai_client.get("/no/such/thing", cast_to=object)
    assert len(fake_openai.spec_violations) == 4
    assert [r.status for r in fake_openai.requests] == [400] * 4
    fake_openai.spec_violations.clear()  # deliberate: the fixture fails on leftovers


@pytest.mark.parametrize(
    ("method", "path"),
    [("get", "/assistants"), ("post", "/threads"), ("post", "/threads/thread_abc/runs")],
)
async def test_assistants_api_is_gone(openai_client: AsyncOpenAI, method: str, path: str) -> None:
    call = getattr(openai_client, method)
    kwargs = {"body": {}} if method == "post" else {}
    with pytest.raises(openai.NotFoundError) as caught:
        await call(path, cast_to=object, **kwargs)
    assert set(caught.value.body) == {"message", "type", "param", "code"}
    assert caught.value.body["message"] == f"Invalid URL ({method.upper()} /v1{path})"


async def test_sdk_beta_assistants_get_404(openai_client: AsyncOpenAI) -> None:
    with pytest.warns(DeprecationWarning, match="deprecated"), pytest.raises(openai.NotFoundError):
        await openai_client.beta.assistants.list()


# -- faults ----------------------------------------------------------------------------------


async def test_fault_429_with_retry_after_is_retried_by_the_sdk(fake_openai: FakeOpenAI) -> None:
    fake_openai.faults.fail(
        "POST", "/files", 429, code="rate_limit_exceeded", headers={"retry-after-ms": "10"}
    )
    async with fake_openai.client(max_retries=1) as client:
        uploaded = await client.files.create(file=("a.csv", CSV), purpose="user_data")
    posts = fake_openai.requests_to("POST", "/files")
    assert [p.status for p in posts] == [429, 200]
    assert [p.headers["x-stainless-retry-count"] for p in posts] == ["0", "1"]
    assert list(fake_openai.files) == [uploaded.id]


async def test_fault_500_drop_and_delay(
    fake_openai: FakeOpenAI, openai_client: AsyncOpenAI
) -> None:
    fake_openai.faults.fail("POST", "/containers", 500)
    with pytest.raises(openai.InternalServerError):
        await openai_client.containers.create(name="x")
    fake_openai.faults.drop("POST", "/conversations")
    with pytest.raises(openai.APIConnectionError):
        await openai_client.conversations.create()
    fake_openai.faults.delay("GET", "/containers", 0.05)
    assert (await openai_client.containers.list()).data == []
    assert await openai_client.containers.create(name="x")  # each fault fired once
    assert [rule.fired for rule in fake_openai.faults.rules] == [1, 1, 1]


# -- round-trip latency ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "family"),
    [
        ("POST", "/files", "files"),
        ("GET", "/files/file-abc/content", "files"),
        ("POST", "/conversations", "conversations"),
        ("POST", "/conversations/conv_1/items", "conversations"),
        ("POST", "/containers", "containers"),
        ("GET", "/containers", "containers"),
        ("GET", "/containers/cntr_1", "container_reads"),
        ("POST", "/containers/cntr_1/files", "container_files"),
        ("DELETE", "/containers/cntr_1/files/cfile_1", "container_files"),
        ("GET", "/containers/cntr_1/files", "container_reads"),
        ("GET", "/containers/cntr_1/files/cfile_1/content", "container_reads"),
        ("POST", "/responses", "responses"),
        ("GET", "/responses/resp_1", "responses"),
        ("POST", "/vector_stores", None),
    ],
)
def test_latency_families(method: str, path: str, family: str | None) -> None:
    assert Latency.family(method, path) == family
    assert Latency.realistic().of(method, path) == {
        "files": 0.4,
        "conversations": 0.3,
        "containers": 0.8,
        "container_files": 0.5,
        "container_reads": 0.15,
    }.get(family or "", 0.0)


async def test_latency_is_off_by_default(fake_openai: FakeOpenAI) -> None:
    assert fake_openai.latency == Latency()
    assert all(FakeOpenAI().latency.of("POST", path) == 0 for path in ("/files", "/responses"))
    with pytest.raises(ValueError, match="negative"):
        Latency(files=-1)


async def test_latency_holds_the_answer_after_the_request_arrived(
    fake_openai: FakeOpenAI, openai_client: AsyncOpenAI
) -> None:
    uploaded = await openai_client.files.create(file=("a.csv", CSV), purpose="user_data")
    container_id = await new_container(openai_client)
    fake_openai.latency.container_files = 0.3  # set on the running fake
    started = time.monotonic()
    await openai_client.containers.files.create(container_id, file_id=uploaded.id)
    answered = time.monotonic()
    [placed] = fake_openai.requests_to("POST", "/containers/{id}/files")
    assert answered - placed.received >= 0.3
    assert placed.received - started < 0.3  # the request itself was not held back

    fake_openai.latency = Latency(responses=0.3)  # replaced as a whole: time to first byte
    stream = await openai_client.responses.create(
        model=MODEL, input="q", tools=code_tool(container_id), stream=True
    )
    first = await anext(aiter(stream))
    assert first.type == "response.created"
    [asked] = fake_openai.requests_to("POST", "/responses")
    assert time.monotonic() - asked.received >= 0.3
    await collect(stream)


async def test_an_expired_container_refuses_the_response_before_the_model_runs(
    fake_openai: FakeOpenAI, openai_client: AsyncOpenAI
) -> None:
    expired = await new_container(openai_client)
    fake_openai.expire_container(expired)
    fake_openai.model.enqueue(ScriptedTurn(text="kept for the next request"))
    with pytest.raises(openai.BadRequestError) as caught:
        await openai_client.responses.create(model=MODEL, input="q", tools=code_tool(expired))
    assert (caught.value.status_code, caught.value.code) == (400, "container_expired")
    fresh = await new_container(openai_client)
    response = await openai_client.responses.create(model=MODEL, input="q", tools=code_tool(fresh))
    assert response.output_text == "kept for the next request"
    with pytest.raises(openai.BadRequestError) as placing:
        await openai_client.containers.files.create(expired, file=("b.csv", CSV))
    assert placing.value.code == "container_expired"
    await openai_client.containers.delete(fresh)
    with pytest.raises(openai.NotFoundError, match="not found"):
        await openai_client.containers.files.create(fresh, file=("b.csv", CSV))


# -- files, uploads, vector stores -------------------------------------------------------------


async def test_large_upload_is_streamed_to_disk(
    fake_openai: FakeOpenAI, openai_client: AsyncOpenAI, tmp_path: Any
) -> None:
    source = tmp_path / "big.csv"
    chunk = b"0123456789abcdef" * 65536  # 1 MiB
    with source.open("wb") as sink:
        for _ in range(8):
            sink.write(chunk)
    with source.open("rb") as handle:  # an open file: the SDK streams it (a Path is read whole)
        uploaded = await openai_client.files.create(
            file=handle,
            purpose="user_data",
            expires_after={"anchor": "created_at", "seconds": 3600},
        )
    stored = fake_openai.files[uploaded.id]
    assert (stored.filename, stored.size) == ("big.csv", 8 << 20)
    assert stored.sha256 == hashlib.sha256(chunk * 8).hexdigest()
    assert stored.blob.path.stat().st_size == 8 << 20
    assert uploaded.expires_at == uploaded.created_at + 3600
    recorded = fake_openai.requests_to("POST", "/files")[0]
    assert recorded.multipart is not None
    assert recorded.multipart["expires_after[anchor]"] == "created_at"


async def test_files_list_retrieve_content_delete(openai_client: AsyncOpenAI) -> None:
    first = await openai_client.files.create(file=("a.csv", CSV), purpose="user_data")
    second = await openai_client.files.create(file=("b.txt", b"notes"), purpose="assistants")
    assert [f.id for f in (await openai_client.files.list()).data] == [second.id, first.id]
    assert (await openai_client.files.retrieve(first.id)).filename == "a.csv"
    assert (await openai_client.files.content(first.id)).read() == CSV
    with pytest.raises(openai.BadRequestError, match="purpose: assistants"):
        await openai_client.files.content(second.id)
    assert (await openai_client.files.delete(first.id)).deleted
    with pytest.raises(openai.NotFoundError):
        await openai_client.files.retrieve(first.id)


async def test_vector_stores_basics(openai_client: AsyncOpenAI) -> None:
    notes = await openai_client.files.create(file=("notes.md", b"# hi"), purpose="assistants")
    sheet = await openai_client.files.create(file=("data.csv", CSV), purpose="assistants")
    store = await openai_client.vector_stores.create(name="docs", file_ids=[notes.id])
    assert store.id.startswith("vs_")
    assert store.file_counts.in_progress == 1  # indexing takes a while, as on the service
    attached = await openai_client.vector_stores.files.create(store.id, file_id=sheet.id)
    assert attached.status == "in_progress"
    polled = await openai_client.vector_stores.files.poll(sheet.id, vector_store_id=store.id)
    assert polled.status == "failed"
    assert polled.last_error.code == "unsupported_file"
    again = await openai_client.vector_stores.files.create(store.id, file_id=notes.id)
    assert again.status == "completed"  # adding it twice returns the one entry
    assert (await openai_client.vector_stores.retrieve(store.id)).file_counts.completed == 1
    listed = await openai_client.vector_stores.files.list(store.id)
    assert {f.id for f in listed.data} == {notes.id, sheet.id}
    assert (await openai_client.vector_stores.retrieve(store.id)).file_counts.total == 2
    assert (await openai_client.vector_stores.delete(store.id)).deleted


async def test_wait_for_times_out(fake_openai: FakeOpenAI) -> None:
    with pytest.raises(TimeoutError):
        await fake_openai.wait_for(lambda: fake_openai.requests, timeout=0.05)


async def test_unknown_arguments_are_rejected_but_documented_sdk_drift_passes(
    fake_openai: FakeOpenAI, openai_client: AsyncOpenAI
) -> None:
    newer = await openai_client.responses.create(  # SDK 3.51 fields missing from the spec
        model=MODEL,
        input="q",
        access_programs={"cyber": "standard"},
        image={"context_compression": "auto"},
    )
    assert newer.status == "completed"
    with pytest.raises(openai.BadRequestError, match=r"unrecognized request argument\(s\)"):
        await openai_client.responses.create(
            model=MODEL, input="q", extra_body={"instruction": "typo"}
        )
    assert len(fake_openai.spec_violations) == 1
    fake_openai.spec_violations.clear()


async def test_spec_report_feeds_the_fixture_failure(
    fake_openai: FakeOpenAI, openai_client: AsyncOpenAI
) -> None:
    assert fake_openai.spec_report() == ""
    with pytest.raises(openai.BadRequestError):
        await openai_client.containers.create(name="x", memory_limit="3g")  # type: ignore[arg-type]
    assert "spec violation: POST /containers: '3g' is not one of" in fake_openai.spec_report()
    fake_openai.spec_violations.clear()
    with pytest.raises(openai.NotFoundError) as caught:
        await openai_client.batches.list()  # in the spec, not in the fake
    assert caught.value.code == "fake_not_implemented"
    assert fake_openai.spec_report() == "FakeOpenAI could not serve: GET /batches"
    fake_openai.unhandled_requests.clear()


# -- more turn shapes ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("failure", "exception", "code"),
    [
        (ErrorEvent(code="server_error"), openai.InternalServerError, "server_error"),
        (ContainerExpiresMidTurn(0), openai.BadRequestError, "container_expired"),
    ],
)
async def test_mid_stream_errors_of_a_non_streamed_create_are_http_errors(
    fake_openai: FakeOpenAI,
    openai_client: AsyncOpenAI,
    failure: Any,
    exception: type[openai.APIStatusError],
    code: str,
) -> None:
    container_id = await new_container(openai_client)
    fake_openai.model.enqueue(ScriptedTurn(runs=TWO_RUNS.runs[:1], failure=failure))
    with pytest.raises(exception) as caught:
        await openai_client.responses.create(model=MODEL, input="q", tools=code_tool(container_id))
    assert caught.value.code == code


async def test_background_response_survives_a_dropped_stream(
    fake_openai: FakeOpenAI, openai_client: AsyncOpenAI
) -> None:
    fake_openai.model.enqueue(ScriptedTurn(text="w" * 60, text_deltas=3, failure=Drop(1)))
    stream = await openai_client.responses.create(
        model=MODEL, input="q", background=True, stream=True
    )
    seen: list[Any] = []
    with pytest.raises(openai.APIConnectionError):
        await drain(stream, seen)
    response_id = seen[0].response.id
    await fake_openai.wait_for(lambda: fake_openai.responses[response_id].done)
    resumed = await openai_client.responses.retrieve(
        response_id, stream=True, starting_after=seen[-1].sequence_number
    )
    rest = [event async for event in resumed]
    assert rest[0].sequence_number == seen[-1].sequence_number + 1
    assert rest[-1].response.output_text == "w" * 60


async def test_drop_before_the_response_surfaces_as_a_timeout_with_aiohttp(
    fake_openai: FakeOpenAI, openai_client: AsyncOpenAI
) -> None:
    # The SDK's vendored httpx_aiohttp maps aiohttp.ClientConnectionError (here
    # ServerDisconnectedError) to httpx ConnectTimeout, so a server that hangs up before
    # answering looks like a timeout. Pinned so an SDK change gets noticed.
    fake_openai.faults.drop("POST", "/responses")
    with pytest.raises(openai.APITimeoutError, match="timed out"):
        await openai_client.responses.create(model=MODEL, input="q")
    assert fake_openai.responses == {}


async def test_auto_container_gets_the_files_and_is_reused_while_alive(
    fake_openai: FakeOpenAI, openai_client: AsyncOpenAI
) -> None:
    uploaded = await openai_client.files.create(file=("sales.csv", CSV), purpose="user_data")
    conversation = await openai_client.conversations.create()
    auto = [{"type": "code_interpreter", "container": {"type": "auto", "file_ids": [uploaded.id]}}]
    turn = ScriptedTurn(runs=(CodeRun("df.head()", logs="ok"),))
    fake_openai.model.enqueue(turn, turn, turn)

    async def container_of_next_turn() -> str:
        response = await openai_client.responses.create(
            model=MODEL, input="q", conversation=conversation.id, tools=auto
        )
        return response.output[1].container_id

    first = await container_of_next_turn()
    assert [f.path.endswith("-sales.csv") for f in fake_openai.containers[first].files.values()]
    assert await container_of_next_turn() == first
    fake_openai.expire_container(first)
    assert await container_of_next_turn() != first  # a fresh container, as the service does


async def test_code_run_error_and_script_mismatch(
    fake_openai: FakeOpenAI, openai_client: AsyncOpenAI
) -> None:
    container_id = await new_container(openai_client)
    broken = CodeRun("1/0", error=True, files=(GeneratedFile("never.png", PNG),))
    fake_openai.model.enqueue(ScriptedTurn(runs=(broken,)), ScriptedTurn(runs=(broken,)))
    response = await openai_client.responses.create(
        model=MODEL,
        input="q",
        tools=code_tool(container_id),
        include=["code_interpreter_call.outputs"],
    )
    call = response.output[1]
    assert call.status == "completed"
    assert call.outputs[0].logs.startswith("Traceback")
    assert fake_openai.containers[container_id].files == {}
    with pytest.raises(openai.BadRequestError) as caught:
        await openai_client.responses.create(model=MODEL, input="no tools")
    assert caught.value.code == "fake_script_error"


async def test_real_time_idle_expiry_wakes_wait_for() -> None:
    async with FakeOpenAI(container_idle_expiry=0.2) as fake, fake.client() as client:
        container = await client.containers.create(name="short-lived")
        assert container.status == "running"
        expired = await fake.wait_for(
            lambda: fake.containers[container.id].status == "expired", timeout=2
        )
        assert expired
        assert (await client.containers.retrieve(container.id)).status == "expired"
        assert fake.spec_report() == ""


async def test_obfuscation_can_be_turned_off(
    fake_openai: FakeOpenAI, openai_client: AsyncOpenAI
) -> None:
    fake_openai.model.enqueue(ScriptedTurn(text="a" * 50))
    events = await collect(
        await openai_client.responses.create(
            model=MODEL, input="q", stream=True, stream_options={"include_obfuscation": False}
        )
    )
    deltas = [e for e in events if e.type == "response.output_text.delta"]
    assert len(deltas) == 3
    assert all(getattr(e, "obfuscation", None) is None for e in deltas)
