"""/ftpcode: a lookup is answered in the ack itself; a pasted log is queued and answered on the response_url."""

from __future__ import annotations

from slack_bolt import Ack, App, BoltContext

from bot import payloads, replies, scan_reply
from bot.mrkdwn import plain_from_slack
from bot.worker import Work

BUSY = "I could not take that log just now. Try again in a minute."


def ftpcode_command(ack: Ack, command: dict, context: BoltContext) -> None:
    text = plain_from_slack(payloads.text_of(command.get("text")))
    if scan_reply.looks_like_log(text):
        # A scan can take a moment: it is queued, and answered on the response_url.
        who = {"response_url": payloads.response_url(command.get("response_url"))}
        taken = who["response_url"] is not None and context["work"].submit("scan_command", {**who, "text": text})
        if taken:
            ack()
        else:
            ack(response_type="ephemeral", text=BUSY)
        return
    # A lookup and its (cached) rendering take well under a millisecond, so the answer travels in the ack:
    # no second request to Slack, and the user sees it sooner (bench/README.md).
    reply = replies.for_text(text, ephemeral=True)
    ack(response_type="ephemeral", **reply.message.kwargs())


def run_scan(work: Work) -> None:
    reply = replies.for_text(work.payload["text"], ephemeral=True)
    work.respond(response_type="ephemeral", **reply.message.kwargs())


JOBS = {"scan_command": run_scan}


def register(app: App) -> None:
    app.command("/ftpcode")(ftpcode_command)
