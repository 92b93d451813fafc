"""/ftpcode: acknowledged at once, answered ephemerally through the response_url."""

from __future__ import annotations

from logging import Logger

from slack_bolt import Ack, App, Respond

from bot import replies
from bot.mrkdwn import plain_from_slack


def ftpcode_command(ack: Ack, command: dict, respond: Respond, logger: Logger) -> None:
    ack()
    text = plain_from_slack(command.get("text") or "")
    reply = replies.for_text(text, ephemeral=True)
    respond(response_type="ephemeral", **reply.message.kwargs())


def register(app: App) -> None:
    app.command("/ftpcode")(ftpcode_command)
