"""The message shortcut "Explain FTP codes": explains the codes, errors or log in any message, privately."""

from __future__ import annotations

from slack_bolt import Ack, App, Respond

from bot import replies, scan_reply
from bot.mrkdwn import plain_from_slack


def explain_message(ack: Ack, shortcut: dict, respond: Respond) -> None:
    ack()
    text = plain_from_slack((shortcut.get("message") or {}).get("text") or "")
    if scan_reply.looks_like_log(text) or len(text.splitlines()) > 1:
        message, result = scan_reply.for_log(text, ephemeral=True)
        if scan_reply.found_anything(result):
            respond(response_type="ephemeral", **message.kwargs())
            return
    reply = replies.for_text(text, ephemeral=True)
    respond(response_type="ephemeral", **reply.message.kwargs())


def register(app: App) -> None:
    app.shortcut("explain_message")(explain_message)
