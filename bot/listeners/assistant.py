"""The agent's Messages tab: suggested prompts when someone opens it, and answers in its threads, with a status
while a log is read. Which message events belong to the tab is decided with every other message kind, in
events.message_kind; the job for them is here.

Bolt's own Assistant middleware is not used: it takes every threaded DM message (triage answers typed in a DM
thread included), its default thread-context listener calls the Web API inside the acknowledgement, and its
say() and set_status() use the request's client, not the job's journaled one.
"""

from __future__ import annotations

import logging

from slack_bolt import App, BoltContext
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import answered, payloads, replies
from bot.listeners import events
from bot.mrkdwn import plain_from_slack
from bot.views.assistant import PROMPTS, PROMPTS_TITLE, READING_STATUS, prompt_answer
from bot.worker import Work
from knowledge import text_kind

logger = logging.getLogger("bot.assistant")


def queue_thread_started(body: dict, event: dict, context: BoltContext) -> None:
    thread = event.get("assistant_thread")
    channel = payloads.channel_id(payloads.dig(thread, "channel_id"))
    thread_ts = payloads.message_ts(payloads.dig(thread, "thread_ts"))
    if channel and thread_ts:
        event_id = body.get("event_id") if isinstance(body.get("event_id"), str) else None
        job = {"channel": channel, "thread_ts": thread_ts, "event_id": event_id}
        context["work"].submit("assistant_thread", job, f"event:{event_id}" if event_id else None)


# -- the jobs ----------------------------------------------------------------------------------------------


def run_thread_started(work: Work) -> None:
    prompts = [{"title": title, "message": message} for title, message in PROMPTS]
    channel, thread_ts = work.payload["channel"], work.payload["thread_ts"]
    try:
        work.client.assistant_threads_setSuggestedPrompts(
            channel_id=channel, thread_ts=thread_ts, title=PROMPTS_TITLE, prompts=prompts
        )
    except SlackApiError as exc:
        logger.error("assistant.threads.setSuggestedPrompts failed: %s", exc.response.get("error"))


def _reading(client: WebClient, channel: str, thread_ts: str) -> None:
    """Shows that a scan runs; the answer clears it, and Slack does after two minutes without one."""
    try:
        client.assistant_threads_setStatus(channel_id=channel, thread_ts=thread_ts, status=READING_STATUS)
    except SlackApiError as exc:  # not an agent thread (an app installed without the agent view): answer anyway
        logger.info("assistant.threads.setStatus refused: %s", exc.response.get("error"))


def run_message(work: Work) -> None:
    """A message in a thread of the Messages tab: answered there as a DM is."""
    if events.typed_triage_answer(work):
        return
    event = work.payload["event"]
    channel, thread_ts = event["channel"], event["thread_ts"]
    if event.get("subtype") == "file_share":
        _reading(work.client, channel, thread_ts)
        events.answer_files(work)
        return
    text = plain_from_slack(payloads.text_of(event.get("text")))
    message = prompt_answer(text)
    if message is None:
        if text_kind.looks_like_log(text):
            _reading(work.client, channel, thread_ts)
        asker = {"user": payloads.user_id(event.get("user")), "team": work.payload["team"]}
        message = answered.in_job(work, replies.for_text(text, ephemeral=False), text, asker, "dm")
    events.post(work.client, channel=channel, thread_ts=thread_ts, **message.kwargs())


JOBS = {"assistant_thread": run_thread_started, "assistant_message": run_message}


def register(app: App) -> None:
    app.event("assistant_thread_started")(queue_thread_started)
