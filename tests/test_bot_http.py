"""The bot end to end in HTTP mode: `python -m bot` under gunicorn, requests signed by the Slack stand-in,
answers checked where Slack would receive them (Web API calls and response_url posts).

One bot process serves the whole module. Every test uses its own channel or response_url, so each finds its
own answers in the stand-in's call log. The helpers in the first section are shared with test_bot_socket.py.
"""

from __future__ import annotations

import json
import secrets
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.mrkdwn import escape
from knowledge.lookup import finder
from tests.standin import BotProcess, CallRecord, SlackStandIn, payloads
from tests.test_bot_rendering import assert_block_within_limits, text_strings

# ----- helpers shared with test_bot_socket.py -----

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


# ----- fixtures: one stand-in and one bot process for the module -----


@pytest.fixture(scope="module")
def slack() -> Iterator[SlackStandIn]:
    with SlackStandIn() as running:
        yield running


@pytest.fixture(scope="module")
def bot(slack: SlackStandIn, tmp_path_factory: pytest.TempPathFactory) -> Iterator[BotProcess]:
    tmp = tmp_path_factory.mktemp("bot-http")
    with BotProcess(bot_env(slack, "http", tmp), mode="http", standin=slack, log_path=tmp / "bot.log") as running:
        yield running


def command(slack: SlackStandIn, bot: BotProcess, text: str) -> dict[str, Any]:
    """/ftpcode `text`: answered ephemerally in the acknowledgement itself (a pasted log: on the response_url)."""
    delivery = slack.send_command(bot.events_url, text)
    assert delivery.status == 200, delivery.text
    if not delivery.body:
        answer = wait_response(slack, delivery.sent["response_url"])
        assert answer.status == 200
        return answer.params
    answer = delivery.json()
    assert answer["response_type"] == "ephemeral"
    return answer


def event(slack: SlackStandIn, bot: BotProcess, event: dict[str, Any], **kwargs: Any) -> None:
    delivery = slack.send_event(bot.events_url, event, **kwargs)
    assert delivery.status == 200, delivery.text


def action(slack: SlackStandIn, bot: BotProcess, payload: dict[str, Any]) -> None:
    delivery = slack.send_action(bot.events_url, payload)
    assert delivery.status == 200, delivery.text


# ----- the slash command -----


def test_command_with_a_code_answers_ephemerally_in_full(slack: SlackStandIn, bot: BotProcess) -> None:
    answer = command(slack, bot, "425")
    assert answer["response_type"] == "ephemeral"
    assert_full_answer(answer, "ftp-425", ephemeral=True)


def test_command_answer_travels_in_the_acknowledgement(slack: SlackStandIn, bot: BotProcess) -> None:
    delivery = slack.send_command(bot.events_url, "530")
    assert delivery.status == 200 and delivery.json()["text"].startswith("FTP 530")
    hook = hook_id(delivery.sent["response_url"])
    time.sleep(QUIET_SECONDS)
    assert not [c for c in slack.calls("response_url") if c.extra.get("hook_id") == hook]


def test_a_log_in_the_command_is_acknowledged_first_and_answered_after(slack: SlackStandIn, bot: BotProcess) -> None:
    log = (
        "Status:\tConnecting to 192.0.2.44:21...\n"
        "Error:\tECONNREFUSED - Connection refused by server\n"
        "Error:\tCould not connect to server"
    )
    delivery = slack.send_command(bot.events_url, log)
    assert delivery.status == 200 and not delivery.body
    answer = wait_response(slack, delivery.sent["response_url"]).params
    assert answer["response_type"] == "ephemeral" and "FileZilla" in answer["text"]
    assert_sendable(answer)


@pytest.mark.parametrize("text", ["", "help"])
def test_command_alone_or_help_shows_usage(slack: SlackStandIn, bot: BotProcess, text: str) -> None:
    assert_usage(command(slack, bot, text))


def test_command_list_shows_the_series_table(slack: SlackStandIn, bot: BotProcess) -> None:
    assert_series_table(command(slack, bot, "list 4xx"), "4xx")


def test_command_that_finds_nothing_suggests_what_to_try(slack: SlackStandIn, bot: BotProcess) -> None:
    assert_friendly_not_found(command(slack, bot, "zzqx wibble"))


# ----- mentions, direct messages, the App Home -----


def test_mention_is_answered_in_a_thread_under_it(slack: SlackStandIn, bot: BotProcess) -> None:
    channel = new_id("C")
    mention = payloads.app_mention("530 when I log in", channel=channel)
    event(slack, bot, mention)
    answer, *more = wait_posts(slack, channel)
    assert answer.status == 200
    assert answer.params["thread_ts"] == mention["ts"]
    assert_full_answer(answer.params, "ftp-530", ephemeral=False)
    assert all(p.params.get("thread_ts") == mention["ts"] for p in more)


def test_several_codes_in_one_message_are_each_answered_errors_first(slack: SlackStandIn, bot: BotProcess) -> None:
    channel = new_id("C")
    mention = payloads.app_mention("the upload said 226, then 425, and later 530", channel=channel)
    event(slack, bot, mention)
    [answer, *_] = wait_posts(slack, channel)
    assert answer.params["thread_ts"] == mention["ts"]
    assert_errors_first(answer.params, ["425", "530", "226"])
    assert_sendable(answer.params)


def test_direct_message_is_answered_in_the_dm(slack: SlackStandIn, bot: BotProcess) -> None:
    dm = new_id("D")
    event(slack, bot, payloads.message_im("what is 425?", channel=dm))
    [answer] = wait_posts(slack, dm)
    assert "thread_ts" not in answer.params or answer.params["thread_ts"] is None
    assert_full_answer(answer.params, "ftp-425", ephemeral=False)


def test_opening_the_app_home_publishes_the_home_view(slack: SlackStandIn, bot: BotProcess) -> None:
    user = new_id("U")
    event(slack, bot, payloads.app_home_opened(user=user))
    published = slack.wait_for_call("views.publish", lambda c: c.params.get("user_id") == user, ANSWER_TIMEOUT)
    assert published.status == 200
    assert_home_view(published.params["view"])


# ----- buttons and the message shortcut -----


def test_share_posts_the_answer_in_the_channel_and_deletes_the_ephemeral(slack: SlackStandIn, bot: BotProcess) -> None:
    channel = new_id("C")
    value = button_value(command(slack, bot, "425"), "share_answer")
    click = share_click(slack, channel, value)
    action(slack, bot, click)
    assert_shared(slack, channel, click, "ftp-425")


def test_explain_button_of_a_several_code_answer_explains_that_code(slack: SlackStandIn, bot: BotProcess) -> None:
    answer = command(slack, bot, "226 425 530")
    explain = [b for b in button_ids(answer) if b.startswith("show_answer")]
    assert len(explain) == 2
    click = slack.block_actions(explain[1], button_value(answer, explain[1]), block_id="answer_actions")
    action(slack, bot, click)
    assert_full_answer(wait_response(slack, click["response_url"]).params, "ftp-226", ephemeral=True)


def test_message_shortcut_explains_the_message_privately(slack: SlackStandIn, bot: BotProcess) -> None:
    shortcut = slack.message_action("explain_message", "the server keeps saying 425 Can't open data connection")
    action(slack, bot, shortcut)
    answer = wait_response(slack, shortcut["response_url"]).params
    assert answer["response_type"] == "ephemeral"
    assert_full_answer(answer, "ftp-425", ephemeral=True)


# ----- signatures, url_verification, /healthz -----


@pytest.mark.parametrize("signature", ["forged", "stale", "none"])
def test_badly_signed_requests_get_401_and_do_nothing(slack: SlackStandIn, bot: BotProcess, signature: str) -> None:
    wait_quiet(slack)
    since = time.monotonic()
    channel = new_id("C")
    sent = [
        slack.send_command(bot.events_url, "425", channel_id=channel, signature=signature),  # type: ignore[arg-type]
        slack.send_event(bot.events_url, payloads.app_mention("425", channel=channel), signature=signature),  # type: ignore[arg-type]
        slack.send_action(bot.events_url, share_click(slack, channel, "ftp-425"), signature=signature),  # type: ignore[arg-type]
    ]
    assert [d.status for d in sent] == [401, 401, 401]
    time.sleep(QUIET_SECONDS)
    assert slack.calls(since=since) == [], "a request with a bad signature reached a listener"


def test_url_verification_answers_the_challenge(slack: SlackStandIn, bot: BotProcess) -> None:
    challenge = secrets.token_urlsafe(24)
    delivery = slack.send_url_verification(bot.events_url, challenge)
    assert delivery.status == 200
    assert challenge in delivery.text


def test_healthz_answers_200_json(bot: BotProcess) -> None:
    with urllib.request.urlopen(bot.url + "/healthz", timeout=5) as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("application/json")
        assert json.loads(response.read())["ok"] is True


# ----- rate limits and redelivery -----


def test_rate_limited_post_is_retried_after_retry_after(slack: SlackStandIn, bot: BotProcess) -> None:
    dm = new_id("D")
    wait_quiet(slack)
    slack.fail_next("chat.postMessage", status=429, retry_after=1)
    event(slack, bot, payloads.message_im("425", channel=dm))
    limited, answered = wait_posts(slack, dm, count=2)
    assert (limited.status, answered.status) == (429, 200)
    assert answered.t - limited.t >= 1.0, f"retried after {answered.t - limited.t:.2f} s, before Retry-After"
    assert_full_answer(answered.params, "ftp-425", ephemeral=False)


def test_a_redelivered_event_is_answered_once(slack: SlackStandIn, bot: BotProcess) -> None:
    dm = new_id("D")
    message = payloads.message_im("425", channel=dm)
    event_id = payloads.new_event_id()
    event(slack, bot, message, event_id=event_id)
    event(slack, bot, message, event_id=event_id, retry_num=1, retry_reason="http_timeout")
    wait_posts(slack, dm)
    time.sleep(QUIET_SECONDS)
    assert len(posts(slack, dm)) == 1


def test_an_event_first_delivered_as_a_retry_is_answered(slack: SlackStandIn, bot: BotProcess) -> None:
    dm = new_id("D")
    event(slack, bot, payloads.message_im("425", channel=dm), retry_num=1, retry_reason="http_timeout")
    [answer] = wait_posts(slack, dm)
    assert_full_answer(answer.params, "ftp-425", ephemeral=False)


# ----- bad input through the real process -----


@pytest.mark.parametrize("text", BAD_INPUTS.values(), ids=BAD_INPUTS.keys())
def test_bad_input_to_the_command_is_answered_safely(slack: SlackStandIn, bot: BotProcess, text: str) -> None:
    assert_sendable(command(slack, bot, text))


@pytest.mark.parametrize("text", BAD_INPUTS.values(), ids=BAD_INPUTS.keys())
def test_bad_input_in_a_mention_is_answered_safely(slack: SlackStandIn, bot: BotProcess, text: str) -> None:
    channel = new_id("C")
    mention = payloads.app_mention(text, channel=channel)
    event(slack, bot, mention)
    wait_posts(slack, channel)
    wait_quiet(slack, quiet=0.3)  # a triage question may follow the answer
    for post in posts(slack, channel):
        assert post.status == 200, post.response
        assert post.params["thread_ts"] == mention["ts"]
        assert_sendable(post.params)


# ----- last: the log of everything above -----


def test_debug_logs_never_show_a_token(slack: SlackStandIn, bot: BotProcess) -> None:
    assert_no_secret_in_logs(slack, bot)
