"""The earliest time Slack's published limits allow N answers to be complete (the floor the
load benchmark compares the bot with).

An answer is complete when its message is final: posted with `chat.postMessage` (about 1 per
second per channel, a burst of 3, and ~300 per minute per workspace) or a stream stopped
(`chat.startStream` and `chat.stopStream`, 20 per minute each per workspace, a minute's
burst). Answers can be written from the moment their model finished; the floor spends both
pools as well as possible, a few milliseconds at a time. `speed` runs the limits that much
faster (as the fake Slack does in tests).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

STEP_S = 0.005


def floor_s(
    per_channel: Mapping[str, int] | None = None,
    *,
    ready_s: float = 0.0,
    ready: Sequence[tuple[str, float]] = (),
    speed: float = 1.0,
) -> float:
    """Seconds from the start until every answer can be complete: `per_channel` answers all
    ready at `ready_s`, or `ready` (channel, when that answer was ready) one by one."""
    answers = sorted(ready, key=lambda a: a[1]) or [
        (channel, ready_s) for channel, count in (per_channel or {}).items() for _ in range(count)
    ]
    stream_rate, post_rate, workspace_rate = 20 / 60 * speed, 1.0 * speed, 300 / 60 * speed
    starts = stops = 20.0
    workspace = 300.0
    posts = {channel: 3.0 for channel, _ in answers}
    waiting: list[str] = []
    now, nxt = 0.0, 0
    while True:
        while nxt < len(answers) and answers[nxt][1] <= now:
            waiting.append(answers[nxt][0])
            nxt += 1
        still = []
        for channel in waiting:
            if posts[channel] >= 1 and workspace >= 1:
                posts[channel] -= 1
                workspace -= 1
            elif starts >= 1 and stops >= 1:
                starts -= 1
                stops -= 1
            else:
                still.append(channel)
        waiting = still
        if nxt == len(answers) and not waiting:
            return now
        now += STEP_S
        starts = min(20.0, starts + stream_rate * STEP_S)
        stops = min(20.0, stops + stream_rate * STEP_S)
        workspace = min(300.0, workspace + workspace_rate * STEP_S)
        for channel in posts:
            posts[channel] = min(3.0, posts[channel] + post_rate * STEP_S)
