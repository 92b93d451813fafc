"""Buttons: on answers (share, explain another reading, show the rest) and in triage threads."""

from __future__ import annotations

import re
from logging import Logger

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import blocks
from bot import triage_blocks as tb
from bot.triage_flow import TriageFlow
from knowledge.lookup import LookupResult, finder


def share_answer(ack: Ack, body: dict, action: dict, client: WebClient, respond: Respond, logger: Logger) -> None:
    ack()
    matches = finder().resolve(action["value"].split(","))
    if not matches:
        respond(response_type="ephemeral", replace_original=False, text="That answer is no longer available.")
        return
    message = blocks.answer_message(LookupResult("", matches), ephemeral=False, shared_by=body["user"]["id"])
    channel = (body.get("channel") or {}).get("id")
    try:
        client.chat_postMessage(channel=channel, **message.kwargs())
    except SlackApiError as exc:
        logger.info("share failed in %s: %s", channel, exc.response.get("error"))
        respond(
            response_type="ephemeral",
            replace_original=False,
            text="I could not post in this channel. Invite me with `/invite @ftpcode`, then try again.",
        )
        return
    respond(delete_original=True)


def show_answer(ack: Ack, action: dict, respond: Respond) -> None:
    ack()
    matches = finder().resolve([action["value"]])
    if matches:
        message = blocks.answer_message(LookupResult("", matches), ephemeral=True)
        respond(response_type="ephemeral", replace_original=False, **message.kwargs())


def show_rest(ack: Ack, action: dict, respond: Respond) -> None:
    ack()
    entry_id, _, start = action["value"].rpartition(":")
    matches = finder().resolve([entry_id])
    if matches and start.isdecimal():
        message = blocks.rest_message(matches[0].entry, matches[0].known, int(start))
        respond(response_type="ephemeral", replace_original=False, **message.kwargs())


def start_triage(ack: Ack, body: dict, action: dict, context: BoltContext, client: WebClient, respond: Respond) -> None:
    ack()
    entry_id, prefill = tb.parse_start_value(action.get("value", ""))
    user_id = body["user"]["id"]
    flow = TriageFlow(client, context["store"], context["config"])
    container = body.get("container") or {}
    message = body.get("message") or {}
    if container.get("is_ephemeral") or not message.get("ts"):
        channel = flow.start_in_dm(entry_id, user_id, prefill)
        note = "I started the triage in our direct messages." if channel else "I could not open a direct message."
        respond(response_type="ephemeral", replace_original=False, text=note)
        return
    thread_ts = message.get("thread_ts") or message["ts"]
    flow.start(entry_id, body["channel"]["id"], thread_ts, user_id, prefill)


def triage_click(ack: Ack, body: dict, action: dict, context: BoltContext, client: WebClient, respond: Respond) -> None:
    ack()
    message = body.get("message") or {}
    flow = TriageFlow(client, context["store"], context["config"])
    reply = flow.click(
        action.get("value", ""),
        body["user"]["id"],
        body["channel"]["id"],
        message.get("ts", ""),
        message.get("blocks", []),
    )
    if reply.ephemeral:
        respond(response_type="ephemeral", replace_original=False, text=reply.ephemeral)


def register(app: App) -> None:
    app.action(tb.START)(start_triage)
    app.action(re.compile(f"^({tb.ANSWER}|{tb.CONTROL}|{tb.FEEDBACK})_"))(triage_click)
    app.action("share_answer")(share_answer)
    app.action(re.compile(r"^show_answer(_\d+)?$"))(show_answer)
    app.action("show_rest")(show_rest)
