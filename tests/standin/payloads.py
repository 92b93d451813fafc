"""Builders for payloads shaped as Slack sends them (Events API, slash commands, interactivity).

Every builder returns a plain dict; the stand-in wraps them in HTTP requests or Socket Mode envelopes.
"""

from __future__ import annotations

import itertools
import secrets
import string
import threading
import time
from typing import Any

TEAM_ID = "T0STANDIN"
TEAM_DOMAIN = "ftpcode-standin"
APP_ID = "A0STANDIN"
BOT_USER_ID = "U0BOT"
BOT_ID = "B0BOT"
VERIFICATION_TOKEN = "standin-verification-token"

_ts_lock = threading.Lock()
_ts_counter = itertools.count(1)


def new_ts() -> str:
    """A unique, increasing message timestamp such as "1718000000.000042"."""
    with _ts_lock:
        return f"{int(time.time())}.{next(_ts_counter) % 1_000_000:06d}"


def _random_id(prefix: str, length: int = 10) -> str:
    alphabet = string.ascii_uppercase + string.digits
    return prefix + "".join(secrets.choice(alphabet) for _ in range(length))


def new_event_id() -> str:
    return _random_id("Ev")


def new_trigger_id() -> str:
    return f"{secrets.randbelow(10**10)}.{secrets.randbelow(10**10)}.{secrets.token_hex(16)}"


def new_envelope_id() -> str:
    return f"{secrets.token_hex(4)}-{secrets.token_hex(2)}-{secrets.token_hex(2)}-{secrets.token_hex(6)}"


def new_view_id() -> str:
    return _random_id("V")


def command_payload(
    text: str,
    *,
    command: str = "/ftpcode",
    user_id: str = "U1",
    user_name: str = "alice",
    channel_id: str = "C1",
    channel_name: str = "general",
    response_url: str = "",
    trigger_id: str | None = None,
    team_id: str = TEAM_ID,
    **extra: str,
) -> dict[str, str]:
    """The fields of a slash command: form fields over HTTP, the envelope payload in Socket Mode."""
    payload = {
        "token": VERIFICATION_TOKEN,
        "team_id": team_id,
        "team_domain": TEAM_DOMAIN,
        "channel_id": channel_id,
        "channel_name": channel_name,
        "user_id": user_id,
        "user_name": user_name,
        "command": command,
        "text": text,
        "api_app_id": APP_ID,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": trigger_id or new_trigger_id(),
    }
    payload.update(extra)
    return payload


def event_callback(
    event: dict[str, Any],
    *,
    event_id: str | None = None,
    event_time: int | None = None,
    team_id: str = TEAM_ID,
) -> dict[str, Any]:
    """The Events API body around one event (also the payload of an events_api envelope)."""
    return {
        "token": VERIFICATION_TOKEN,
        "team_id": team_id,
        "context_team_id": team_id,
        "context_enterprise_id": None,
        "api_app_id": APP_ID,
        "event": event,
        "type": "event_callback",
        "event_id": event_id or new_event_id(),
        "event_time": event_time if event_time is not None else int(time.time()),
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": team_id,
                "user_id": BOT_USER_ID,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
        "event_context": "4-" + secrets.token_urlsafe(24),
    }


def url_verification(challenge: str) -> dict[str, str]:
    return {"token": VERIFICATION_TOKEN, "challenge": challenge, "type": "url_verification"}


def _rich_text(text: str) -> list[dict[str, Any]]:
    return [
        {
            "type": "rich_text",
            "block_id": _random_id("b", 4),
            "elements": [{"type": "rich_text_section", "elements": [{"type": "text", "text": text}]}],
        }
    ]


def app_mention(
    text: str,
    *,
    user: str = "U1",
    channel: str = "C1",
    ts: str | None = None,
    thread_ts: str | None = None,
    bot_user_id: str = BOT_USER_ID,
) -> dict[str, Any]:
    """An app_mention event; `text` is what follows the mention ("<@UBOT> " is prepended)."""
    ts = ts or new_ts()
    event: dict[str, Any] = {
        "type": "app_mention",
        "user": user,
        "text": f"<@{bot_user_id}> {text}",
        "ts": ts,
        "client_msg_id": secrets.token_hex(16),
        "team": TEAM_ID,
        "blocks": _rich_text(f"<@{bot_user_id}> {text}"),
        "channel": channel,
        "event_ts": ts,
    }
    if thread_ts:
        event["thread_ts"] = thread_ts
    return event


def message(
    text: str,
    *,
    user: str = "U1",
    channel: str = "C1",
    channel_type: str = "channel",
    ts: str | None = None,
    thread_ts: str | None = None,
    subtype: str | None = None,
    bot_id: str | None = None,
) -> dict[str, Any]:
    """A message event (message.channels / message.im / message.groups by `channel_type`)."""
    ts = ts or new_ts()
    event: dict[str, Any] = {
        "type": "message",
        "user": user,
        "text": text,
        "ts": ts,
        "team": TEAM_ID,
        "channel": channel,
        "event_ts": ts,
        "channel_type": channel_type,
    }
    if subtype:
        event["subtype"] = subtype
    else:
        event["client_msg_id"] = secrets.token_hex(16)
        event["blocks"] = _rich_text(text)
    if bot_id:
        event["bot_id"] = bot_id
    if thread_ts:
        event["thread_ts"] = thread_ts
        event["parent_user_id"] = BOT_USER_ID
    return event


def message_im(text: str, *, user: str = "U1", channel: str = "D1", **kwargs: Any) -> dict[str, Any]:
    return message(text, user=user, channel=channel, channel_type="im", **kwargs)


def thread_message(
    text: str, *, thread_ts: str, user: str = "U1", channel: str = "C1", **kwargs: Any
) -> dict[str, Any]:
    return message(text, user=user, channel=channel, thread_ts=thread_ts, **kwargs)


def app_home_opened(*, user: str = "U1", tab: str = "home", channel: str = "D1") -> dict[str, Any]:
    return {
        "type": "app_home_opened",
        "user": user,
        "channel": channel,
        "tab": tab,
        "event_ts": new_ts(),
    }


def assistant_thread_started(
    *, user: str = "U1", channel: str = "D1", thread_ts: str | None = None, context_channel: str = "C1"
) -> dict[str, Any]:
    """Someone opened the app's Messages tab (the agent view): Slack started a thread there."""
    return {
        "type": "assistant_thread_started",
        "assistant_thread": {
            "user_id": user,
            "context": {"channel_id": context_channel, "team_id": TEAM_ID, "enterprise_id": None},
            "channel_id": channel,
            "thread_ts": thread_ts or new_ts(),
        },
        "event_ts": new_ts(),
    }


def reaction_added(
    reaction: str, *, ts: str, user: str = "U1", channel: str = "C1", item_user: str = "U2"
) -> dict[str, Any]:
    """`user` added :`reaction`: to the message at `ts` that `item_user` wrote."""
    return {
        "type": "reaction_added",
        "user": user,
        "reaction": reaction,
        "item_user": item_user,
        "item": {"type": "message", "channel": channel, "ts": ts},
        "event_ts": new_ts(),
    }


def new_function_execution_id() -> str:
    return _random_id("Fx")


def new_workflow_token() -> str:
    """Shaped like the token a function_executed event carries (recognisable in logs by "5ta")."""
    return f"xwfp-{secrets.randbelow(10**12)}-{secrets.randbelow(10**12)}-5ta{secrets.token_hex(14)}"


def function_executed(
    callback_id: str, inputs: dict[str, Any], *, execution_id: str, token: str | None
) -> dict[str, Any]:
    """A workflow ran the app's step `callback_id` (a custom function) with `inputs`."""
    event: dict[str, Any] = {
        "type": "function_executed",
        "function": {
            "id": _random_id("Fn"),
            "callback_id": callback_id,
            "title": callback_id.replace("_", " ").capitalize(),
            "description": "",
            "type": "app",
            "input_parameters": [
                {"type": "string", "name": name, "title": name.capitalize(), "is_required": True} for name in inputs
            ],
            "output_parameters": [],
            "app_id": APP_ID,
            "date_created": 1700000000,
            "date_updated": 1700000000,
            "date_deleted": 0,
        },
        "inputs": inputs,
        "function_execution_id": execution_id,
        "workflow_execution_id": _random_id("Wx"),
        "event_ts": new_ts(),
    }
    if token is not None:
        event["bot_access_token"] = token
    return event


def _user(user_id: str, user_name: str) -> dict[str, str]:
    return {"id": user_id, "username": user_name, "name": user_name, "team_id": TEAM_ID}


def block_actions(
    *,
    action_id: str,
    value: str = "",
    block_id: str = "actions",
    user_id: str = "U1",
    user_name: str = "alice",
    channel_id: str = "C1",
    message_ts: str | None = None,
    message_text: str = "",
    response_url: str = "",
    trigger_id: str | None = None,
    container_type: str = "message",
    action_type: str = "button",
) -> dict[str, Any]:
    """A button click in a message (container_type "message") or in the Home tab ("view"); `action_type`
    "feedback_buttons" for a click on one of a feedback buttons element's two buttons (`value` is its value)."""
    action_ts = new_ts()
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": _user(user_id, user_name),
        "api_app_id": APP_ID,
        "token": VERIFICATION_TOKEN,
        "trigger_id": trigger_id or new_trigger_id(),
        "team": {"id": TEAM_ID, "domain": TEAM_DOMAIN},
        "enterprise": None,
        "is_enterprise_install": False,
        "actions": [
            {
                "action_id": action_id,
                "block_id": block_id,
                "text": {"type": "plain_text", "text": "Button", "emoji": True},
                "value": value,
                "type": action_type,
                "action_ts": action_ts,
            }
        ],
        "state": {"values": {}},
    }
    if container_type == "message":
        ts = message_ts or new_ts()
        payload["container"] = {
            "type": "message",
            "message_ts": ts,
            "channel_id": channel_id,
            "is_ephemeral": False,
        }
        payload["channel"] = {"id": channel_id, "name": "general"}
        payload["message"] = {
            "type": "message",
            "user": BOT_USER_ID,
            "bot_id": BOT_ID,
            "text": message_text,
            "ts": ts,
            "blocks": [],
        }
        payload["response_url"] = response_url
    else:
        view_id = new_view_id()
        payload["container"] = {"type": "view", "view_id": view_id}
        payload["view"] = {"id": view_id, "type": "home", "blocks": [], "team_id": TEAM_ID}
    return payload


def message_action(
    *,
    callback_id: str,
    message_text: str,
    message_user: str = "U2",
    message_ts: str | None = None,
    user_id: str = "U1",
    user_name: str = "alice",
    channel_id: str = "C1",
    response_url: str = "",
    trigger_id: str | None = None,
) -> dict[str, Any]:
    """A message shortcut ("More actions" on a message)."""
    ts = message_ts or new_ts()
    return {
        "type": "message_action",
        "token": VERIFICATION_TOKEN,
        "action_ts": new_ts(),
        "team": {"id": TEAM_ID, "domain": TEAM_DOMAIN},
        "user": _user(user_id, user_name),
        "channel": {"id": channel_id, "name": "general"},
        "is_enterprise_install": False,
        "enterprise": None,
        "callback_id": callback_id,
        "trigger_id": trigger_id or new_trigger_id(),
        "response_url": response_url,
        "message_ts": ts,
        "message": {"type": "message", "user": message_user, "text": message_text, "ts": ts},
    }


def view_submission(
    *,
    callback_id: str,
    values: dict[str, dict[str, Any]],
    user_id: str = "U1",
    user_name: str = "alice",
    private_metadata: str = "",
    view_id: str | None = None,
) -> dict[str, Any]:
    """A modal submitted; `values` is view.state.values ({block_id: {action_id: {type, value}}})."""
    return {
        "type": "view_submission",
        "team": {"id": TEAM_ID, "domain": TEAM_DOMAIN},
        "user": _user(user_id, user_name),
        "api_app_id": APP_ID,
        "token": VERIFICATION_TOKEN,
        "trigger_id": new_trigger_id(),
        "view": {
            "id": view_id or new_view_id(),
            "team_id": TEAM_ID,
            "type": "modal",
            "callback_id": callback_id,
            "private_metadata": private_metadata,
            "blocks": [],
            "state": {"values": values},
            "app_id": APP_ID,
            "bot_id": BOT_ID,
        },
        "response_urls": [],
        "is_enterprise_install": False,
        "enterprise": None,
    }
