"""/ftpcode: a lookup is answered in the ack itself; a pasted log is acknowledged first and answered after."""

from __future__ import annotations

from logging import Logger

from slack_bolt import Ack, App, Respond

from bot import replies, scan_reply
from bot.mrkdwn import plain_from_slack


def ftpcode_command(ack: Ack, command: dict, respond: Respond, logger: Logger) -> None:
    text = plain_from_slack(command.get("text") or "")
    if scan_reply.looks_like_log(text):
        ack()  # a scan can take a moment: acknowledge first, answer on the response_url
        reply = replies.for_text(text, ephemeral=True)
        respond(response_type="ephemeral", **reply.message.kwargs())
        return
    # A lookup and its (cached) rendering take well under a millisecond, so the answer travels in the ack:
    # no second request to Slack, and the user sees it sooner (bench/README.md).
    reply = replies.for_text(text, ephemeral=True)
    ack(response_type="ephemeral", **reply.message.kwargs())


def register(app: App) -> None:
    app.command("/ftpcode")(ftpcode_command)
