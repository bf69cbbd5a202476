"""`/analyst` and its settings modal: acknowledged at once (Slack waits 3 s), then handed on.

A submission is checked before it is acknowledged, so field errors show in the modal; it is
stored and announced after."""

from __future__ import annotations

from typing import Any, Protocol

from slack_bolt.async_app import AsyncApp

from bot.slack.analyst_command import COMMAND, SlashCommand, actor_of_command, slash_command
from bot.slack.settings_modal import CALLBACK_ID, SettingsSubmission, settings_submission
from handlers import Gate


class AnalystDesk(Protocol):
    """What the listeners need (see `bot.slack.analyst_command.AnalystCommand`)."""

    def immediate_reply(self, command: SlashCommand) -> str | None: ...

    async def open_settings(self, command: SlashCommand) -> None: ...

    def check(self, submission: SettingsSubmission) -> dict[str, str]: ...

    async def save(self, submission: SettingsSubmission) -> None: ...


def register(app: AsyncApp, desk: AnalystDesk, gate: Gate) -> None:
    @app.command(COMMAND)
    async def on_analyst(ack: Any, body: dict[str, Any]) -> None:
        command = slash_command(body)
        refusal = gate.why_not(actor_of_command(command))
        if command.subcommand == "settings" and refusal is not None:
            await ack(text=refusal, response_type="ephemeral")
            return
        reply = desk.immediate_reply(command)
        if reply is not None:
            await ack(text=reply, response_type="ephemeral")
            return
        await ack()  # before anything slow: the modal must open within the trigger's 3 s
        await desk.open_settings(command)

    @app.view(CALLBACK_ID)
    async def on_settings_saved(ack: Any, body: dict[str, Any]) -> None:
        submission = settings_submission(body)
        errors = desk.check(submission)
        if errors:
            await ack(response_action="errors", errors=errors)
            return
        await ack()
        await desk.save(submission)
