"""What Slack checks in a modal view (``views.open`` / ``views.update`` / ``views.push``).

From docs.slack.dev "View object" and the validators of ``slack_sdk.models.views.View`` and
``slack_sdk.models.blocks`` (3.47.0):

- ``type`` "modal"; ``title`` plain_text, required, ≤ 24 characters; ``submit`` and ``close``
  plain_text ≤ 24; ``submit`` is required when the view holds an ``input`` block;
- 1 to 100 blocks, of the types a modal can show (no ``table``, ``data_table``, charts…);
- ``callback_id`` and ``external_id`` ≤ 255 characters, ``private_metadata`` ≤ 3000;
- input blocks: ``label`` ≤ 2000, ``hint`` ≤ 2000; ``plain_text_input`` ``min_length`` 0–3000,
  ``max_length`` 1–3000, not below ``min_length``, ``initial_value`` within ``max_length``;
  ``placeholder`` plain_text ≤ 150; ``static_select`` ≤ 100 options with plain_text texts,
  ``initial_option`` one of them; ``checkboxes``/``radio_buttons`` 1–10 options,
  ``initial_options`` among them (option texts ≤ 75, values ≤ 150: ``slack_blocks``);
- the whole view ≤ 250 kB (``view_too_large``).

Problems come back as Slack words them: ``invalid_arguments`` with ``"[ERROR] <what>
[json-pointer:/view/title/text]"`` lines in ``response_metadata.messages``.
"""

from __future__ import annotations

import json
from typing import Any

from tests.fakes.slack_blocks import block_problems
from tests.fakes.slack_data_blocks import Problems
from tests.fakes.slack_methods import SlackError

MAX_VIEW_TEXT = 24
MAX_VIEW_BLOCKS = 100
MAX_CALLBACK_ID = 255
MAX_EXTERNAL_ID = 255
MAX_PRIVATE_METADATA = 3000
MAX_VIEW_BYTES = 250_000
MAX_INPUT_LENGTH = 3000
MAX_PLACEHOLDER = 150
MODAL_BLOCKS = frozenset(
    {"actions", "context", "divider", "header", "image", "input", "rich_text", "section", "video"}
)


def _plain_text(value: Any, at: str, limit: int, problems: Problems) -> None:
    if not isinstance(value, dict) or value.get("type") != "plain_text":
        problems.append((at, "must be a plain_text text object"))
        return
    text = value.get("text")
    if not isinstance(text, str) or not text:
        problems.append((f"{at}/text", "must be more than 0 characters"))
    elif len(text) > limit:
        problems.append((f"{at}/text", f"must be less than {limit + 1} characters"))


def _frame_problems(view: dict[str, Any]) -> Problems:
    problems: Problems = []
    if view.get("type") != "modal":
        problems.append(("/view/type", 'must be "modal"'))
    if "title" not in view:
        problems.append(("/view/title", "missing required field: title"))
    for name in ("title", "submit", "close"):
        if name in view:
            _plain_text(view[name], f"/view/{name}", MAX_VIEW_TEXT, problems)
    blocks = view.get("blocks")
    has_input = isinstance(blocks, list) and any(
        isinstance(b, dict) and b.get("type") == "input" for b in blocks
    )
    if has_input and "submit" not in view:
        problems.append(("/view/submit", "must provide submit when the view has input blocks"))
    for name, limit in (
        ("callback_id", MAX_CALLBACK_ID),
        ("external_id", MAX_EXTERNAL_ID),
        ("private_metadata", MAX_PRIVATE_METADATA),
    ):
        value = view.get(name)
        if value is not None and not isinstance(value, str):
            problems.append((f"/view/{name}", "must be a string"))
        elif isinstance(value, str) and len(value) > limit:
            problems.append((f"/view/{name}", f"must be less than {limit + 1} characters"))
    return problems


def _text_input(element: dict[str, Any], at: str, problems: Problems) -> None:
    low, high = element.get("min_length"), element.get("max_length")
    if low is not None and not (isinstance(low, int) and 0 <= low <= MAX_INPUT_LENGTH):
        problems.append((f"{at}/min_length", f"must be between 0 and {MAX_INPUT_LENGTH}"))
    if high is not None and not (isinstance(high, int) and 1 <= high <= MAX_INPUT_LENGTH):
        problems.append((f"{at}/max_length", f"must be between 1 and {MAX_INPUT_LENGTH}"))
    if isinstance(low, int) and isinstance(high, int) and low > high:
        problems.append((f"{at}/min_length", "must not be greater than max_length"))
    initial = element.get("initial_value")
    if initial is not None and not isinstance(initial, str):
        problems.append((f"{at}/initial_value", "must be a string"))
    elif isinstance(initial, str) and isinstance(high, int) and len(initial) > high:
        problems.append((f"{at}/initial_value", f"must be less than {high + 1} characters"))


def _same_option(a: Any, b: Any) -> bool:
    return isinstance(a, dict) and isinstance(b, dict) and a.get("value") == b.get("value")


def _choices(element: dict[str, Any], at: str, problems: Problems) -> None:
    options = element.get("options") or []
    kind = element.get("type")
    if kind == "static_select":
        for i, option in enumerate(options):
            if (option.get("text") or {}).get("type") != "plain_text":
                problems.append((f"{at}/options/{i}/text/type", "must be plain_text"))
    if "initial_option" in element and not any(
        _same_option(element["initial_option"], o) for o in options
    ):
        problems.append((f"{at}/initial_option", "must exactly match one of the options"))
    for i, chosen in enumerate(element.get("initial_options") or []):
        if not any(_same_option(chosen, o) for o in options):
            problems.append((f"{at}/initial_options/{i}", "must exactly match one of the options"))


def _input_problems(blocks: list[Any]) -> Problems:
    problems: Problems = []
    for i, block in enumerate(blocks):
        if not isinstance(block, dict) or block.get("type") not in ("input", "actions"):
            continue
        elements = [block.get("element")] if block["type"] == "input" else block.get("elements")
        for j, element in enumerate(elements or []):
            if not isinstance(element, dict):
                continue
            at = (
                f"/view/blocks/{i}/element"
                if block["type"] == "input"
                else (f"/view/blocks/{i}/elements/{j}")
            )
            if "placeholder" in element:
                _plain_text(element["placeholder"], f"{at}/placeholder", MAX_PLACEHOLDER, problems)
            if element.get("type") == "plain_text_input":
                _text_input(element, at, problems)
            _choices(element, at, problems)
    return problems


def view_problems(view: Any) -> Problems:
    """Every problem Slack would report for ``view`` as a modal."""
    if not isinstance(view, dict):
        return [("/view", "must be an object")]
    problems = _frame_problems(view)
    blocks = view.get("blocks")
    if not isinstance(blocks, list) or not blocks:
        problems.append(("/view/blocks", "must have 1 to 100 items"))
        return problems
    for i, block in enumerate(blocks):
        kind = block.get("type") if isinstance(block, dict) else None
        if kind not in MODAL_BLOCKS:
            problems.append(
                (f"/view/blocks/{i}/type", f"unsupported block type in a modal: {kind!r}")
            )
    problems += block_problems(blocks, "/view/blocks", max_blocks=MAX_VIEW_BLOCKS)
    return problems + _input_problems(blocks)


def check_view(view: Any) -> None:
    """Raise Slack's error for a view it would refuse."""
    if len(json.dumps(view)) > MAX_VIEW_BYTES:
        raise SlackError("view_too_large")
    problems = view_problems(view)
    if problems:
        raise SlackError(
            "invalid_arguments",
            *(f"[ERROR] {message} [json-pointer:{at}]" for at, message in problems),
        )
