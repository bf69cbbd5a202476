"""The fake Slack's slash commands, modals and response URLs, driven as an app drives them:
slack_sdk's AsyncWebClient for views.*, plain HTTP for response URLs, a tiny aiohttp app on
loopback standing in for the bot when Slack sends it a command or a submission."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.budget import PER_MINUTE
from tests.fakes.slack_api import FakeSlack
from tests.fakes.slack_events import EventSender
from tests.fakes.slack_limits import TIERS
from tests.fakes.slack_submissions import NotSubmittable

CHANNEL, ALICE, SECRET = "C0GENERAL", "U0ALICE", "s3cret"


def modal(*blocks: dict[str, Any], **fields: Any) -> dict[str, Any]:
    view: dict[str, Any] = {
        "type": "modal",
        "callback_id": "settings",
        "title": {"type": "plain_text", "text": "Settings"},
        "submit": {"type": "plain_text", "text": "Save"},
        "blocks": list(blocks) or [text_input()],
    }
    view.update(fields)
    return view


def text_input(block_id: str = "notes", **element: Any) -> dict[str, Any]:
    return {
        "type": "input",
        "block_id": block_id,
        "label": {"type": "plain_text", "text": "Notes"},
        "element": {"type": "plain_text_input", "action_id": "value", **element},
    }


def option(value: str) -> dict[str, Any]:
    return {"text": {"type": "plain_text", "text": value}, "value": value}


def select(block_id: str, values: list[str], initial: str | None = None) -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": "static_select",
        "action_id": "value",
        "options": [option(v) for v in values],
    }
    if initial is not None:
        element["initial_option"] = option(initial)
    return {
        "type": "input",
        "block_id": block_id,
        "label": {"type": "plain_text", "text": block_id},
        "element": element,
    }


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


Answer = Callable[[dict[str, str]], Awaitable[web.StreamResponse]]


@pytest.fixture
async def app_server() -> AsyncIterator[Callable[[Answer], Awaitable[EventSender]]]:
    """An app on loopback answering Slack's signed requests with `answer(fields)`."""
    servers: list[TestServer] = []
    senders: list[EventSender] = []

    async def start(answer: Answer) -> EventSender:
        async def handle(request: web.Request) -> web.StreamResponse:
            fields = {k: v[0] for k, v in parse_qs(await request.text()).items()}
            return await answer(fields)

        application = web.Application()
        application.router.add_post("/slack/events", handle)
        server = TestServer(application)
        await server.start_server()
        servers.append(server)
        sender = await EventSender(str(server.make_url("/slack/events")), SECRET).__aenter__()
        senders.append(sender)
        return sender

    yield start
    for sender in senders:
        await sender.__aexit__(None, None, None)
    for server in servers:
        await server.close()


# --- slash commands -------------------------------------------------------------------------------


async def test_a_slash_command_arrives_signed_and_form_encoded_as_slack_sends_it(
    slack: FakeSlack, app_server: Callable[[Answer], Awaitable[EventSender]]
) -> None:
    seen: list[dict[str, str]] = []

    async def answer(fields: dict[str, str]) -> web.StreamResponse:
        seen.append(fields)
        return web.json_response({"response_type": "ephemeral", "text": "Usage: …"})

    sender = await app_server(answer)
    fields = slack.slash_command(ALICE, CHANNEL, "/analyst", "help")
    reply = slack.command_answered(fields, await sender.send_form(fields))

    [sent] = seen
    assert sent["command"] == "/analyst"
    assert sent["text"] == "help"
    assert (sent["user_id"], sent["channel_id"], sent["team_id"]) == (ALICE, CHANNEL, "T0TEST")
    assert sent["channel_name"] == "general"
    assert sent["response_url"].startswith(slack.url + "commands/T0TEST/")
    assert set(sent) >= {"token", "team_domain", "user_name", "api_app_id", "trigger_id"}
    assert reply is not None
    assert (reply.via, reply.response_type) == ("ack", "ephemeral")
    assert slack.replies_to(ALICE)[0].content == "Usage: …"


async def test_dm_and_private_channel_names_are_slacks_placeholders(slack: FakeSlack) -> None:
    slack.add_channel("G0SECRET", name="secret", is_private=True, members=[ALICE])
    assert slack.slash_command(ALICE, "D0DM", "/analyst")["channel_name"] == "directmessage"
    assert slack.slash_command(ALICE, "G0SECRET", "/analyst")["channel_name"] == "privategroup"


async def test_an_empty_ack_shows_nothing_and_a_late_one_shows_slacks_error(
    slack: FakeSlack, app_server: Callable[[Answer], Awaitable[EventSender]]
) -> None:
    async def empty(fields: dict[str, str]) -> web.StreamResponse:
        return web.Response(status=200)

    sender = await app_server(empty)
    fields = slack.slash_command(ALICE, CHANNEL, "/analyst", "settings")
    answer = await sender.send_form(fields)
    assert slack.command_answered(fields, answer) is None

    late = type(answer)(200, "", {}, 3.5)
    reply = slack.command_answered(fields, late)
    assert reply is not None
    assert reply.error == "operation_timeout"


async def test_response_urls_take_valid_replies_five_times(slack: FakeSlack) -> None:
    fields = slack.slash_command(ALICE, CHANNEL, "/analyst", "settings")
    url = fields["response_url"]
    async with aiohttp.ClientSession() as http:

        async def post(body: Any) -> tuple[int, str]:
            async with http.post(url, json=body) as response:
                return response.status, await response.text()

        assert await post({"text": ""}) == (400, "no_text")
        assert await post({"text": "x", "response_type": "shout"}) == (400, "invalid_payload")
        assert await post({"blocks": [{"type": "nonsense"}]}) == (400, "invalid_blocks")
        for n in range(5):
            assert await post({"text": f"reply {n}"}) == (200, "ok")
        assert await post({"text": "sixth"}) == (404, "used_url")
        async with http.post(url.rsplit("/", 1)[0] + "/nohook", json={"text": "x"}) as response:
            assert (response.status, await response.text()) == (404, "no_service")
    replies = slack.replies_to(ALICE)
    assert [r.content for r in replies] == [f"reply {n}" for n in range(5)]
    assert all(r.via == "response_url" and r.response_type == "ephemeral" for r in replies)


# --- views.open / update / push -----------------------------------------------------------------


async def test_views_open_exchanges_a_trigger_once(
    slack: FakeSlack, client: AsyncWebClient
) -> None:
    trigger = slack.slash_command(ALICE, CHANNEL, "/analyst", "settings")["trigger_id"]
    opened = await client.views_open(trigger_id=trigger, view=modal())

    view = opened["view"]
    assert view["id"].startswith("V")
    assert view["root_view_id"] == view["id"]
    assert view["blocks"][0]["element"]["action_id"] == "value"
    assert slack.open_view(ALICE) is not None
    assert slack.open_view(ALICE).id == view["id"]
    again = await slack_error(client.views_open(trigger_id=trigger, view=modal()))
    assert again.response["error"] == "exchanged_trigger_id"
    bogus = await slack_error(client.views_open(trigger_id="nope", view=modal()))
    assert bogus.response["error"] == "invalid_trigger_id"


async def test_a_trigger_expires_after_its_time(slack: FakeSlack, client: AsyncWebClient) -> None:
    slack.triggers.ttl = 0.05
    slack.faults.delay("views.open", seconds=0.1, times=1)
    trigger = slack.slash_command(ALICE, CHANNEL, "/analyst", "settings")["trigger_id"]

    error = await slack_error(client.views_open(trigger_id=trigger, view=modal()))

    assert error.response["error"] == "expired_trigger_id"
    assert slack.open_view(ALICE) is None


@pytest.mark.parametrize(
    ("view", "pointer"),
    [
        (modal(title={"type": "plain_text", "text": "x" * 25}), "/view/title/text"),
        (modal(submit={"type": "plain_text", "text": "x" * 25}), "/view/submit/text"),
        (modal(close={"type": "mrkdwn", "text": "Close"}), "/view/close"),
        (modal(callback_id="c" * 256), "/view/callback_id"),
        (modal(private_metadata="m" * 3001), "/view/private_metadata"),
        (modal(*[text_input(f"b{i}") for i in range(101)]), "/view/blocks"),
        (modal(text_input(max_length=3001)), "/view/blocks/0/element/max_length"),
        (
            modal(text_input(max_length=10, initial_value="x" * 11)),
            "/view/blocks/0/element/initial_value",
        ),
        (modal(select("s", [str(i) for i in range(101)])), "/view/blocks/0/element/options"),
        (modal(select("s", ["a", "b"], initial="c")), "/view/blocks/0/element/initial_option"),
        (modal(select("s", ["x" * 76])), "/view/blocks/0/element/options/0/text/text"),
        (
            modal(
                {
                    "type": "input",
                    "block_id": "c",
                    "label": {"type": "plain_text", "text": "Tools"},
                    "element": {
                        "type": "checkboxes",
                        "action_id": "v",
                        "options": [option(str(i)) for i in range(11)],
                    },
                }
            ),
            "/view/blocks/0/element/options",
        ),
        ({k: v for k, v in modal().items() if k != "submit"}, "/view/submit"),
        (modal({"type": "data_table", "caption": "x", "rows": []}), "/view/blocks/0/type"),
    ],
)
async def test_views_are_checked_like_slack_checks_them(
    slack: FakeSlack, client: AsyncWebClient, view: dict[str, Any], pointer: str
) -> None:
    trigger = slack.slash_command(ALICE, CHANNEL, "/analyst", "settings")["trigger_id"]

    error = await slack_error(client.views_open(trigger_id=trigger, view=view))

    assert error.response["error"] == "invalid_arguments"
    messages = error.response["response_metadata"]["messages"]
    assert any(f"[json-pointer:{pointer}]" in m for m in messages), messages
    assert slack.open_view(ALICE) is None


async def test_views_update_needs_an_open_view_and_the_current_hash(
    slack: FakeSlack, client: AsyncWebClient
) -> None:
    trigger = slack.slash_command(ALICE, CHANNEL, "/analyst")["trigger_id"]
    view = (await client.views_open(trigger_id=trigger, view=modal()))["view"]

    updated = await client.views_update(
        view_id=view["id"], hash=view["hash"], view=modal(text_input("other"))
    )
    stale = await slack_error(
        client.views_update(view_id=view["id"], hash=view["hash"], view=modal())
    )
    missing = await slack_error(client.views_update(view_id="V0NOPE", view=modal()))

    assert updated["view"]["blocks"][0]["block_id"] == "other"
    assert stale.response["error"] == "hash_conflict"
    assert missing.response["error"] == "not_found"
    assert len(slack.view(view["id"]).versions) == 2


async def test_views_push_stacks_at_most_three_views(
    slack: FakeSlack, client: AsyncWebClient
) -> None:
    trigger = slack.slash_command(ALICE, CHANNEL, "/analyst")["trigger_id"]
    root = (await client.views_open(trigger_id=trigger, view=modal()))["view"]
    for _ in range(2):
        click = slack.ws.triggers.issue(ALICE, source="block_actions", view_id=root["id"])
        pushed = await client.views_push(trigger_id=click, view=modal())
        assert pushed["view"]["root_view_id"] == root["id"]
    click = slack.ws.triggers.issue(ALICE, source="block_actions", view_id=root["id"])

    error = await slack_error(client.views_push(trigger_id=click, view=modal()))

    assert error.response["error"] == "push_limit_reached"
    assert len(slack.ws.views.stack(ALICE)) == 3


async def test_views_methods_are_tier_4_and_the_bot_budgets_for_every_tier() -> None:
    assert TIERS["views.open"] == TIERS["views.update"] == TIERS["views.push"] == 100
    assert {m: PER_MINUTE.get(m) for m in TIERS} == {m: float(t) for m, t in TIERS.items()}


# --- view_submission ------------------------------------------------------------------------------


async def _open(slack: FakeSlack, client: AsyncWebClient, view: dict[str, Any]) -> str:
    trigger = slack.slash_command(ALICE, CHANNEL, "/analyst")["trigger_id"]
    return str((await client.views_open(trigger_id=trigger, view=view))["view"]["id"])


async def test_a_submission_carries_each_input_in_its_elements_shape(
    slack: FakeSlack, client: AsyncWebClient
) -> None:
    checkboxes = {
        "type": "input",
        "block_id": "tools",
        "optional": True,
        "label": {"type": "plain_text", "text": "Tools"},
        "element": {
            "type": "checkboxes",
            "action_id": "value",
            "options": [option("a"), option("b")],
            "initial_options": [option("a"), option("b")],
        },
    }
    view_id = await _open(
        slack,
        client,
        modal(
            text_input("notes", initial_value="old"),
            select("model", ["m1", "m2"], "m1"),
            checkboxes,
            private_metadata='{"channel": "C0GENERAL"}',
        ),
    )

    payload, record = slack.view_submission(view_id, ALICE, {"model": "m2", "tools": ["b"]})

    values = payload["view"]["state"]["values"]
    assert values["notes"]["value"] == {"type": "plain_text_input", "value": "old"}
    assert values["model"]["value"]["selected_option"]["value"] == "m2"
    assert [o["value"] for o in values["tools"]["value"]["selected_options"]] == ["b"]
    assert payload["type"] == "view_submission"
    assert payload["user"]["id"] == ALICE
    assert payload["view"]["private_metadata"] == '{"channel": "C0GENERAL"}'
    assert payload["view"]["callback_id"] == "settings"
    assert record.outcome == "pending"


async def test_the_slack_client_refuses_what_a_user_could_not_submit(
    slack: FakeSlack, client: AsyncWebClient
) -> None:
    view_id = await _open(
        slack, client, modal(text_input("notes", max_length=5), select("model", ["m1"]))
    )
    with pytest.raises(NotSubmittable, match="max_length"):
        slack.view_submission(view_id, ALICE, {"notes": "toolong", "model": "m1"})
    with pytest.raises(NotSubmittable, match="not one of the options"):
        slack.view_submission(view_id, ALICE, {"notes": "ok", "model": "m9"})
    with pytest.raises(NotSubmittable, match="required"):
        slack.view_submission(view_id, ALICE, {"notes": "ok"})


async def test_slack_applies_the_apps_answer_to_a_submission(
    slack: FakeSlack,
    client: AsyncWebClient,
    app_server: Callable[[Answer], Awaitable[EventSender]],
) -> None:
    answers: list[web.StreamResponse] = [
        web.json_response({"response_action": "errors", "errors": {"elsewhere": "no"}}),
        web.json_response({"response_action": "errors", "errors": {"notes": "Too vague"}}),
        web.Response(status=200),
    ]

    async def answer(fields: dict[str, str]) -> web.StreamResponse:
        assert json.loads(fields["payload"])["type"] == "view_submission"
        return answers.pop(0)

    sender = await app_server(answer)
    view_id = await _open(slack, client, modal(text_input("notes")))
    outcomes = []
    for _ in range(3):
        payload, record = slack.view_submission(view_id, ALICE, {"notes": "hi"})
        outcomes.append(slack.submission_answered(record, await sender.send_interaction(payload)))

    assert outcomes[0].outcome.startswith("failed: errors names 'elsewhere'")
    assert (outcomes[1].outcome, outcomes[1].errors) == ("errors", {"notes": "Too vague"})
    assert outcomes[2].outcome == "closed"
    assert slack.open_view(ALICE) is None
