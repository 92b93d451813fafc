"""Mentions, direct messages and the App Home. Every message kind is routed here, and only here."""

from __future__ import annotations

from logging import Logger

from slack_bolt import App, BoltContext
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import home, replies
from bot.mrkdwn import plain_from_slack


def _post(client: WebClient, logger: Logger, **kwargs) -> dict | None:
    try:
        return client.chat_postMessage(**kwargs).data
    except SlackApiError as exc:
        logger.error("chat.postMessage failed: %s", exc.response.get("error"))
        return None


def answer_message(event: dict, client: WebClient, logger: Logger, *, in_thread: bool) -> None:
    text = plain_from_slack(event.get("text") or "")
    message = replies.for_text(text, ephemeral=False)
    thread_ts = event.get("thread_ts") or (event["ts"] if in_thread else None)
    _post(client, logger, channel=event["channel"], thread_ts=thread_ts, **message.kwargs())


def on_mention(event: dict, client: WebClient, logger: Logger) -> None:
    answer_message(event, client, logger, in_thread=True)


def on_message(event: dict, context: BoltContext, client: WebClient, logger: Logger) -> None:
    if event.get("subtype") or event.get("bot_id") or event.get("user") == context.bot_user_id:
        return
    if event.get("channel_type") == "im":
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
