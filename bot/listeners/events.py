"""Mentions, direct messages and the App Home. Every message kind is routed here, and only here
(message_kind): a message in a thread of the Messages tab is queued for bot/listeners/assistant.py's job.

The listeners only decide whether an event is work for us and queue it (with the redelivery check, in one
transaction); Bolt acknowledges after they return. The jobs below do the work, on the workers.
"""

from __future__ import annotations

import logging

from slack_bolt import App, BoltContext
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import answered, files, payloads, replies
from bot.mrkdwn import plain_from_slack
from bot.views import home
from bot.views import insights as insights_view
from bot.worker import Work

logger = logging.getLogger("bot.events")


def _queue(body: dict, context: BoltContext, kind: str) -> None:
    event = body.get("event") or {}
    event_id = body.get("event_id") if isinstance(body.get("event_id"), str) else None
    payload = {
        "event": event,
        "event_id": event_id,
        "team": payloads.team_id(body.get("team_id")),
        "bot_user": context.bot_user_id,
    }
    key = f"event:{event_id}" if event_id else None
    context["work"].submit(kind, payload, key)


def queue_mention(body: dict, event: dict, context: BoltContext) -> None:
    if payloads.channel_id(event.get("channel")) and payloads.message_ts(event.get("ts")):
        _queue(body, context, "mention")


def message_kind(event: dict, bot_user_id: str | None) -> str | None:
    """The job a message event is: "message", "assistant_message" (a thread of the Messages tab), or None."""
    if event.get("bot_id") or event.get("user") == bot_user_id:
        return None
    if not payloads.channel_id(event.get("channel")) or not payloads.message_ts(event.get("ts")):
        return None
    is_dm = event.get("channel_type") == "im"
    if event.get("subtype") and not (is_dm and event.get("subtype") == "file_share"):
        return None
    if is_dm:
        # With the agent view on, what people write in the Messages tab is in threads (Slack starts one per
        # conversation); Bolt's Assistant tells them apart the same way. A triage thread in the DM is one too:
        # the assistant job reads typed triage answers first, as run_message does.
        return "assistant_message" if payloads.message_ts(event.get("thread_ts")) else "message"
    # A mention in a channel also arrives as app_mention, which answers it; answering here too would repeat.
    if f"<@{bot_user_id}>" in (event.get("text") or ""):
        return None
    # In channels, only thread replies can be work (a typed answer to a triage).
    return "message" if event.get("thread_ts") else None


def queue_message(body: dict, event: dict, context: BoltContext) -> None:
    if kind := message_kind(event, context.bot_user_id):
        _queue(body, context, kind)


def queue_home_opened(body: dict, event: dict, context: BoltContext) -> None:
    if event.get("tab", "home") == "home" and payloads.user_id(event.get("user")):
        _queue(body, context, "home")


# -- the jobs ----------------------------------------------------------------------------------------------


def post(client: WebClient, **kwargs) -> dict | None:
    try:
        return client.chat_postMessage(**kwargs).data
    except SlackApiError as exc:
        logger.error("chat.postMessage failed: %s", exc.response.get("error"))
        return None


def _asker(work: Work) -> dict:
    event = work.payload["event"]
    return {"user": payloads.user_id(event.get("user")), "team": work.payload["team"]}


def _channel_type(event: dict) -> str:
    return "dm" if event.get("channel_type") == "im" or str(event.get("channel", "")).startswith("D") else "channel"


def answer_message(work: Work, *, in_thread: bool) -> replies.Reply:
    """Answers the text of a message; returns the reply, whose matches a triage can follow."""
    event = work.payload["event"]
    text = plain_from_slack(payloads.text_of(event.get("text")))
    reply = replies.for_text(text, ephemeral=False)
    message = answered.in_job(work, reply, text, _asker(work), _channel_type(event))
    thread_ts = event.get("thread_ts") or (event["ts"] if in_thread else None)
    post(work.client, channel=event["channel"], thread_ts=thread_ts, **message.kwargs())
    return reply


def typed_triage_answer(work: Work) -> bool:
    """Whether the message was a typed answer to the triage open in its thread (and was taken as one)."""
    from bot.triage_flow import TriageFlow, Turn  # loaded with the first triage, or by bot/warm_up.py

    event = work.payload["event"]
    user = payloads.user_id(event.get("user"))
    thread_ts = payloads.message_ts(event.get("thread_ts"))
    if not thread_ts or not user:
        return False
    text = plain_from_slack(payloads.text_of(event.get("text")))
    return TriageFlow.for_work(work).typed(Turn(user, work.payload["team"], event["channel"], thread_ts), text)


def run_mention(work: Work) -> None:
    event = work.payload["event"]
    if event.get("files"):
        answer_files(work)
        return
    if typed_triage_answer(work):
        return
    reply = answer_message(work, in_thread=True)
    coded = [m for m in reply.matches if m.reason in ("code", "name", "unknown-code")]
    user = payloads.user_id(event.get("user"))
    # A question with a code starts a triage at once; a pasted log offers one (with its answers) by button.
    if coded and user and not reply.is_log:
        from bot.triage_flow import TriageFlow, Turn

        turn = Turn(user, work.payload["team"], event["channel"], event.get("thread_ts") or event["ts"])
        flow = TriageFlow.for_work(work)
        started = flow.start(turn, coded[0].entry.id)
        if started.message:  # a triage that could not start; someone else's open one is left as it is, quietly
            flow.tell(turn, started)


def answer_files(work: Work, event: dict | None = None, asker: dict | None = None) -> None:
    """A log shared as a file or snippet (in the job's event, or `event`): scanned and answered like a paste.
    `asker` is who the answer is for (the event's author by default)."""
    event = work.payload["event"] if event is None else event
    asker = _asker(work) if asker is None else asker
    client = work.client
    thread_ts = event.get("thread_ts") or (None if event.get("channel_type") == "im" else event["ts"])
    shared_files = event.get("files") if isinstance(event.get("files"), list) else []
    for shared in shared_files[:3]:
        file_id = payloads.dig(shared, "id")
        if not isinstance(file_id, str):
            continue
        try:
            text = files.read_text(client, file_id)
        except files.FileRefused as exc:
            post(client, channel=event["channel"], thread_ts=thread_ts, text=str(exc))
            continue
        message = answered.in_job(work, replies.for_log(text), "", asker, _channel_type(event))
        post(client, channel=event["channel"], thread_ts=thread_ts, **message.kwargs())


def run_message(work: Work) -> None:
    event = work.payload["event"]
    if event.get("subtype") == "file_share":
        answer_files(work)
        return
    if typed_triage_answer(work):
        return
    if event.get("channel_type") == "im":
        answer_message(work, in_thread=False)


def run_home_opened(work: Work) -> None:
    user = work.payload["event"]["user"]
    extra = None
    if user in work.config.admins:
        extra = insights_view.home_blocks(work.store.feedback_stats(30))
    try:
        work.client.views_publish(user_id=user, view=home.home_view(extra))
    except SlackApiError as exc:
        logger.error("views.publish failed: %s", exc.response.get("error"))


JOBS = {"mention": run_mention, "message": run_message, "home": run_home_opened}


def register(app: App) -> None:
    app.event("app_mention")(queue_mention)
    app.event("message")(queue_message)
    app.event("app_home_opened")(queue_home_opened)
