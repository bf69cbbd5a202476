"""The App Home tab in the fake Slack: ``views.publish`` and the home view each user sees.

As in Slack (docs.slack.dev/reference/methods/views.publish, "View object", the method's
error list as scraped in hex.pm's slack_kit ``views.publish.json``):
- ``user_id`` must be a person of the workspace (``invalid_arguments``: "invalid `user_id`");
- the app must have its Home tab enabled (manifest ``features.app_home.home_tab_enabled``),
  else ``not_enabled``;
- the view is a ``home`` view: 1 to 100 blocks of the types a surface can show, no
  ``title``/``submit``/``close``, ``callback_id``/``external_id`` ≤ 255 characters,
  ``private_metadata`` ≤ 3000; the whole view ≤ 250 kB (``view_too_large``);
- a given ``hash`` must match the user's current home view (``hash_conflict``);
- the method is Tier 4 (``slack_limits``).
Each user's home view replaces the last; every published version is kept for tests.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tests.fakes.slack_blocks import block_problems
from tests.fakes.slack_data_blocks import Problems
from tests.fakes.slack_methods import SlackError, arg_json, arg_str
from tests.fakes.slack_view_limits import (
    MAX_CALLBACK_ID,
    MAX_EXTERNAL_ID,
    MAX_PRIVATE_METADATA,
    MAX_VIEW_BLOCKS,
    MAX_VIEW_BYTES,
    MODAL_BLOCKS,
)

if TYPE_CHECKING:
    from tests.fakes.slack_state import Workspace

HOME_BLOCKS = MODAL_BLOCKS | {"file"}


@dataclass
class HomeView:
    """What one user's Home tab shows."""

    id: str
    user: str
    hash: str
    view: dict[str, Any]
    versions: list[dict[str, Any]] = field(default_factory=list)


def home_problems(view: Any) -> Problems:
    """Every problem Slack would report for ``view`` as a home view."""
    if not isinstance(view, dict):
        return [("/view", "must be an object")]
    problems: Problems = []
    if view.get("type") != "home":
        problems.append(("/view/type", 'must be "home"'))
    for name in ("title", "submit", "close"):
        if name in view:
            problems.append((f"/view/{name}", "not allowed in a home view"))
    for name, limit in (
        ("callback_id", MAX_CALLBACK_ID),
        ("external_id", MAX_EXTERNAL_ID),
        ("private_metadata", MAX_PRIVATE_METADATA),
    ):
        value = view.get(name)
        if value is not None and (not isinstance(value, str) or len(value) > limit):
            problems.append((f"/view/{name}", f"must be a string of at most {limit} characters"))
    blocks = view.get("blocks")
    if not isinstance(blocks, list) or not blocks:
        return [*problems, ("/view/blocks", "must have 1 to 100 items")]
    for i, block in enumerate(blocks):
        kind = block.get("type") if isinstance(block, dict) else None
        if kind not in HOME_BLOCKS:
            problems.append((f"/view/blocks/{i}/type", f"unsupported block type: {kind!r}"))
    return problems + block_problems(blocks, "/view/blocks", max_blocks=MAX_VIEW_BLOCKS)


def views_publish(ws: Workspace, args: dict[str, Any]) -> dict[str, Any]:
    user = ws.users.get(arg_str(args, "user_id") or "")
    if user is None or user.is_bot or user.deleted:
        raise SlackError("invalid_arguments", "invalid `user_id`")
    if not ws.home_tab_enabled:
        raise SlackError("not_enabled")
    view = arg_json(args, "view")
    if len(json.dumps(view)) > MAX_VIEW_BYTES:
        raise SlackError("view_too_large")
    problems = home_problems(view)
    if problems:
        raise SlackError(
            "invalid_arguments",
            *(f"[ERROR] {message} [json-pointer:{at}]" for at, message in problems),
        )
    current = ws.home_views.get(user.id)
    given_hash = arg_str(args, "hash")
    if given_hash and (current is None or given_hash != current.hash):
        raise SlackError("hash_conflict")
    if current is None:
        current = HomeView(ws.new_id("V"), user.id, "", {})
        ws.home_views[user.id] = current
    current.view = dict(view)
    current.versions.append(current.view)
    current.hash = f"{len(current.versions)}.{ws.new_id('H')}"
    return {"view": _to_api(ws, current)}


def _to_api(ws: Workspace, home: HomeView) -> dict[str, Any]:
    view = home.view
    return {
        "id": home.id,
        "team_id": ws.team_id,
        "type": "home",
        "blocks": view.get("blocks", []),
        "private_metadata": view.get("private_metadata", ""),
        "callback_id": view.get("callback_id", ""),
        "state": {"values": {}},
        "hash": home.hash,
        "title": None,
        "close": None,
        "submit": None,
        "clear_on_close": False,
        "notify_on_close": False,
        "previous_view_id": None,
        "root_view_id": home.id,
        "app_id": ws.app_id,
        "external_id": view.get("external_id", ""),
        "app_installed_team_id": ws.team_id,
        "bot_id": ws.bot_id,
    }
