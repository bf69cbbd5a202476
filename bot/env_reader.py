"""Reading the environment for `bot.settings`: each variable parsed and checked, every
problem collected (so one `ConfigError` names them all), secrets wrapped."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

from bot.errors import ConfigError

T = TypeVar("T")


@dataclass(frozen=True)
class Secret:
    """A credential. `repr` and `str` hide it; call `reveal()` where the value is needed."""

    _value: str = field(repr=False)

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__


def is_loopback(host: str) -> bool:
    """True for localhost and loopback IPs (with or without a port)."""
    name = urlsplit(f"//{host}").hostname or ""
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


class EnvReader:
    """Reads variables and collects every problem instead of stopping at the first."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self._env = env
        self._problems: list[str] = []

    def problem(self, text: str) -> None:
        self._problems.append(text)

    def raise_if_problems(self) -> None:
        if self._problems:
            raise ConfigError(self._problems)

    def text(self, name: str) -> str | None:
        value = self._env.get(name, "").strip()
        return value or None

    def secret(self, name: str, *, required: bool = False, prefix: str = "") -> Secret | None:
        value = self.text(name)
        if value is None:
            if required:
                self.problem(f"{name}: missing")
            return None
        if prefix and not value.startswith(prefix):
            self.problem(f"{name}: must start with {prefix!r}")
        return Secret(value)

    def number(
        self, name: str, kind: Callable[[str], T], default: T, *, low: float, high: float
    ) -> T:
        raw = self.text(name)
        if raw is None:
            return default
        try:
            value = kind(raw)
        except ValueError:
            self.problem(f"{name}: {raw!r} is not a number")
            return default
        if not low <= value <= high:  # type: ignore[operator]
            self.problem(f"{name}: must be between {low:g} and {high:g}")
        return value

    def usd(self, name: str) -> float | None:
        """An amount in US dollars, or None when unset (no limit)."""
        raw = self.text(name)
        if raw is None:
            return None
        try:
            value = float(raw.removeprefix("$").replace(",", ""))
        except ValueError:
            self.problem(f"{name}: {raw!r} is not an amount in USD (e.g. 25 or 7.50)")
            return None
        if not 0 <= value < 1e9:
            self.problem(f"{name}: must be an amount of 0 or more USD")
        return value

    def url(self, name: str) -> str | None:
        raw = self.text(name)
        if raw is None:
            return None
        parts = urlsplit(raw)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            self.problem(f"{name}: {raw!r} is not an http(s) URL")
            return None
        if parts.scheme == "http" and not is_loopback(parts.netloc):
            self.problem(f"{name}: plain http is only allowed for loopback hosts")
        return raw

    def hosts(self, name: str, default: tuple[str, ...]) -> tuple[str, ...]:
        raw = self.text(name)
        if raw is None:
            return default
        hosts = tuple(h.strip().lower() for h in raw.split(",") if h.strip())
        bad = [h for h in hosts if "/" in h or " " in h]
        if bad or not hosts:
            self.problem(f"{name}: expected comma-separated host names, got {raw!r}")
        return hosts

    def ids(self, name: str, pattern: re.Pattern[str], what: str) -> tuple[str, ...]:
        """A comma- or space-separated list of Slack ids (empty: none)."""
        raw = self.text(name)
        if raw is None:
            return ()
        ids = tuple(dict.fromkeys(i for i in re.split(r"[\s,]+", raw) if i))
        bad = [i for i in ids if not pattern.fullmatch(i)]
        if bad:
            self.problem(f"{name}: {', '.join(map(repr, bad[:3]))} not {what}")
        return ids

    def flag(self, name: str, default: bool) -> bool:
        raw = (self.text(name) or "").lower()
        if not raw:
            return default
        if raw not in ("1", "0", "true", "false", "yes", "no", "on", "off"):
            self.problem(f"{name}: expected true or false, got {raw!r}")
            return default
        return raw in ("1", "true", "yes", "on")

    def database_url(self, name: str) -> str:
        raw = self.text(name)
        if raw is None:
            return "sqlite:///" + str(Path.cwd() / "slack-analyst.db")
        if not raw.startswith(("sqlite", "postgresql", "postgres://")):
            self.problem(f"{name}: only sqlite:///… and postgresql://… URLs are supported")
        return raw

    def log_level(self, name: str) -> str:
        raw = (self.text(name) or "INFO").upper()
        if raw not in ("DEBUG", "INFO", "WARNING", "ERROR"):
            self.problem(f"{name}: must be DEBUG, INFO, WARNING or ERROR")
            return "INFO"
        return raw
