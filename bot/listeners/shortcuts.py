"""The message shortcut "Explain FTP codes": explains the codes, errors or log in any message, privately."""

from __future__ import annotations

from slack_bolt import Ack, App, BoltContext

from bot import answered, payloads, replies
from bot.mrkdwn import plain_from_slack
from bot.worker import Work


def queue_explain(ack: Ack, shortcut: dict, context: BoltContext) -> None:
    ack()
    url = payloads.response_url(shortcut.get("response_url"))
    if url is not None:
        text = payloads.text_of(payloads.dig(shortcut, "message", "text"))
        who = payloads.interaction(shortcut) or {}
        job = {"response_url": url, "text": text, "user": who.get("user"), "team": who.get("team", "")}
        context["work"].submit("explain_message", job)


def run_explain(work: Work) -> None:
    text = plain_from_slack(work.payload["text"])
    reply = replies.for_message(text, ephemeral=True)
    message = answered.in_job(work, reply, text, work.payload, "shortcut")
    work.respond(response_type="ephemeral", **message.kwargs())


JOBS = {"explain_message": run_explain}


def register(app: App) -> None:
    app.shortcut("explain_message")(queue_explain)
