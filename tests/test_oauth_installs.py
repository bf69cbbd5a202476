"""Installs in many workspaces (OAuth), through the front door: the install round trip, its
refusals, a turn in each of two workspaces with its own token, and the app leaving one."""

from __future__ import annotations

from pathlib import Path

import aiohttp

from bot import wording
from tests.bot_harness import BotUnderTest, free_port, running_bot, wait_until
from tests.fakes.scripted_model import ScriptedTurn
from tests.fakes.slack_actions import removal_envelope
from tests.fakes.slack_api import FakeSlack, Visitor
from tests.fakes.slack_team import FakeTeam
from tests.oauth_browser import InstallerBrowser, install_link


def _other_corp(slack: FakeSlack) -> FakeTeam:
    other = slack.add_team("T0TWO", name="Other & Co <Ltd>")
    other.add_user("U0CAROL", name="carol", real_name="Carol Diaz")
    other.add_channel("C0SALES", name="sales", members=["U0CAROL"])
    return other


async def _install(bot: BotUnderTest, team: str, user: str) -> None:
    bot.slack.oauth.visitor = Visitor(team, user)
    async with InstallerBrowser(bot.url) as browser:
        landing = await browser.install(bot.url)
    assert landing.status == 200, landing.page
    assert await bot.runtime.store.installations.find(team) is not None


async def test_the_install_round_trip_stores_the_workspace(
    tmp_path: Path, database_url: str
) -> None:
    async with running_bot(tmp_path, database_url=database_url, oauth=True) as bot:
        other = _other_corp(bot.slack)
        await bot.runtime.store.retired.retire("T0TWO")  # removed once, not yet cleaned up
        bot.slack.oauth.visitor = Visitor("T0TWO", "U0CAROL")
        async with InstallerBrowser(bot.url) as browser:
            status, page = await browser.install_page(bot.url)
            state = browser.state_cookie()
            slack_sent_back = await browser.approve(install_link(page))
            landing = await browser.land(slack_sent_back)
            cookie_after = browser.state_cookie()

        stored = await bot.runtime.store.installations.find("T0TWO")
        [exchange] = bot.slack.calls_to("oauth.v2.access")
        assert status == 200
        assert wording.INSTALL_BUTTON in page
        assert state is not None
        assert landing.query["state"] == [state]
        assert landing.status == 200
        assert wording.INSTALLED_TITLE in landing.page
        assert "Other &amp; Co &lt;Ltd&gt;" in landing.page  # the name is escaped
        assert cookie_after is None  # the state cookie served its one use
        assert stored is not None
        assert (stored.bot_token, stored.bot_user_id, stored.team_name) == (
            other.bot_token,
            "U0TWOBOT",
            "Other & Co <Ltd>",
        )
        assert (stored.installer_user_id, stored.app_id) == ("U0CAROL", "A0ANALYST")
        assert set(stored.bot_scopes.split(",")) >= {"chat:write", "files:read", "commands"}
        assert exchange.ok
        assert await bot.runtime.store.retired.away() == []  # served again (old data still due)
        assert await bot.runtime.store.installations.find("T0TEST") is None


async def test_a_configured_redirect_uri_is_sent_to_slack_both_times(tmp_path: Path) -> None:
    port = free_port()
    redirect = f"http://127.0.0.1:{port}/slack/oauth_redirect"
    async with running_bot(tmp_path, oauth=True, port=port, SLACK_REDIRECT_URI=redirect) as bot:
        bot.slack.oauth.redirect_urls[:] = ["https://elsewhere.example/first", redirect]
        await _install(bot, "T0TEST", "U0ALICE")
        [visit] = bot.slack.oauth.visits
        [exchange] = bot.slack.calls_to("oauth.v2.access")
        assert visit.query["redirect_uri"] == redirect
        assert exchange.args["redirect_uri"] == redirect


async def test_forged_replayed_and_denied_installs_store_nothing(tmp_path: Path) -> None:
    async with running_bot(tmp_path, oauth=True) as bot:
        _other_corp(bot.slack)
        bot.slack.oauth.visitor = Visitor("T0TWO", "U0CAROL")
        async with InstallerBrowser(bot.url) as browser:
            _, page = await browser.install_page(bot.url)
            forged = await browser.land(
                await browser.approve(install_link(page).replace("state=", "state=forged"))
            )
        async with InstallerBrowser(bot.url) as browser:
            bot.slack.oauth.visitor = Visitor("T0TWO", "U0CAROL", approves=False)
            denied = await browser.install(bot.url)
        assert await bot.runtime.store.installations.find("T0TWO") is None

        bot.slack.oauth.visitor = Visitor("T0TEST", "U0ALICE")
        async with InstallerBrowser(bot.url) as browser:
            _, page = await browser.install_page(bot.url)
            state = browser.state_cookie()
            first = await browser.land(await browser.approve(install_link(page)))
        await bot.runtime.store.installations.delete("T0TEST")
        async with InstallerBrowser(bot.url) as replayer:  # with the URL and the cookie
            cookie = f"slack-app-oauth-state={state}"
            replayed = await replayer.land(first.redirect_url, cookie=cookie)

        assert (forged.status, denied.status, first.status, replayed.status) == (400, 200, 200, 401)
        assert wording.INSTALL_FAILURES["invalid_browser"] in forged.page
        assert wording.INSTALL_FAILURES["access_denied"] in denied.page
        assert wording.INSTALL_FAILURES["invalid_state"] in replayed.page
        assert await bot.runtime.store.installations.find("T0TWO") is None
        assert await bot.runtime.store.installations.find("T0TEST") is None  # not re-stored
        assert len(bot.slack.calls_to("oauth.v2.access")) == 1  # only the genuine install


async def test_a_turn_in_each_of_two_workspaces_uses_that_workspace_token(tmp_path: Path) -> None:
    async with running_bot(tmp_path, oauth=True) as bot:
        other = _other_corp(bot.slack)
        await _install(bot, "T0TEST", "U0ALICE")
        await _install(bot, "T0TWO", "U0CAROL")
        csv = other.add_file("q3.csv", b"region,sales\nEU,12\nUS,30\n", user="U0CAROL")
        bot.openai.model.enqueue(ScriptedTurn(text="Answer for Acme."))
        bot.openai.model.enqueue(ScriptedTurn(text="Answer for Other Co."))
        here = await bot.mention("how are we doing?")
        there = other.post_user_message(
            "C0SALES", "U0CAROL", "sum sales", files=[csv["id"]], mention_bot=True
        )
        assert there.app_mention_event is not None
        assert (await bot.send(there.app_mention_event)).status == 200

        assert (await bot.finished(here.ts)).status == "done"
        done = await bot.finished(there.ts, "C0SALES", team="T0TWO")
        assert done.status == "done", done.error_code

        assert bot.slack.bot_messages("C0GENERAL", here.ts)
        assert other.bot_messages("C0SALES", there.ts)
        tokens = {"T0TEST": bot.slack.bot_token, "T0TWO": other.bot_token}
        channels = {"C0GENERAL": "T0TEST", "C0SALES": "T0TWO"}
        for call in bot.slack.calls:
            channel = call.args.get("channel") or call.args.get("channel_id")
            if channel in channels:
                assert call.token == tokens[channels[channel]], (call.method, channel)
            assert call.error not in ("invalid_auth", "channel_not_found", "token_revoked")
        assert {c.team for c in other.calls} == {"T0TWO"}
        assert {c.team for c in bot.slack.calls if c.method != "oauth.v2.access"} == {
            "T0TEST",
            "T0TWO",
        }
        lookups = {(c.args["user"], c.team, c.ok) for c in bot.slack.calls_to("users.info")}
        assert lookups == {("U0ALICE", "T0TEST", True), ("U0CAROL", "T0TWO", True)}
        [download] = [d for d in other.downloads if d.file_id == csv["id"]]
        assert download.authorization == f"Bearer {other.bot_token}"


async def test_uninstall_stops_the_workspace_and_ignores_it_afterwards(tmp_path: Path) -> None:
    async with running_bot(tmp_path, oauth=True) as bot:
        other = _other_corp(bot.slack)
        await _install(bot, "T0TEST", "U0ALICE")
        await _install(bot, "T0TWO", "U0CAROL")
        slow = ScriptedTurn(text="Slow. " * 200, text_deltas=200, delta_delay=0.05)
        bot.openai.model.enqueue(slow)
        running = other.post_user_message("C0SALES", "U0CAROL", "long one", mention_bot=True)
        queued = other.post_user_message(
            "C0SALES", "U0CAROL", "and then?", thread_ts=running.ts, mention_bot=True
        )
        assert running.app_mention_event is not None
        assert queued.app_mention_event is not None
        await bot.send(running.app_mention_event)
        await wait_until(lambda: other.bot_messages("C0SALES", running.ts), what="a first sign")
        await bot.send(queued.app_mention_event)
        await wait_until(
            lambda: bot.turn(queued.ts, "C0SALES", team="T0TWO"), what="the queued turn"
        )

        removal = other.uninstall()
        assert (await bot.send(removal.tokens_revoked)).status == 200
        assert (await bot.send(removal.app_uninstalled)).status == 200
        stopped = await bot.finished(running.ts, "C0SALES", team="T0TWO", within=5)
        never = await bot.finished(queued.ts, "C0SALES", team="T0TWO")
        await bot.settled()

        assert (stopped.status, stopped.error_code) == ("cancelled", "uninstalled")
        assert (never.status, never.error_code, never.started_at) == (
            "cancelled",
            "uninstalled",
            None,
        )
        assert await bot.runtime.store.installations.find("T0TWO") is None
        assert await bot.runtime.store.retired.retired() == ["T0TWO"]
        assert bot.runtime.worker.running == 0

        calls_before = len(other.calls)
        later = other.post_user_message("C0SALES", "U0CAROL", "still there?", mention_bot=True)
        assert later.app_mention_event is not None
        assert (await bot.send(later.app_mention_event)).status == 200
        await bot.settled()
        assert await bot.turn(later.ts, "C0SALES", team="T0TWO") is None
        assert len(other.calls) == calls_before  # nothing more with the dead token

        bot.openai.model.enqueue(ScriptedTurn(text="Still here for Acme."))
        here = await bot.mention("are you still there?")
        assert (await bot.finished(here.ts)).status == "done"


async def test_a_revoked_bot_token_removes_the_workspace_and_a_reinstall_restores_it(
    tmp_path: Path,
) -> None:
    async with running_bot(tmp_path, oauth=True) as bot:
        other = _other_corp(bot.slack)
        await _install(bot, "T0TWO", "U0CAROL")
        user_tokens = {"type": "tokens_revoked", "tokens": {"oauth": ["U0CAROL"], "bot": []}}
        await bot.send(removal_envelope(other.ws, user_tokens))  # the bot keeps none
        await bot.settled()
        assert await bot.runtime.store.installations.find("T0TWO") is not None
        await bot.send(other.revoke_tokens())
        await bot.settled()
        assert await bot.runtime.store.installations.find("T0TWO") is None
        assert await bot.runtime.store.retired.away() == ["T0TWO"]

        await _install(bot, "T0TWO", "U0CAROL")
        bot.openai.model.enqueue(ScriptedTurn(text="Back again."))
        sent = other.post_user_message("C0SALES", "U0CAROL", "hello again", mention_bot=True)
        assert sent.app_mention_event is not None
        await bot.send(sent.app_mention_event)
        assert (await bot.finished(sent.ts, "C0SALES", team="T0TWO")).status == "done"
        assert await bot.runtime.store.retired.away() == []
        assert await bot.runtime.store.retired.retired() == ["T0TWO"]  # its old data is due
        assert other.bot_messages("C0SALES", sent.ts)


async def test_one_workspace_mode_has_no_install_pages(tmp_path: Path) -> None:
    async with running_bot(tmp_path) as bot, aiohttp.ClientSession() as http:
        async with http.get(f"{bot.url}/slack/install") as install:
            assert install.status == 404
        async with http.get(f"{bot.url}/slack/oauth_redirect?code=x&state=y") as redirect:
            assert redirect.status == 404


async def test_one_workspace_mode_retires_on_removal_and_forgets_when_its_token_works(
    tmp_path: Path,
) -> None:
    async with running_bot(tmp_path) as bot:
        await bot.runtime.store.retired.retire("T0TEST")  # removed before this start
        bot.openai.model.enqueue(ScriptedTurn(text="Hello again."))
        first = await bot.mention("are you back?")
        assert (await bot.finished(first.ts)).status == "done"
        assert await bot.runtime.store.retired.away() == []  # its token works: it is back
        # ... and what it had before it left is still due for deletion
        assert await bot.runtime.store.retired.retired() == ["T0TEST"]

        removal = bot.slack.uninstall()
        assert (await bot.send(removal.app_uninstalled)).status == 200
        await bot.settled()
        assert await bot.runtime.store.retired.away() == ["T0TEST"]
