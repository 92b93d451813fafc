"""Buttons on answers: share, explain another reading, show the rest."""

from __future__ import annotations

from logging import Logger

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import blocks
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
    if matches and start.isdigit():
        message = blocks.rest_message(matches[0].entry, matches[0].known, int(start))
        respond(response_type="ephemeral", replace_original=False, **message.kwargs())


def register(app: App) -> None:
    app.action("share_answer")(share_answer)
    app.action("show_answer")(show_answer)
    app.action("show_rest")(show_rest)
