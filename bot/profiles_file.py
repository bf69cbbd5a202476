"""The admins' channel profiles file (`ANALYST_CHANNEL_PROFILES`), read and checked at start-up.

A YAML mapping of channel ids to profiles; every field is optional and defaults to the bot's own
settings. A channel listed here is managed by the file: `/analyst settings` shows it read-only.

    C0123456789:                      # #finance
      instructions: |
        Amounts are in EUR. The fiscal year starts in April.
      model: gpt-5.5                  # one of ANALYST_MODELS; omit for ANALYST_MODEL
      reasoning_effort: high          # none, minimal, low, medium, high, xhigh or max
      auto_profile: false             # quick looks at data files dropped without a question
      tools: [code_interpreter, show_chart, show_table]   # the ones on (default: all)

Every problem in the file is reported at once, with the channel and field it concerns.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from bot.core.channel_profiles import MAX_INSTRUCTIONS, REASONING_EFFORTS
from bot.core.records import ChannelProfile
from bot.core.tools import ALL_TOOLS, TOOL_NAMES

FIELDS = ("instructions", "model", "reasoning_effort", "auto_profile", "tools")
CHANNEL_ID = re.compile(r"[CG][A-Z0-9]{2,}")


class _UniqueKeys(yaml.SafeLoader):
    """A safe loader that refuses a key given twice (YAML would keep the last one quietly)."""


def _mapping(loader: _UniqueKeys, node: yaml.MappingNode, deep: bool = False) -> Any:
    seen: set[Any] = set()
    for key_node, _value in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            line = key_node.start_mark.line + 1
            raise yaml.constructor.ConstructorError(
                None, None, f"{key!r} is listed twice (line {line})", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_UniqueKeys.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def load_profiles(
    path: str, *, models: Sequence[str]
) -> tuple[dict[str, ChannelProfile], list[str]]:
    """(the profiles by channel id, every problem found); use the profiles only when there
    are no problems."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        return {}, [f"{path}: cannot be read ({type(error).__name__})"]
    try:
        data = yaml.load(text, Loader=_UniqueKeys)
    except yaml.YAMLError as error:
        return {}, [f"{path}: not valid YAML ({_where(error)})"]
    if data is None:
        return {}, []
    if not isinstance(data, dict):
        return {}, [f"{path}: expected a mapping of channel ids to profiles"]
    profiles: dict[str, ChannelProfile] = {}
    problems: list[str] = []
    for channel, fields in data.items():
        found = _channel_problems(channel, fields, models)
        problems += [f"{path}: {channel}: {problem}" for problem in found]
        if not found:
            profiles[str(channel)] = _profile(fields or {})
    return profiles, problems


def _where(error: yaml.YAMLError) -> str:
    mark = getattr(error, "problem_mark", None)
    what = getattr(error, "problem", None) or type(error).__name__
    return f"{what} at line {mark.line + 1}" if mark is not None else str(what)


def _channel_problems(channel: Any, fields: Any, models: Sequence[str]) -> list[str]:
    if not isinstance(channel, str) or not CHANNEL_ID.fullmatch(channel):
        return ["not a channel id (like C0123456789; DMs have no profile)"]
    if fields is None:
        return []
    if not isinstance(fields, dict):
        return ["expected a mapping of " + ", ".join(FIELDS)]
    known = ", ".join(FIELDS)
    problems = [f"unknown field {k!r} (known: {known})" for k in fields if k not in FIELDS]
    return problems + _value_problems(fields, models)


def _value_problems(fields: dict[str, Any], models: Sequence[str]) -> list[str]:
    problems = []
    instructions = fields.get("instructions", "")
    if not isinstance(instructions, str):
        problems.append("instructions: expected text")
    elif len(instructions) > MAX_INSTRUCTIONS:
        length = len(instructions)
        problems.append(f"instructions: {length:,} characters (max {MAX_INSTRUCTIONS:,})")
    model = fields.get("model")
    if model is not None and model not in models:
        problems.append(f"model: {model!r} is not in ANALYST_MODELS ({', '.join(models)})")
    effort = fields.get("reasoning_effort")
    if effort is not None and effort not in REASONING_EFFORTS:
        efforts = ", ".join(REASONING_EFFORTS)
        problems.append(f"reasoning_effort: {effort!r} is not one of {efforts}")
    if not isinstance(fields.get("auto_profile", True), bool):
        problems.append("auto_profile: expected true or false")
    tools = fields.get("tools", list(TOOL_NAMES))
    if not isinstance(tools, list) or not all(isinstance(t, str) for t in tools):
        problems.append(f"tools: expected a list of tool names ({', '.join(TOOL_NAMES)})")
    elif unknown := sorted(set(tools) - ALL_TOOLS):
        problems.append(f"tools: unknown {', '.join(unknown)} (known: {', '.join(TOOL_NAMES)})")
    return problems


def _profile(fields: dict[str, Any]) -> ChannelProfile:
    return ChannelProfile(
        instructions=fields.get("instructions") or "",
        model=fields.get("model"),
        reasoning_effort=fields.get("reasoning_effort"),
        auto_profile=fields.get("auto_profile", True),
        tools=frozenset(fields.get("tools", TOOL_NAMES)),
    )
