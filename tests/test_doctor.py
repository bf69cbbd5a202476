"""`slack-analyst doctor` against the fake Slack and OpenAI and a real database: what it says
is wrong, in plain words, and its exit status."""

from __future__ import annotations

import asyncio
import io
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from sqlalchemy import text

from bot.core.records import Installation
from bot.doctor import doctor
from bot.slack.checks import BOT_EVENTS
from store import open_store
from store.health import head_revision
from tests.bot_harness import bot_env, process_env
from tests.conftest import REPO
from tests.fakes.openai_api import FakeOpenAI
from tests.fakes.slack_api import FakeSlack


@dataclass
class Services:
    slack: FakeSlack
    openai: FakeOpenAI
    database_url: str

    def env(self, **overrides: str) -> dict[str, str]:
        return {**bot_env(self.slack, self.openai, self.database_url), **overrides}

    async def run(self, **overrides: str) -> tuple[int, str]:
        out = io.StringIO()
        status = await doctor(self.env(**overrides), out=out)
        return status, out.getvalue()


@pytest.fixture
async def services(tmp_path: Path) -> AsyncIterator[Services]:
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    async with open_store(url):  # migrated, as a started bot leaves it
        pass
    async with FakeSlack() as slack, FakeOpenAI() as openai:
        yield Services(slack, openai, url)


async def test_all_well_exits_0_and_says_so(services: Services) -> None:
    status, out = await services.run(ANALYST_MODELS="test-model,test-model-mini")
    assert status == 0, out
    assert out.splitlines()[0] == (
        "Slack Analyst doctor: HTTP mode, one workspace (SLACK_BOT_TOKEN), database SQLite"
    )
    team = services.slack.ws.team_id
    assert f"ok   Slack: the bot token works for Fake Workspace ({team}) as @analyst." in out
    assert "ok   Slack: the bot token has every scope the manifest asks for." in out
    assert "ok   OpenAI: model test-model is available to this key (ANALYST_MODEL)." in out
    assert "ok   OpenAI: model test-model-mini is available to this key (in ANALYST_MODELS)." in out
    assert f"ok   Database: reachable, schema at {head_revision()}" in out
    assert "/slack/events" in out  # where Slack must send events, in HTTP mode
    assert "FAIL" not in out
    assert out.rstrip().endswith("All checks passed.")
    assert services.slack.bot_token not in out  # secrets are never printed
    assert "sk-test" not in out


async def test_a_missing_scope_is_named_with_what_to_do(services: Services) -> None:
    services.slack.ws.scopes = [s for s in services.slack.ws.scopes if s != "files:read"]
    status, out = await services.run()
    assert status == 1
    assert (
        "FAIL Slack: the bot token lacks 1 scope(s) the manifest asks for: files:read. "
        "Add them under OAuth & Permissions → Scopes"
    ) in out
    assert out.rstrip().endswith("1 problem(s) found: fix the lines marked FAIL.")


async def test_a_token_slack_does_not_know(services: Services) -> None:
    status, out = await services.run(SLACK_BOT_TOKEN="xoxb-0000-never-issued")
    assert status == 1
    assert "FAIL Slack: Slack does not know the bot token: copy the Bot User OAuth Token" in out


async def test_an_unknown_model_and_a_shutdown_date(services: Services) -> None:
    services.openai.models.add("gpt-old", shutdown_date="2026-12-11")
    status, out = await services.run(ANALYST_MODELS="test-model,gpt-old,gpt-unknown")
    assert status == 1
    assert (
        "FAIL OpenAI: model gpt-unknown (in ANALYST_MODELS) does not exist or this key cannot "
        "use it: fix ANALYST_MODELS"
    ) in out
    assert "warn OpenAI: model gpt-old shuts down on 2026-12-11" in out
    assert "ok   OpenAI: model test-model is available" in out
    asked = [r.path for r in services.openai.requests_to("GET", "/models/{model}")]
    assert asked == ["/models/test-model", "/models/gpt-old", "/models/gpt-unknown"]


async def test_a_refused_key_is_reported_once(services: Services) -> None:
    services.openai.api_keys = {"sk-the-real-one"}
    status, out = await services.run(ANALYST_MODELS="test-model,test-model-mini")
    assert status == 1
    assert out.count("FAIL OpenAI: the API key was refused (invalid_api_key)") == 1
    assert len(services.openai.requests_to("GET", "/models/{model}")) == 1


async def test_settings_problems_are_listed_and_nothing_else_is_asked(
    services: Services,
) -> None:
    status, out = await services.run(OPENAI_API_KEY="", ANALYST_MAX_FILE_MB="lots")
    assert status == 1
    assert out.startswith("FAIL Settings: 2 problem(s); nothing else was checked:")
    assert "OPENAI_API_KEY" in out
    assert "ANALYST_MAX_FILE_MB" in out
    assert services.openai.requests == []
    assert services.slack.calls == []


async def test_a_file_host_that_is_not_slacks(services: Services) -> None:
    hosts = f"{services.slack.host},files.example.org"
    status, out = await services.run(SLACK_FILE_HOSTS=hosts)
    assert status == 1
    assert "FAIL File hosts: SLACK_FILE_HOSTS lists files.example.org, which is not Slack's" in out


async def test_a_database_behind_or_never_migrated(tmp_path: Path, database_url: str) -> None:
    async with FakeSlack() as slack, FakeOpenAI() as openai:
        checked = Services(slack, openai, database_url)
        if database_url.startswith("sqlite"):
            status, out = await checked.run()
            assert status == 1
            assert "FAIL Database: the SQLite file" in out
            assert "does not exist yet: run `slack-analyst migrate`" in out
            file = Path(database_url.removeprefix("sqlite:///"))
            assert not await asyncio.to_thread(file.exists)  # doctor created nothing
        async with open_store(database_url) as store, store.engine.begin() as conn:
            await conn.execute(text("DELETE FROM alembic_version"))  # tables, no revision
        status, out = await checked.run()
        assert status == 1
        assert (
            f"FAIL Database: reachable but never migrated (this code needs {head_revision()}): "
            "run `slack-analyst migrate`."
        ) in out
        async with (
            open_store(database_url, run_migrations=False) as store,
            store.engine.begin() as conn,
        ):
            await conn.execute(text("INSERT INTO alembic_version (version_num) VALUES ('0009')"))
        status, out = await checked.run()
        assert status == 1
        assert f"FAIL Database: schema at 0009, this code needs {head_revision()}" in out


async def test_oauth_checks_the_client_and_every_installation(services: Services) -> None:
    slack = services.slack
    oauth = {
        "SLACK_BOT_TOKEN": "",
        "SLACK_CLIENT_ID": slack.oauth.client_id,
        "SLACK_CLIENT_SECRET": slack.oauth.client_secret,
    }
    status, out = await services.run(**oauth)
    assert status == 0, out
    assert "ok   Slack: Slack knows the OAuth client id and secret." in out
    assert "warn Slack: no workspace has installed the app yet" in out

    other = slack.add_team("T0TWO", name="Other Corp", installed=True)
    other.ws.scopes = [s for s in other.ws.scopes if s != "users:read"]
    async with open_store(services.database_url) as store:
        for team_id, token in ((slack.ws.team_id, slack.bot_token), ("T0TWO", other.bot_token)):
            await store.installations.save(_installation(team_id, token))
        await store.installations.save(_installation("T0GONE", "xoxb-gone-0000"))
    status, out = await services.run(**oauth)
    assert status == 1
    assert f"ok   Slack: the bot token of workspace {slack.ws.team_id} has every scope" in out
    lacks = "FAIL Slack: the bot token of workspace T0TWO lacks 1 scope(s) the manifest asks for"
    assert f"{lacks}: users:read" in out
    assert "FAIL Slack: Slack does not know the bot token of workspace T0GONE" in out

    status, out = await services.run(**{**oauth, "SLACK_CLIENT_SECRET": "not-the-secret"})
    assert status == 1
    assert "FAIL Slack: Slack refused the OAuth client credentials (bad_client_secret)" in out


async def test_the_cli_runs_it_and_exits_with_its_status(services: Services) -> None:
    env = process_env(services.slack, services.openai, services.database_url, Path(sys.prefix), 0)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "doctor", env=env, cwd=REPO,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 0, (out.decode(), err.decode())
    assert out.decode().rstrip().endswith("All checks passed.")

    services.slack.ws.scopes = ["chat:write"]
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "doctor", env=env, cwd=REPO,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, _err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 1
    assert "lacks 13 scope(s)" in out.decode()


def test_the_events_doctor_names_are_the_manifests() -> None:
    manifest = yaml.safe_load((REPO / "manifest.yml").read_text())
    assert set(BOT_EVENTS) == set(manifest["settings"]["event_subscriptions"]["bot_events"])


def _installation(team_id: str, token: str) -> Installation:
    return Installation(
        team_id=team_id,
        team_name=team_id,
        enterprise_id=None,
        app_id="A0ANALYST",
        bot_user_id="U0BOT",
        bot_id="B0BOT",
        bot_token=token,
        bot_scopes="chat:write",
        installer_user_id="U0ALICE",
        installed_at=datetime.now(UTC),
    )
