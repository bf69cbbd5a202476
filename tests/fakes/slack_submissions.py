"""A user pressing a modal's submit button: the ``view_submission`` payload Slack sends, and
what Slack does with the app's answer to it.

The payload follows docs.slack.dev "view_submission payload": the submitted view with
``state.values[block_id][action_id]`` holding each input's value in its element's shape
(``value`` for text inputs, ``selected_option`` for selects and radio buttons,
``selected_options`` for checkboxes), a fresh ``trigger_id`` and the user and team.

Before sending, the Slack client itself refuses what a user could not submit
(``NotSubmittable``): a required input left empty, a text longer than its ``max_length`` or
shorter than its ``min_length``, an option the element does not offer, a view that is not
the one on top of the user's stack.

The app's answer (within 3 s, else the user sees an error and the view stays):
an empty 200 closes the view; ``response_action`` ``errors`` (keys: block ids of the view's
input blocks) shows field errors, ``update`` replaces the view, ``push`` stacks one more
(validated like views.*), ``clear`` closes the whole stack. Anything else is an error the
user sees ("We had some trouble connecting").
"""

from __future__ import annotations

import copy
import json
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tests.fakes.slack_methods import SlackError
from tests.fakes.slack_view_limits import check_view
from tests.fakes.slack_views import MAX_STACK, OpenView

if TYPE_CHECKING:
    from tests.fakes.slack_state import Workspace

ACK_DEADLINE_S = 3.0
Value = str | list[str] | None


class NotSubmittable(AssertionError):
    """The Slack client would not let the user submit this (a test asked for the impossible)."""


@dataclass
class Submission:
    """One press of a submit button and how Slack took the app's answer."""

    view_id: str
    user: str
    values: dict[str, dict[str, Any]]
    """``state.values`` as sent."""
    outcome: str = "pending"
    """"closed", "errors", "updated", "pushed", "cleared", or "failed: <why>"."""
    errors: dict[str, str] = field(default_factory=dict)
    time: float = field(default_factory=time.monotonic)


def _options(element: dict[str, Any]) -> list[dict[str, Any]]:
    groups = element.get("option_groups") or []
    return list(element.get("options") or []) + [o for g in groups for o in g.get("options", [])]


def _option(element: dict[str, Any], value: str, at: str) -> dict[str, Any]:
    for option in _options(element):
        if option.get("value") == value:
            return dict(option)
    raise NotSubmittable(f"{at}: {value!r} is not one of the options")


def _initial(element: dict[str, Any]) -> Value:
    kind = element.get("type")
    if kind == "checkboxes":
        return [o["value"] for o in element.get("initial_options") or []]
    if kind in ("static_select", "radio_buttons"):
        return (element.get("initial_option") or {}).get("value")
    return element.get("initial_value")


def _checked_text(element: dict[str, Any], value: Any, at: str) -> str | None:
    if value is not None and not isinstance(value, str):
        raise NotSubmittable(f"{at}: a text input takes a string")
    text = value or None
    high, low = element.get("max_length"), element.get("min_length")
    if text is not None and high is not None and len(text) > high:
        raise NotSubmittable(f"{at}: {len(text)} characters, over max_length {high}")
    if text is not None and low is not None and len(text) < low:
        raise NotSubmittable(f"{at}: {len(text)} characters, under min_length {low}")
    return text


def _state(element: dict[str, Any], value: Value, at: str) -> tuple[dict[str, Any], bool]:
    """(the element's state, whether it holds a value)."""
    kind = element.get("type")
    if kind == "checkboxes":
        chosen = [_option(element, v, at) for v in value or []]
        return {"type": kind, "selected_options": chosen}, bool(chosen)
    if kind in ("static_select", "radio_buttons"):
        if value is not None and not isinstance(value, str):
            raise NotSubmittable(f"{at}: {kind} takes one option value")
        option = _option(element, value, at) if value else None
        return {"type": kind, "selected_option": option}, option is not None
    if kind == "plain_text_input":
        text = _checked_text(element, value, at)
        return {"type": kind, "value": text}, text is not None
    raise NotSubmittable(f"{at}: the fake cannot fill a {kind!r} input")


def state_values(opened: OpenView, values: dict[str, Value]) -> dict[str, dict[str, Any]]:
    """``state.values`` for ``opened`` with ``values`` (block id → value) typed in; inputs not
    named keep their initial value."""
    inputs = {b["block_id"]: b for b in opened.view.get("blocks", []) if b.get("type") == "input"}
    unknown = set(values) - set(inputs)
    if unknown:
        raise NotSubmittable(f"no input blocks {sorted(unknown)} in view {opened.id}")
    state: dict[str, dict[str, Any]] = {}
    for block_id, block in inputs.items():
        element = block["element"]
        value = values[block_id] if block_id in values else _initial(element)
        entry, filled = _state(element, value, block_id)
        if not filled and not block.get("optional", False):
            raise NotSubmittable(f"{block_id}: a required input is empty")
        state[block_id] = {element["action_id"]: entry}
    return state


def submission_payload(
    ws: Workspace, view_id: str, user: str, values: dict[str, Value]
) -> tuple[dict[str, Any], Submission]:
    """The ``view_submission`` payload for the user's open view, and its record."""
    opened = ws.views.by_id.get(view_id)
    if opened is None or opened.closed or ws.views.top(user) is not opened:
        raise NotSubmittable(f"view {view_id} is not the modal {user} sees")
    if "submit" not in opened.view:
        raise NotSubmittable(f"view {view_id} has no submit button")
    state = state_values(opened, values)
    view = ws.views.to_api(ws, opened)
    view["state"] = {"values": copy.deepcopy(state)}
    person = ws.users[user]
    payload = {
        "type": "view_submission",
        "team": {"id": ws.team_id, "domain": "fake-workspace"},
        "user": {"id": user, "username": person.name, "name": person.name, "team_id": ws.team_id},
        "api_app_id": ws.app_id,
        "token": "verification_token",
        "trigger_id": ws.triggers.issue(user, source="view_submission", view_id=view_id),
        "view": view,
        "response_urls": [],
        "is_enterprise_install": False,
        "enterprise": None,
    }
    return payload, Submission(view_id, user, state)


def _errors(opened: OpenView, errors: Any) -> dict[str, str]:
    inputs = {b["block_id"] for b in opened.view.get("blocks", []) if b.get("type") == "input"}
    if not isinstance(errors, dict) or not errors:
        raise ValueError("errors must be a non-empty object")
    for key, message in errors.items():
        if key not in inputs:
            raise ValueError(f"errors names {key!r}, not an input block of the view")
        if not isinstance(message, str) or not message:
            raise ValueError(f"the error for {key!r} is not a non-empty string")
    return dict(errors)


def _act(ws: Workspace, record: Submission, opened: OpenView, answer: dict[str, Any]) -> str:
    action = answer.get("response_action")
    if action == "errors":
        opened.errors = record.errors = _errors(opened, answer.get("errors"))
        return "errors"
    if action in ("update", "push"):
        check_view(answer.get("view"))
        if action == "update":
            opened.replace(answer["view"])
            return "updated"
        if len(ws.views.stack(record.user)) >= MAX_STACK:
            raise ValueError("push_limit_reached")
        ws.views.create(ws, record.user, answer["view"], root=ws.views.stack(record.user)[0])
        return "pushed"
    if action == "clear":
        ws.views.close_all(record.user)
        return "cleared"
    raise ValueError(f"unknown response_action {action!r}")


def apply_answer(
    ws: Workspace, record: Submission, *, status: int, body: str, elapsed_s: float
) -> Submission:
    """Do what Slack does with the app's HTTP answer to a submission."""
    opened = ws.views.by_id[record.view_id]
    if status != 200:
        record.outcome = f"failed: HTTP {status}"
    elif elapsed_s > ACK_DEADLINE_S:
        record.outcome = "failed: no answer within 3 s"
    elif not body.strip():
        ws.views.close_top(record.user)
        record.outcome = "closed"
    else:
        try:
            answer = json.loads(body)
            if not isinstance(answer, dict):
                raise ValueError("the answer is not a JSON object")
            record.outcome = _act(ws, record, opened, answer)
        except (ValueError, SlackError) as error:
            record.outcome = f"failed: {error}"
    ws.submissions.append(record)
    return record
