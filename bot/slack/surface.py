"""`SlackSurface`: posts that belong to no answer.

"Yours is next", ephemeral replies to button clicks, the Python of an answer and a thread's
notebook as files, the Messages tab's suggested prompts, file-drop profiles and
acknowledgements of channel settings.
Notices never fail the work they accompany: their errors are logged.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import IO

from bot import wording
from bot.core.markdown import defuse
from bot.core.turns import ThreadKey
from bot.profile.profiler import DataProfile
from bot.slack.blocks import Block
from bot.slack.budget import Priority
from bot.slack.client import SLACK_FAILURES, at, failure_code
from bot.slack.clients import SlackClients
from bot.slack.profile_blocks import profile_blocks
from bot.slack.sessions import ACTIVE, SessionSupport
from bot.slack.uploads import SlackUploads, Upload

logger = logging.getLogger(__name__)


class SlackSurface:
    def __init__(
        self, clients: SlackClients, sessions: SessionSupport, uploads: SlackUploads
    ) -> None:
        self._clients = clients
        self._sessions = sessions
        self._uploads = uploads

    async def idle(self, key: ThreadKey) -> None:
        """Nothing runs in the thread: end an agent session left `processing`."""
        if self._sessions.refused_in(key.team_id) is not None:
            return
        try:
            with at(Priority.SIGN):
                await self._clients.for_team(key.team_id).agents_sessions_setStatus(
                    channel_id=key.channel_id, thread_ts=key.thread_ts, status=ACTIVE
                )
        except SLACK_FAILURES as error:
            logger.info("ending the session in %s failed: %s", key, failure_code(error))

    async def reply(self, key: ThreadKey, text: str, blocks: list[Block] | None = None) -> str:
        """A message in a thread (a profile, a settings acknowledgement); returns its ts.
        The text may name files or columns: it is defused (blocks are the caller's). It is
        the reply to what someone did: it waits its turn rather than being given up."""
        with at(Priority.FINAL):
            response = await self._clients.for_team(key.team_id).chat_postMessage(
                channel=key.channel_id,
                thread_ts=key.thread_ts,
                text=defuse(text[:3000]),
                blocks=blocks or None,
                unfurl_links=False,
                unfurl_media=False,
            )
        return str(response["ts"])

    async def post_profile(
        self,
        key: ThreadKey,
        profile: DataProfile,
        *,
        file_id: str,
        questions: Sequence[str],
        summary: str,
    ) -> None:
        """A dropped file's local profile in its thread, questions as buttons."""
        text = wording.PROFILE_TEXT.format(name=profile.file_name)
        for blocks in profile_blocks(
            profile, file_id=file_id, questions=questions, summary=summary
        ):
            await self.reply(key, text, blocks)

    async def queued(self, key: ThreadKey, user_id: str) -> None:
        await self.notify(key, user_id, wording.QUEUED)

    async def notify(self, key: ThreadKey, user_id: str, text: str) -> None:
        try:
            await self._clients.for_team(key.team_id).chat_postEphemeral(
                channel=key.channel_id, user=user_id, text=text, thread_ts=key.thread_ts
            )
        except SLACK_FAILURES as error:
            logger.info("ephemeral message failed in %s: %s", key, failure_code(error))

    async def post_code(self, key: ThreadKey, name: str, code: str) -> None:
        with at(Priority.FINAL):
            await self._post_code(key, name, code)

    async def _post_code(self, key: ThreadKey, name: str, code: str) -> None:
        await self._clients.for_team(key.team_id).files_upload_v2(
            channel=key.channel_id,
            thread_ts=key.thread_ts,
            content=code,
            filename=name,
            title=wording.CODE_SNIPPET_TITLE,
            snippet_type="python",
        )

    async def post_file(
        self, key: ThreadKey, *, name: str, title: str, content: IO[bytes], size: int
    ) -> bool:
        """A file in the thread through the streamed upload path; its title may quote a
        question, so it is defused (the file's contents are the caller's)."""
        with at(Priority.FINAL):
            shared = await self._uploads.share(key, [Upload(name, defuse(title), content, size)])
        return bool(shared.files)

    async def suggest_prompts(self, channel_id: str, *, team_id: str) -> None:
        """Pin suggested prompts in the Messages tab (agent view: no `thread_ts`)."""
        try:
            await self._clients.for_team(team_id).assistant_threads_setSuggestedPrompts(
                channel_id=channel_id,
                title=wording.PROMPTS_TITLE,
                prompts=[{"title": title, "message": text} for title, text in wording.PROMPTS],
            )
        except SLACK_FAILURES as error:
            logger.info("setSuggestedPrompts failed in %s: %s", channel_id, failure_code(error))
