"""What Slack sends, checked before use: a malformed or forged payload is refused politely, never a KeyError."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlparse

_USER = re.compile(r"[UWB][A-Z0-9]{1,30}")
_CHANNEL = re.compile(r"[CDG][A-Z0-9]{1,30}")
_TEAM = re.compile(r"[TE][A-Z0-9]{1,30}")
_TS = re.compile(r"\d{1,12}\.\d{1,9}")


def text_of(value: Any, limit: int = 40_000) -> str:
    """A string field, or "" when it is missing or not a string; cut to Slack's own 40,000-character limit."""
    return value[:limit] if isinstance(value, str) else ""


def user_id(value: Any) -> str | None:
    return value if isinstance(value, str) and _USER.fullmatch(value) else None


def channel_id(value: Any) -> str | None:
    return value if isinstance(value, str) and _CHANNEL.fullmatch(value) else None


def team_id(value: Any) -> str:
    """The workspace, or "" (a Socket Mode or test payload may omit it); never anything else."""
    return value if isinstance(value, str) and _TEAM.fullmatch(value) else ""


def message_ts(value: Any) -> str | None:
    return value if isinstance(value, str) and _TS.fullmatch(value) else None


def response_url(value: Any) -> str | None:
    if not isinstance(value, str) or len(value) > 2000:
        return None
    parsed = urlparse(value)
    return value if parsed.scheme in ("https", "http") and parsed.hostname else None


def dig(body: Any, *path: str) -> Any:
    """body[path[0]][path[1]]..., or None where any step is missing or not an object."""
    for key in path:
        if not isinstance(body, dict):
            return None
        body = body.get(key)
    return body


def interaction(body: Any) -> dict[str, Any] | None:
    """The parts of an interactive payload every handler needs, checked; None when the clicker is unknown."""
    user = user_id(dig(body, "user", "id"))
    if user is None:
        return None
    team = team_id(dig(body, "team", "id")) or team_id(dig(body, "user", "team_id"))
    container = dig(body, "container") or {}
    return {
        "user": user,
        "team": team,
        "channel": channel_id(dig(body, "channel", "id")),
        "message_ts": message_ts(dig(body, "message", "ts")),
        "thread_ts": message_ts(dig(body, "message", "thread_ts")),
        "ephemeral": bool(isinstance(container, dict) and container.get("is_ephemeral")),
        "response_url": response_url(dig(body, "response_url")),
    }
