"""The layering of design.md §4, checked on the source: one table says who may import whom.

bot.core      the pipeline: knows no vendor, no other bot package, no store, no handlers
bot.profile   the local profile of a dropped file: core only
bot.engine    the only code that imports openai
bot.slack     everything that speaks Slack (with handlers, the only users of slack_sdk/bolt)
handlers      the listeners: parse, delegate, done
store         the database; of the bot, only the core's value types
bot.metrics   the process's Prometheus registry (the only user of prometheus_client)
bot.runtime   the composition root: wires everything, imports no vendor SDK itself
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from tests.conftest import REPO

PACKAGES = ("bot", "handlers", "store")
CODE = [p for d in PACKAGES for p in (REPO / d).rglob("*.py") if "migrations" not in p.parts]
MAX_LINES = 300

# First-party modules each part may import (a prefix matches its submodules).
ALLOWED: dict[str, set[str]] = {
    "bot": set(),
    "bot.errors": set(),
    "bot.wording": {"bot.wording", "bot.errors"},
    "bot.settings": {
        "bot.errors",
        "bot.env_reader",
        "bot.install_mode",
        "bot.profiles_file",
        "bot.prices",
        "bot.core.records",
        "bot.core.access",
        "bot.core.usage",
    },
    "bot.install_mode": {"bot.env_reader"},
    "bot.profiles_file": {"bot.core", "bot.errors"},
    "bot.prices": {"bot.core.usage"},
    "bot.usage_report": {"bot.core", "bot.env_reader", "bot.errors", "store"},
    "bot.env_reader": {"bot.errors"},
    "bot.core": {"bot.core", "bot.errors", "bot.wording"},
    "bot.profile": {"bot.profile", "bot.core", "bot.errors", "bot.wording"},
    "bot.engine": {"bot.engine", "bot.core", "bot.errors", "bot.settings"},
    "bot.slack": {
        "bot.slack",
        "bot.core",
        "bot.profile",
        "bot.errors",
        "bot.wording",
        "bot.settings",
    },
    "bot.terminal": {
        "bot.core",
        "bot.engine",
        "bot.errors",
        "bot.settings",
        "bot.wording",
        "store",
    },
    "bot.cleanup": {"bot.core", "bot.engine", "bot.errors", "bot.settings", "bot.wording", "store"},
    "bot.metrics": {"bot.core"},
    "bot.doctor": {
        "bot.engine",
        "bot.env_reader",
        "bot.errors",
        "bot.settings",
        "bot.slack",
        "bot.wording",
        "store",
    },
    "bot.probes": {"bot.metrics", "store"},
    "bot.runtime": {"bot", "handlers", "store"},
    "bot.serving": {"bot.runtime", "bot.settings", "bot.slack"},
    "bot.__main__": {"bot", "store"},
    "handlers": {"handlers", "bot.core", "bot.slack", "bot.profile"},
    "store": {"store", "bot.core.turns", "bot.core.records"},
}
# Vendor libraries and the only parts that may import them.
VENDORS: dict[str, set[str]] = {
    "openai": {"bot.engine"},
    "httpx2": {"bot.engine"},  # the openai SDK's transport
    "slack_sdk": {"bot.slack", "handlers"},
    "slack_bolt": {"bot.slack", "handlers"},
    "aiohttp": {"bot.slack", "bot.runtime"},
    "sqlalchemy": {"store"},
    "alembic": {"store"},
    "asyncpg": {"store"},
    "aiosqlite": {"store"},
    "prometheus_client": {"bot.metrics"},
}
FIRST_PARTY = PACKAGES
TYPING_ONLY = {"__future__", "_typeshed"}  # exist for type checkers only


def _module(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            # `from bot import wording` imports the module bot.wording
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def _within(name: str, prefixes: set[str]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def _part(module: str) -> str:
    """The most specific key of ALLOWED that `module` belongs to."""
    keys = [k for k in ALLOWED if module == k or module.startswith(k + ".")]
    if not keys:
        raise AssertionError(f"{module} belongs to no part of the layering table")
    return max(keys, key=len)


def _first_party(names: set[str]) -> set[str]:
    modules = {n for n in names if n.split(".")[0] in FIRST_PARTY}
    # `from bot.core import outputs` adds both bot.core and bot.core.outputs: keep the longest
    return {n for n in modules if not any(o.startswith(n + ".") for o in modules)}


@pytest.mark.parametrize("path", CODE, ids=lambda p: str(p.relative_to(REPO)))
def test_every_module_keeps_to_its_layer(path: Path) -> None:
    module = _module(path)
    part = _part(module)
    names = _imports(path)
    wrong = {n for n in _first_party(names) if not _within(n, ALLOWED[part] | {part})}
    assert not wrong, f"{module} ({part}) may not import {sorted(wrong)}"
    vendors = {n.split(".")[0] for n in names} & set(VENDORS)
    foreign = {v for v in vendors if not _within(module, VENDORS[v])}
    assert not foreign, f"{module} may not import {sorted(foreign)}"


def test_the_table_is_not_vacuous() -> None:
    """Each vendor is really used where allowed, so a typo in the table cannot hide a rule."""
    users = {
        v: {_module(p) for p in CODE if v in {n.split(".")[0] for n in _imports(p)}}
        for v in VENDORS
    }
    for vendor in ("openai", "slack_sdk", "slack_bolt", "sqlalchemy", "aiohttp"):
        assert users[vendor], vendor
    core = [p for p in CODE if _module(p).startswith("bot.core.")]
    assert len(core) >= 10


@pytest.mark.parametrize("path", CODE, ids=lambda p: str(p.relative_to(REPO)))
def test_no_module_is_huge(path: Path) -> None:
    lines = len(path.read_text().splitlines())
    assert lines <= MAX_LINES, f"{path.relative_to(REPO)} has {lines} lines (> {MAX_LINES})"


def test_retired_apis_are_never_called() -> None:
    pattern = re.compile(r"beta\.(assistants|threads)|files_upload\(|\.files\.upload\(|prompt=")
    offenders = [str(p) for p in CODE if pattern.search(p.read_text())]
    assert offenders == []


def test_listener_modules_stay_thin() -> None:
    for path in (REPO / "handlers").glob("*.py"):
        assert len(path.read_text().splitlines()) < 150, path


def test_every_third_party_import_is_a_declared_dependency() -> None:
    """What the code imports is installed because pyproject.toml asks for it, not because
    some other package happens to depend on it today."""
    import sys
    import tomllib
    from importlib.metadata import packages_distributions

    declared = {
        re.split(r"[\[<>=!~ ;]", spec, maxsplit=1)[0].lower().replace("_", "-")
        for spec in tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    }
    providers = packages_distributions()
    missing = set()
    for path in CODE:
        for name in _imports(path):
            top = name.split(".")[0]
            if top in FIRST_PARTY or top in sys.stdlib_module_names or top in TYPING_ONLY:
                continue
            dists = {d.lower().replace("_", "-") for d in providers.get(top, [top])}
            if not dists & declared:
                missing.add(f"{top} ({_module(path)})")
    assert not missing, f"imported but not declared in pyproject.toml: {sorted(missing)}"
