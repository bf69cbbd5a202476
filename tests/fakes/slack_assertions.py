"""What tests assert on: the fake's records, read-only (a mixin of FakeSlack)."""

from __future__ import annotations

from tests.fakes.slack_cdn import Cdn, CdnRequest
from tests.fakes.slack_file_record import FileRecord
from tests.fakes.slack_limits import RateLimits
from tests.fakes.slack_objects import Message, ts_value
from tests.fakes.slack_pings import pings
from tests.fakes.slack_state import (
    AgentSession,
    Call,
    Download,
    Ephemeral,
    ResponseUrlPost,
    StatusChange,
    SuggestedPrompts,
    Workspace,
)
from tests.fakes.slack_stream_state import StreamState


class SlackAssertions:
    ws: Workspace
    calls: list[Call]
    limits: RateLimits
    cdn: Cdn

    # --- assertions -----------------------------------------------------------------------------

    def calls_to(self, method: str) -> list[Call]:
        return [call for call in self.calls if call.method == method]

    def pings(self) -> list[tuple[str, str]]:
        """(method, mention) for everything the bot wrote that would notify someone."""
        return pings(self.calls)

    def messages(self, channel: str) -> list[Message]:
        """Every visible message in ``channel``, oldest first."""
        return sorted(self.ws.messages.get(channel, {}).values(), key=lambda m: ts_value(m.ts))

    def thread(self, channel: str, thread_ts: str) -> list[Message]:
        """Root then replies, oldest first (deleted messages excluded; tombstones kept)."""
        return self.ws.replies(channel, thread_ts)

    def bot_messages(self, channel: str, thread_ts: str) -> list[Message]:
        return [m for m in self.thread(channel, thread_ts) if m.bot_id == self.ws.bot_id]

    def status_history(self, channel: str, thread_ts: str) -> list[StatusChange]:
        return list(self.ws.statuses.get((channel, thread_ts), []))

    def current_status(self, channel: str, thread_ts: str) -> str:
        history = self.ws.statuses.get((channel, thread_ts))
        return history[-1].status if history else ""

    @property
    def files(self) -> dict[str, FileRecord]:
        return self.ws.files

    @property
    def uploaded_files(self) -> list[FileRecord]:
        """Files the bot uploaded (upload v2), with their bytes in ``content``."""
        return [f for f in self.ws.files.values() if f.expected_length is not None and f.uploaded]

    @property
    def ephemerals(self) -> list[Ephemeral]:
        """chat.postEphemeral messages (never part of a thread's history)."""
        return self.ws.ephemerals

    @property
    def suggested_prompts(self) -> list[SuggestedPrompts]:
        return self.ws.suggested_prompts

    @property
    def titles(self) -> dict[tuple[str, str], list[str]]:
        """assistant.threads.setTitle calls per (channel, thread_ts), in order."""
        return self.ws.titles

    @property
    def downloads(self) -> list[Download]:
        return self.ws.downloads

    @property
    def held_downloads(self) -> list[str]:
        """Ids of files whose download is waiting for ``faults.release`` right now."""
        return self.ws.held_downloads

    @property
    def aborted_downloads(self) -> list[str]:
        """Ids of held files whose download the client abandoned (``faults.hold``)."""
        return self.ws.aborted_downloads

    @property
    def response_posts(self) -> list[ResponseUrlPost]:
        return self.ws.response_posts

    @property
    def cdn_requests(self) -> list[CdnRequest]:
        """Every GET on the CDN host, with its Authorization header (None when absent)."""
        return self.cdn.requests

    def rate_limited(self) -> dict[str, int]:
        """method -> how many 429s the rate-limit buckets answered (the 429s of
        ``faults.ratelimit`` are not counted; they are in ``calls``)."""
        return dict(self.limits.answered)

    def session(self, channel: str, thread_ts: str) -> AgentSession | None:
        """The agent session of a thread (status, title, history, stops), or None."""
        return self.ws.sessions.get((channel, thread_ts))

    def stream(self, channel: str, ts: str) -> StreamState | None:
        """The stream state of a streamed message, expiry applied as of now."""
        message = self.ws.message(channel, ts)
        if message is None or message.stream is None:
            return None
        self.ws.stream_state(message)
        return message.stream
