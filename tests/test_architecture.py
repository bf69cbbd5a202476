"""Import rules from design.md §4, checked on the source: vendors stay confined."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from tests.conftest import REPO

CODE = [p for d in ("bot", "handlers", "store") for p in (REPO / d).rglob("*.py")]


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def _users_of(prefix: str) -> set[str]:
    return {
        str(p.relative_to(REPO))
        for p in CODE
        if any(name == prefix or name.startswith(prefix + ".") for name in _imports(p))
    }


def test_only_the_engine_imports_openai() -> None:
    users = _users_of("openai") | _users_of("httpx2")  # httpx2 is the SDK's transport layer
    assert users
    assert all(user.startswith("bot/engine/") for user in users), users


def test_only_the_slack_edge_imports_slack_libraries() -> None:
    allowed = {
        "bot/app.py",
        "bot/runtime.py",
        "bot/render_slack.py",
        "bot/slack_message.py",
        "bot/slack_surface.py",
    }
    users = _users_of("slack_sdk") | _users_of("slack_bolt")
    assert users - allowed == {u for u in users if u.startswith("handlers/")}


def test_only_the_store_touches_the_database() -> None:
    users = _users_of("sqlalchemy") | _users_of("alembic")
    assert {u for u in users if not u.startswith("store/")} == {"bot/runtime.py"}


@pytest.mark.parametrize(
    "module",
    [
        "bot/service.py",
        "bot/workspace.py",
        "bot/worker.py",
        "bot/outputs.py",
        "bot/instructions.py",
        "bot/ports.py",
        "bot/controls.py",
    ],
)
def test_the_core_knows_no_wire_format(module: str) -> None:
    forbidden = (
        "openai",
        "slack_sdk",
        "slack_bolt",
        "aiohttp",
        "sqlalchemy",
        "store",
        "handlers",
        "bot.engine",
        "bot.render_slack",
    )
    imports = _imports(REPO / module)
    assert not {i for i in imports if i.split(".")[0] in forbidden or i in forbidden}, imports


def test_retired_apis_are_never_called() -> None:
    pattern = re.compile(r"beta\.(assistants|threads)|files_upload\(|\.files\.upload\(|prompt=")
    offenders = [str(p) for p in CODE if pattern.search(p.read_text())]
    assert offenders == []


def test_no_listener_module_is_huge() -> None:
    for path in (REPO / "handlers").glob("*.py"):
        assert len(path.read_text().splitlines()) < 250, path
