"""The fake's wire format against real captures (shared/wire-samples/openai) and the spec.

Real streams are replayed from a tiny aiohttp server through the real SDK and compared with a
fake stream of a similar scripted turn: same event order, same SDK classes per event type, same
fields per event type (and per item / part / annotation type). Non-streamed samples are served
to the SDK's own methods, so they are parsed exactly as in production. Finally everything the
fake sends is validated against the spec's component schemas.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from itertools import groupby
from typing import Any

import pytest
from aiohttp import web
from openai import AsyncOpenAI, DefaultAioHttpClient

from tests.fakes.openai_api import FakeOpenAI
from tests.fakes.openai_spec import get_spec, shared_dir, without_wire_drift
from tests.fakes.scripted_model import CodeRun, GeneratedFile, ScriptedTurn

pytest_plugins = ["tests.fakes.openai_fixtures"]  # fake_openai, openai_client

SAMPLES = shared_dir() / "wire-samples" / "openai"
# Fields newer than the 2025 captures (W1, 2026, has `phase`; opensecret has `conversation`),
# or vendor-specific (Azure's `content_filters`): allowed to differ, nothing else is.
NEWER_FIELDS = {"phase", "conversation", "completed_at"}
VENDOR_FIELDS = {"content_filters"}


def ndjson(name: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (SAMPLES / name).read_text().splitlines() if line]


def parse_sse(raw: bytes) -> list[tuple[str, dict[str, Any]]]:
    """(``event:`` name, parsed ``data:``) per SSE block."""
    frames = []
    for block in raw.decode().split("\n\n"):
        lines = block.splitlines()
        names = [line.removeprefix("event: ") for line in lines if line.startswith("event: ")]
        data = [line.removeprefix("data: ") for line in lines if line.startswith("data: ")]
        if data:
            frames.append((names[0] if names else "", json.loads("\n".join(data))))
    return frames


def to_sse(events: list[dict[str, Any]]) -> bytes:
    return b"".join(
        f"event: {event['type']}\ndata: {json.dumps(event)}\n\n".encode() for event in events
    )


def collapse(events: list[dict[str, Any]]) -> list[str]:
    return [kind for kind, _ in groupby(event["type"] for event in events)]


@dataclass(frozen=True)
class Capture:
    name: str
    raw: bytes
    """The stream as served: the .sse file as captured, .ndjson re-framed as SSE."""
    similar: ScriptedTurn
    """A scripted turn shaped like the captured one."""
    with_tools: bool = True
    same_order: bool = True
    """Whether the fake's collapsed event order must equal the capture's."""

    @property
    def events(self) -> list[dict[str, Any]]:
        return [data for _, data in parse_sse(self.raw)]


def _captures() -> list[Capture]:
    three_runs = tuple(
        CodeRun(f"value_{n} = {n} * 2\nvalue_{n}\n", logs=str(n * 2)) for n in range(2)
    ) + (
        CodeRun(
            "import csv\nwith open('/mnt/data/sums.csv', 'w') as f:\n    f.write('sum\\n7\\n')\n",
            logs="(PosixPath('/mnt/data/sums.csv'), True)",
            files=(GeneratedFile("sums.csv", b"sum\n7\n"),),
        ),
    )
    return [
        Capture(
            "responses-stream-code-interpreter.vercel-ai.ndjson",
            to_sse(ndjson("responses-stream-code-interpreter.vercel-ai.ndjson")),
            ScriptedTurn(text="Sums: [Download](sandbox:/mnt/data/sums.csv)", runs=three_runs),
        ),
        Capture(
            "azure-responses-stream-code-interpreter.vercel-ai.ndjson",
            to_sse(ndjson("azure-responses-stream-code-interpreter.vercel-ai.ndjson")),
            ScriptedTurn(text="Five numbers.", runs=three_runs[:1]),
            same_order=False,  # Azure sent no reasoning item before the message
        ),
        Capture(
            "responses-stream-raw-sse.opensecret.sse",
            (SAMPLES / "responses-stream-raw-sse.opensecret.sse").read_bytes(),
            ScriptedTurn(text="Hey! Not much, just here to help.", reasoning_items=False),
            with_tools=False,
        ),
    ]


CAPTURES = {capture.name: capture for capture in _captures()}


# -- a replay server -------------------------------------------------------------------------


class Replay:
    """Answers ``(method, path)`` with canned bytes, like the real service did once."""

    def __init__(self) -> None:
        self.bodies: dict[tuple[str, str], tuple[bytes, str]] = {}

    def serve(self, method: str, path: str, body: bytes | Any, content_type: str = "") -> None:
        if not isinstance(body, bytes):
            body, content_type = json.dumps(body).encode(), "application/json"
        self.bodies[(method, "/v1" + path)] = (body, content_type or "text/event-stream")

    async def handle(self, request: web.Request) -> web.Response:
        body, content_type = self.bodies[(request.method, request.path)]
        return web.Response(body=body, headers={"Content-Type": content_type})


@pytest.fixture
async def replay() -> AsyncIterator[tuple[Replay, AsyncOpenAI]]:
    server = Replay()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", server.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    client = AsyncOpenAI(
        base_url=f"http://{host}:{port}/v1",
        api_key="sk-test",
        http_client=DefaultAioHttpClient(),
        max_retries=0,
    )
    async with client:
        yield server, client
    await runner.cleanup()


async def sdk_events(client: AsyncOpenAI, **extra: Any) -> list[Any]:
    stream = await client.responses.create(model="gpt-5.5", input="q", stream=True, **extra)
    return [event async for event in stream]


async def fake_stream(
    fake: FakeOpenAI, client: AsyncOpenAI, capture: Capture
) -> tuple[bytes, list[Any]]:
    """The fake's raw SSE bytes and SDK events for the capture's similar turn."""
    extra: dict[str, Any] = {}
    if capture.with_tools:
        container = await client.containers.create(name="replay")
        extra = {
            "tools": [{"type": "code_interpreter", "container": container.id}],
            "include": ["code_interpreter_call.outputs"],
        }
    else:
        extra = {"conversation": (await client.conversations.create()).id}
    fake.model.enqueue(capture.similar, capture.similar)
    async with client.responses.with_streaming_response.create(
        model="gpt-5.5", input="q", stream=True, **extra
    ) as raw:
        body = await raw.read()
    return body, await sdk_events(client, **extra)


# -- streams ---------------------------------------------------------------------------------


def keys_by_type(events: list[dict[str, Any]]) -> dict[str, set[frozenset[str]]]:
    """Key sets of events, items, parts and annotations, by their type."""
    found: dict[str, set[frozenset[str]]] = defaultdict(set)
    for event in events:
        found[event["type"]].add(frozenset(event))
        for field, label in (("item", "item"), ("part", "part"), ("annotation", "annotation")):
            value = event.get(field)
            if isinstance(value, dict):
                found[f"{label}:{value['type']}"].add(frozenset(value) - NEWER_FIELDS)
        if isinstance(event.get("response"), dict):
            response_keys = frozenset(event["response"]) - NEWER_FIELDS - VENDOR_FIELDS
            found[f"response@{event['type']}"].add(response_keys)
    return found


@pytest.mark.parametrize("name", list(CAPTURES))
async def test_fake_stream_matches_the_capture(
    replay: tuple[Replay, AsyncOpenAI],
    fake_openai: FakeOpenAI,
    openai_client: AsyncOpenAI,
    name: str,
) -> None:
    capture = CAPTURES[name]
    server, replay_client = replay
    server.serve("POST", "/responses", capture.raw)
    real_sdk = await sdk_events(replay_client)
    raw, fake_sdk = await fake_stream(fake_openai, openai_client, capture)
    fake_frames = parse_sse(raw)
    fake_events = [data for _, data in fake_frames]

    assert all(event_name == data["type"] for event_name, data in fake_frames)  # framing
    assert len(real_sdk) == len(capture.events)  # every real event parsed, none dropped
    if capture.same_order:
        assert collapse(fake_events) == collapse(capture.events)
    real_classes = {event.type: type(event) for event in real_sdk}
    fake_classes = {event.type: type(event) for event in fake_sdk}
    assert set(real_classes) <= set(fake_classes)
    assert {kind: fake_classes[kind] for kind in real_classes} == real_classes

    real_keys, fake_keys = keys_by_type(capture.events), keys_by_type(fake_events)
    assert set(real_keys) <= set(fake_keys)
    assert {kind: fake_keys[kind] for kind in real_keys} == real_keys


async def test_container_file_citation_from_the_final_response(
    replay: tuple[Replay, AsyncOpenAI], fake_openai: FakeOpenAI, openai_client: AsyncOpenAI
) -> None:
    server, replay_client = replay
    capture = CAPTURES["responses-stream-code-interpreter.vercel-ai.ndjson"]
    server.serve("POST", "/responses", capture.raw)
    async with replay_client.responses.stream(model="gpt-5.5", input="q") as stream:
        real = await stream.get_final_response()
    _, fake_sdk = await fake_stream(fake_openai, openai_client, capture)
    fake = fake_sdk[-1].response
    for response in (real, fake):
        part = response.output[-1].content[0]
        (citation,) = part.annotations
        assert type(citation).__name__ == "AnnotationContainerFileCitation"
        assert part.text[citation.start_index : citation.end_index].startswith("sandbox:/mnt/data/")
        assert citation.file_id.startswith("cfile_")
        assert citation.container_id.startswith("cntr_")


# -- non-streamed samples ------------------------------------------------------------------


def delphi(kind: str, section: str) -> dict[str, Any]:
    document = json.loads(
        (SAMPLES / "containers-conversations-results.delphigenai.json").read_text()
    )
    return next(entry["body"] for entry in document[kind] if entry["section"] == section)


Call = Callable[[AsyncOpenAI], Any]
NON_STREAMED: list[tuple[str, str, Any, Call, Callable[[Any], bool]]] = [
    (
        "GET",
        "/responses/resp_1",
        json.loads((SAMPLES / "responses-code-interpreter.vercel-ai.json").read_text()),
        lambda c: c.responses.retrieve("resp_1"),
        lambda r: r.output[-1].content[0].annotations[0].type == "container_file_citation",
    ),
    (
        "GET",
        "/responses/resp_2",
        json.loads((SAMPLES / "responses-basic.openai-python-live-snapshot.json").read_text()),
        lambda c: c.responses.retrieve("resp_2"),
        lambda r: r.output_text.startswith("I can't provide real-time"),
    ),
    (
        "GET",
        "/conversations/conv_1/items/msg_1",
        json.loads((SAMPLES / "container-file-citation-png.openai-docs.json").read_text()),
        lambda c: c.conversations.items.retrieve("msg_1", conversation_id="conv_1"),
        lambda m: m.content[0].annotations[0].filename.endswith(".png"),
    ),
    (
        "GET",
        "/containers/cntr_1",
        delphi("containers", "Retrieve container"),
        lambda c: c.containers.retrieve("cntr_1"),
        lambda r: r.status == "running" and r.expires_after.minutes == 20,
    ),
    (
        "GET",
        "/containers/cntr_1/files",
        delphi("containers", "List container files"),
        lambda c: c.containers.files.list("cntr_1"),
        lambda page: page.data[0].path.startswith("/mnt/data/") and page.data[0].source == "user",
    ),
    (
        "GET",
        "/conversations/conv_1/items",
        delphi("conversations", "List items"),
        lambda c: c.conversations.items.list("conv_1"),
        lambda page: page.data[0].content[0].text == "Hello!",
    ),
]


@pytest.mark.parametrize(
    ("method", "path", "body", "call", "check"), NON_STREAMED, ids=[s[1] for s in NON_STREAMED]
)
async def test_non_streamed_samples_parse_with_the_sdk(
    replay: tuple[Replay, AsyncOpenAI],
    method: str,
    path: str,
    body: Any,
    call: Call,
    check: Callable[[Any], bool],
) -> None:
    server, client = replay
    server.serve(method, path, body)
    assert check(await call(client))


# -- the spec --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(CAPTURES))
def test_real_captures_differ_from_the_spec_only_by_documented_drift(name: str) -> None:
    spec = get_spec()
    for event in CAPTURES[name].events:
        assert spec.component_errors("ResponseStreamEvent", without_wire_drift(event)) == []


async def test_everything_the_fake_sends_conforms_to_the_spec(
    fake_openai: FakeOpenAI, openai_client: AsyncOpenAI
) -> None:
    spec = get_spec()
    uploaded = await openai_client.files.create(file=("a.csv", b"x,y\n1,2\n"), purpose="user_data")
    container = await openai_client.containers.create(name="c", file_ids=[uploaded.id])
    conversation = await openai_client.conversations.create(metadata={"k": "v"})
    store = await openai_client.vector_stores.create(name="docs", file_ids=[uploaded.id])
    capture = CAPTURES["responses-stream-code-interpreter.vercel-ai.ndjson"]
    fake_openai.model.enqueue(capture.similar)
    stream = await openai_client.responses.create(
        model="gpt-5.5",
        input="q",
        stream=True,
        conversation=conversation.id,
        tools=[{"type": "code_interpreter", "container": container.id}],
    )
    assert [event.type async for event in stream][-1] == "response.completed"
    (run,) = fake_openai.responses.values()

    payloads: list[tuple[str, Any]] = [
        ("Response", run.response),
        *[("ResponseStreamEvent", event) for event in run.events],
    ]
    for path, schema in [
        (f"/files/{uploaded.id}", "OpenAIFile"),
        ("/files", "ListFilesResponse"),
        (f"/containers/{container.id}", "ContainerResource"),
        ("/containers", "ContainerListResource"),
        (f"/containers/{container.id}/files", "ContainerFileListResource"),
        (f"/conversations/{conversation.id}", "ConversationResource"),
        (f"/conversations/{conversation.id}/items", "ConversationItemList"),
        (f"/responses/{run.id}", "Response"),
        (f"/vector_stores/{store.id}", "VectorStoreObject"),
        (f"/vector_stores/{store.id}/files", "ListVectorStoreFilesResponse"),
    ]:
        payloads.append((schema, await openai_client.get(path, cast_to=object)))
    for item in (await openai_client.containers.files.list(container.id)).data:
        path = f"/containers/{container.id}/files/{item.id}"
        payloads.append(("ContainerFileResource", await openai_client.get(path, cast_to=object)))
    for schema, payload in payloads:
        assert spec.component_errors(schema, without_wire_drift(payload)) == [], schema
