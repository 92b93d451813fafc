"""The bot end to end in HTTP mode: `python -m bot` under gunicorn, requests signed by the Slack stand-in,
answers checked where Slack would receive them (Web API calls and response_url posts).

One bot process serves the whole module. Every test uses its own channel or response_url, so each finds its
own answers in the stand-in's call log. The helpers are in tests/slack_e2e.py.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.slack_e2e import (
    ANSWER_TIMEOUT,
    BAD_INPUTS,
    QUIET_SECONDS,
    assert_errors_first,
    assert_friendly_not_found,
    assert_full_answer,
    assert_home_view,
    assert_no_secret_in_logs,
    assert_sendable,
    assert_series_table,
    assert_shared,
    assert_usage,
    bot_env,
    button_ids,
    button_value,
    hook_id,
    new_id,
    posts,
    share_click,
    wait_posts,
    wait_quiet,
    wait_response,
)
from tests.standin import BotProcess, SlackStandIn, payloads

# ----- fixtures: one stand-in and one bot process for the module -----


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


def test_the_log_lines_of_a_listener_name_its_event(slack: SlackStandIn, bot: BotProcess) -> None:
    """Bolt runs the listeners after every middleware has returned; the event's id reaches their lines anyway."""
    channel, event_id = new_id("C"), payloads.new_event_id()
    event(slack, bot, payloads.app_mention("530 when I log in", channel=channel), event_id=event_id)
    wait_posts(slack, channel)
    running = [line for line in bot.logs().splitlines() if "Running listener: queue_mention" in line]
    assert any(f"event={event_id}" in line for line in running), running[-3:]


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


def loaded_libraries(pid: int) -> str:
    return Path(f"/proc/{pid}/maps").read_text()


def test_the_gunicorn_master_loads_no_event_loop(bot: BotProcess) -> None:
    """asyncio and gunicorn's ASGI worker are loaded in the worker process only (bot/http_mode.py): the master
    never runs an event loop, and they were 4.6 MB of its memory."""
    assert bot.pid is not None
    workers = [int(pid) for pid in Path(f"/proc/{bot.pid}/task/{bot.pid}/children").read_text().split()]
    assert workers, "no gunicorn worker"
    assert "_asyncio" not in loaded_libraries(bot.pid)
    assert all("_asyncio" in loaded_libraries(worker) for worker in workers)


def test_a_lookup_is_answered_while_the_pools_threads_wait_on_the_database(slack: SlackStandIn, tmp_path: Path) -> None:
    """A /ftpcode lookup is answered on the event loop (bot/http_front.py): with the one thread of the pool held by
    an event that waits for a database someone else has locked, the lookup is answered first."""
    env = {**bot_env(slack, "http", tmp_path), "HTTP_THREADS": "1", "DATABASE_TIMEOUT_SECONDS": "5"}
    with BotProcess(env, mode="http", standin=slack, log_path=tmp_path / "bot.log") as running:
        locker = sqlite3.connect(tmp_path / "bot.db", isolation_level=None)
        locker.execute("BEGIN EXCLUSIVE")
        try:
            with ThreadPoolExecutor(max_workers=1) as pool:
                held = pool.submit(slack.send_event, running.events_url, payloads.app_mention("<@UBOT> 530"))
                time.sleep(0.5)  # the event reaches the pool's thread, and waits there
                delivery = slack.send_command(running.events_url, "425")
                assert delivery.status == 200 and delivery.json()["text"].startswith("FTP 425")
                assert not held.done(), "the lookup waited for the pool's thread"
        finally:
            locker.execute("ROLLBACK")
            locker.close()
        assert held.result().status == 200


def test_the_worker_serves_every_thread_from_one_malloc_arena(slack: SlackStandIn, bot: BotProcess) -> None:
    """glibc's malloc gives threads arenas of their own, each a 64 MB-aligned heap that keeps what its thread
    freed; the worker limits itself to the main one (bot/http_mode.py `one_malloc_arena`): 1.7 MB less RSS."""
    assert bot.pid is not None
    with ThreadPoolExecutor(max_workers=12) as pool:
        answers = list(pool.map(lambda code: slack.send_command(bot.events_url, code).status, ["425", "530"] * 30))
    assert answers == [200] * 60
    workers = [int(pid) for pid in Path(f"/proc/{bot.pid}/task/{bot.pid}/children").read_text().split()]
    assert workers and all(thread_arenas(worker) == 0 for worker in workers)


def thread_arenas(pid: int) -> int:
    """Anonymous read-write mappings that start on a 64 MB boundary: glibc's heaps for thread arenas."""
    arenas = 0
    for line in Path(f"/proc/{pid}/maps").read_text().splitlines():
        fields = line.split()
        start = int(fields[0].split("-")[0], 16)
        arenas += len(fields) == 5 and fields[1] == "rw-p" and start % (64 << 20) == 0
    return arenas


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


def test_the_start_asks_slack_who_the_token_is_once(tmp_path: Path) -> None:
    """The master's auth.test (bot/__main__.py `check_slack`) is handed to Bolt in the worker, which does not ask
    again: one round trip to Slack less before the first answer. Bolt's authorization still works with it."""
    with SlackStandIn() as own, BotProcess(bot_env(own, "http", tmp_path), mode="http", standin=own) as running:
        answer = own.send_command(running.events_url, "425")
        assert answer.status == 200 and answer.json()["text"].startswith("FTP 425")
        assert len(own.calls("auth.test")) == 1
