"""Mentions, direct messages and the App Home. Every message kind is routed here, and only here."""

from __future__ import annotations

from logging import Logger

from slack_bolt import App, BoltContext
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import home, replies
from bot.mrkdwn import plain_from_slack
from bot.triage_flow import TriageFlow
from knowledge.lookup import Match


def _post(client: WebClient, logger: Logger, **kwargs) -> dict | None:
    try:
        return client.chat_postMessage(**kwargs).data
    except SlackApiError as exc:
        logger.error("chat.postMessage failed: %s", exc.response.get("error"))
        return None


def answer_message(event: dict, client: WebClient, logger: Logger, *, in_thread: bool) -> list[Match]:
    """Answers the text of a message; returns what it matched, so a triage can follow."""
    text = plain_from_slack(event.get("text") or "")
    reply = replies.for_text(text, ephemeral=False)
    thread_ts = event.get("thread_ts") or (event["ts"] if in_thread else None)
    _post(client, logger, channel=event["channel"], thread_ts=thread_ts, **reply.message.kwargs())
    return reply.matches


def _typed_triage_answer(event: dict, context: BoltContext, client: WebClient) -> bool:
    thread_ts = event.get("thread_ts")
    if not thread_ts or not event.get("user"):
        return False
    flow = TriageFlow(client, context["store"], context["config"])
    text = plain_from_slack(event.get("text") or "")
    return flow.typed(text, event["user"], event["channel"], thread_ts)


def on_mention(event: dict, context: BoltContext, client: WebClient, logger: Logger) -> None:
    if _typed_triage_answer(event, context, client):
        return
    matches = answer_message(event, client, logger, in_thread=True)
    coded = [m for m in matches if m.reason in ("code", "name", "unknown-code")]
    if coded and event.get("user"):
        flow = TriageFlow(client, context["store"], context["config"])
        flow.start(coded[0].entry.id, event["channel"], event.get("thread_ts") or event["ts"], event["user"])


def on_message(event: dict, context: BoltContext, client: WebClient, logger: Logger) -> None:
    if event.get("subtype") or event.get("bot_id") or event.get("user") == context.bot_user_id:
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
