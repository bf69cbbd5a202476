"""What one page of an answer holds, and what of it each of its Slack messages shows.

A page is one message while its stream lives; when Slack ends a stream early the page
continues in a new message (a new part), which shows only what the first one did not. The
writer takes snapshots of what is still unsent, writes them, and then marks them sent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from bot.core.events import Step
from bot.slack.blocks import Block
from bot.slack.message_render import (
    Display,
    Rendering,
    Segment,
    chart_count,
    render,
    table_count,
)


@dataclass
class Part:
    """One Slack message of the page."""

    ts: str | None = None
    segments: list[Segment] = field(default_factory=list)
    steps: dict[str, Step] = field(default_factory=dict)
    stream: bool = False
    open: bool = False
    """A stream Slack still takes appends to (never edited while open)."""
    shown: Rendering | None = None
    controls: list[Block] = field(default_factory=list)


@dataclass
class Snapshot:
    """What a write sends: the unsent segments and the steps it shows."""

    segments: list[Segment]
    steps: dict[str, Step]


class PageState:
    def __init__(self) -> None:
        self.parts = [Part()]
        self.unsent: list[Segment] = []
        self.dirty: dict[str, Step] = {}  # steps changed since the last write
        self.steps: dict[str, Step] = {}

    @property
    def current(self) -> Part:
        return self.parts[-1]

    @property
    def text(self) -> str:
        segments = [s for part in self.parts for s in part.segments] + self.unsent
        return "".join(s for s in segments if isinstance(s, str))

    @property
    def block_count(self) -> int:
        return sum(1 for s in self.current.segments + self.unsent if not isinstance(s, str))

    @property
    def table_count(self) -> int:
        return table_count(self.current.segments + self.unsent)

    @property
    def chart_count(self) -> int:
        return chart_count(self.current.segments + self.unsent)

    @property
    def pending(self) -> bool:
        return bool(self.unsent or self.dirty)

    def add(self, segment: Segment) -> None:
        self.unsent.append(segment)

    def step(self, step: Step) -> None:
        self.steps[step.id] = self.dirty[step.id] = step

    def fail_open_steps(self) -> None:
        for step in list(self.steps.values()):
            if step.status in ("pending", "in_progress"):
                self.step(replace(step, status="error"))

    def running_step(self) -> Step | None:
        running = [s for s in self.current.steps.values() if s.status == "in_progress"]
        return running[-1] if running else None

    def new_part(self) -> Part:
        """Slack ended the current message's stream: the page continues in a new message."""
        self.current.open = False
        self.parts.append(Part())
        return self.current

    def changes(self) -> Snapshot:
        """What an append sends: unsent segments and changed steps."""
        return Snapshot(list(self.unsent), dict(self.dirty))

    def whole(self, part: Part) -> Snapshot:
        """What a post or edit of `part` shows beyond what it has: all steps in the page's
        first message before anything was shown; else its own steps and those changed."""
        if part.ts is None and part is self.parts[0]:
            steps = dict(self.steps)
        else:
            steps = {**part.steps, **self.dirty}
        return Snapshot(list(self.unsent), steps)

    def render(
        self, part: Part, snapshot: Snapshot, controls: Sequence[Block], display: Display
    ) -> Rendering:
        """`part` with `snapshot` written into it (the steps it shows and those changed)."""
        steps = {**part.steps, **snapshot.steps}
        return render(part.segments + snapshot.segments, steps.values(), controls, display)

    def sent(self, part: Part, snapshot: Snapshot) -> None:
        """What `snapshot` held now shows in `part`."""
        del self.unsent[: len(snapshot.segments)]
        part.segments += snapshot.segments
        part.steps.update(snapshot.steps)
        for step_id, step in snapshot.steps.items():
            if self.dirty.get(step_id) is step:
                del self.dirty[step_id]
