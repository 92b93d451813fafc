"""Text safe for Slack's mrkdwn: nothing a user or a knowledge file wrote can ping or link."""

from __future__ import annotations

import html
import re

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def escape(text: str) -> str:
    """Escapes Slack's three control characters, so `<!channel>` shows as text and pings nobody."""
    return _CONTROL.sub(" ", text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def escape_clipped(text: str, limit: int) -> str:
    """escape(text) in at most `limit` characters, cut between entities (never inside `&lt;`), with "…"."""
    escaped = escape(text)
    if len(escaped) <= limit:
        return escaped
    pieces, used = [], 0
    for char in text:
        piece = escape(char)
        if used + len(piece) > limit - 1:
            break
        pieces.append(piece)
        used += len(piece)
    return "".join(pieces).rstrip() + "…"


_FORMATTING = re.compile(r"([*_~`])")


def literal(text: str, limit: int) -> str:
    """Text a user wrote, shown as written: escaped and cut (escape_clipped), and with a zero-width space after
    each of mrkdwn's formatting characters (* _ ~ `), so `*urgent*` is not made bold nor ``` a code block."""
    return _FORMATTING.sub("\\1\u200b", escape_clipped(text, limit))


def unescape(text: str) -> str:
    """What the user typed, from the escaped form Slack delivers (for reading pasted logs)."""
    return html.unescape(text) if "&" in text else text


_SLACK_MARKUP = (
    (re.compile(r"<@[UW][A-Z0-9]+(?:\|[^>]*)?>"), " "),
    (re.compile(r"<!(?:channel|here|everyone)[^>]*>"), " "),
    (re.compile(r"<!subteam\^[A-Z0-9]+(?:\|[^>]*)?>"), " "),
    (re.compile(r"<(?:mailto:|https?://)?([^>|]*)\|([^>]*)>"), r"\2"),
    (re.compile(r"<(?:mailto:)?([^>]*)>"), r"\1"),
)


def plain_from_slack(text: str) -> str:
    """User text without Slack's markup: `<@U1>` mentions dropped, `<url|label>` as label, entities undone."""
    if "<" in text:  # every piece of markup starts with one; most commands (`/ftpcode 425`) hold none
        for pattern, replacement in _SLACK_MARKUP:
            text = pattern.sub(replacement, text)
    return unescape(text).strip()


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
