"""An emoji on a message: FTPCODE_REACTION (default :ftpcode:) on a message in a channel the bot is in explains
the codes, errors or log in that message, in its thread.

A message is answered once, however many people react to it and however often: the queue's redelivery key is
the message, not the event (kept MESSAGE_KEY_TTL_SECONDS).
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App, BoltContext
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import answered, payloads, replies
from bot.feedback_store import channel_type_of
from bot.jobs import MESSAGE_KEY_PREFIX
from bot.listeners import events
from bot.mrkdwn import plain_from_slack
from bot.views.reaction import nothing_to_explain_message
from bot.worker import Work

logger = logging.getLogger("bot.reactions")


def queue_reaction(body: dict, event: dict, context: BoltContext) -> None:
    work = context["work"]
    # A skin tone comes after the name ("thumbsup::skin-tone-2").
    if str(event.get("reaction") or "").split("::")[0] != work.config.reaction:
        return
    item = event.get("item")
    channel = payloads.channel_id(payloads.dig(item, "channel"))
    ts = payloads.message_ts(payloads.dig(item, "ts"))
    user = payloads.user_id(event.get("user"))
    if payloads.dig(item, "type") != "message" or not (channel and ts and user):
        return
    if event.get("item_user") == context.bot_user_id:
        return  # its own answers explain themselves
    team = payloads.team_id(body.get("team_id"))
    job = {"channel": channel, "ts": ts, "user": user, "bot_user": context.bot_user_id, "team": team}
    work.submit("explain_reaction", job, f"{MESSAGE_KEY_PREFIX}{team}:{channel}:{ts}")


# -- the job -----------------------------------------------------------------------------------------------


def read_message(client: WebClient, channel: str, ts: str) -> dict[str, Any] | None:
    """The message at `ts`, from the channel's history, or from its thread when it is a reply (history holds
    only the messages at the top of the channel); None when the bot may not read it or it is gone."""
    try:
        found = client.conversations_history(channel=channel, latest=ts, inclusive=True, limit=1)["messages"]
        if not any(m.get("ts") == ts for m in found):
            # A thread's first message comes first in any page of it: two make room for the reply itself.
            found = client.conversations_replies(channel=channel, ts=ts, oldest=ts, inclusive=True, limit=2)["messages"]
    except SlackApiError as exc:
        logger.info("could not read the message reacted to: %s", exc.response.get("error"))
        return None
    return next((m for m in found if isinstance(m, dict) and m.get("ts") == ts), None)


def run_reaction(work: Work) -> None:
    job = work.payload
    channel, ts = job["channel"], job["ts"]
    message = read_message(work.client, channel, ts)
    if message is None or message.get("user") == job["bot_user"]:
        return
    thread_ts = payloads.message_ts(message.get("thread_ts")) or ts
    # The answer is for whoever added the emoji: their vote, their row (the message may be someone else's).
    asker = {"user": job["user"], "team": job.get("team", "")}
    if message.get("files"):
        shared = {"channel": channel, "ts": ts, "thread_ts": thread_ts, "files": message["files"]}
        events.answer_files(work, shared, asker)
        return
    text = plain_from_slack(payloads.text_of(message.get("text")))
    reply = replies.for_message(text, ephemeral=False)
    if reply.explains:
        answer = answered.in_job(work, reply, text, asker, channel_type_of(channel))
        events.post(work.client, channel=channel, thread_ts=thread_ts, **answer.kwargs())
        return
    note = nothing_to_explain_message()
    try:
        work.client.chat_postEphemeral(channel=channel, user=job["user"], thread_ts=thread_ts, **note.kwargs())
    except SlackApiError as exc:
        logger.info("chat.postEphemeral failed: %s", exc.response.get("error"))


JOBS = {"explain_reaction": run_reaction}


def register(app: App) -> None:
    app.event("reaction_added")(queue_reaction)
