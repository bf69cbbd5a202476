"""Which of the bot's writes would notify people: what real Slack turns into a ping.

Slack notifies for special mentions (``<!channel>``, ``<!here>``, ``<!everyone>``, with or
without a ``|label``), user mentions (``<@U…>``) and, where text is parsed, the bare words
``@here``, ``@channel`` and ``@everyone``. A string broken with an invisible character
(``<\u200b!channel>``, ``@\u2060here``) renders as text and pings nobody.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from typing import Any

from tests.fakes.slack_state import Call

# Methods whose arguments become visible text (messages, streams, files, statuses, titles).
VISIBLE = frozenset(
    {
        "chat.postMessage",
        "chat.postEphemeral",
        "chat.update",
        "chat.startStream",
        "chat.appendStream",
        "chat.stopStream",
        "files.completeUploadExternal",
        "files.getUploadURLExternal",
        "assistant.threads.setStatus",
        "assistant.threads.setTitle",
        "agents.sessions.setStatus",
        "agents.sessions.rename",
    }
)
PING = re.compile(
    r"<!(?:channel|here|everyone)(?:\|[^>]*)?>"
    r"|<@[UW][A-Z0-9]+(?:\|[^>]*)?>"
    r"|(?<![\w\u2060\u200b])@(?:here|channel|everyone)\b",
    re.IGNORECASE,
)


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        if value[:1] in "[{":  # blocks and chunks sent as JSON text in form bodies
            try:
                yield from _strings(json.loads(value))
                return
            except ValueError:
                pass
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)


def pings(calls: Iterable[Call]) -> list[tuple[str, str]]:
    """(method, ping) for every ping in what the bot wrote."""
    found = []
    for call in calls:
        if call.method in VISIBLE:
            for text in _strings(call.args):
                found += [(call.method, match.group(0)) for match in PING.finditer(text)]
    return found
