"""The `/analyst settings` modal: built from a channel's profile, read back from its submission.

One input block per field (block ids = the profile's field names, so per-field errors go
back with `response_action: errors`), within Slack's modal limits: title/submit/close ≤ 24
characters, instructions ≤ 3,000 (`max_length`), ≤ 100 options per select (`ANALYST_MODELS`
is capped at 98), ≤ 10 checkboxes. A channel managed by the admins' file gets the same values
as text, without a submit button.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bot import wording
from bot.core.channel_profiles import MAX_INSTRUCTIONS, REASONING_EFFORTS
from bot.core.markdown import defuse
from bot.core.records import ChannelProfile
from bot.core.tools import TOOL_NAMES

Block = dict[str, Any]
CALLBACK_ID = "analyst_settings"
INSTRUCTIONS, MODEL, EFFORT, TOOLS, AUTO_PROFILE = (
    "instructions", "model", "reasoning_effort", "tools", "auto_profile"
)  # fmt: skip
ACTION = "value"
DEFAULT = "(default)"
"""The option value meaning "the bot's default" (no model id contains parentheses)."""
SHOWN_INSTRUCTIONS = 2_800  # of a read-only section's 3,000 characters


@dataclass(frozen=True)
class SettingsSubmission:
    """A press of Save: who, for which channel, and the profile as filled in."""

    team_id: str
    user_id: str
    channel_id: str
    profile: ChannelProfile


def _text(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text, "emoji": True}


def _option(text: str, value: str) -> dict[str, Any]:
    return {"text": _text(text[:75]), "value": value}


def _input(block_id: str, label: str, element: Block, *, optional: bool = False) -> Block:
    element = {"action_id": ACTION, **element}
    return {
        "type": "input",
        "block_id": block_id,
        "label": _text(label),
        "element": element,
        "optional": optional,
    }


def _select(block_id: str, label: str, options: list[dict[str, Any]], chosen: str) -> Block:
    initial = next(o for o in options if o["value"] == chosen)
    element = {"type": "static_select", "options": options, "initial_option": initial}
    return _input(block_id, label, element)


def _checkboxes(block_id: str, label: str, options: list[dict[str, Any]], on: set[str]) -> Block:
    element: Block = {"type": "checkboxes", "options": options}
    chosen = [o for o in options if o["value"] in on]
    if chosen:
        element["initial_options"] = chosen
    return _input(block_id, label, element, optional=True)


def _model_options(profile: ChannelProfile, models: Sequence[str], default: str) -> list[Any]:
    options = [_option(wording.DEFAULT_MODEL_OPTION.format(model=default), DEFAULT)]
    options += [_option(model, model) for model in models]
    if profile.model is not None and profile.model not in models:  # taken off the list since
        options.append(
            _option(wording.RETIRED_MODEL_OPTION.format(model=profile.model), profile.model)
        )
    return options


def _inputs(profile: ChannelProfile, models: Sequence[str], default_model: str) -> list[Block]:
    text: Block = {"type": "plain_text_input", "multiline": True, "max_length": MAX_INSTRUCTIONS}
    if profile.instructions:
        text["initial_value"] = profile.instructions
    instructions = _input(INSTRUCTIONS, wording.LABEL_INSTRUCTIONS, text, optional=True)
    instructions["hint"] = _text(wording.HINT_INSTRUCTIONS)
    efforts = [_option(wording.DEFAULT_EFFORT_OPTION, DEFAULT)]
    efforts += [_option(effort, effort) for effort in REASONING_EFFORTS]
    tools = [_option(wording.TOOL_LABELS[tool], tool) for tool in TOOL_NAMES]
    drops = [_option(wording.AUTO_PROFILE_LABEL, AUTO_PROFILE)]
    drops_on = {AUTO_PROFILE} if profile.auto_profile else set()
    return [
        instructions,
        _select(
            MODEL,
            wording.LABEL_MODEL,
            _model_options(profile, models, default_model),
            profile.model or DEFAULT,
        ),
        _select(EFFORT, wording.LABEL_EFFORT, efforts, profile.reasoning_effort or DEFAULT),
        _checkboxes(TOOLS, wording.LABEL_TOOLS, tools, set(profile.tools)),
        _checkboxes(AUTO_PROFILE, wording.LABEL_DROPS, drops, drops_on),
    ]


def _section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": defuse(text)}}


def _read_only(profile: ChannelProfile, default_model: str) -> list[Block]:
    shown = profile.instructions[:SHOWN_INSTRUCTIONS] + (
        "…" if len(profile.instructions) > SHOWN_INSTRUCTIONS else ""
    )
    tools = [wording.TOOL_LABELS[t] for t in TOOL_NAMES if t in profile.tools]
    model = profile.model or wording.DEFAULT_MODEL_OPTION.format(model=default_model)
    lines = [
        (wording.LABEL_MODEL, model),
        (wording.LABEL_EFFORT, profile.reasoning_effort or wording.DEFAULT_EFFORT_OPTION),
        (wording.LABEL_TOOLS, ", ".join(tools) or wording.NONE),
        (wording.AUTO_PROFILE_LABEL, wording.ON if profile.auto_profile else wording.OFF),
    ]
    return [
        _section(wording.SETTINGS_MANAGED),
        _section(f"*{wording.LABEL_INSTRUCTIONS}:*\n{shown or wording.NONE}"),
        _section("\n".join(f"*{label}:* {value}" for label, value in lines)),
    ]


def _last_change(profile: ChannelProfile) -> list[Block]:
    if profile.updated_by is None or profile.updated_at is None:
        return []
    stamp = int(profile.updated_at.timestamp())
    fallback = f"{profile.updated_at:%Y-%m-%d %H:%M} UTC"
    when = f"<!date^{stamp}^{{date_short_pretty}} at {{time}}|{fallback}>"
    text = wording.SETTINGS_LAST_CHANGE.format(user=profile.updated_by, when=when)
    return [{"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}]


def settings_view(
    channel_id: str,
    profile: ChannelProfile,
    *,
    models: Sequence[str],
    default_model: str,
    managed: bool,
) -> Block:
    """The modal for `channel_id` showing `profile` (read-only when `managed`)."""
    intro = {
        "type": "section",
        "text": {"type": "mrkdwn", "text": wording.SETTINGS_INTRO.format(channel=channel_id)},
    }
    view: Block = {
        "type": "modal",
        "callback_id": CALLBACK_ID,
        "private_metadata": json.dumps({"channel": channel_id}),
        "title": _text(wording.SETTINGS_TITLE),
    }
    if managed:
        view["close"] = _text(wording.SETTINGS_CLOSE)
        view["blocks"] = [intro, *_read_only(profile, default_model)]
        return view
    view["submit"] = _text(wording.SETTINGS_SAVE)
    view["close"] = _text(wording.SETTINGS_CANCEL)
    view["blocks"] = [intro, *_last_change(profile), *_inputs(profile, models, default_model)]
    return view


def _state(values: Mapping[str, Any], block_id: str) -> Mapping[str, Any]:
    state = (values.get(block_id) or {}).get(ACTION)
    return state if isinstance(state, Mapping) else {}


def _selected(values: Mapping[str, Any], block_id: str) -> str | None:
    option = _state(values, block_id).get("selected_option") or {}
    value = option.get("value")
    return None if value in (None, DEFAULT) else str(value)


def _checked(values: Mapping[str, Any], block_id: str) -> set[str]:
    return {str(o.get("value")) for o in _state(values, block_id).get("selected_options") or ()}


def settings_submission(body: Mapping[str, Any]) -> SettingsSubmission:
    """A `view_submission` of the settings modal, parsed (missing inputs read as empty)."""
    view = body.get("view") or {}
    values = (view.get("state") or {}).get("values") or {}
    metadata = json.loads(view.get("private_metadata") or "{}")
    profile = ChannelProfile(
        instructions=(_state(values, INSTRUCTIONS).get("value") or "").strip(),
        model=_selected(values, MODEL),
        reasoning_effort=_selected(values, EFFORT),
        auto_profile=AUTO_PROFILE in _checked(values, AUTO_PROFILE),
        tools=frozenset(_checked(values, TOOLS)),
    )
    team = (body.get("team") or {}).get("id") or view.get("team_id") or ""
    return SettingsSubmission(
        team_id=str(team),
        user_id=str((body.get("user") or {}).get("id") or ""),
        channel_id=str(metadata.get("channel") or ""),
        profile=profile,
    )


def field_errors(problems: Mapping[str, str]) -> dict[str, str]:
    """Profile problems (by field) as `response_action: errors` (by input block id)."""
    blocks = {INSTRUCTIONS, MODEL, EFFORT, TOOLS, AUTO_PROFILE}
    return {field: message for field, message in problems.items() if field in blocks}
