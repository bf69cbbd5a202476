"""`slack-analyst doctor`: checks the configuration against the live services and says, in
plain words, what is wrong.

    settings load → database reachable and migrated to this code's head
    → Slack (bot token: auth.test and its scopes against the manifest's; OAuth: the client
      credentials and every installation's token; Socket Mode: the app token) and OpenAI
      (the key, ANALYST_MODEL and every model of ANALYST_MODELS) at once
    → the file hosts the bot token may be sent to

Exit status 0 when nothing failed (warnings and notes do not fail), 1 otherwise. Nothing is
changed anywhere: the database is not migrated, no file is created, nothing is installed.
Secrets are never printed.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Literal, TextIO

from bot import wording
from bot.engine.models import ModelCheck, check_models
from bot.env_reader import is_loopback
from bot.errors import ConfigError
from bot.settings import DEFAULT_SLACK_API_URL, Settings
from bot.slack.checks import BOT_EVENTS, TokenCheck, check_app_token, check_client, check_token
from store import Store
from store.database import create_engine
from store.health import sqlite_file

Level = Literal["ok", "fail", "warn", "note"]
MARKS = {
    "ok": wording.DOCTOR_OK,
    "fail": wording.DOCTOR_FAIL,
    "warn": wording.DOCTOR_WARN,
    "note": wording.DOCTOR_HINT,
}
UNREACHABLE = frozenset({"ClientConnectorError", "ServerDisconnectedError", "TimeoutError"})


@dataclass(frozen=True)
class Finding:
    level: Level
    text: str


Findings = list[Finding]


async def doctor(env: Mapping[str, str], *, out: TextIO) -> int:
    try:
        settings = Settings.from_env(env)
    except ConfigError as error:
        heading = wording.DOCTOR_SETTINGS_BAD.format(count=len(error.problems))
        print(f"{wording.DOCTOR_FAIL} {heading}", file=out)
        for problem in error.problems:
            print(f"       - {problem}", file=out)
        return 1
    findings = [Finding("ok", wording.DOCTOR_SETTINGS_OK)]
    async with _database(settings) as (store, database):
        findings += database
        slack, models = await asyncio.gather(_slack(settings, store), _openai(settings))
    findings += slack + models + _file_hosts(settings)
    _print(settings, findings, out)
    return 1 if any(f.level == "fail" for f in findings) else 0


def _print(settings: Settings, findings: Findings, out: TextIO) -> None:
    dialect = "PostgreSQL" if settings.database_url.startswith("postgres") else "SQLite"
    title = wording.DOCTOR_TITLE.format(
        mode=wording.DOCTOR_MODES.get(settings.mode, settings.mode),
        access=wording.DOCTOR_ACCESS[settings.oauth],
        dialect=dialect,
    )
    print(title, file=out)
    for finding in findings:
        print(f"{MARKS[finding.level]} {finding.text}", file=out)
    failed = sum(f.level == "fail" for f in findings)
    verdict = wording.DOCTOR_PROBLEMS.format(count=failed) if failed else wording.DOCTOR_ALL_WELL
    print(verdict, file=out)


# Database --------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def _database(settings: Settings) -> AsyncIterator[tuple[Store | None, Findings]]:
    """The store when the database is reachable and at head (for the installations)."""
    path = sqlite_file(settings.database_url)
    if path is not None and not path.exists():  # connecting would create an empty file
        yield None, [Finding("fail", wording.DOCTOR_DB_MISSING_FILE.format(path=path))]
        return
    engine = create_engine(settings.database_url, pool_size=2)
    try:
        store = Store(engine)
        state = await store.schema()
        if state.error is not None:
            finding = Finding("fail", wording.DOCTOR_DB_UNREACHABLE.format(code=state.error))
        elif state.current is None:
            finding = Finding("fail", wording.DOCTOR_DB_NOT_MIGRATED.format(head=state.head))
        elif not state.at_head:
            text = wording.DOCTOR_DB_BEHIND.format(current=state.current, head=state.head)
            finding = Finding("fail", text)
        else:
            finding = Finding("ok", wording.DOCTOR_DB_OK.format(current=state.current))
        yield (store if state.at_head else None), [finding]
    finally:
        await engine.dispose()


# Slack -----------------------------------------------------------------------------------


async def _slack(settings: Settings, store: Store | None) -> Findings:
    url = settings.slack_api_url
    findings: Findings = []
    if url != DEFAULT_SLACK_API_URL:
        findings.append(Finding("note", wording.DOCTOR_API_URL.format(url=url)))
    if settings.oauth:
        findings += await _oauth(settings, store)
    elif settings.slack_bot_token is not None:
        token = settings.slack_bot_token.reveal()
        findings += _token(await check_token(url, token), wording.DOCTOR_BOT_TOKEN, url)
    if settings.mode == "socket" and settings.slack_app_token is not None:
        problem = await check_app_token(url, settings.slack_app_token.reveal())
        findings.append(
            Finding("ok", wording.DOCTOR_APP_TOKEN_OK)
            if problem is None
            else Finding("fail", wording.DOCTOR_APP_TOKEN_BAD.format(code=problem))
        )
    events = ", ".join(BOT_EVENTS)
    hint = wording.DOCTOR_EVENTS_SOCKET if settings.mode == "socket" else wording.DOCTOR_EVENTS_HTTP
    findings.append(Finding("note", hint.format(events=events)))
    return findings


async def _oauth(settings: Settings, store: Store | None) -> Findings:
    url, client_id, secret = (
        settings.slack_api_url,
        settings.slack_client_id,
        settings.slack_client_secret,
    )
    assert client_id is not None
    assert secret is not None
    problem = await check_client(url, client_id, secret.reveal())
    findings = [
        Finding("ok", wording.DOCTOR_CLIENT_OK)
        if problem is None
        else Finding("fail", wording.DOCTOR_CLIENT_BAD.format(code=problem))
    ]
    if store is None:
        return [*findings, Finding("warn", wording.DOCTOR_INSTALLS_UNREADABLE)]
    installs = await store.installations.every()
    if not installs:
        return [*findings, Finding("warn", wording.DOCTOR_NO_INSTALLS)]
    checks = await asyncio.gather(*(check_token(url, i.bot_token) for i in installs))
    for install, check in zip(installs, checks, strict=True):
        which = wording.DOCTOR_INSTALL_TOKEN.format(team_id=install.team_id)
        findings += _token(check, which, url)
    return findings


def _token(check: TokenCheck, which: str, url: str) -> Findings:
    if check.error in UNREACHABLE:
        text = wording.DOCTOR_UNREACHABLE.format(service="Slack", url=url, code=check.error)
        return [Finding("fail", text)]
    if check.error is not None:
        template = wording.DOCTOR_TOKEN_BAD.get(check.error, wording.DOCTOR_TOKEN_OTHER)
        return [Finding("fail", template.format(which=which, code=check.error))]
    works = wording.DOCTOR_TOKEN_OK.format(
        which=which, team=check.team, team_id=check.team_id, user=check.user
    )
    if check.scopes is None:
        unknown = wording.DOCTOR_SCOPES_UNKNOWN.format(which=which)
        return [Finding("ok", works), Finding("warn", unknown)]
    if check.missing:
        scopes = ", ".join(check.missing)
        text = wording.DOCTOR_SCOPES_MISSING.format(
            which=which, count=len(check.missing), scopes=scopes
        )
        return [Finding("ok", works), Finding("fail", text)]
    return [Finding("ok", works), Finding("ok", wording.DOCTOR_SCOPES_OK.format(which=which))]


# OpenAI ----------------------------------------------------------------------------------


async def _openai(settings: Settings) -> Findings:
    names = list(dict.fromkeys((settings.model, *settings.models)))
    return [f for check in await check_models(settings, names) for f in _model(settings, check)]


def _model(settings: Settings, check: ModelCheck) -> Findings:
    default = check.name == settings.model
    role = wording.DOCTOR_ROLE_DEFAULT if default else wording.DOCTOR_ROLE_CHOICE
    variable = "ANALYST_MODEL" if default else "ANALYST_MODELS"
    if check.state == "refused":
        return [Finding("fail", wording.DOCTOR_KEY_REFUSED.format(code=check.detail))]
    if check.state == "unreachable":
        url = settings.openai_base_url or "https://api.openai.com/v1"
        text = wording.DOCTOR_UNREACHABLE.format(service="OpenAI", url=url, code=check.detail)
        return [Finding("fail", text)]
    if check.state == "unknown":
        text = wording.DOCTOR_MODEL_UNKNOWN.format(name=check.name, role=role, variable=variable)
        return [Finding("fail", text)]
    if check.state == "error":
        text = wording.DOCTOR_MODEL_ERROR.format(name=check.name, code=check.detail)
        return [Finding("fail", text)]
    findings = [Finding("ok", wording.DOCTOR_MODEL_OK.format(name=check.name, role=role))]
    if check.shutdown_date:
        text = wording.DOCTOR_MODEL_SHUTDOWN.format(name=check.name, date=check.shutdown_date)
        findings.append(Finding("warn", text))
    return findings


# File hosts ------------------------------------------------------------------------------


def _file_hosts(settings: Settings) -> Findings:
    hosts = settings.slack_file_hosts
    findings: Findings = []
    for host in hosts:
        if not is_loopback(host) and not _is_slack(host):
            findings.append(Finding("fail", wording.DOCTOR_HOST_FOREIGN.format(host=host)))
    if not any(h == "files.slack.com" or is_loopback(h) for h in hosts):
        findings.append(Finding("warn", wording.DOCTOR_HOST_NO_SLACK))
    for pattern in settings.slack_file_redirect_hosts:
        host = pattern.removeprefix("*.")
        if not is_loopback(host) and not _is_slack(host, cdn=True):
            findings.append(Finding("warn", wording.DOCTOR_REDIRECT_FOREIGN.format(host=pattern)))
    if not findings:
        findings.append(Finding("ok", wording.DOCTOR_HOSTS_OK.format(hosts=", ".join(hosts))))
    return findings


def _is_slack(host: str, *, cdn: bool = False) -> bool:
    name = host.split(":", 1)[0].lower()
    domains = ("slack.com", "slack-edge.com") if cdn else ("slack.com",)
    return any(name == d or name.endswith("." + d) for d in domains)
