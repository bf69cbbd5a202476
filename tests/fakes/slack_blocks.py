"""Block Kit validation for the fake Slack, driven by one table of rules per block/element type.

Limits come from Slack's Block Kit reference and the validators in ``slack_sdk.models.blocks``
(3.47.0); ``table``/``data_table``/``data_visualization`` rules live in ``slack_data_blocks``
(docs.slack.dev; the SDK has no model for the last two). Problems are reported
the way Slack does: ``invalid_blocks`` with ``"[ERROR] <what> [json-pointer:/blocks/3/text/text]"``
lines in ``response_metadata.messages`` (and ``errors``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tests.fakes.slack_data_blocks import (
    Problems,
    check_data_table,
    check_data_visualization,
    check_table,
)
from tests.fakes.slack_methods import SlackError

MAX_BLOCKS = 50
MAX_BLOCK_ID = 255
MAX_ACTION_ID = 255
TEXT_TYPES = frozenset({"plain_text", "mrkdwn"})
TASK_STATUSES = frozenset({"pending", "in_progress", "complete", "error"})


@dataclass(frozen=True)
class Rule:
    """What one block or element type requires. Every mapping is ``field -> limit``."""

    required: tuple[str, ...] = ()
    one_of: tuple[str, ...] = ()
    strings: Mapping[str, int] = field(default_factory=dict)
    texts: Mapping[str, int] = field(default_factory=dict)
    plain_only: frozenset[str] = frozenset()
    text_lists: Mapping[str, tuple[int, int]] = field(default_factory=dict)
    """field -> (max items, max characters per text object)"""
    elements: Mapping[str, tuple[int, frozenset[str]]] = field(default_factory=dict)
    """list field -> (max items, allowed element types)"""
    element: Mapping[str, frozenset[str]] = field(default_factory=dict)
    enums: Mapping[str, frozenset[str]] = field(default_factory=dict)
    lists: Mapping[str, tuple[int, int]] = field(default_factory=dict)
    """plain list field -> (min items, max items)"""
    extra: Callable[[dict[str, Any], str, Problems], None] | None = None


# --- element rules ------------------------------------------------------------------------------

_SELECTS = frozenset({
    "static_select", "external_select", "users_select", "conversations_select", "channels_select",
    "multi_static_select", "multi_external_select", "multi_users_select",
    "multi_conversations_select", "multi_channels_select",
})  # fmt: skip
_PICKERS = frozenset({"datepicker", "timepicker", "datetimepicker", "checkboxes", "radio_buttons"})
_INPUTS = frozenset({
    "plain_text_input", "rich_text_input", "email_text_input", "url_text_input", "number_input",
    "file_input",
})  # fmt: skip
SECTION_ACCESSORIES = _SELECTS | _PICKERS | {"button", "image", "overflow", "workflow_button"}
ACTIONS_ELEMENTS = SECTION_ACCESSORIES - {"image"} | {"plain_text_input", "rich_text_input"}
CONTEXT_ELEMENTS = frozenset({"image"}) | TEXT_TYPES
INPUT_ELEMENTS = _SELECTS | _PICKERS | _INPUTS
CONTEXT_ACTIONS_ELEMENTS = frozenset({"feedback_buttons", "icon_button"})


def _check_options(element: dict[str, Any], at: str, problems: Problems) -> None:
    for i, option in enumerate(element.get("options") or []):
        _check_text_object(option.get("text"), f"{at}/options/{i}/text", 75, False, problems)
        if len(str(option.get("value", ""))) > 150:
            problems.append((f"{at}/options/{i}/value", "must be less than 151 characters"))


def _check_feedback_buttons(element: dict[str, Any], at: str, problems: Problems) -> None:
    for side in ("positive_button", "negative_button"):
        button = element.get(side)
        if not isinstance(button, dict):
            continue  # reported as a missing required field
        _check_text_object(button.get("text"), f"{at}/{side}/text", 75, True, problems)
        value = button.get("value")
        if not isinstance(value, str) or not value:
            problems.append((f"{at}/{side}/value", "missing required field: value"))
        elif len(value) > 2000:
            problems.append((f"{at}/{side}/value", "must be less than 2001 characters"))


_ACTION_ID = {"action_id": MAX_ACTION_ID}
ELEMENT_RULES: dict[str, Rule] = {
    "button": Rule(
        required=("text",),
        strings={**_ACTION_ID, "value": 2000, "url": 3000},
        texts={"text": 75},
        plain_only=frozenset({"text"}),
        enums={"style": frozenset({"primary", "danger"})},
    ),
    "feedback_buttons": Rule(
        required=("positive_button", "negative_button"),
        strings=_ACTION_ID,
        extra=_check_feedback_buttons,
    ),
    "icon_button": Rule(
        required=("icon", "text"),
        strings={**_ACTION_ID, "value": 2000, "accessibility_label": 75},
        texts={"text": 75},
        plain_only=frozenset({"text"}),
    ),
    "overflow": Rule(
        required=("options",), strings=_ACTION_ID, lists={"options": (1, 5)}, extra=_check_options
    ),
    "image": Rule(
        required=("alt_text",),
        one_of=("image_url", "slack_file"),
        strings={"alt_text": 2000, "image_url": 3000},
    ),
    "workflow_button": Rule(required=("text", "workflow"), strings=_ACTION_ID, texts={"text": 75}),
    **{
        name: Rule(strings=_ACTION_ID, lists={"options": (0, 100)}, extra=_check_options)
        for name in _SELECTS
    },
    # "A maximum of 10 options are allowed" (slack_sdk CheckboxesElement/RadioButtonsElement).
    **{
        name: Rule(
            required=("options",),
            strings=_ACTION_ID,
            lists={"options": (1, 10)},
            extra=_check_options,
        )
        for name in ("checkboxes", "radio_buttons")
    },
    **{name: Rule(strings=_ACTION_ID) for name in _INPUTS | {"datepicker", "timepicker"}},
    "datetimepicker": Rule(strings=_ACTION_ID),
}


# --- block rules --------------------------------------------------------------------------------


def _check_plan(block: dict[str, Any], at: str, problems: Problems) -> None:
    for i, task in enumerate(block.get("tasks") or []):
        if not isinstance(task, dict) or task.get("type") != "task_card":
            problems.append((f"{at}/tasks/{i}", "plan tasks must be task_card blocks"))
        else:
            _check_with_rule(task, BLOCK_RULES["task_card"], f"{at}/tasks/{i}", problems)


BLOCK_RULES: dict[str, Rule] = {
    "section": Rule(
        one_of=("text", "fields"),
        texts={"text": 3000},
        text_lists={"fields": (10, 2000)},
        element={"accessory": SECTION_ACCESSORIES},
    ),
    "divider": Rule(),
    "header": Rule(required=("text",), texts={"text": 150}, plain_only=frozenset({"text"})),
    "context": Rule(required=("elements",), elements={"elements": (10, CONTEXT_ELEMENTS)}),
    "actions": Rule(required=("elements",), elements={"elements": (25, ACTIONS_ELEMENTS)}),
    "image": Rule(
        required=("alt_text",),
        one_of=("image_url", "slack_file"),
        strings={"alt_text": 2000, "image_url": 3000},
        texts={"title": 2000},
        plain_only=frozenset({"title"}),
    ),
    "rich_text": Rule(required=("elements",)),
    "markdown": Rule(required=("text",), strings={"text": 12_000}),
    "table": Rule(required=("rows",), extra=check_table),
    "data_table": Rule(required=("caption", "rows"), extra=check_data_table),
    "data_visualization": Rule(required=("title", "chart"), extra=check_data_visualization),
    "context_actions": Rule(
        required=("elements",), elements={"elements": (5, CONTEXT_ACTIONS_ELEMENTS)}
    ),
    "plan": Rule(required=("title",), extra=_check_plan),
    "task_card": Rule(required=("task_id", "title", "status"), enums={"status": TASK_STATUSES}),
    "input": Rule(
        required=("label", "element"),
        texts={"label": 2000, "hint": 2000},
        plain_only=frozenset({"label", "hint"}),
        element={"element": INPUT_ELEMENTS},
    ),
    "file": Rule(required=("external_id", "source")),
    "video": Rule(
        required=("alt_text", "title", "thumbnail_url", "video_url"),
        texts={"title": 200},
        plain_only=frozenset({"title"}),
    ),
    "alert": Rule(
        required=("text",),
        texts={"text": 3000},
        enums={"level": frozenset({"default", "info", "warning", "error", "success"})},
    ),
    "card": Rule(texts={"title": 150, "subtitle": 150, "body": 200}),
}


# --- the walk -----------------------------------------------------------------------------------


def _check_text_object(
    obj: Any, at: str, max_len: int, plain_only: bool, problems: Problems
) -> None:
    if not isinstance(obj, dict) or obj.get("type") not in TEXT_TYPES:
        problems.append((at, "must be a text object (plain_text or mrkdwn)"))
        return
    if plain_only and obj["type"] != "plain_text":
        problems.append((f"{at}/type", "must be plain_text"))
    text = obj.get("text")
    if not isinstance(text, str) or not text:
        problems.append((f"{at}/text", "must be more than 0 characters"))
    elif len(text) > max_len:
        problems.append((f"{at}/text", f"must be less than {max_len + 1} characters"))


def _check_element(element: Any, at: str, allowed: frozenset[str], problems: Problems) -> None:
    kind = element.get("type") if isinstance(element, dict) else None
    if kind not in allowed:
        problems.append((f"{at}/type", f"unsupported element type here: {kind!r}"))
    elif kind in TEXT_TYPES:
        _check_text_object(element, at, 3000, False, problems)
    else:
        _check_with_rule(element, ELEMENT_RULES.get(kind, Rule()), at, problems)


def _check_with_rule(obj: dict[str, Any], rule: Rule, at: str, problems: Problems) -> None:
    for name in rule.required:
        if obj.get(name) in (None, "", []):
            problems.append((f"{at}/{name}", f"missing required field: {name}"))
    if rule.one_of and not any(obj.get(name) for name in rule.one_of):
        problems.append((at, f"must provide one of: {', '.join(rule.one_of)}"))
    for name, limit in rule.strings.items():
        value = obj.get(name)
        if isinstance(value, str) and len(value) > limit:
            problems.append((f"{at}/{name}", f"must be less than {limit + 1} characters"))
    for name, limit in rule.texts.items():
        if name in obj:
            _check_text_object(obj[name], f"{at}/{name}", limit, name in rule.plain_only, problems)
    for name, (max_items, limit) in rule.text_lists.items():
        items = obj.get(name) or []
        if len(items) > max_items:
            problems.append((f"{at}/{name}", f"no more than {max_items} items allowed"))
        for i, item in enumerate(items):
            _check_text_object(item, f"{at}/{name}/{i}", limit, False, problems)
    for name, (max_items, allowed) in rule.elements.items():
        items = obj.get(name) or []
        if len(items) > max_items:
            problems.append((f"{at}/{name}", f"no more than {max_items} items allowed"))
        for i, item in enumerate(items):
            _check_element(item, f"{at}/{name}/{i}", allowed, problems)
    for name, allowed in rule.element.items():
        if name in obj:
            _check_element(obj[name], f"{at}/{name}", allowed, problems)
    for name, values in rule.enums.items():
        if name in obj and obj[name] not in values:
            problems.append((f"{at}/{name}", f"must be one of {sorted(values)}"))
    for name, (low, high) in rule.lists.items():
        if name in obj and not low <= len(obj[name] or []) <= high:
            problems.append((f"{at}/{name}", f"must have {low} to {high} items"))
    if rule.extra is not None:
        rule.extra(obj, at, problems)


def block_problems(
    blocks: Any, pointer: str = "/blocks", *, max_blocks: int = MAX_BLOCKS
) -> Problems:
    """Every problem in a ``blocks`` array, as (json pointer, message) pairs (messages hold 50
    blocks, modals 100: ``max_blocks``)."""
    if not isinstance(blocks, list):
        return [(pointer, "must be an array")]
    problems: Problems = []
    if len(blocks) > max_blocks:
        problems.append((pointer, f"no more than {max_blocks} items allowed"))
    seen_ids: set[str] = set()
    for i, block in enumerate(blocks):
        at = f"{pointer}/{i}"
        kind = block.get("type") if isinstance(block, dict) else None
        if kind not in BLOCK_RULES:
            problems.append((f"{at}/type", f"unsupported block type: {kind!r}"))
            continue
        block_id = block.get("block_id")
        if isinstance(block_id, str):
            if len(block_id) > MAX_BLOCK_ID:
                problems.append(
                    (f"{at}/block_id", f"must be less than {MAX_BLOCK_ID + 1} characters")
                )
            elif block_id in seen_ids:
                problems.append((f"{at}/block_id", f"duplicate block_id: {block_id}"))
            seen_ids.add(block_id)
        _check_with_rule(block, BLOCK_RULES[kind], at, problems)
    return problems


def invalid_blocks(problems: Problems) -> SlackError:
    """Slack's ``invalid_blocks`` error listing ``problems``."""
    lines = [f"{message} [json-pointer:{at}]" for at, message in problems]
    return SlackError("invalid_blocks", *(f"[ERROR] {line}" for line in lines), errors=lines)


def check_blocks(blocks: Any, pointer: str = "/blocks") -> None:
    """Raise ``invalid_blocks`` for an invalid ``blocks`` array, block by block. The limits on a
    whole message (one table, …) are ``slack_block_limits.check_message_blocks``."""
    problems = block_problems(blocks, pointer)
    if problems:
        raise invalid_blocks(problems)
