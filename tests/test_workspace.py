"""A turn's workspace (conversation, container, files) through the front door: its parts
overlap, a follow-up asks the model without reading its container first, and every way an
expired container shows up is recovered once, with a fresh container holding the files."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot import wording
from bot.core.answering import RESTART_NOTE
from tests.bot_harness import BotUnderTest, running_bot
from tests.fakes.openai_http import Recorded
from tests.fakes.scripted_model import CodeRun, ContainerExpiresMidTurn, ScriptedTurn

SALES = b"region,revenue\nnorth,10\nsouth,7\n"
COSTS = b"region,cost\nnorth,4\nsouth,5\n"


@pytest.fixture
async def bot(tmp_path: Path):
    async with running_bot(tmp_path) as running:
        yield running


def texts(bot: BotUnderTest, ts: str) -> list[str]:
    return [m.text_content() for m in bot.slack.bot_messages("C0GENERAL", ts)]


def model_requests(bot: BotUnderTest) -> list[Recorded]:
    return bot.openai.requests_to("POST", "/responses")


def container_of(request: Recorded) -> str:
    return str(request.json["tools"][0]["container"])


def user_files(bot: BotUnderTest, container_id: str) -> dict[str, str]:
    """Name → path of the files the bot put in a container."""
    container = bot.openai.containers[container_id]
    return {
        Path(f.path).name.split("-", 1)[1]: f.path
        for f in container.files.values()
        if f.source == "user"
    }


async def first_turn_with_sales(bot: BotUnderTest) -> tuple[str, str]:
    """A thread whose first turn shared sales.csv; returns (thread ts, its container)."""
    csv = bot.slack.add_file("sales.csv", SALES, filetype="csv")
    sent = await bot.mention("revenue by region?", files=[csv])
    assert (await bot.finished(sent.ts)).status == "done"
    return sent.ts, container_of(model_requests(bot)[-1])


def dies_mid_turn() -> ScriptedTurn:
    return ScriptedTurn(
        text="never finished",
        runs=(CodeRun("df = load()", logs="ok"),),
        failure=ContainerExpiresMidTurn(after_run_index=0),
    )


def lose(bot: BotUnderTest, container_id: str, how: str) -> None:
    if how == "expired":
        bot.openai.expire_container(container_id)  # 400 "Container is expired."
    else:
        del bot.openai.containers[container_id]  # 404 "Container with id … not found."


async def test_conversation_and_container_are_made_while_the_file_downloads(
    bot: BotUnderTest,
) -> None:
    bot.openai.model.enqueue(ScriptedTurn(text="North leads."))
    csv = bot.slack.add_file("sales.csv", SALES, filetype="csv")
    bot.slack.faults.hold(csv["id"])  # the download does not even start to answer
    sent = await bot.mention("revenue by region?", files=[csv])
    await bot.openai.wait_for(
        lambda: (
            bot.openai.requests_to("POST", "/containers")
            and bot.openai.requests_to("POST", "/conversations")
        )
    )
    assert bot.openai.requests_to("POST", "/files") == []  # still downloading
    bot.slack.faults.release(csv["id"])
    assert (await bot.finished(sent.ts)).status == "done"
    [request] = model_requests(bot)
    [(name, path)] = user_files(bot, container_of(request)).items()
    assert name == "sales.csv"
    assert path in request.json["instructions"]


async def test_a_follow_up_asks_the_model_without_reading_its_container(
    bot: BotUnderTest,
) -> None:
    thread_ts, container = await first_turn_with_sales(bot)
    before = len(bot.openai.requests)
    follow = await bot.say("and by product?", thread_ts=thread_ts)
    assert (await bot.finished(follow.ts)).status == "done"
    since = bot.openai.requests[before:]
    # The model request is the follow-up's only call to OpenAI before the answer (listing
    # the container's new files comes after it).
    assert [(r.method, r.path) for r in since][0] == ("POST", "/responses")
    assert bot.openai.requests_to("GET", "/containers/{id}") == []
    assert container_of(model_requests(bot)[-1]) == container


@pytest.mark.parametrize("how", ["expired", "deleted"])
async def test_a_refused_model_request_gets_a_fresh_container_once(
    bot: BotUnderTest, how: str
) -> None:
    thread_ts, old = await first_turn_with_sales(bot)
    lose(bot, old, how)
    bot.openai.model.enqueue(ScriptedTurn(text="Still here, with your data."))
    follow = await bot.say("now by profit", thread_ts=thread_ts)
    assert (await bot.finished(follow.ts)).status == "done"

    _, refused, accepted = model_requests(bot)
    assert (container_of(refused), refused.status) == (old, 400 if how == "expired" else 404)
    new = container_of(accepted)
    assert new != old
    assert len(bot.openai.requests_to("POST", "/containers")) == 2  # one renewal
    [(name, path)] = user_files(bot, new).items()
    assert name == "sales.csv"
    assert path in accepted.json["instructions"]
    assert "restarted" in accepted.json["instructions"]
    shown = " ".join(texts(bot, thread_ts))
    assert "Still here" in shown
    assert ":warning:" not in shown
    assert RESTART_NOTE not in shown  # nothing had been shown: nothing to start again


@pytest.mark.parametrize("how", ["expired", "deleted"])
async def test_a_refused_placement_gets_a_fresh_container_with_every_file(
    bot: BotUnderTest, how: str
) -> None:
    thread_ts, old = await first_turn_with_sales(bot)
    lose(bot, old, how)
    bot.openai.model.enqueue(ScriptedTurn(text="Margins computed."))
    costs = bot.slack.add_file("costs.csv", COSTS, filetype="csv")
    follow = await bot.say("margins, with these costs", thread_ts=thread_ts, files=[costs])
    assert (await bot.finished(follow.ts)).status == "done"

    [refused] = [
        r for r in bot.openai.requests_to("POST", "/containers/{id}/files") if r.status != 200
    ]
    assert refused.path == f"/containers/{old}/files"
    assert len(bot.openai.requests_to("POST", "/containers")) == 2  # one renewal
    first, accepted = model_requests(bot)  # no refused model request
    new = container_of(accepted)
    placed = user_files(bot, new)
    assert sorted(placed) == ["costs.csv", "sales.csv"]
    assert all(path in accepted.json["instructions"] for path in placed.values())
    assert accepted.json["tool_choice"] == {"type": "code_interpreter"}  # new data came
    assert len(bot.openai.requests_to("POST", "/files")) == 2  # nothing uploaded twice
    assert "Margins computed." in " ".join(texts(bot, thread_ts))


async def test_a_container_expiring_mid_stream_is_replaced_with_the_files_in_it(
    bot: BotUnderTest,
) -> None:
    thread_ts, old = await first_turn_with_sales(bot)
    bot.slack.faults.disable_streaming()  # posted messages carry their page (streams do not)
    bot.openai.model.enqueue(dies_mid_turn(), ScriptedTurn(text="Recovered."))
    follow = await bot.say("by quarter?", thread_ts=thread_ts)
    assert (await bot.finished(follow.ts)).status == "done"
    _, failed, accepted = model_requests(bot)
    assert container_of(failed) == old
    new = container_of(accepted)
    assert new != old
    [path] = user_files(bot, new).values()
    assert path in accepted.json["instructions"]
    assert len(bot.openai.requests_to("POST", "/containers")) == 2
    # The answer started over: its pages are numbered after the first attempt's, as its
    # staged replies are (a takeover finds a page's message by that number).
    [recovered] = [
        m
        for m in bot.slack.bot_messages("C0GENERAL", thread_ts)
        if "Recovered." in m.text_content()
    ]
    assert recovered.metadata is not None
    assert recovered.metadata["event_payload"]["page"] == 1000


async def test_an_expired_container_and_a_death_mid_turn_are_each_recovered_once(
    bot: BotUnderTest,
) -> None:
    thread_ts, old = await first_turn_with_sales(bot)
    bot.openai.expire_container(old)
    bot.openai.model.enqueue(dies_mid_turn(), ScriptedTurn(text="Third time lucky."))
    follow = await bot.say("by quarter?", thread_ts=thread_ts)
    assert (await bot.finished(follow.ts)).status == "done"
    _, refused, failed, accepted = model_requests(bot)
    assert refused.status == 400
    assert len({container_of(r) for r in (refused, failed, accepted)}) == 3
    assert len(bot.openai.requests_to("POST", "/containers")) == 3  # first turn + 2 renewals
    assert "sales.csv" in user_files(bot, container_of(accepted))
    assert "Third time lucky." in " ".join(texts(bot, thread_ts))


async def test_a_container_dying_mid_turn_twice_fails_the_turn(bot: BotUnderTest) -> None:
    thread_ts, _old = await first_turn_with_sales(bot)
    bot.openai.model.enqueue(dies_mid_turn(), dies_mid_turn())
    follow = await bot.say("by quarter?", thread_ts=thread_ts)
    turn = await bot.finished(follow.ts)
    assert (turn.status, turn.error_code) == ("failed", "engine_container_expired")
    assert len(model_requests(bot)) == 3  # the first turn, then two that died
    assert len(bot.openai.requests_to("POST", "/containers")) == 2  # renewed once only
    assert wording.error_text("engine_container_expired") in texts(bot, thread_ts)[-1]


async def test_a_new_container_refused_as_expired_is_not_replaced(bot: BotUnderTest) -> None:
    bot.openai.faults.fail(
        "POST", "/responses", 400, code="container_expired", message="Container is expired."
    )
    sent = await bot.mention("hello")
    turn = await bot.finished(sent.ts)
    assert (turn.status, turn.error_code) == ("failed", "engine_container_expired")
    assert len(model_requests(bot)) == 1
    assert len(bot.openai.requests_to("POST", "/containers")) == 1


async def test_a_file_that_fails_leaves_the_container_being_made_to_the_next_turn(
    bot: BotUnderTest,
) -> None:
    bot.openai.latency.containers = 0.3  # the download fails while the container is made
    csv = bot.slack.add_file("sales.csv", SALES, filetype="csv")
    bot.slack.faults.html_for(csv["id"])  # Slack's login page: the bot has no access
    sent = await bot.mention("revenue by region?", files=[csv])
    turn = await bot.finished(sent.ts)
    assert (turn.status, turn.error_code) == ("failed", "file_not_downloadable")
    [made] = bot.openai.requests_to("POST", "/containers")
    assert made.status == 200  # finished, not dropped mid-request

    bot.openai.model.enqueue(ScriptedTurn(text="Hello again."))
    again = await bot.mention("just say hello", thread_ts=sent.ts)
    assert (await bot.finished(again.ts)).status == "done"
    assert len(bot.openai.requests_to("POST", "/containers")) == 1  # reused
    assert container_of(model_requests(bot)[-1]) in bot.openai.containers
