"""Modals in the fake Slack: ``views.open``, ``views.update``, ``views.push`` and the stack of
views each user has open.

As in Slack (docs.slack.dev/surfaces/modals, the views.* method pages):
- ``views.open`` exchanges a trigger (once, within 3 s: ``slack_triggers``) for a new modal; the
  view is validated first (``slack_view_limits``: ``invalid_arguments``, ``view_too_large``);
- ``views.update`` takes ``view_id`` or ``external_id`` (one of them), refuses a stale ``hash``
  with ``hash_conflict`` and a view that is not open with ``not_found``;
- ``views.push`` stacks a view on an open modal, from a trigger of an interaction inside it; at
  most 3 views per stack (``push_limit_reached``);
- ``external_id`` is unique in the workspace (``duplicate_external_id``);
- blocks and elements without ``block_id``/``action_id`` get generated ones, and the view
  comes back with ``id``, ``hash``, ``state``, ``root_view_id`` and the app's ids.
"""

from __future__ import annotations

import copy
import secrets
import string
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tests.fakes.slack_methods import SlackError, arg_json, arg_str
from tests.fakes.slack_view_limits import check_view

if TYPE_CHECKING:
    from tests.fakes.slack_state import Workspace

MAX_STACK = 3
_ID_CHARS = string.ascii_letters + string.digits


def _hash() -> str:
    return f"{time.time():.6f}.{secrets.token_hex(4)}"


def _generated_id() -> str:
    return "".join(secrets.choice(_ID_CHARS) for _ in range(5))


def _with_ids(view: dict[str, Any]) -> dict[str, Any]:
    """The view as Slack keeps it: every block and input element has an id."""
    kept = copy.deepcopy(view)
    for block in kept.get("blocks") or []:
        block.setdefault("block_id", _generated_id())
        element = block.get("element") if block.get("type") == "input" else None
        for item in [element] if element else block.get("elements") or []:
            if isinstance(item, dict) and item.get("type") not in ("mrkdwn", "plain_text", "image"):
                item.setdefault("action_id", _generated_id())
    return kept


@dataclass
class OpenView:
    """A modal view the fake shows a user."""

    id: str
    user: str
    view: dict[str, Any]
    """The view as last set (with generated ids)."""
    hash: str
    root_id: str
    previous_id: str | None
    opened: float = field(default_factory=time.monotonic)
    closed: bool = False
    versions: list[dict[str, Any]] = field(default_factory=list)
    """Every view it showed, oldest first (views.update and response_action "update")."""
    errors: dict[str, str] = field(default_factory=dict)
    """Field errors shown now (the last ``response_action: errors``)."""

    @property
    def external_id(self) -> str:
        return str(self.view.get("external_id") or "")

    def replace(self, view: dict[str, Any]) -> None:
        self.view = _with_ids(view)
        self.versions.append(self.view)
        self.hash = _hash()
        self.errors = {}


class Views:
    """Every modal of the workspace, and each user's stack of open ones (root first)."""

    def __init__(self) -> None:
        self.by_id: dict[str, OpenView] = {}
        self.stacks: dict[str, list[str]] = {}

    def stack(self, user: str) -> list[OpenView]:
        return [self.by_id[view_id] for view_id in self.stacks.get(user, [])]

    def top(self, user: str) -> OpenView | None:
        stack = self.stack(user)
        return stack[-1] if stack else None

    def create(
        self, ws: Workspace, user: str, view: dict[str, Any], *, root: OpenView | None = None
    ) -> OpenView:
        external = view.get("external_id")
        taken = {v.external_id for v in self.by_id.values() if not v.closed}
        if external and external in taken:
            raise SlackError("duplicate_external_id")
        view_id = ws.new_id("V")
        previous = self.top(user) if root is not None else None
        opened = OpenView(
            id=view_id,
            user=user,
            view={},
            hash="",
            root_id=root.id if root is not None else view_id,
            previous_id=previous.id if previous else None,
        )
        opened.replace(view)
        self.by_id[view_id] = opened
        if root is None:
            for old in self.stack(user):
                old.closed = True
            self.stacks[user] = [view_id]
        else:
            self.stacks[user].append(view_id)
        return opened

    def close_top(self, user: str) -> None:
        stack = self.stacks.get(user, [])
        if stack:
            self.by_id[stack.pop()].closed = True

    def close_all(self, user: str) -> None:
        while self.stacks.get(user):
            self.close_top(user)

    def find(self, args: dict[str, Any]) -> OpenView:
        view_id, external = arg_str(args, "view_id"), arg_str(args, "external_id")
        if not view_id and not external:
            raise SlackError("invalid_arguments", "[ERROR] missing required field: view_id")
        for candidate in self.by_id.values():
            named = (view_id and candidate.id == view_id) or (
                external and candidate.external_id == external
            )
            if named and not candidate.closed:
                return candidate
        raise SlackError("not_found")

    def to_api(self, ws: Workspace, opened: OpenView) -> dict[str, Any]:
        view = opened.view
        return {
            "id": opened.id,
            "team_id": ws.team_id,
            "type": view.get("type", "modal"),
            "blocks": view.get("blocks", []),
            "private_metadata": view.get("private_metadata", ""),
            "callback_id": view.get("callback_id", ""),
            "state": {"values": {}},
            "hash": opened.hash,
            "title": view.get("title"),
            "clear_on_close": bool(view.get("clear_on_close", False)),
            "notify_on_close": bool(view.get("notify_on_close", False)),
            "close": view.get("close"),
            "submit": view.get("submit"),
            "previous_view_id": opened.previous_id,
            "root_view_id": opened.root_id,
            "app_id": ws.app_id,
            "external_id": opened.external_id,
            "app_installed_team_id": ws.team_id,
            "bot_id": ws.bot_id,
        }


def _view_arg(args: dict[str, Any]) -> dict[str, Any]:
    view = arg_json(args, "view")
    check_view(view)
    return dict(view)


def views_open(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    if arg_str(args, "interactivity_pointer"):
        raise SlackError("invalid_arguments", "[ERROR] interactivity pointers are not faked")
    trigger = ws.triggers.exchange(arg_str(args, "trigger_id"))
    opened = ws.views.create(ws, trigger.user, _view_arg(args))
    return {"view": ws.views.to_api(ws, opened)}


def views_update(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    opened = ws.views.find(args)
    given_hash = arg_str(args, "hash")
    if given_hash and given_hash != opened.hash:
        raise SlackError("hash_conflict")
    opened.replace(_view_arg(args))
    return {"view": ws.views.to_api(ws, opened)}


def views_push(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    trigger = ws.triggers.exchange(arg_str(args, "trigger_id"))
    view = _view_arg(args)
    stack = ws.views.stack(trigger.user)
    if not stack or trigger.view_id not in {v.id for v in stack}:
        raise SlackError("not_found")
    if len(stack) >= MAX_STACK:
        raise SlackError("push_limit_reached")
    opened = ws.views.create(ws, trigger.user, view, root=stack[0])
    return {"view": ws.views.to_api(ws, opened)}
