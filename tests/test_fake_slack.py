"""The fake Slack's own tests, driven through the real slack_sdk AsyncWebClient (and Bolt)."""

from __future__ import annotations

import asyncio
import json
import random
import struct
import time
import zlib
from collections.abc import AsyncIterator, Awaitable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from tests.fakes import slack_events
from tests.fakes.slack_api import FakeSlack
from tests.fakes.slack_events import EventSender, sign_request
from tests.fakes.slack_faults import DOWNLOAD, UPLOAD

CHANNEL, DM, ALICE = "C0GENERAL", "D0DM", "U0ALICE"


def tiny_png(width: int = 3, height: int = 2) -> bytes:
    """A valid PNG (grey pixels), so the bytes compared after the round trip are a real image."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


async def slack_error(call: Awaitable[Any]) -> SlackApiError:
    with pytest.raises(SlackApiError) as info:
        await call
    return info.value


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as fake:
        yield fake


@pytest.fixture
def client(slack: FakeSlack) -> AsyncWebClient:
    return AsyncWebClient(token=slack.bot_token, base_url=slack.base_url)


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


# --- auth, arguments, methods -------------------------------------------------------------------


async def test_auth_test_identifies_the_bot(slack: FakeSlack, client: AsyncWebClient) -> None:
    response = await client.auth_test()

    assert response.status_code == 200
    assert (response["user_id"], response["bot_id"], response["team_id"]) == (
        "UBOT",
        "BBOT",
        "T0TEST",
    )
    assert slack.base_url == f"http://{slack.host}/api/"
    call = slack.calls_to("auth.test")[0]
    assert (call.ok, call.token, call.args) == (True, "xoxb-test-token", {})


async def test_tokens_are_checked(slack: FakeSlack) -> None:
    anonymous = AsyncWebClient(base_url=slack.base_url)
    wrong = AsyncWebClient(token="xoxb-wrong", base_url=slack.base_url)

    assert (await slack_error(anonymous.auth_test())).response["error"] == "not_authed"
    error = await slack_error(wrong.chat_postMessage(channel=CHANNEL, text="hi"))
    assert error.response.status_code == 200
    assert error.response["error"] == "invalid_auth"
    assert slack.messages(CHANNEL) == []


async def test_unknown_method_retired_upload_and_app_token_method(client: AsyncWebClient) -> None:
    unknown = await slack_error(client.api_call("chat.postMesage", json={"channel": CHANNEL}))
    retired = await slack_error(client.api_call("files.upload", data={"channels": CHANNEL}))
    socket = await slack_error(client.apps_connections_open(app_token="xoxb-test-token"))

    assert unknown.response["error"] == "unknown_method"
    assert retired.response["error"] == "method_deprecated"
    assert socket.response["error"] == "not_allowed_token_type"


async def test_unknown_argument_is_rejected_by_name(
    slack: FakeSlack, client: AsyncWebClient
) -> None:
    error = await slack_error(client.chat_postMessage(channel=CHANNEL, text="hi", thred_ts="1.2"))

    assert error.response["error"] == "invalid_arguments"
    assert error.response["response_metadata"]["messages"] == ["[ERROR] unknown argument: thred_ts"]
    assert slack.calls[-1].error == "invalid_arguments"


async def test_missing_required_arguments(client: AsyncWebClient) -> None:
    no_title = await slack_error(
        client.api_call(
            "assistant.threads.setTitle", params={"channel_id": CHANNEL, "thread_ts": "1.2"}
        )
    )
    no_channel = await slack_error(client.api_call("chat.postMessage", json={"text": "hi"}))
    no_text = await slack_error(client.api_call("chat.postMessage", json={"channel": CHANNEL}))

    assert no_title.response["error"] == "invalid_arguments"
    assert no_title.response["response_metadata"]["messages"] == [
        "[ERROR] missing required field: title"
    ]
    assert no_channel.response["error"] == "channel_not_found"
    assert no_text.response["error"] == "no_text"


async def test_bolt_team_id_and_form_body_token_are_accepted(
    slack: FakeSlack, http: aiohttp.ClientSession
) -> None:
    org_client = AsyncWebClient(token=slack.bot_token, base_url=slack.base_url, team_id="T0TEST")
    form = {"token": slack.bot_token, "channel": CHANNEL, "text": "from curl"}

    await org_client.chat_postMessage(channel=CHANNEL, text="hi")
    async with http.post(f"{slack.base_url}chat.postMessage", data=form) as response:
        by_form = await response.json()

    assert by_form["ok"]
    first, second = slack.calls_to("chat.postMessage")
    assert first.args == {"channel": CHANNEL, "text": "hi", "team_id": "T0TEST"}
    assert (second.args, second.token) == (
        {"channel": CHANNEL, "text": "from curl"},
        slack.bot_token,
    )


# --- messages, threads, limits ------------------------------------------------------------------


async def test_post_into_a_thread_shows_in_conversations_replies(
    slack: FakeSlack, client: AsyncWebClient
) -> None:
    root = slack.post_user_message(CHANNEL, ALICE, "how did sales do?")

    posted = await client.chat_postMessage(channel=CHANNEL, thread_ts=root.ts, text="Up *12%*")
    replies = await client.conversations_replies(channel=CHANNEL, ts=root.ts)

    assert [m["text"] for m in replies["messages"]] == ["how did sales do?", "Up *12%*"]
    first, reply = replies["messages"]
    assert (first["reply_count"], first["latest_reply"]) == (1, posted["ts"])
    assert (reply["thread_ts"], reply["parent_user_id"], reply["bot_id"]) == (
        root.ts,
        ALICE,
        "BBOT",
    )
    assert float(posted["ts"]) > float(root.ts)
    assert [m.text_content() for m in slack.bot_messages(CHANNEL, root.ts)] == ["Up *12%*"]


async def test_replies_paginate_with_a_cursor(slack: FakeSlack, client: AsyncWebClient) -> None:
    root = slack.post_user_message(CHANNEL, ALICE, "root")
    for n in range(4):
        slack.post_user_message(CHANNEL, "U0BOB", f"reply {n}", thread_ts=root.ts)

    first = await client.conversations_replies(channel=CHANNEL, ts=root.ts, limit=3)
    cursor = first["response_metadata"]["next_cursor"]
    second = await client.conversations_replies(channel=CHANNEL, ts=root.ts, limit=3, cursor=cursor)

    assert [m["text"] for m in first["messages"]] == ["root", "reply 0", "reply 1"]
    assert first["has_more"] is True
    assert [m["text"] for m in second["messages"]] == ["reply 2", "reply 3"]
    assert second["has_more"] is False


async def test_thread_ts_must_be_a_thread_root(slack: FakeSlack, client: AsyncWebClient) -> None:
    root = slack.post_user_message(CHANNEL, ALICE, "root")
    reply = await client.chat_postMessage(channel=CHANNEL, thread_ts=root.ts, text="reply")

    unknown = await slack_error(
        client.chat_postMessage(channel=CHANNEL, thread_ts="1.000001", text="x")
    )
    nested = await slack_error(
        client.chat_postMessage(channel=CHANNEL, thread_ts=reply["ts"], text="x")
    )
    elsewhere = await slack_error(client.chat_postMessage(channel="C0NOPE", text="x"))

    assert unknown.response["error"] == nested.response["error"] == "thread_not_found"
    assert elsewhere.response["error"] == "channel_not_found"


async def test_bot_must_be_a_member(slack: FakeSlack, client: AsyncWebClient) -> None:
    slack.add_channel("C0RANDOM", name="random", members=[ALICE], bot_member=False)
    slack.add_channel("G0SECRET", is_private=True, members=[ALICE], bot_member=False)

    public = await slack_error(client.chat_postMessage(channel="C0RANDOM", text="hi"))
    private = await slack_error(client.chat_postMessage(channel="G0SECRET", text="hi"))

    assert public.response["error"] == "not_in_channel"
    assert private.response["error"] == "channel_not_found"


def _section(text: str, **extra: Any) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}, **extra}


INVALID_BLOCKS = {
    "51 blocks": (
        [{"type": "divider"}] * 51,
        "no more than 50 items allowed [json-pointer:/blocks]",
    ),
    "section text 3,001": ([_section("x" * 3001)], "/blocks/0/text/text"),
    "unknown type": ([{"type": "sektion"}], "unsupported block type"),
    "header 151": (
        [{"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}],
        "/blocks/0/text/text",
    ),
    "11 fields": (
        [{"type": "section", "fields": [{"type": "mrkdwn", "text": "f"}] * 11}],
        "/blocks/0/fields",
    ),
    "duplicate block_id": (
        [_section("a", block_id="b1"), _section("b", block_id="b1")],
        "duplicate",
    ),
    "ragged table": (
        [{"type": "table", "rows": [[{"type": "raw_text", "text": "a"}], []]}],
        "same number of cells",
    ),
    "data_table without caption": (
        [{"type": "data_table", "rows": [[{"type": "raw_text", "text": "h"}]] * 2}],
        "/blocks/0/caption",
    ),
    "button text 76": (
        [
            {
                "type": "actions",
                "elements": [{"type": "button", "text": {"type": "plain_text", "text": "b" * 76}}],
            }
        ],
        "/blocks/0/elements/0/text/text",
    ),
    "image alt_text 2,001": (
        [{"type": "image", "image_url": "https://x/y.png", "alt_text": "a" * 2001}],
        "/blocks/0/alt_text",
    ),
}


@pytest.mark.parametrize(("blocks", "expected"), INVALID_BLOCKS.values(), ids=INVALID_BLOCKS.keys())
async def test_invalid_blocks_are_rejected_with_a_pointer(
    slack: FakeSlack, client: AsyncWebClient, blocks: list[dict[str, Any]], expected: str
) -> None:
    error = await slack_error(
        client.chat_postMessage(channel=CHANNEL, text="fallback", blocks=blocks)
    )

    assert error.response["error"] == "invalid_blocks"
    assert any(expected in line for line in error.response["response_metadata"]["messages"])
    assert slack.messages(CHANNEL) == []


async def test_message_size_limits(slack: FakeSlack, client: AsyncWebClient) -> None:
    slack.limits.enabled = False  # four posts in a second in one channel: this test is about sizes
    markdown_blocks = [{"type": "markdown", "text": "m" * 7000}] * 2

    too_long = await slack_error(client.chat_postMessage(channel=CHANNEL, text="t" * 40_001))
    cumulative = await slack_error(
        client.chat_postMessage(channel=CHANNEL, text="fallback", blocks=markdown_blocks)
    )
    conflict = await slack_error(
        client.chat_postMessage(channel=CHANNEL, text="t", markdown_text="**m**")
    )
    ok = await client.chat_postMessage(channel=CHANNEL, markdown_text="# Report\n" + "m" * 11_000)

    assert too_long.response["error"] == "msg_too_long"
    assert cumulative.response["error"] == "msg_blocks_too_long"
    assert conflict.response["error"] == "markdown_text_conflict"
    assert ok["ok"]


async def test_valid_rich_blocks_pass(slack: FakeSlack, client: AsyncWebClient) -> None:
    feedback = {
        "type": "context_actions",
        "elements": [
            {
                "type": "feedback_buttons",
                "action_id": "feedback",
                "positive_button": {"text": {"type": "plain_text", "text": "Good"}, "value": "up"},
                "negative_button": {"text": {"type": "plain_text", "text": "Bad"}, "value": "down"},
            }
        ],
    }
    table: dict[str, Any] = {
        "type": "table",
        "rows": [[{"type": "raw_text", "text": "region"}, {"type": "raw_text", "text": "sales"}]]
        + [[{"type": "raw_text", "text": "EU"}, {"type": "raw_number", "value": 12, "text": "12"}]],
    }
    blocks = [{"type": "markdown", "text": "**Sales** by region"}, table, feedback]

    posted = await client.chat_postMessage(channel=CHANNEL, text="Sales by region", blocks=blocks)

    message = slack.messages(CHANNEL)[-1]
    assert posted["message"]["blocks"] == blocks
    assert message.text_content().startswith("**Sales** by region")  # the blocks, not `text`
    assert message.blocks == blocks


async def test_update_records_edits_and_checks_ownership(
    slack: FakeSlack, client: AsyncWebClient
) -> None:
    user_message = slack.post_user_message(CHANNEL, ALICE, "hello")
    posted = await client.chat_postMessage(channel=CHANNEL, text="Working…")

    for step in ("Step 1", "Step 2"):
        await client.chat_update(channel=CHANNEL, ts=posted["ts"], text=step)
    not_mine = await slack_error(client.chat_update(channel=CHANNEL, ts=user_message.ts, text="x"))
    missing = await slack_error(client.chat_update(channel=CHANNEL, ts="1.000001", text="x"))

    message = slack.messages(CHANNEL)[-1]
    assert [e.text for e in message.edits] == ["Step 1", "Step 2"]
    assert message.edits[0].time <= message.edits[1].time
    assert message.text_content() == "Step 2"
    assert not_mine.response["error"] == "cant_update_message"
    assert missing.response["error"] == "message_not_found"


async def test_delete_ephemeral_and_reactions(slack: FakeSlack, client: AsyncWebClient) -> None:
    root = slack.post_user_message(CHANNEL, ALICE, "question")
    reply = await client.chat_postMessage(channel=CHANNEL, thread_ts=root.ts, text="draft")

    await client.chat_delete(channel=CHANNEL, ts=reply["ts"])
    await client.chat_postEphemeral(channel=CHANNEL, user=ALICE, thread_ts=root.ts, text="psst")
    await client.reactions_add(channel=CHANNEL, timestamp=root.ts, name="eyes")
    again = await slack_error(client.reactions_add(channel=CHANNEL, timestamp=root.ts, name="eyes"))

    assert [m.ts for m in slack.thread(CHANNEL, root.ts)] == [root.ts]
    assert [(e.user, e.text) for e in slack.ephemerals] == [(ALICE, "psst")]
    assert slack.thread(CHANNEL, root.ts)[0].reactions == {"eyes": ["UBOT"]}
    assert again.response["error"] == "already_reacted"


async def test_users_and_conversations_info(client: AsyncWebClient) -> None:
    user = (await client.users_info(user=ALICE))["user"]
    channel = (await client.conversations_info(channel=CHANNEL, include_num_members=True))[
        "channel"
    ]
    dm = (await client.conversations_info(channel=DM))["channel"]
    missing = await slack_error(client.users_info(user="U0NOBODY"))

    assert (user["profile"]["display_name"], user["real_name"], user["tz"]) == (
        "alice",
        "Alice Martin",
        "Europe/Paris",
    )
    assert user["tz_offset"] in (3600, 7200)
    assert user["tz_label"] == "Central European Time"
    assert user["is_bot"] is False
    assert (channel["name"], channel["is_channel"], channel["num_members"]) == ("general", True, 3)
    assert (dm["is_im"], dm["user"]) == (True, ALICE)
    assert missing.response["error"] == "user_not_found"


# --- files ----------------------------------------------------------------------------------------


async def test_files_upload_v2_lands_in_the_thread_with_identical_bytes(
    slack: FakeSlack, client: AsyncWebClient, http: aiohttp.ClientSession
) -> None:
    root = slack.post_user_message(CHANNEL, ALICE, "chart please", mention_bot=True)
    png = tiny_png()

    result = await client.files_upload_v2(
        channel=CHANNEL, thread_ts=root.ts, content=png, filename="chart.png", title="Sales"
    )

    share = slack.bot_messages(CHANNEL, root.ts)[-1]
    assert [f.id for f in share.files] == [result["file"]["id"]]
    assert share.files[0].content == png
    assert slack.uploaded_files[0].content == png
    assert (result["file"]["title"], result["file"]["mimetype"]) == ("Sales", "image/png")
    assert (result["file"]["original_w"], result["file"]["original_h"]) == (3, 2)
    replies = await client.conversations_replies(channel=CHANNEL, ts=root.ts)
    assert replies["messages"][-1]["files"][0]["id"] == result["file"]["id"]
    headers = {"Authorization": f"Bearer {slack.bot_token}"}
    async with http.get(result["file"]["url_private_download"], headers=headers) as response:
        assert (response.status, response.content_type) == (200, "image/png")
        assert await response.read() == png
    assert [c.method for c in slack.calls] == [
        "files.getUploadURLExternal",
        "files.completeUploadExternal",
        "conversations.replies",
    ]


async def test_markdown_block_in_complete_upload_is_an_internal_error(
    slack: FakeSlack, client: AsyncWebClient
) -> None:
    blocks = json.dumps([{"type": "markdown", "text": "**chart**"}])

    error = await slack_error(
        client.files_upload_v2(
            channel=CHANNEL, content=b"a,b\n1,2\n", filename="t.csv", blocks=blocks
        )
    )

    assert error.response["error"] == "internal_error"
    assert slack.messages(CHANNEL) == []


async def test_upload_url_must_receive_the_announced_length(
    slack: FakeSlack, client: AsyncWebClient, http: aiohttp.ClientSession
) -> None:
    ticket = await client.files_getUploadURLExternal(filename="data.csv", length=10)

    async with http.post(ticket["upload_url"], data=b"too short") as response:
        status = response.status
    incomplete = await slack_error(
        client.files_completeUploadExternal(files=[{"id": ticket["file_id"]}], channel_id=CHANNEL)
    )

    assert status == 400
    assert incomplete.response["error"] == "file_not_found"
    assert ticket["upload_url"].startswith(f"{slack.url}upload/v1/")


async def test_downloads_need_the_bot_token_else_html_login_page(
    slack: FakeSlack, http: aiohttp.ClientSession
) -> None:
    file = slack.add_file("sales.csv", b"region,sales\nEU,12\n")
    url = file["url_private_download"]

    async with http.get(url, headers={"Authorization": f"Bearer {slack.bot_token}"}) as ok:
        ok_body, ok_type, ok_length = await ok.read(), ok.content_type, ok.content_length
    async with http.get(url) as anonymous:
        anonymous_status, anonymous_type = anonymous.status, anonymous.content_type
        anonymous_body = await anonymous.text()
    slack.faults.html_for_downloads()
    async with http.get(url, headers={"Authorization": f"Bearer {slack.bot_token}"}) as scopeless:
        scopeless_type = scopeless.content_type

    assert (ok_body, ok_type, ok_length) == (b"region,sales\nEU,12\n", "text/csv", 19)
    assert (anonymous_status, anonymous_type) == (200, "text/html")
    assert "<!DOCTYPE html>" in anonymous_body
    assert scopeless_type == "text/html"
    assert [(d.authorization is not None, d.served) for d in slack.downloads] == [
        (True, "redirect"),
        (False, "login_page"),
        (True, "login_page"),
    ]
    assert [(r.authorization, r.status) for r in slack.cdn_requests] == [(None, 200)]


async def test_large_file_is_streamed_from_disk(
    slack: FakeSlack, http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    path = tmp_path / "big.csv"
    path.write_bytes(b"x,y\n" + b"1,2\n" * 500_000)
    file = slack.add_file("big.csv", path=path)

    headers = {"Authorization": f"Bearer {slack.bot_token}"}
    async with http.get(file["url_private"], headers=headers) as response:
        received = 0
        async for chunk in response.content.iter_chunked(1 << 16):
            received += len(chunk)

    assert file["size"] == received == path.stat().st_size
    assert slack.files[file["id"]].content is None


async def test_slack_connect_stub_and_files_info(slack: FakeSlack, client: AsyncWebClient) -> None:
    slack.add_channel("C0SHARED", name="shared-with-acme", is_ext_shared=True, members=[ALICE])
    file = slack.add_file("q3.csv", b"a,b\n1,2\n")

    sent = slack.post_user_message("C0SHARED", ALICE, "see attached", files=[file])
    info = await client.files_info(file=file["id"])

    event_file = sent.message_event["event"]["files"][0]
    assert event_file == slack.file_stub(file["id"])
    assert event_file["file_access"] == "check_file_info"
    assert "url_private_download" not in event_file
    assert sent.message_event["is_ext_shared_channel"] is True
    assert info["file"]["url_private_download"] == file["url_private_download"]
    assert info["file"]["channels"] == ["C0SHARED"]


async def test_a_deleted_file_is_gone_like_in_slack(
    slack: FakeSlack, client: AsyncWebClient, http: aiohttp.ClientSession
) -> None:
    file = slack.add_file("chart.png", tiny_png())
    sent = slack.post_user_message(CHANNEL, ALICE, "the chart", files=[file])
    presigned = slack.cdn.presign(slack.files[file["id"]])  # handed out before the deletion
    token = {"Authorization": f"Bearer {slack.bot_token}"}

    slack.delete_file(file["id"])
    deleted = await slack_error(client.files_info(file=file["id"]))
    unknown = await slack_error(client.files_info(file="F0NEVER"))
    async with http.get(file["url_private_download"], headers=token) as direct:
        direct_status, direct_type = direct.status, direct.content_type
    async with http.get(presigned) as cdn:
        cdn_status = cdn.status
    replies = await client.conversations_replies(channel=CHANNEL, ts=sent.ts)

    assert deleted.response["error"] == "file_deleted"
    assert unknown.response["error"] == "file_not_found"
    assert (direct_status, direct_type) == (404, "text/html")
    assert cdn_status == 404
    assert replies["messages"][0]["files"] == [{"id": file["id"], "mode": "tombstone"}]


# --- streaming ------------------------------------------------------------------------------------


async def test_stream_start_append_stop(slack: FakeSlack, client: AsyncWebClient) -> None:
    root = slack.post_user_message(DM, ALICE, "analyse this")
    task = {"type": "task_update", "id": "t1", "title": "Load CSV", "status": "in_progress"}

    started = await client.chat_startStream(channel=DM, thread_ts=root.ts, markdown_text="Hello")
    await client.chat_appendStream(channel=DM, ts=started["ts"], chunks=[task])
    await client.chat_appendStream(channel=DM, ts=started["ts"], markdown_text=" world")
    await client.chat_stopStream(
        channel=DM, ts=started["ts"], chunks=[{**task, "status": "complete"}]
    )
    late = await slack_error(
        client.chat_appendStream(channel=DM, ts=started["ts"], markdown_text="!")
    )

    message = slack.bot_messages(DM, root.ts)[0]
    assert message.is_stream
    assert message.text_content() == "Hello world"
    assert message.stream is not None
    assert [c["type"] for c in message.stream.chunks] == [
        "markdown_text",
        "task_update",
        "markdown_text",
        "task_update",
    ]
    assert message.stream.tasks["t1"]["status"] == "complete"
    assert late.response["error"] == "message_not_in_streaming_state"


async def test_sdk_chat_stream_helper_round_trip(slack: FakeSlack, client: AsyncWebClient) -> None:
    root = slack.post_user_message(CHANNEL, ALICE, "question", mention_bot=True)

    streamer = await client.chat_stream(
        channel=CHANNEL, thread_ts=root.ts, recipient_team_id="T0TEST", recipient_user_id=ALICE
    )
    await streamer.append(markdown_text="Short answer.")
    await streamer.stop(blocks=[{"type": "divider"}])

    message = slack.bot_messages(CHANNEL, root.ts)[0]
    assert message.text_content() == "Short answer."
    assert message.stream is not None
    assert message.stream.final_blocks == [{"type": "divider"}]
    assert [c.method for c in slack.calls] == ["chat.startStream", "chat.stopStream"]


async def test_idle_stream_expires_then_chat_update_works() -> None:
    async with FakeSlack(stream_idle_timeout=0.2) as slack:
        client = AsyncWebClient(token=slack.bot_token, base_url=slack.base_url)
        root = slack.post_user_message(DM, ALICE, "question")
        started = await client.chat_startStream(channel=DM, thread_ts=root.ts, markdown_text="Hi")
        message = slack.bot_messages(DM, root.ts)[0]
        assert slack.ws.stream_state(message) == "streaming"

        # This test is about idle time: nothing changes in the fake, so poll the clock.
        await slack.wait_for(lambda: slack.ws.stream_state(message) == "expired", 2.0, poll=0.02)
        late = await slack_error(
            client.chat_appendStream(channel=DM, ts=started["ts"], markdown_text="!")
        )
        await client.chat_update(channel=DM, ts=started["ts"], markdown_text="Hi (final)")

        assert late.response["error"] == "message_not_in_streaming_state"
        assert message.text_content() == "Hi (final)"
        assert message.stream is not None
        assert (message.stream.expired, message.stream.expired_reason) == (True, "idle")


async def test_channel_stream_needs_a_recipient(slack: FakeSlack, client: AsyncWebClient) -> None:
    root = slack.post_user_message(CHANNEL, ALICE, "question", mention_bot=True)

    no_user = await slack_error(client.chat_startStream(channel=CHANNEL, thread_ts=root.ts))
    no_team = await slack_error(
        client.chat_startStream(channel=CHANNEL, thread_ts=root.ts, recipient_user_id=ALICE)
    )
    slack.faults.disable_streaming()
    disabled = await slack_error(
        client.chat_startStream(
            channel=CHANNEL, thread_ts=root.ts, recipient_user_id=ALICE, recipient_team_id="T0TEST"
        )
    )

    assert no_user.response["error"] == "missing_recipient_user_id"
    assert no_team.response["error"] == "missing_recipient_team_id"
    assert disabled.response["error"] == "channel_type_not_supported"
    assert slack.bot_messages(CHANNEL, root.ts) == []


async def test_invalid_chunks_are_rejected(slack: FakeSlack, client: AsyncWebClient) -> None:
    root = slack.post_user_message(DM, ALICE, "question")
    bad_task = {"type": "task_update", "id": "t1", "title": "Load", "status": "done"}

    error = await slack_error(
        client.chat_startStream(channel=DM, thread_ts=root.ts, chunks=[bad_task])
    )

    assert error.response["error"] == "invalid_chunks"
    assert "status" in error.response["response_metadata"]["messages"][0]


# --- assistant status ---------------------------------------------------------------------------


async def test_status_history_is_cleared_by_a_bot_reply(
    slack: FakeSlack, client: AsyncWebClient
) -> None:
    root = slack.post_user_message(CHANNEL, ALICE, "question", mention_bot=True)

    await client.assistant_threads_setStatus(
        channel_id=CHANNEL, thread_ts=root.ts, status="is thinking…", loading_messages=["Reading"]
    )
    await client.assistant_threads_setStatus(
        channel_id=CHANNEL, thread_ts=root.ts, status="is charting…"
    )
    assert slack.current_status(CHANNEL, root.ts) == "is charting…"
    await client.chat_postMessage(channel=CHANNEL, thread_ts=root.ts, text="Done")
    await client.assistant_threads_setSuggestedPrompts(
        channel_id=DM, title="Try", prompts=[{"title": "Plot", "message": "Plot sales"}]
    )
    await client.assistant_threads_setTitle(channel_id=CHANNEL, thread_ts=root.ts, title="Sales")
    bad = await slack_error(
        client.assistant_threads_setStatus(channel_id=CHANNEL, thread_ts="1.000001", status="x")
    )

    history = slack.status_history(CHANNEL, root.ts)
    assert [(h.status, h.source) for h in history] == [
        ("is thinking…", "assistant.threads.setStatus"),
        ("is charting…", "assistant.threads.setStatus"),
        ("", "chat.postMessage"),
    ]
    assert history[0].loading_messages == ["Reading"]
    assert slack.current_status(CHANNEL, root.ts) == ""
    assert slack.suggested_prompts[0].prompts == [{"title": "Plot", "message": "Plot sales"}]
    assert slack.titles[(CHANNEL, root.ts)] == ["Sales"]
    assert bad.response["error"] == "invalid_thread_ts"


# --- faults ---------------------------------------------------------------------------------------


async def test_429_is_retried_by_the_rate_limit_handler(
    slack: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(random, "random", lambda: 0.0)  # no jitter in the handler's sleep
    client = AsyncWebClient(
        token=slack.bot_token,
        base_url=slack.base_url,
        retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=1)],
    )
    slack.faults.ratelimit("chat.postMessage", retry_after=0)

    response = await client.chat_postMessage(channel=CHANNEL, text="hi")

    assert response["ok"]
    assert [(c.ok, c.error) for c in slack.calls_to("chat.postMessage")] == [
        (False, "ratelimited"),
        (True, None),
    ]


async def test_429_carries_retry_after(slack: FakeSlack, client: AsyncWebClient) -> None:
    slack.faults.ratelimit("conversations.replies", retry_after=7, times=1)

    error = await slack_error(client.conversations_replies(channel=CHANNEL, ts="1.2"))

    assert (error.response.status_code, error.response["error"]) == (429, "ratelimited")
    assert error.response.headers["Retry-After"] == "7"


async def test_dropped_connection_raises_a_client_error(slack: FakeSlack) -> None:
    client = AsyncWebClient(token=slack.bot_token, base_url=slack.base_url, retry_handlers=[])
    slack.faults.drop("auth.test")

    with pytest.raises(aiohttp.ServerDisconnectedError):
        await client.auth_test()
    recovered = await client.auth_test()

    assert recovered["ok"]
    assert [c.error for c in slack.calls_to("auth.test")] == ["connection_dropped", None]


async def test_error_and_delay_faults(slack: FakeSlack, client: AsyncWebClient) -> None:
    slack.faults.error("users.info", error="fatal_error", times=1)
    slack.faults.delay("auth.test", 0.2, times=1)

    failed = await slack_error(client.users_info(user=ALICE))
    started = time.monotonic()
    await client.auth_test()
    elapsed = time.monotonic() - started
    fine = await client.users_info(user=ALICE)

    assert failed.response["error"] == "fatal_error"
    assert elapsed >= 0.2
    assert fine["ok"]


async def test_download_faults(slack: FakeSlack, http: aiohttp.ClientSession) -> None:
    file = slack.add_file("a.csv", b"a\n1\n")
    slack.faults.error(DOWNLOAD, error="boom")
    headers = {"Authorization": f"Bearer {slack.bot_token}"}

    async with http.get(file["url_private_download"], headers=headers) as failed:
        failed_status = failed.status
    async with http.get(file["url_private_download"], headers=headers) as ok:
        ok_status = ok.status

    assert (failed_status, ok_status) == (500, 200)


# --- waiting --------------------------------------------------------------------------------------


async def test_wait_for_wakes_on_changes_and_reports_at_the_deadline(
    slack: FakeSlack, client: AsyncWebClient
) -> None:
    root = slack.post_user_message(CHANNEL, ALICE, "question")

    waiter = asyncio.create_task(slack.wait_for(lambda: slack.bot_messages(CHANNEL, root.ts)))
    await client.chat_postMessage(channel=CHANNEL, thread_ts=root.ts, text="answer")
    found = await waiter
    with pytest.raises(AssertionError, match="no reply yet") as info:
        await slack.wait_for(lambda: slack.current_status(CHANNEL, root.ts), 0.05, "no reply yet")

    assert [m.text for m in found] == ["answer"]
    assert "chat.postMessage: ok" in str(info.value)


# --- events and signing ---------------------------------------------------------------------------


def test_signed_headers_verify_and_tampering_fails() -> None:
    body = json.dumps(slack_events.url_verification("abc")).encode()
    headers = sign_request(body, "s3cret")
    verifier = SignatureVerifier("s3cret")

    assert verifier.is_valid_request(body, headers)
    assert not verifier.is_valid_request(body.replace(b"abc", b"abd"), headers)
    assert not SignatureVerifier("other").is_valid_request(body, headers)
    stale = sign_request(body, "s3cret", timestamp=int(time.time()) - 600)
    assert not verifier.is_valid_request(body, stale)


async def test_user_message_yields_message_and_app_mention_twins(
    slack: FakeSlack, client: AsyncWebClient
) -> None:
    file = slack.add_file("sales.csv", b"region,sales\nEU,12\n")

    sent = slack.post_user_message(
        CHANNEL, ALICE, "plot this", files=[file["id"]], mention_bot=True
    )
    in_dm = slack.post_user_message(DM, ALICE, "<@UBOT> hi", mention_bot=True)

    message, mention = sent.message_event, sent.app_mention_event
    assert mention is not None
    assert message["event_id"] != mention["event_id"]
    assert message["event"]["ts"] == mention["event"]["ts"] == sent.ts
    assert (message["event"]["type"], message["event"]["subtype"]) == ("message", "file_share")
    assert mention["event"]["type"] == "app_mention"
    assert mention["event"]["text"] == "<@UBOT> plot this"
    assert mention["event"]["files"][0]["url_private_download"] == file["url_private_download"]
    assert message["authorizations"][0]["user_id"] == "UBOT"
    assert (in_dm.app_mention_event, in_dm.message_event["event"]["channel_type"]) == (None, "im")
    replies = await client.conversations_replies(channel=CHANNEL, ts=sent.ts)
    assert replies["messages"][0]["files"][0]["id"] == file["id"]


async def test_event_sender_drives_a_real_bolt_app(slack: FakeSlack) -> None:
    app = AsyncApp(
        client=AsyncWebClient(token=slack.bot_token, base_url=slack.base_url),
        signing_secret="s3cret",
    )

    @app.event("app_mention")
    async def answer(event: dict[str, Any], say: Any) -> None:
        await say(text="On it", thread_ts=event["ts"])

    @app.event("message")
    async def ignore(event: dict[str, Any]) -> None:
        return None

    @app.action("feedback")
    async def feedback(ack: Any, respond: Any) -> None:
        await ack()
        await respond(text="Thanks!", replace_original=False)

    server = TestServer(app.web_app())
    await server.start_server()
    try:
        sent = slack.post_user_message(CHANNEL, ALICE, "hello", mention_bot=True)
        async with EventSender(str(server.make_url("/slack/events")), "s3cret") as sender:
            assert sent.app_mention_event is not None
            forged = await sender.send(sent.app_mention_event, bad_signature=True)
            acked = await sender.send(sent.app_mention_event)
            await sender.send(sent.message_event, retry_num=1)
            answer_msg = (await slack.wait_for(lambda: slack.bot_messages(CHANNEL, sent.ts)))[0]
            click = slack.block_actions(
                user=ALICE,
                channel=CHANNEL,
                message_ts=answer_msg.ts,
                action_id="feedback",
                value="up",
            )
            clicked = await sender.send_interaction(click)
            await slack.wait_for(lambda: slack.response_posts)
    finally:
        await server.close()

    assert (forged.status, acked.status, clicked.status) == (401, 200, 200)
    assert answer_msg.text_content() == "On it"
    assert slack.calls_to("chat.postMessage")[0].args["team_id"] == "T0TEST"
    assert slack.response_posts[0].body["text"] == "Thanks!"


async def test_sdk_file_upload_failure_surfaces(slack: FakeSlack, client: AsyncWebClient) -> None:
    slack.faults.error(UPLOAD)

    with pytest.raises(SlackRequestError, match="Failed to upload a file"):
        await client.files_upload_v2(channel=CHANNEL, content=b"x", filename="x.txt")
    assert slack.calls_to("files.completeUploadExternal") == []


def test_the_ping_detector_sees_what_slack_would_notify_and_nothing_defused() -> None:
    from bot.core.markdown import defuse
    from tests.fakes.slack_pings import pings
    from tests.fakes.slack_state import Call

    raw = "hi <!channel>, <!here|here>, <@U0BOB> and @everyone"
    loud = Call(
        "chat.postMessage", {"blocks": [{"type": "markdown", "text": raw}]}, 0, True, None, {}
    )
    quiet = Call("chat.postMessage", {"text": defuse(raw)}, 0, True, None, {})
    as_json = Call("chat.update", {"blocks": '[{"text": "<!everyone>"}]'}, 0, True, None, {})
    unseen = Call("users.info", {"user": "<@U0BOB>"}, 0, True, None, {})
    assert [p for _, p in pings([loud])] == ["<!channel>", "<!here|here>", "<@U0BOB>", "@everyone"]
    assert pings([quiet, unseen]) == []
    assert pings([as_json]) == [("chat.update", "<!everyone>")]


# --- rate limits ----------------------------------------------------------------------------------


async def test_a_tier_2_bucket_empties_answers_429_and_refills(
    slack: FakeSlack, client: AsyncWebClient
) -> None:
    root = slack.post_user_message(DM, ALICE, "question")

    for _ in range(20):  # Tier 2: one minute's worth, as a burst
        await client.chat_startStream(channel=DM, thread_ts=root.ts)
    limited = await slack_error(client.chat_startStream(channel=DM, thread_ts=root.ts))

    assert (limited.response.status_code, limited.response["error"]) == (429, "ratelimited")
    assert int(limited.response.headers["Retry-After"]) in (2, 3)  # 1 token = 3 s at 20/min
    assert slack.rate_limited() == {"chat.startStream": 1}
    assert (slack.calls[-1].method, slack.calls[-1].error) == ("chat.startStream", "ratelimited")
    assert len(slack.bot_messages(DM, root.ts)) == 20  # the refused call did nothing
    slack.limits.speed = 1000  # 20/min * 1000: a token every 3 ms
    await asyncio.sleep(0.05)
    refilled = await client.chat_startStream(channel=DM, thread_ts=root.ts)
    assert refilled["ok"]


async def test_retry_after_is_whole_real_seconds_at_least_one() -> None:
    async with FakeSlack(rate_speed=30.0) as slack:
        client = AsyncWebClient(token=slack.bot_token, base_url=slack.base_url)
        for n in range(3):
            await client.chat_postMessage(channel=CHANNEL, text=f"{n}")
        limited = await slack_error(client.chat_postMessage(channel=CHANNEL, text="3"))

        assert limited.response.headers["Retry-After"] == "1"  # 1/30 s, rounded up to 1
        await asyncio.sleep(0.1)
        assert (await client.chat_postMessage(channel=CHANNEL, text="4"))["ok"]


async def test_post_message_buckets_are_per_channel(
    slack: FakeSlack, client: AsyncWebClient
) -> None:
    for n in range(3):
        await client.chat_postMessage(channel=CHANNEL, text=f"burst {n}")
    limited = await slack_error(client.chat_postMessage(channel=CHANNEL, text="one too many"))
    elsewhere = await client.chat_postMessage(channel=DM, text="another channel")
    by_user_id = await client.chat_postMessage(channel=ALICE, text="the DM again, by user id")
    for n in range(5):  # the fake's own helpers are not Web API calls: never limited
        slack.post_user_message(CHANNEL, ALICE, f"human {n}")
    status = await client.assistant_threads_setStatus(
        channel_id=CHANNEL, thread_ts=slack.messages(CHANNEL)[0].ts, status="is thinking…"
    )

    assert limited.response.status_code == 429
    assert limited.response.headers["Retry-After"] == "1"
    assert elsewhere["ok"]
    assert by_user_id["ok"]
    assert status["ok"]
    assert slack.rate_limited() == {"chat.postMessage": 1}
    assert [m.text for m in slack.messages(CHANNEL) if m.is_bot] == [f"burst {n}" for n in range(3)]


def test_post_message_has_a_workspace_cap_on_top_of_channel_buckets() -> None:
    from tests.fakes.slack_limits import RateLimits

    limits = RateLimits()
    allowed = [limits.take("chat.postMessage", f"C{n}") is None for n in range(301)]

    assert allowed == [True] * 300 + [False]
    assert limits.take("auth.test") is None  # not limited at all
    assert limits.answered == {"chat.postMessage": 1}


async def test_assistant_status_has_buckets_of_its_own(
    slack: FakeSlack, client: AsyncWebClient
) -> None:
    root = slack.post_user_message(CHANNEL, ALICE, "question", mention_bot=True)

    for n in range(3):
        await client.assistant_threads_setStatus(
            channel_id=CHANNEL, thread_ts=root.ts, status=f"step {n}"
        )
    limited = await slack_error(
        client.assistant_threads_setStatus(channel_id=CHANNEL, thread_ts=root.ts, status="x")
    )
    posted = await client.chat_postMessage(channel=CHANNEL, thread_ts=root.ts, text="answer")

    assert limited.response.status_code == 429
    assert posted["ok"]
    assert slack.rate_limited() == {"assistant.threads.setStatus": 1}


async def test_limits_can_be_switched_off() -> None:
    async with FakeSlack(rate_limits=False) as slack:
        client = AsyncWebClient(token=slack.bot_token, base_url=slack.base_url)
        for n in range(6):
            await client.chat_postMessage(channel=CHANNEL, text=f"{n}")
        slack.limits.enabled = True
        for n in range(3):
            await client.chat_postMessage(channel=CHANNEL, text=f"again {n}")
        limited = await slack_error(client.chat_postMessage(channel=CHANNEL, text="now limited"))

        assert limited.response.status_code == 429
        assert slack.rate_limited() == {"chat.postMessage": 1}


async def test_a_ratelimit_fault_is_separate_from_the_buckets(
    slack: FakeSlack, client: AsyncWebClient
) -> None:
    slack.faults.ratelimit("chat.postMessage", retry_after=9)

    faulted = await slack_error(client.chat_postMessage(channel=CHANNEL, text="x"))
    for n in range(3):  # the fault took no token
        await client.chat_postMessage(channel=CHANNEL, text=f"{n}")

    assert faulted.response.headers["Retry-After"] == "9"
    assert slack.rate_limited() == {}
    assert [c.error for c in slack.calls_to("chat.postMessage")] == [
        "ratelimited",
        None,
        None,
        None,
    ]


# --- block limits per message ---------------------------------------------------------------------


def _table(*rows: list[str]) -> dict[str, Any]:
    return {"type": "table", "rows": [[{"type": "raw_text", "text": c} for c in r] for r in rows]}


def _data_table(rows: list[list[dict[str, Any]]], **extra: Any) -> dict[str, Any]:
    return {"type": "data_table", "caption": "Sales by region", "rows": rows, **extra}


def _cells(*texts: str) -> list[dict[str, Any]]:
    return [{"type": "raw_text", "text": t} for t in texts]


def _bar(*series: dict[str, Any], categories: tuple[str, ...] = ("EU", "US")) -> dict[str, Any]:
    axis = {"categories": list(categories), "x_label": "Region", "y_label": "Sales"}
    return {
        "type": "data_visualization",
        "title": "Sales by region",
        "chart": {"type": "bar", "series": list(series), "axis_config": axis},
    }


def _series(name: str, **values: float) -> dict[str, Any]:
    return {"name": name, "data": [{"label": k, "value": v} for k, v in values.items()]}


def _pie(*segments: tuple[str, float]) -> dict[str, Any]:
    chart = {"type": "pie", "segments": [{"label": k, "value": v} for k, v in segments]}
    return {"type": "data_visualization", "title": "Share", "chart": chart}


def _messages(error: SlackApiError) -> list[str]:
    return list(error.response["response_metadata"]["messages"])


async def test_one_table_per_message_and_10000_cell_characters(
    slack: FakeSlack, client: AsyncWebClient
) -> None:
    two = [_table(["a"], ["1"]), _table(["b"], ["2"])]
    wide = [_table(*[["x" * 600, "y" * 600] for _ in range(9)])]  # 10,800 characters of cells

    second = await slack_error(client.chat_postMessage(channel=CHANNEL, text="t", blocks=two))
    heavy = await slack_error(client.chat_postMessage(channel=DM, text="t", blocks=wide))

    assert second.response["error"] == heavy.response["error"] == "invalid_blocks"
    assert _messages(second) == [
        "[ERROR] only one table block is allowed per message [json-pointer:/blocks/1]"
    ]
    assert "10800 characters" in _messages(heavy)[0]
    assert slack.messages(CHANNEL) == slack.messages(DM) == []


async def test_a_stream_accumulates_its_blocks_so_a_later_table_is_refused(
    slack: FakeSlack, client: AsyncWebClient
) -> None:
    root = slack.post_user_message(DM, ALICE, "two tables please")
    first: dict[str, Any] = {"type": "blocks", "blocks": [_table(["region"], ["EU"])]}
    later_table = _table(["year"], ["2026"])
    second: dict[str, Any] = {"type": "blocks", "blocks": [later_table]}

    started = await client.chat_startStream(channel=DM, thread_ts=root.ts, chunks=[first])
    in_chunk = await slack_error(
        client.chat_appendStream(channel=DM, ts=started["ts"], chunks=[second])
    )
    at_stop = await slack_error(
        client.chat_stopStream(channel=DM, ts=started["ts"], blocks=[later_table])
    )
    await client.chat_appendStream(channel=DM, ts=started["ts"], markdown_text="Still streaming")

    assert in_chunk.response["error"] == at_stop.response["error"] == "invalid_blocks"
    assert "json-pointer:/chunks/0/blocks/0" in _messages(in_chunk)[0]
    assert "only one table" in _messages(at_stop)[0]
    stream = slack.stream(DM, started["ts"])
    assert stream is not None
    assert stream.is_open
    assert stream.chunk_blocks() == first["blocks"]


async def test_whole_message_block_text_is_capped(client: AsyncWebClient) -> None:
    blocks = [_section("s" * 2800) for _ in range(5)]  # 14,000 characters

    error = await slack_error(client.chat_postMessage(channel=CHANNEL, text="t", blocks=blocks))

    assert error.response["error"] == "msg_blocks_too_long"


async def test_valid_data_table_and_charts_pass(slack: FakeSlack, client: AsyncWebClient) -> None:
    data_table = _data_table(
        [
            _cells("region", "sales"),
            [*_cells("EU"), {"type": "raw_number", "value": 12, "text": "12"}],
        ],
        page_size=10,
    )
    bar = _bar(_series("2025", EU=10, US=12), _series("2026", US=14, EU=11))
    blocks = [data_table, bar, _pie(("EU", 45), ("US", 55))]

    posted = await client.chat_postMessage(channel=CHANNEL, text="Sales", blocks=blocks)

    assert posted["message"]["blocks"] == blocks


_HEADER = _cells("region", "sales")
_ROW = _cells("EU", "12")
INVALID_DATA_BLOCKS = {
    "data_table header only": ([_data_table([_HEADER])], "/blocks/0/rows"),
    "data_table 101 data rows": ([_data_table([_HEADER] + [_ROW] * 101)], "/blocks/0/rows"),
    "data_table 21 columns": ([_data_table([_cells(*"abcdefghijklmnopqrstu")] * 2)], "/rows/0"),
    "data_table ragged": ([_data_table([_HEADER, _cells("EU")])], "same number of cells"),
    "raw_number without its text": (
        [_data_table([_HEADER, [*_cells("EU"), {"type": "raw_number", "value": 12}]])],
        "raw_number needs a numeric value",
    ),
    "data_table rich_text header": (
        [_data_table([[{"type": "rich_text", "elements": []}, _HEADER[1]], _ROW])],
        "header cells cannot be rich_text",
    ),
    "data_table page_size 0": ([_data_table([_HEADER, _ROW], page_size=0)], "/page_size"),
    "data_table caption object": (
        [_data_table([_HEADER, _ROW], caption={"type": "plain_text", "text": "x"})],
        "/blocks/0/caption",
    ),
    "chart title 51": (
        [{**_pie(("EU", 1)), "title": "t" * 51}],
        "/blocks/0/title",
    ),
    "chart type scatter": (
        [{"type": "data_visualization", "title": "x", "chart": {"type": "scatter"}}],
        "/blocks/0/chart/type",
    ),
    "seven series": (
        [_bar(*[_series(f"s{n}", EU=1, US=2) for n in range(7)])],
        "/blocks/0/chart/series",
    ),
    "series missing a category": (
        [_bar(_series("2026", EU=1))],
        "one value per axis_config category",
    ),
    "duplicate series names": (
        [_bar(_series("2026", EU=1, US=2), _series("2026", EU=3, US=4))],
        "unique",
    ),
    "bar without axis_config": (
        [{"type": "data_visualization", "title": "x", "chart": {"type": "bar", "series": []}}],
        "/blocks/0/chart/axis_config",
    ),
    "pie segment 0": ([_pie(("EU", 0))], "/blocks/0/chart/segments/0/value"),
    "seven segments": ([_pie(*[(f"s{n}", 1) for n in range(7)])], "/chart/segments"),
    "three charts": (
        [_pie(("a", 1)), _pie(("b", 1)), _pie(("c", 1))],
        "no more than 2 data_visualization blocks allowed per message [json-pointer:/blocks/2]",
    ),
}


@pytest.mark.parametrize(
    ("blocks", "expected"), INVALID_DATA_BLOCKS.values(), ids=INVALID_DATA_BLOCKS.keys()
)
async def test_invalid_data_tables_and_charts_are_refused(
    slack: FakeSlack, client: AsyncWebClient, blocks: list[dict[str, Any]], expected: str
) -> None:
    error = await slack_error(client.chat_postMessage(channel=CHANNEL, text="t", blocks=blocks))

    assert error.response["error"] == "invalid_blocks"
    assert any(expected in line for line in _messages(error)), _messages(error)
    assert slack.messages(CHANNEL) == []


# --- stream states --------------------------------------------------------------------------------


async def test_chat_update_is_refused_while_the_stream_is_open(
    slack: FakeSlack, client: AsyncWebClient
) -> None:
    root = slack.post_user_message(DM, ALICE, "question")
    started = await client.chat_startStream(channel=DM, thread_ts=root.ts, markdown_text="Hi")

    conflict = await slack_error(client.chat_update(channel=DM, ts=started["ts"], text="Bye"))
    message = slack.bot_messages(DM, root.ts)[0]
    unchanged = (message.text_content(), list(message.edits))
    await client.chat_stopStream(channel=DM, ts=started["ts"], markdown_text=" there")
    await client.chat_update(channel=DM, ts=started["ts"], text="Edited after stop")

    assert conflict.response["error"] == "streaming_state_conflict"
    assert unchanged == ("Hi", [])
    assert message.text_content() == "Edited after stop"
    stream = slack.stream(DM, started["ts"])
    assert stream is not None
    assert (stream.state, stream.stopped_by, stream.expired) == ("stopped", "app", False)


async def test_a_stream_expires_after_its_total_lifetime_even_when_busy() -> None:
    async with FakeSlack(stream_max_lifetime=0.3, stream_idle_timeout=60) as slack:
        client = AsyncWebClient(token=slack.bot_token, base_url=slack.base_url)
        root = slack.post_user_message(DM, ALICE, "question")
        started = await client.chat_startStream(channel=DM, thread_ts=root.ts, markdown_text="…")

        async def append_until_refused() -> tuple[int, SlackApiError]:
            for appended in range(200):  # never idle, but old
                try:
                    await client.chat_appendStream(channel=DM, ts=started["ts"], markdown_text=".")
                except SlackApiError as error:
                    return appended, error
                await asyncio.sleep(0.02)
            raise AssertionError("the stream never expired")

        appended, late = await append_until_refused()
        await client.chat_update(channel=DM, ts=started["ts"], text="Finished in a new edit")

        assert late.response["error"] == "message_not_in_streaming_state"
        assert appended >= 3
        stream = slack.stream(DM, started["ts"])
        assert stream is not None
        assert (stream.expired, stream.expired_reason, stream.stopped_by) == (
            True,
            "lifetime",
            None,
        )
        assert slack.bot_messages(DM, root.ts)[0].text_content() == "Finished in a new edit"


# --- downloads through the CDN --------------------------------------------------------------------


async def test_download_redirects_to_a_presigned_cdn_url_that_needs_no_token(
    slack: FakeSlack, http: aiohttp.ClientSession
) -> None:
    file = slack.add_file("sales.csv", b"region,sales\nEU,12\n")
    token = {"Authorization": f"Bearer {slack.bot_token}"}

    async with http.get(file["url_private_download"], headers=token, allow_redirects=False) as hop:
        status, location = hop.status, hop.headers["Location"]
    async with http.get(location) as cdn:
        body, headers = await cdn.read(), cdn.headers
    async with http.get(file["url_private"], headers=token) as followed:  # aiohttp drops the
        inline = (await followed.read(), followed.headers["Content-Disposition"])  # token

    assert status == 302
    assert location.startswith(f"http://{slack.cdn_host}/files/{file['id']}/sales.csv?Expires=")
    assert slack.cdn_host.startswith("localhost:")
    assert "&Signature=" in location
    assert body == b"region,sales\nEU,12\n"
    assert headers["Content-Type"] == "text/csv"
    assert headers["Content-Disposition"] == 'attachment; filename="sales.csv"'
    assert inline == (b"region,sales\nEU,12\n", 'inline; filename="sales.csv"')
    assert [(d.status, d.served) for d in slack.downloads] == [(302, "redirect")] * 2
    assert [(r.authorization, r.status, r.file_id) for r in slack.cdn_requests] == [
        (None, 200, file["id"]),
        (None, 200, file["id"]),
    ]
    assert all(r.path == f"/files/{file['id']}/sales.csv" for r in slack.cdn_requests)


async def test_the_cdn_refuses_bad_and_expired_signatures_and_records_any_token(
    slack: FakeSlack, http: aiohttp.ClientSession
) -> None:
    file = slack.add_file("a.csv", b"a\n1\n")
    record = slack.files[file["id"]]
    good = slack.cdn.presign(record)
    tampered = good[:-4] + ("0000" if not good.endswith("0000") else "1111")
    expired = slack.cdn.presign(record, expires_in=-1)

    async with http.get(tampered) as bad:
        bad_status, bad_body = bad.status, await bad.text()
    async with http.get(expired) as old:
        old_status, old_body = old.status, await old.text()
    async with http.get(good, headers={"Authorization": f"Bearer {slack.bot_token}"}) as leaked:
        leaked_status = leaked.status

    assert (bad_status, old_status, leaked_status) == (403, 403, 200)
    assert "<Code>AccessDenied</Code>" in bad_body
    assert "signature" in bad_body
    assert "<Code>AccessDenied</Code>" in old_body
    assert "expired" in old_body
    assert [(r.status, r.served) for r in slack.cdn_requests] == [
        (403, "denied"),
        (403, "denied"),
        (200, "file"),
    ]
    assert slack.cdn_requests[-1].authorization == f"Bearer {slack.bot_token}"


async def test_files_host_faults_still_apply_and_redirects_can_be_switched_off(
    http: aiohttp.ClientSession,
) -> None:
    async with FakeSlack(cdn_redirects=False) as slack:
        file = slack.add_file("a.csv", b"a\n1\n")
        other = slack.add_file("b.csv", b"b\n2\n")
        token = {"Authorization": f"Bearer {slack.bot_token}"}
        slack.faults.html_for(other["id"])

        async with http.get(file["url_private"], headers=token, allow_redirects=False) as direct:
            direct_status, direct_body = direct.status, await direct.read()
        async with http.get(other["url_private"], headers=token) as login:
            login_type = login.content_type
        slack.cdn_redirects = True
        async with http.get(other["url_private"], headers=token) as still_login:
            still_type = still_login.content_type

        assert (direct_status, direct_body) == (200, b"a\n1\n")
        assert login_type == still_type == "text/html"
        assert [d.served for d in slack.downloads] == ["file", "login_page", "login_page"]
        assert slack.cdn_requests == []


# --- agent sessions -------------------------------------------------------------------------------


async def test_agent_session_lifecycle_title_and_rename(
    slack: FakeSlack, client: AsyncWebClient
) -> None:
    root = slack.post_user_message(CHANNEL, ALICE, "plot sales", mention_bot=True)

    created = await client.agents_sessions_setStatus(
        channel_id=CHANNEL,
        thread_ts=root.ts,
        status="processing",
        title="Sales",
        initiator_user_id=ALICE,
    )
    moved = await client.agents_sessions_setStatus(
        channel_id=CHANNEL, thread_ts=root.ts, status="active", title="Ignored now"
    )
    renamed = await client.agents_sessions_rename(
        channel_id=CHANNEL, thread_ts=root.ts, title="Q3 sales"
    )
    bad_status = await slack_error(
        client.agents_sessions_setStatus(channel_id=CHANNEL, thread_ts=root.ts, status="done")
    )
    no_thread = await slack_error(
        client.agents_sessions_setStatus(channel_id=CHANNEL, thread_ts="1.000001", status="active")
    )
    slack.add_channel("C0RANDOM", members=[ALICE], bot_member=False)
    outside = await slack_error(
        client.agents_sessions_setStatus(channel_id="C0RANDOM", thread_ts=root.ts, status="active")
    )

    assert (created["status"], created["title"], "warning" not in created.data) == (
        "processing",
        "Sales",
        True,
    )
    assert (moved["status"], moved["title"]) == ("active", "Sales")
    assert renamed["title"] == "Q3 sales"
    assert bad_status.response["error"] == "invalid_arguments"
    assert no_thread.response["error"] == "thread_not_found"
    assert outside.response["error"] == "not_in_channel"
    session = slack.session(CHANNEL, root.ts)
    assert session is not None
    assert (session.status, session.title, session.initiator_user_id) == (
        "active",
        "Q3 sales",
        ALICE,
    )
    assert [(h.status, h.source) for h in session.history] == [
        ("processing", "agents.sessions.setStatus"),
        ("active", "agents.sessions.setStatus"),
    ]
    assert session.history[0].time <= session.history[1].time
    assert session.titles == ["Sales", "Q3 sales"]
    assert slack.session(CHANNEL, "1.000001") is None
    assert slack.pings() == []


async def test_set_status_warns_while_the_stop_event_is_not_subscribed() -> None:
    async with FakeSlack(agent_session_stopped=False) as slack:
        client = AsyncWebClient(token=slack.bot_token, base_url=slack.base_url)
        root = slack.post_user_message(DM, ALICE, "question")

        response = await client.agents_sessions_setStatus(
            channel_id=DM, thread_ts=root.ts, status="processing"
        )

        assert response["ok"]
        assert response["warning"] == "missing_agent_session_stopped_event_subscription"
        assert response["response_metadata"]["warnings"] == [
            "missing_agent_session_stopped_event_subscription"
        ]
        with pytest.raises(ValueError, match="no Stop button"):
            slack.stop_session(DM, root.ts, ALICE)
        slack.agent_session_stopped = True
        again = await client.agents_sessions_setStatus(
            channel_id=DM, thread_ts=root.ts, status="processing"
        )
        assert "warning" not in again.data
        assert slack.stop_session(DM, root.ts, ALICE)["event"]["streaming_message_ts"] == []


async def test_stop_stream_moves_the_session(slack: FakeSlack, client: AsyncWebClient) -> None:
    root = slack.post_user_message(DM, ALICE, "question")
    await client.agents_sessions_setStatus(channel_id=DM, thread_ts=root.ts, status="processing")
    started = await client.chat_startStream(channel=DM, thread_ts=root.ts, markdown_text="Hi")

    bad = await slack_error(
        client.chat_stopStream(channel=DM, ts=started["ts"], session_status="finished")
    )
    await client.chat_stopStream(channel=DM, ts=started["ts"], session_status="active")

    assert bad.response["error"] == "invalid_arguments"
    session = slack.session(DM, root.ts)
    assert session is not None
    assert [(h.status, h.source) for h in session.history] == [
        ("processing", "agents.sessions.setStatus"),
        ("active", "chat.stopStream"),
    ]
    stream = slack.stream(DM, started["ts"])
    assert stream is not None
    assert stream.state == "stopped"


async def test_stop_button_stops_open_streams_and_leaves_the_status_to_the_app(
    slack: FakeSlack, client: AsyncWebClient
) -> None:
    root = slack.post_user_message(DM, ALICE, "long analysis")
    other = slack.post_user_message(DM, ALICE, "another thread")
    await client.agents_sessions_setStatus(channel_id=DM, thread_ts=root.ts, status="processing")
    done = await client.chat_startStream(channel=DM, thread_ts=root.ts, markdown_text="Part 1")
    await client.chat_stopStream(channel=DM, ts=done["ts"])
    open_1 = await client.chat_startStream(channel=DM, thread_ts=root.ts, markdown_text="Part 2")
    open_2 = await client.chat_startStream(channel=DM, thread_ts=root.ts, markdown_text="Part 3")
    elsewhere = await client.chat_startStream(channel=DM, thread_ts=other.ts, markdown_text="x")

    envelope = slack.stop_session(DM, root.ts, ALICE)
    late = await slack_error(
        client.chat_appendStream(channel=DM, ts=open_1["ts"], markdown_text="!")
    )
    untouched = await client.chat_appendStream(channel=DM, ts=elsewhere["ts"], markdown_text="y")

    event = envelope["event"]
    assert (envelope["type"], envelope["team_id"], envelope["api_app_id"]) == (
        "event_callback",
        "T0TEST",
        "A0ANALYST",
    )
    assert envelope["event_id"].startswith("Ev")
    assert (event["type"], event["channel"], event["thread_ts"], event["user"]) == (
        "agent_session_stopped",
        DM,
        root.ts,
        ALICE,
    )
    assert event["streaming_message_ts"] == [open_1["ts"], open_2["ts"]]
    assert float(event["event_ts"]) > 0
    assert late.response["error"] == "message_not_in_streaming_state"
    assert untouched["ok"]
    stream = slack.stream(DM, open_2["ts"])
    assert stream is not None
    assert (stream.state, stream.stopped_by) == ("stopped", ALICE)
    session = slack.session(DM, root.ts)
    assert session is not None
    assert session.status == "processing"  # Slack does not move it: the app must
    assert [user for user, _ in session.stops] == [ALICE]
    await client.agents_sessions_setStatus(channel_id=DM, thread_ts=root.ts, status="active")
    with pytest.raises(ValueError, match="not processing"):
        slack.stop_session(DM, root.ts, ALICE)


async def test_sessions_can_be_refused_as_for_an_app_not_declared_an_agent(
    slack: FakeSlack, client: AsyncWebClient
) -> None:
    root = slack.post_user_message(DM, ALICE, "question")
    started = await client.chat_startStream(channel=DM, thread_ts=root.ts, markdown_text="Hi")
    slack.faults.disable_agent_sessions()

    refused = await slack_error(
        client.agents_sessions_setStatus(channel_id=DM, thread_ts=root.ts, status="processing")
    )
    rename = await slack_error(
        client.agents_sessions_rename(channel_id=DM, thread_ts=root.ts, title="x")
    )
    stop = await slack_error(
        client.chat_stopStream(channel=DM, ts=started["ts"], session_status="closed")
    )
    slack.faults.disable_agent_sessions(error="not_allowed")
    custom = await slack_error(
        client.agents_sessions_setStatus(channel_id=DM, thread_ts=root.ts, status="processing")
    )

    assert (refused.response["error"], refused.response["needed"]) == (
        "missing_scope",
        "assistant:write",
    )
    assert rename.response["error"] == stop.response["error"] == "missing_scope"
    assert custom.response["error"] == "not_allowed"
    assert slack.session(DM, root.ts) is None
    stream = slack.stream(DM, started["ts"])
    assert stream is not None
    assert stream.is_open


def test_the_ping_detector_reads_session_titles() -> None:
    from tests.fakes.slack_pings import pings
    from tests.fakes.slack_state import Call

    rename = Call("agents.sessions.rename", {"title": "for <!here>"}, 0, True, None, {})
    status = Call("agents.sessions.setStatus", {"title": "<@U0BOB> asked"}, 0, True, None, {})

    assert pings([rename, status]) == [
        ("agents.sessions.rename", "<!here>"),
        ("agents.sessions.setStatus", "<@U0BOB>"),
    ]
