"""Slash commands and modals from the user's side (a mixin of FakeSlack).

    fields = slack.slash_command("U0ALICE", "C0GENERAL", "/analyst", "settings")
    answer = await sender.send_form(fields)               # signed, form-encoded, as Slack
    slack.command_answered(fields, answer)                # what the user saw of the ack
    modal = await slack.wait_for(lambda: slack.open_view("U0ALICE"))
    payload, record = slack.view_submission(modal.id, "U0ALICE", {"model": "gpt-x"})
    answer = await sender.send_interaction(payload)
    slack.submission_answered(record, answer)            # errors shown, view closed, …

``slack.triggers.ttl`` (3 s) is how long a trigger may wait for ``views.open``.
"""

from __future__ import annotations

from typing import Any, Protocol

from tests.fakes import slack_commands, slack_submissions
from tests.fakes.slack_commands import Reply
from tests.fakes.slack_state import Workspace
from tests.fakes.slack_submissions import Submission, Value
from tests.fakes.slack_triggers import Triggers
from tests.fakes.slack_views import OpenView
from tests.fakes.slack_waiting import ChangeFeed


class Answer(Protocol):
    """The app's HTTP answer (``slack_event_sender.SentResponse``)."""

    status: int
    body: str
    elapsed_s: float


class SlackInteractions:
    ws: Workspace
    url: str  # SlackServer's
    _changes: ChangeFeed

    @property
    def triggers(self) -> Triggers:
        return self.ws.triggers

    @property
    def replies(self) -> list[Reply]:
        """What users saw in answer to commands and clicks, oldest first."""
        return self.ws.interaction_replies

    def replies_to(self, user: str) -> list[Reply]:
        return [reply for reply in self.ws.interaction_replies if reply.user == user]

    @property
    def submissions(self) -> list[Submission]:
        return self.ws.submissions

    def open_view(self, user: str) -> OpenView | None:
        """The modal ``user`` sees now (the top of their stack), or None."""
        return self.ws.views.top(user)

    def view(self, view_id: str) -> OpenView:
        return self.ws.views.by_id[view_id]

    def slash_command(
        self, user: str, channel: str, command: str, text: str = ""
    ) -> dict[str, str]:
        """``user`` types ``command text`` in ``channel``: the form fields Slack will send."""
        fields = slack_commands.command_fields(
            self.ws, user=user, channel=channel, command=command, text=text, root_url=self.url
        )
        self._changes.notify()
        return fields

    def command_answered(self, fields: dict[str, str], answer: Answer) -> Reply | None:
        """Show the user the app's answer to a slash command, as Slack would."""
        reply = slack_commands.acked(
            self.ws, fields, status=answer.status, body=answer.body, elapsed_s=answer.elapsed_s
        )
        self._changes.notify()
        return reply

    def view_submission(
        self, view_id: str, user: str, values: dict[str, Value] | None = None
    ) -> tuple[dict[str, Any], Submission]:
        """``user`` fills ``values`` (input block id → text, option value, or list of
        checkbox values; others unchanged) and presses submit: the payload Slack sends."""
        return slack_submissions.submission_payload(self.ws, view_id, user, values or {})

    def submission_answered(self, record: Submission, answer: Answer) -> Submission:
        """Do with the app's answer to a submission what Slack does (see ``record.outcome``)."""
        slack_submissions.apply_answer(
            self.ws, record, status=answer.status, body=answer.body, elapsed_s=answer.elapsed_s
        )
        self._changes.notify()
        return record
