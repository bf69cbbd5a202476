"""Every failure gets a clear message in the thread, the status cleared, the turn failed, and
nothing posted twice."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from bot import wording
from bot.slack.blocks import ACTION_RETRY
from tests.bot_harness import BotUnderTest, running_bot
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

LONG_TEXT = "The analysis shows steady growth across all regions this year. " * 4


@pytest.fixture
async def bot(tmp_path: Path):
    async with running_bot(
        tmp_path,
        ANALYST_STREAM_IDLE_TIMEOUT_S="1",
        ANALYST_RATE_LIMIT_WAIT_S="5",
        ANALYST_MAX_FILE_MB="1",
    ) as running:
        yield running


def thread_texts(bot: BotUnderTest, ts: str, channel: str = "C0GENERAL") -> list[str]:
    """What the bot wrote (progress-only messages, e.g. a failed "Reading…" step, aside)."""
    texts = [m.text_content() for m in bot.slack.bot_messages(channel, ts)]
    return [t for t in texts if t]


async def ask_and_fail(
    bot: BotUnderTest, *, files=(), text: str = "analyse this"
) -> tuple[str, list[str]]:
    sent = await bot.mention(text, files=files)
    turn = await bot.finished(sent.ts)
    assert turn.status == "failed"
    assert bot.slack.current_status("C0GENERAL", sent.ts) == ""
    return turn.error_code or "", thread_texts(bot, sent.ts)


def expect_only_message(texts: list[str], code: str) -> None:
    expected = wording.error_text(code)
    assert texts == [expected], texts


async def test_unsupported_file_type(bot: BotUnderTest) -> None:
    exe = bot.slack.add_file(
        "setup.exe", b"MZ\x90\x00", filetype="binary", mimetype="application/octet-stream"
    )
    code, texts = await ask_and_fail(bot, files=[exe])
    assert code == "file_unsupported"
    assert len(texts) == 1
    assert "setup.exe" in texts[0]
    assert "EXE" in texts[0]
    assert bot.slack.downloads == []
    assert bot.openai.requests_to("POST", "/responses") == []


async def test_file_over_the_limit_is_refused_before_download(bot: BotUnderTest) -> None:
    big = bot.slack.add_file("big.csv", b"a,b\n" + b"1,2\n" * 400_000, filetype="csv")
    code, texts = await ask_and_fail(bot, files=[big])
    assert code == "file_too_large"
    assert "big.csv" in texts[0]
    assert "1 MB limit" in texts[0]
    assert bot.slack.downloads == []


async def test_html_instead_of_the_file_names_the_likely_cause(bot: BotUnderTest) -> None:
    bot.slack.faults.html_for_downloads()
    csv = bot.slack.add_file("sales.csv", b"region,revenue\nnorth,10\n", filetype="csv")
    code, texts = await ask_and_fail(bot, files=[csv])
    assert code == "file_not_downloadable"
    assert "files:read" in texts[0]
    assert "sales.csv" in texts[0]
    assert bot.openai.requests_to("POST", "/files") == []


async def test_empty_file(bot: BotUnderTest) -> None:
    empty = bot.slack.add_file("empty.csv", b"", filetype="csv")
    code, texts = await ask_and_fail(bot, files=[empty])
    assert code == "file_empty"
    assert "empty.csv" in texts[0]


@pytest.mark.parametrize(
    ("failure", "code"),
    [
        (
            HttpError(
                401, "invalid_api_key", "Incorrect API key provided", type="invalid_request_error"
            ),
            "engine_auth",
        ),
        (
            HttpError(
                429,
                "insufficient_quota",
                "You exceeded your current quota",
                type="insufficient_quota",
            ),
            "engine_quota",
        ),
        (
            HttpError(
                429, "rate_limit_exceeded", "Rate limit reached", headers={"retry-after": "120"}
            ),
            "engine_rate_limited",
        ),
        (HttpError(400, "invalid_value", "Invalid value for 'input'."), "engine_failed"),
        (ResponseFailed(code="server_error"), "engine_unavailable"),
        (ResponseFailed(code="server_is_overloaded"), "engine_overloaded"),
        (ErrorEvent(code="overloaded", nested=False), "engine_overloaded"),
        (ResponseIncomplete(reason="content_filter"), "engine_refused"),
    ],
)
async def test_openai_errors_become_clear_messages(bot: BotUnderTest, failure, code) -> None:
    bot.openai.model.enqueue(ScriptedTurn(text="never shown", failure=failure))
    got, texts = await ask_and_fail(bot)
    assert got == code
    expect_only_message(texts, code)
    assert len(bot.openai.requests_to("POST", "/responses")) == 1  # never blindly retried


async def test_rate_limits_are_waited_out_within_the_budget(bot: BotUnderTest) -> None:
    limited = HttpError(
        429, "rate_limit_exceeded", "Rate limit reached", headers={"retry-after": "0.2"}
    )
    bot.openai.model.enqueue(
        ScriptedTurn(failure=limited),
        ScriptedTurn(failure=limited),
        ScriptedTurn(text="Answered after waiting."),
    )
    sent = await bot.mention("question")
    turn = await bot.finished(sent.ts)
    assert turn.status == "done"
    assert len(bot.openai.requests_to("POST", "/responses")) == 3
    assert any("Answered after waiting." in t for t in thread_texts(bot, sent.ts))


async def test_refusal(bot: BotUnderTest) -> None:
    bot.openai.model.enqueue(ScriptedTurn(refusal="I can't help with that."))
    code, texts = await ask_and_fail(bot)
    assert code == "engine_refused"
    expect_only_message(texts, "engine_refused")


async def test_incomplete_answer_keeps_the_text_and_adds_a_note(bot: BotUnderTest) -> None:
    bot.openai.model.enqueue(
        ScriptedTurn(
            text=LONG_TEXT, text_deltas=10, failure=ResponseIncomplete(after_text_deltas=5)
        )
    )
    code, texts = await ask_and_fail(bot)
    assert code == "engine_incomplete"
    assert len(texts) == 1
    assert texts[0].startswith("The analysis shows steady growth")
    assert wording.INCOMPLETE_NOTE in texts[0]


async def test_error_event_mid_stream_keeps_text_and_appends_the_error(bot: BotUnderTest) -> None:
    bot.openai.model.enqueue(
        ScriptedTurn(
            text=LONG_TEXT, text_deltas=10, failure=ErrorEvent(after_text_deltas=4, nested=True)
        )
    )
    code, texts = await ask_and_fail(bot)
    assert code == "engine_unavailable"  # its code is `server_error`
    assert len(texts) == 2
    assert texts[0].startswith("The analysis shows steady growth")
    assert texts[1] == wording.error_text("engine_unavailable")


async def test_flat_error_event_is_handled_too(bot: BotUnderTest) -> None:
    bot.openai.model.enqueue(
        ScriptedTurn(
            text=LONG_TEXT,
            text_deltas=10,
            failure=ErrorEvent(after_text_deltas=2, nested=False, code="rate_limit_exceeded"),
        )
    )
    code, texts = await ask_and_fail(bot)
    assert code == "engine_rate_limited"
    assert texts[-1] == wording.error_text("engine_rate_limited")


async def test_a_dropped_stream_is_read_again_where_it_broke(bot: BotUnderTest) -> None:
    # Background mode: the response goes on; the bot reads it again after the last event
    # it had (`starting_after`), so every word is shown once and nothing is asked twice.
    bot.openai.model.enqueue(
        ScriptedTurn(text=LONG_TEXT, text_deltas=10, failure=Drop(after_text_deltas=3))
    )
    sent = await bot.mention("analyse this")
    turn = await bot.finished(sent.ts)
    assert turn.status == "done", turn.error_code
    assert len(bot.openai.requests_to("POST", "/responses")) == 1
    [again] = bot.openai.requests_to("GET", "/responses/{id}")
    assert int(str(again.query["starting_after"])) > 0
    shown = "\n".join(thread_texts(bot, sent.ts))
    assert " ".join(shown.split()).count(" ".join(LONG_TEXT.split())) == 1


async def test_a_stream_that_keeps_breaking_is_reported(bot: BotUnderTest) -> None:
    bot.openai.model.enqueue(
        ScriptedTurn(
            text=LONG_TEXT, text_deltas=10, failure=Drop(after_text_deltas=3, connections=9)
        )
    )
    code, texts = await ask_and_fail(bot)
    assert code == "engine_stream_dropped"
    assert texts[-1] == wording.error_text("engine_stream_dropped")
    # Nobody reads it any more: the response is stopped, not left running.
    assert bot.openai.requests_to("POST", "/responses/{id}/cancel")


async def test_stalled_stream_times_out(bot: BotUnderTest) -> None:
    bot.openai.model.enqueue(
        ScriptedTurn(text=LONG_TEXT, text_deltas=10, failure=Stall(after_text_deltas=2))
    )
    code, texts = await ask_and_fail(bot)
    assert code == "engine_timeout"
    assert texts[-1] == wording.error_text("engine_timeout")
    await bot.openai.wait_for(lambda: bot.openai.closed_streams)  # the stream was let go


async def test_container_expiring_mid_turn_is_recovered_once(bot: BotUnderTest) -> None:
    chart = tiny_png()
    bot.openai.model.enqueue(
        ScriptedTurn(
            text="never finished",
            runs=(CodeRun("df = load()", logs="ok"),),
            failure=ContainerExpiresMidTurn(after_run_index=0),
        ),
        ScriptedTurn(
            text="Recovered: [chart](sandbox:/mnt/data/c.png)",
            runs=(CodeRun("plot()", files=(GeneratedFile("c.png", chart),)),),
        ),
    )
    csv = bot.slack.add_file("sales.csv", b"region,revenue\nnorth,10\n", filetype="csv")
    sent = await bot.mention("chart it", files=[csv])
    turn = await bot.finished(sent.ts)
    assert turn.status == "done", turn.error_code
    requests = [r.json for r in bot.openai.requests_to("POST", "/responses")]
    assert len(requests) == 2
    assert requests[0]["tools"][0]["container"] != requests[1]["tools"][0]["container"]
    texts = thread_texts(bot, sent.ts)
    assert any("Recovered" in t for t in texts)
    assert not any(":warning:" in t for t in texts)
    assert [f.content for f in bot.slack.uploaded_files] == [chart]


async def test_unexpected_error_gives_a_reference_that_is_logged(
    bot: BotUnderTest, caplog: pytest.LogCaptureFixture
) -> None:
    bot.openai.model.enqueue(ScriptedTurn(text="An answer Slack will not take."))
    # No streaming here, and the answer's first post fails: nothing the bot expects.
    bot.slack.faults.disable_streaming()
    bot.slack.faults.error("chat.postMessage", "fatal_error", times=1)
    with caplog.at_level(logging.ERROR, logger="bot.core.service"):
        code, texts = await ask_and_fail(bot)
    assert code == "internal"
    match = re.search(r"`([0-9a-f]{8})`", texts[-1])
    assert match, texts
    assert match.group(1) in caplog.text
    assert "fatal_error" not in texts[-1]  # never echo vendor errors into the channel


async def test_token_never_goes_to_a_host_outside_the_allow_list(bot: BotUnderTest) -> None:
    seen: list[str | None] = []

    async def evil(request: web.Request) -> web.Response:
        seen.append(request.headers.get("Authorization"))
        return web.Response(body=b"a,b\n1,2\n", content_type="text/csv")

    app = web.Application()
    app.router.add_get("/{tail:.*}", evil)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "localhost", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        stolen = bot.slack.add_file("data.csv", b"a,b\n1,2\n", filetype="csv")
        stolen = {
            **stolen,
            "url_private_download": f"http://localhost:{port}/steal/data.csv",
            "url_private": f"http://localhost:{port}/steal/data.csv",
        }
        sent = bot.slack.post_user_message("C0GENERAL", "U0ALICE", "look", mention_bot=True)
        envelope = sent.app_mention_event
        assert envelope is not None
        envelope["event"]["files"] = [stolen]
        assert (await bot.send(envelope)).status == 200
        turn = await bot.finished(sent.ts)
        assert turn.status == "failed"
        assert turn.error_code == "file_not_downloadable"
        assert seen == []  # never even contacted, so no token
        async with aiohttp.ClientSession() as http, http.get(f"http://localhost:{port}/x"):
            pass
        assert seen == [None]  # the server works; the bot just never called it
    finally:
        await runner.cleanup()


# Server errors before any response exists: retried with backoff (fast here: the fake says
# `retry-after-ms: 20`), then a message that says what happened.
QUICK_RETRY = {"retry-after-ms": "20"}


def has_retry_button(bot: BotUnderTest, ts: str) -> bool:
    for message in bot.slack.bot_messages("C0GENERAL", ts):
        blocks = message.blocks or (message.stream.final_blocks if message.stream else None)
        for block in blocks or []:
            elements = block.get("elements") or [block.get("accessory") or {}]
            if any(e.get("action_id") == ACTION_RETRY for e in elements):
                return True
    return False


async def test_a_503_before_the_response_starts_is_retried(
    bot: BotUnderTest, caplog: pytest.LogCaptureFixture
) -> None:
    bot.openai.faults.fail("POST", "/responses", 503, headers=QUICK_RETRY)
    bot.openai.model.enqueue(ScriptedTurn(text="Answered after a retry."))
    with caplog.at_level(logging.INFO, logger="bot.engine.responding"):
        sent = await bot.mention("secret question")
        turn = await bot.finished(sent.ts)
    assert turn.status == "done", turn.error_code
    assert len(bot.openai.requests_to("POST", "/responses")) == 2
    assert any("Answered after a retry." in t for t in thread_texts(bot, sent.ts))
    assert "HTTP 503, retry 1 of 3 in 0.0s" in caplog.text
    assert "secret question" not in caplog.text


async def test_two_500s_then_an_answer(bot: BotUnderTest) -> None:
    bot.openai.faults.fail("POST", "/responses", 500, headers=QUICK_RETRY, times=2)
    bot.openai.model.enqueue(ScriptedTurn(text="Third time lucky."))
    sent = await bot.mention("question")
    turn = await bot.finished(sent.ts)
    assert turn.status == "done", turn.error_code
    assert len(bot.openai.requests_to("POST", "/responses")) == 3
    assert any("Third time lucky." in t for t in thread_texts(bot, sent.ts))


async def test_an_overloaded_service_says_so_after_three_retries(bot: BotUnderTest) -> None:
    bot.openai.faults.fail("POST", "/responses", 503, headers=QUICK_RETRY, times=None)
    sent = await bot.mention("analyse this")
    turn = await bot.finished(sent.ts)
    assert (turn.status, turn.error_code) == ("failed", "engine_overloaded")
    texts = thread_texts(bot, sent.ts)
    expect_only_message(texts, "engine_overloaded")
    assert "overloaded" in texts[0]
    assert has_retry_button(bot, sent.ts)
    assert len(bot.openai.requests_to("POST", "/responses")) == 4  # 1 + 3 retries


async def test_a_persistent_server_error_does_not_blame_the_question(bot: BotUnderTest) -> None:
    bot.openai.faults.fail("POST", "/responses", 500, headers=QUICK_RETRY, times=None)
    sent = await bot.mention("analyse this")
    turn = await bot.finished(sent.ts)
    assert (turn.status, turn.error_code) == ("failed", "engine_unavailable")
    texts = thread_texts(bot, sent.ts)
    expect_only_message(texts, "engine_unavailable")
    assert "simplify" not in texts[0]
    assert has_retry_button(bot, sent.ts)
    assert len(bot.openai.requests_to("POST", "/responses")) == 4  # 1 + 3 retries


async def test_an_overloaded_files_api_gives_the_same_message(bot: BotUnderTest) -> None:
    bot.openai.faults.fail("POST", "/files", 503, headers=QUICK_RETRY, times=None)
    csv = bot.slack.add_file("sales.csv", b"region,revenue\nnorth,10\n", filetype="csv")
    code, texts = await ask_and_fail(bot, files=[csv])
    assert code == "engine_overloaded"
    assert texts[-1] == wording.error_text("engine_overloaded")
    assert bot.openai.requests_to("POST", "/responses") == []


async def test_a_refused_file_stops_its_siblings_download_at_once(bot: BotUnderTest) -> None:
    """Files are read together; when one cannot be used, the others are abandoned with the
    turn instead of going on to OpenAI after the user was already told."""
    slow = bot.slack.add_file("big.csv", b"region,revenue\n" + b"north,10\n" * 1000)
    refused = bot.slack.add_file("secret.csv", b"a,b\n1,2\n")
    bot.slack.faults.hold(slow["id"])
    bot.slack.faults.hold(refused["id"])
    bot.slack.faults.html_for(refused["id"])
    try:
        sent = await bot.mention("compare these", files=[slow, refused])
        # Both downloads are under way; then the second turns out to be a login page.
        await bot.slack.wait_for(lambda: len(bot.slack.held_downloads) == 2)
        bot.slack.faults.release(refused["id"])
        turn = await bot.finished(sent.ts)
        assert turn.error_code == "file_not_downloadable"
        await bot.slack.wait_for(lambda: slow["id"] in bot.slack.aborted_downloads)
    finally:
        bot.slack.faults.release(slow["id"])
    assert [f.filename for f in bot.openai.files.values()] == []
