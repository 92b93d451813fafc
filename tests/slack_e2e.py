"""Reading what the bot sent to the Slack stand-in, shared by the end-to-end tests (HTTP, Socket Mode, logs)."""

from __future__ import annotations

import secrets
import time
from pathlib import Path
from typing import Any

from bot.mrkdwn import escape
from knowledge.lookup import finder
from tests.slack_limits import assert_block_within_limits, text_strings
from tests.standin import BotProcess, CallRecord, SlackStandIn

ANSWER_TIMEOUT = 10
# A second delivery of an event, or a request that should do nothing, has this long to show itself.
QUIET_SECONDS = 1.5

# What users type that must never come back out of the bot as a live ping, mention or link.
USER_MARKUP = ("<!", "<@U123", "<!subteam", "<#", "<https://evil")
BAD_INPUTS = {
    "rubbish": "qwzx plorb ;;; ]]] %%%",
    "paste_10k": ("lorem 425 ipsum <!channel> dolor <@U123> sit &amp; amet\n" * 200)[:10_240],
    "unicode": "４２５ ünïcødé 💥 错误 ⚠️ \u202etxt.exe",
    "control_chars": "425\x00\x07\x1b[31m\x7f\x08 end",
    "channel_ping": "<!channel> 425",
    "here_ping": "<!here>",
    "user_mention": "<@U123>",
    "subteam_mention": "<!subteam^S1|@team>",
    "link": "<https://evil|click>",
    "entity": "&amp;",
    "typed_markup": "&lt;!channel&gt; &lt;@U123&gt; &lt;!subteam^S1&gt;",
}


def new_id(prefix: str) -> str:
    """A fresh channel or user id, so a test reads only its own calls."""
    return prefix + secrets.token_hex(5).upper()


def hook_id(response_url: str) -> str:
    return response_url.rstrip("/").rsplit("/", 1)[-1]


def wait_response(slack: SlackStandIn, response_url: str, timeout: float = ANSWER_TIMEOUT) -> CallRecord:
    """The first post to `response_url`."""
    hook = hook_id(response_url)
    return slack.wait_for_call("response_url", lambda c: c.extra.get("hook_id") == hook, timeout)


def responses(slack: SlackStandIn, response_url: str) -> list[CallRecord]:
    hook = hook_id(response_url)
    return [c for c in slack.calls("response_url") if c.extra.get("hook_id") == hook]


def posts(slack: SlackStandIn, channel: str, method: str = "chat.postMessage") -> list[CallRecord]:
    return [c for c in slack.calls(method) if c.params.get("channel") == channel]


def wait_posts(slack: SlackStandIn, channel: str, count: int = 1, timeout: float = ANSWER_TIMEOUT) -> list[CallRecord]:
    """At least `count` chat.postMessage calls to `channel` (any status); all of them, oldest first."""
    deadline = time.monotonic() + timeout
    while len(found := posts(slack, channel)) < count:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{len(found)} of {count} posts to {channel} within {timeout} s")
        time.sleep(0.02)
    return found


def wait_quiet(slack: SlackStandIn, quiet: float = 0.5, timeout: float = 10) -> None:
    """Until no call has reached the stand-in for `quiet` s: earlier tests' posts are all in."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        last = max((c.t for c in slack.calls()), default=0.0)
        if time.monotonic() - last >= quiet:
            return
        time.sleep(0.05)
    raise TimeoutError("the stand-in never went quiet")


def all_text(params: dict[str, Any]) -> str:
    """The top-level text and every text in the blocks, one per line."""
    return "\n".join([params.get("text") or "", *text_strings(params.get("blocks") or [])])


def button_ids(params: dict[str, Any]) -> list[str]:
    return [e["action_id"] for b in params.get("blocks") or [] if b["type"] == "actions" for e in b["elements"]]


def button_value(params: dict[str, Any], action_id: str) -> str:
    return next(
        e["value"]
        for b in params.get("blocks") or []
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == action_id
    )


def assert_sendable(params: dict[str, Any]) -> None:
    """What the bot sent is a message Slack takes, and nothing the user typed pings or links through it."""
    assert (params.get("text") or "").strip(), "no text fallback"
    for block in params.get("blocks") or []:
        assert_block_within_limits(block)
    for text in [params.get("text") or "", *text_strings(params.get("blocks") or [])]:
        for markup in USER_MARKUP:
            assert markup not in text, f"{markup!r} got through in {text[:300]!r}"


def assert_full_answer(params: dict[str, Any], entry_id: str, *, ephemeral: bool) -> None:
    """Header, summary, the digits, causes, user and admin actions, source and buttons of one entry."""
    entry = finder().kb.by_id[entry_id]
    blocks = params["blocks"]
    top = next(i for i, b in enumerate(blocks) if b["type"] == "header")  # after a "Shared by" or a note
    assert entry.code in blocks[top]["text"]["text"]
    summary, _, try_first = blocks[top + 1]["text"]["text"].partition("\n")
    assert blocks[top + 1]["type"] == "section" and summary == escape(entry.summary)
    assert try_first == f"*Try first:* {escape(entry.user_action[0])}"
    text = all_text(params)
    assert all(f"`{digit}`" in text for digit in entry.code), "the digit-by-digit reading is missing"
    for title, items in [
        ("Likely causes", entry.causes),
        ("What you can try", entry.user_action),
        ("What the server admin should check", entry.admin_action),
    ]:
        assert f"*{title}*" in text and escape(items[0]) in text, f"{title} missing"
    contexts = [t for b in blocks if b["type"] == "context" for t in text_strings(b)]
    assert any(t.startswith("Source: ") and escape(entry.sources[0]) in t for t in contexts)
    assert entry.code in params["text"] and entry.title in params["text"]
    buttons = button_ids(params)
    assert "start_triage" in buttons
    assert ("share_answer" in buttons) is ephemeral
    assert_sendable(params)


def assert_usage(params: dict[str, Any]) -> None:
    text = all_text(params)
    assert params["blocks"][0]["type"] == "header"
    assert "`/ftpcode 425`" in text and "`/ftpcode list 4xx`" in text
    assert_sendable(params)


def assert_series_table(params: dict[str, Any], series: str) -> None:
    """Every FTP reply code of the series, one row each, and nothing from other series."""
    wanted = [e for e in finder().kb.entries if e.is_three_digit and e.code[0] == series[0]]
    text = all_text(params)
    assert params["blocks"][0]["text"]["text"] == f"FTP {series} replies"
    for entry in wanted:
        assert f"`FTP {entry.code}` {escape(entry.title)}" in text
    assert f"{len(wanted)} codes" in params["text"]
    assert "`FTP 2" not in text and "`FTP 5" not in text
    assert_sendable(params)


def assert_friendly_not_found(params: dict[str, Any]) -> None:
    text = all_text(params)
    assert params["text"].startswith("Nothing found. Try:")
    assert "Try " in text and "`425`" in text
    assert "start_triage" not in button_ids(params)
    assert_sendable(params)


def assert_errors_first(params: dict[str, Any], in_order: list[str]) -> None:
    """One answer for several codes: the first in full, then each other one, in the given order."""
    text = all_text(params)
    positions = [text.find(f"FTP {code}:") for code in in_order]
    assert -1 not in positions, f"not every code answered: {dict(zip(in_order, positions, strict=True))}"
    assert positions == sorted(positions), f"not in the order {in_order}"
    assert params["blocks"][0]["text"]["text"].startswith(f"FTP {in_order[0]}:")
    assert params["text"].endswith("Also: " + ", ".join(f"FTP {c}" for c in in_order[1:]))


def assert_home_view(view: dict[str, Any]) -> None:
    assert view["type"] == "home"
    text = "\n".join(text_strings(view["blocks"]))
    assert "`/ftpcode 425`" in text
    assert all(f"`{d}xx`" in text for d in "123456")


def share_click(slack: SlackStandIn, channel: str, value: str) -> dict[str, Any]:
    """A click on "Share in channel" under an ephemeral answer (which has no `message` in the payload)."""
    payload = slack.block_actions("share_answer", value, channel_id=channel, block_id="answer_actions")
    payload["container"]["is_ephemeral"] = True
    payload.pop("message")
    return payload


def assert_shared(slack: SlackStandIn, channel: str, click: dict[str, Any], entry_id: str) -> None:
    [shared] = wait_posts(slack, channel)
    assert shared.status == 200
    assert_full_answer(shared.params, entry_id, ephemeral=False)
    assert "thread_ts" not in shared.params, "a shared answer goes to the channel itself"
    assert f"Shared by <@{click['user']['id']}>" in all_text(shared.params)
    deleted = wait_response(slack, click["response_url"])
    assert deleted.params.get("delete_original") is True


def bot_env(slack: SlackStandIn, mode: str, tmp: Path) -> dict[str, str]:
    return {**slack.bot_env(mode), "DATABASE_URL": f"sqlite:///{tmp / 'bot.db'}", "LOG_LEVEL": "DEBUG"}


def assert_no_secret_in_logs(slack: SlackStandIn, bot: BotProcess) -> None:
    logs = bot.logs()
    assert "Sending a request" in logs, "the DEBUG log of the Web API calls is missing: nothing was checked"
    for name, secret in [
        ("bot token", slack.bot_token),
        ("app token", slack.app_token),
        ("signing secret", slack.signing_secret),
    ]:
        assert secret not in logs, f"the {name} is in the bot's log"
        assert secret.split("-")[-1] not in logs, f"the secret part of the {name} is in the bot's log"
