"""FakeSlack: a faithful fake of the Slack Web API and file hosting, as a real aiohttp server.

    async with FakeSlack() as slack:
        client = AsyncWebClient(token=slack.bot_token, base_url=slack.base_url)
        sent = slack.post_user_message("C0GENERAL", "U0ALICE", "plot sales", mention_bot=True)
        ...                                   # deliver sent.app_mention_event to the bot
        await slack.wait_for(lambda: slack.bot_messages("C0GENERAL", sent.ts))

It accepts requests exactly as slack_sdk sends them (JSON bodies, form bodies, query strings on
POST and GET), answers errors as HTTP 200 ``{"ok": false, "error": …}`` (429 for rate limits),
rejects unknown and missing arguments, validates Block Kit, records every call, and injects faults
on demand (``slack.faults``).

Modules: slack_server (HTTP, auth, faults, call records), slack_methods (signatures),
slack_blocks (Block Kit), slack_objects + slack_file_record + slack_state (data), slack_chat,
slack_streams, slack_files, slack_conversations (methods), slack_faults, slack_events (signed
requests and event payloads).

Run by hand: ``python -m tests.fakes.slack_api [--port N] [--token xoxb-…]``.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import secrets
import signal
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.fakes import slack_events
from tests.fakes.slack_file_record import FileRecord, Share, guess_filetype
from tests.fakes.slack_objects import Channel, Message, User, ts_value
from tests.fakes.slack_pings import pings
from tests.fakes.slack_server import SlackServer
from tests.fakes.slack_state import (
    Call,
    Download,
    Ephemeral,
    ResponseUrlPost,
    StatusChange,
    SuggestedPrompts,
    Workspace,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class UserMessage:
    """A human message now in the fake's history, and the envelopes Slack would deliver for it."""

    ts: str
    message_event: dict[str, Any]
    app_mention_event: dict[str, Any] | None

    @property
    def envelopes(self) -> list[dict[str, Any]]:
        return [e for e in (self.message_event, self.app_mention_event) if e is not None]


class FakeSlack(SlackServer):
    """The fake workspace and its server. Defaults: users UBOT (the bot), U0ALICE (Europe/Paris)
    and U0BOB (America/New_York); public channel C0GENERAL (alice, bob, bot) and DM D0DM (alice).
    State lives in ``self.ws`` (``slack_state.Workspace``); calls in ``self.calls``."""

    def __init__(
        self,
        *,
        bot_token: str = "xoxb-test-token",
        team_id: str = "T0TEST",
        bot_user_id: str = "UBOT",
        bot_id: str = "BBOT",
        app_id: str = "A0ANALYST",
        host: str = "127.0.0.1",
        port: int = 0,
        stream_idle_timeout: float = 300.0,
    ) -> None:
        workspace = Workspace(team_id, bot_user_id, bot_id, app_id, bot_token)
        workspace.stream_idle_timeout = stream_idle_timeout
        super().__init__(workspace, host=host, port=port)
        self.add_user(bot_user_id, name="analyst", real_name="Data Analyst", is_bot=True)
        self.add_user("U0ALICE", name="alice", real_name="Alice Martin", display_name="alice")
        self.add_user("U0BOB", name="bob", real_name="Bob Chen", tz="America/New_York")
        self.add_channel("C0GENERAL", name="general", members=["U0ALICE", "U0BOB"])
        self.add_channel("D0DM", is_im=True, members=["U0ALICE"])

    # --- state set-up ---------------------------------------------------------------------------

    def add_user(
        self,
        user_id: str,
        *,
        name: str | None = None,
        real_name: str | None = None,
        display_name: str | None = None,
        tz: str = "Europe/Paris",
        tz_offset: int | None = None,
        is_bot: bool = False,
        team_id: str | None = None,
    ) -> User:
        name = name or user_id.lower()
        user = User(
            id=user_id,
            name=name,
            real_name=real_name or name.title(),
            display_name=display_name if display_name is not None else name,
            team_id=team_id or self.ws.team_id,
            tz=tz,
            tz_offset=tz_offset,
            is_bot=is_bot,
            bot_id=self.ws.bot_id if user_id == self.ws.bot_user_id else None,
        )
        self.ws.users[user_id] = user
        return user

    def add_channel(
        self,
        channel_id: str,
        *,
        name: str | None = None,
        is_im: bool = False,
        is_mpim: bool = False,
        is_private: bool = False,
        is_ext_shared: bool = False,
        members: Sequence[str] = (),
        bot_member: bool = True,
    ) -> Channel:
        """A conversation; the bot is a member unless ``bot_member=False``. For a DM, ``members``
        is the human (default U0ALICE)."""
        humans = list(members) or (["U0ALICE"] if is_im else [])
        channel = Channel(
            id=channel_id,
            name=name or channel_id.lower(),
            creator=humans[0] if humans else self.ws.bot_user_id,
            is_im=is_im,
            is_mpim=is_mpim,
            is_private=is_private or is_mpim,
            is_ext_shared=is_ext_shared,
            members=set(humans) | ({self.ws.bot_user_id} if bot_member else set()),
            im_user=humans[0] if is_im else None,
        )
        self.ws.channels[channel_id] = channel
        return channel

    def add_file(
        self,
        name: str,
        content: bytes | None = None,
        *,
        path: Path | None = None,
        filetype: str | None = None,
        mimetype: str | None = None,
        user: str = "U0ALICE",
        channel: str | None = None,
        title: str | None = None,
    ) -> dict[str, Any]:
        """Host a file (bytes in memory, or streamed from ``path`` without loading it) and return
        its full Slack file object. ``channel`` marks it as shared there."""
        if (content is None) == (path is None):
            raise ValueError("give exactly one of content= or path=")
        guessed = guess_filetype(name)
        record = FileRecord(
            id=self.ws.new_id("F"),
            name=name,
            title=title or name,
            filetype=filetype or guessed[0],
            mimetype=mimetype or guessed[1],
            pretty_type=guessed[2],
            user=user,
            team_id=self.ws.team_id,
            root_url=self.ws.root_url,
            content=content,
            path=path,
        )
        self.ws.files[record.id] = record
        if channel is not None:
            private = self.ws.channel(channel).is_private
            record.shares.append(Share(channel, self.ws.next_ts(), None, private))
        return record.to_api()

    def file_stub(self, file_id: str) -> dict[str, Any]:
        """The Slack Connect stub for a file (``file_access: check_file_info``)."""
        return self.ws.files[file_id].stub()

    def post_user_message(
        self,
        channel: str,
        user: str,
        text: str,
        *,
        thread_ts: str | None = None,
        files: Sequence[dict[str, Any] | str] | None = None,
        mention_bot: bool = False,
        stub_files: bool | None = None,
    ) -> UserMessage:
        """Record a human message (visible to conversations.replies) and build the envelopes Slack
        delivers for it: a ``message`` event and, when it mentions the bot outside a DM, an
        ``app_mention`` twin with its own event_id. In Slack Connect channels (or with
        ``stub_files=True``) the events carry file stubs instead of full file objects."""
        conversation = self.ws.channel(channel)
        if thread_ts is not None:
            self.ws.thread_root(channel, thread_ts, "thread_not_found")
        conversation.members.add(user)
        mention = f"<@{self.ws.bot_user_id}>"
        if mention_bot and mention not in text:
            text = f"{mention} {text}"
        records = [self.ws.files[f if isinstance(f, str) else f["id"]] for f in files or []]
        message = Message(
            channel=channel,
            ts=self.ws.next_ts(),
            user=user,
            text=text,
            files=records,
            thread_ts=thread_ts,
            subtype="file_share" if records else None,
            client_msg_id=str(uuid.uuid4()),
            team=self.ws.team_id,
            blocks=slack_events.rich_text_blocks(text),
        )
        self.ws.add_message(message, source="user")
        for record in records:
            record.shares.append(Share(channel, message.ts, thread_ts, conversation.is_private))
        self._changes.notify()
        return self._user_message_events(conversation, message, mention_bot, stub_files)

    def _user_message_events(
        self, channel: Channel, message: Message, mention_bot: bool, stub_files: bool | None
    ) -> UserMessage:
        use_stubs = channel.is_ext_shared if stub_files is None else stub_files
        files = [f.stub() if use_stubs else f.to_api() for f in message.files] or None
        root = self.ws.message(channel.id, message.thread_ts) if message.thread_ts else None
        common: dict[str, Any] = {
            "user": message.user,
            "channel": channel.id,
            "text": message.text,
            "ts": message.ts,
            "team_id": self.ws.team_id,
            "thread_ts": message.thread_ts,
            "files": files,
            "parent_user_id": root.user if root else None,
            "client_msg_id": message.client_msg_id,
        }
        wrap: dict[str, Any] = {
            "team_id": self.ws.team_id,
            "api_app_id": self.ws.app_id,
            "bot_user_id": self.ws.bot_user_id,
            "is_ext_shared_channel": channel.is_ext_shared,
        }
        event = slack_events.message(
            **common, subtype=message.subtype, channel_type=channel.channel_type
        )
        mention = None
        if mention_bot and not channel.is_im:
            mention = slack_events.envelope(slack_events.app_mention(**common), **wrap)
        return UserMessage(message.ts, slack_events.envelope(event, **wrap), mention)

    def block_actions(
        self,
        *,
        user: str,
        channel: str,
        message_ts: str,
        action_id: str,
        value: str,
        block_id: str = "feedback",
        action_type: str = "button",
    ) -> dict[str, Any]:
        """A block_actions payload for a click on a bot message in the fake, whose
        ``response_url`` posts back to the fake (``slack.response_posts``)."""
        message = self.ws.message(channel, message_ts)
        if message is None:
            raise ValueError(f"no message {message_ts} in {channel}")
        return slack_events.block_actions(
            user=user,
            channel=channel,
            message_ts=message_ts,
            action_id=action_id,
            value=value,
            thread_ts=message.thread_ts,
            block_id=block_id,
            action_type=action_type,
            team_id=self.ws.team_id,
            api_app_id=self.ws.app_id,
            message=self.ws.message_to_api(message),
            response_url=f"{self.url}actions/{secrets.token_urlsafe(12)}",
        )

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


# --- run by hand ----------------------------------------------------------------------------------


async def _serve(port: int, token: str) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with FakeSlack(bot_token=token, port=port) as slack:
        print(f"Fake Slack Web API: {slack.base_url}", flush=True)
        print(f"Bot token:          {slack.bot_token}", flush=True)
        print(f"Try: curl -s -X POST -H 'Authorization: Bearer {token}' {slack.base_url}auth.test")
        print("Ctrl-C to stop.", flush=True)
        await stop.wait()
    print("Stopped.", flush=True)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run the fake Slack Web API until Ctrl-C.")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: any)")
    parser.add_argument("--token", default="xoxb-test-token", help="the bot token to accept")
    options = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    asyncio.run(_serve(options.port, options.token))


if __name__ == "__main__":
    main()
