"""Setting up the fake workspace: users, conversations and hosted files (a mixin of FakeSlack)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tests.fakes.slack_file_record import FileRecord, Share, guess_filetype
from tests.fakes.slack_objects import Channel, User
from tests.fakes.slack_state import Workspace


class SlackSetup:
    ws: Workspace

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
        is_admin: bool = False,
        is_owner: bool = False,
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
            is_admin=is_admin,
            is_owner=is_owner,
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

    def delete_file(self, file_id: str) -> None:
        """Someone deletes a file in Slack (the bot's own uploads too): ``files.info``
        answers ``file_deleted``, its URLs (and presigned CDN URLs already handed out)
        answer 404, and the messages that shared it show a tombstone."""
        self.ws.files[file_id].deleted = True

    def file_stub(self, file_id: str) -> dict[str, Any]:
        """The Slack Connect stub for a file (``file_access: check_file_info``)."""
        return self.ws.files[file_id].stub()
