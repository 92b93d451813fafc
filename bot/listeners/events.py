"""Mentions, direct messages and the App Home. Every message kind is routed here, and only here."""

from __future__ import annotations

from logging import Logger

from slack_bolt import App, BoltContext
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import files, home, replies, scan_reply
from bot.mrkdwn import plain_from_slack
from bot.triage_flow import TriageFlow


def _post(client: WebClient, logger: Logger, **kwargs) -> dict | None:
    try:
        return client.chat_postMessage(**kwargs).data
    except SlackApiError as exc:
        logger.error("chat.postMessage failed: %s", exc.response.get("error"))
        return None


def answer_message(event: dict, client: WebClient, logger: Logger, *, in_thread: bool) -> replies.Reply:
    """Answers the text of a message; returns the reply, whose matches a triage can follow."""
    text = plain_from_slack(event.get("text") or "")
    reply = replies.for_text(text, ephemeral=False)
    thread_ts = event.get("thread_ts") or (event["ts"] if in_thread else None)
    _post(client, logger, channel=event["channel"], thread_ts=thread_ts, **reply.message.kwargs())
    return reply


def _typed_triage_answer(event: dict, context: BoltContext, client: WebClient) -> bool:
    thread_ts = event.get("thread_ts")
    if not thread_ts or not event.get("user"):
        return False
    flow = TriageFlow(client, context["store"], context["config"])
    text = plain_from_slack(event.get("text") or "")
    return flow.typed(text, event["user"], event["channel"], thread_ts)


def on_mention(event: dict, context: BoltContext, client: WebClient, logger: Logger) -> None:
    if event.get("files"):
        answer_files(event, client, logger)
        return
    if _typed_triage_answer(event, context, client):
        return
    reply = answer_message(event, client, logger, in_thread=True)
    coded = [m for m in reply.matches if m.reason in ("code", "name", "unknown-code")]
    # A question with a code starts a triage at once; a pasted log offers one (with its answers) by button.
    if coded and event.get("user") and not reply.is_log:
        flow = TriageFlow(client, context["store"], context["config"])
        thread_ts = event.get("thread_ts") or event["ts"]
        flow.start(coded[0].entry.id, event["channel"], thread_ts, event["user"])


def answer_files(event: dict, client: WebClient, logger: Logger) -> None:
    """A log shared as a file or snippet: scanned and answered like a paste."""
    thread_ts = event.get("thread_ts") or (None if event.get("channel_type") == "im" else event["ts"])
    for shared in event.get("files", [])[:3]:
        try:
            text = files.read_text(client, shared["id"])
        except files.FileRefused as exc:
            _post(client, logger, channel=event["channel"], thread_ts=thread_ts, text=str(exc))
            continue
        message, _ = scan_reply.for_log(text, ephemeral=False)
        _post(client, logger, channel=event["channel"], thread_ts=thread_ts, **message.kwargs())


def on_message(event: dict, context: BoltContext, client: WebClient, logger: Logger) -> None:
    if event.get("bot_id") or event.get("user") == context.bot_user_id:
        return
    if event.get("subtype") == "file_share" and event.get("channel_type") == "im":
        answer_files(event, client, logger)
        return
    if event.get("subtype"):
        return
    is_dm = event.get("channel_type") == "im"
    # A mention in a channel also arrives as app_mention, which answers it; answering here too would repeat.
    if not is_dm and f"<@{context.bot_user_id}>" in (event.get("text") or ""):
        return
    if _typed_triage_answer(event, context, client):
        return
    if is_dm:
        answer_message(event, client, logger, in_thread=False)


def on_home_opened(event: dict, client: WebClient, logger: Logger) -> None:
    if event.get("tab", "home") != "home":
        return
    try:
        client.views_publish(user_id=event["user"], view=home.home_view())
    except SlackApiError as exc:
        logger.error("views.publish failed: %s", exc.response.get("error"))


def register(app: App) -> None:
    app.event("app_mention")(on_mention)
    app.event("message")(on_message)
    app.event("app_home_opened")(on_home_opened)
