"""The bot against a Slack that misbehaves as Slack does: slow calls, 429 with Retry-After, 5xx, a database
that stops answering, a bot killed mid-work. Nothing a user asked is lost, nothing is answered twice, and
no acknowledgement misses Slack's 3-second deadline.

Each test runs its own bot process (HTTP mode unless it says otherwise) against one stand-in; the waits are
short and configurable (a Retry-After of 3 s proves what one of 60 s would).
"""

from __future__ import annotations

import json
import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.slack_e2e import new_id, posts, wait_posts
from tests.standin import BotProcess, SlackStandIn, payloads
from tests.tcp_proxy import SilentableProxy
from tests.test_store import fresh_postgres_database, postgres_server_url

SLACK_ACK_DEADLINE = 3.0  # Slack shows the user an error when a request is not acknowledged in 3 s
QUICK_RETRIES = {"JOB_RETRY_BASE_SECONDS": "0.2", "JOB_LEASE_SECONDS": "3", "DATABASE_TIMEOUT_SECONDS": "0.5"}


def start(slack: SlackStandIn, tmp: Path, mode: str = "http", **env: str) -> BotProcess:
    full = {
        **slack.bot_env(mode),
        "DATABASE_URL": f"sqlite:///{tmp / 'bot.sqlite3'}",
        "LOG_LEVEL": "DEBUG",
        **QUICK_RETRIES,
        **env,
    }
    return BotProcess(full, mode=mode, standin=slack, log_path=tmp / "bot.log").start().wait_ready(30)


def mention(slack: SlackStandIn, bot: BotProcess, channel: str, text: str = "what is 550?") -> None:
    event = payloads.app_mention(text, channel=channel)
    if bot.mode == "http":
        assert slack.send_event(bot.events_url, event).status == 200
    else:
        slack.wait_for_ack(slack.send_event_envelope(event))


def command_ack_seconds(slack: SlackStandIn, bot: BotProcess, text: str = "425") -> float:
    """How long /ftpcode waited for its acknowledgement, which must carry the answer."""
    if bot.mode == "http":
        delivery = slack.send_command(bot.events_url, text, channel_id=new_id("C"))
        assert delivery.status == 200 and "425" in delivery.json()["text"]
        return delivery.elapsed
    sent = time.monotonic()
    envelope_id = slack.send_command_envelope(text, channel_id=new_id("C"))
    ack = slack.wait_for_ack(envelope_id, timeout=10)
    assert "425" in ack["payload"]["text"]
    return slack.socket.acks[envelope_id].t - sent


def answered_once(slack: SlackStandIn, channels: list[str], timeout: float) -> None:
    """Every channel got exactly one answer (a 200 chat.postMessage), and no channel got two."""
    for channel in channels:
        wait_ok_posts(slack, channel, timeout)
    time.sleep(1.0)  # room for a duplicate to show itself
    for channel in channels:
        ok = [c.params["text"] for c in posts(slack, channel) if c.status == 200]
        questions = [text for text in ok if text.startswith("Triage for")]
        answers = [text for text in ok if text not in questions]
        assert len(answers) == 1 and "550" in answers[0], f"{channel}: {ok}"
        assert len(questions) <= 1, f"{channel}: the triage was started twice: {questions}"


def wait_ok_posts(slack: SlackStandIn, channel: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not any(c.status == 200 for c in posts(slack, channel)):
        if time.monotonic() > deadline:
            statuses = [c.status for c in posts(slack, channel)]
            raise TimeoutError(f"no answer in {channel} within {timeout} s (calls: {statuses})")
        time.sleep(0.05)


def assert_no_traceback(bot: BotProcess) -> None:
    assert "Traceback" not in bot.logs(), bot.log_tail()


@pytest.mark.parametrize("mode", ["http", "socket"])
@pytest.mark.parametrize("fault", ["slow", "ratelimited"])
def test_commands_are_acknowledged_in_time_while_mentions_wait_on_slack(
    slack: SlackStandIn, tmp_path: Path, mode: str, fault: str
) -> None:
    """20 mentions wait on a slow (2 s a call) or rate-limited chat.postMessage; 20 /ftpcode that follow are
    acknowledged, with their answers, within Slack's deadline; then every mention is answered once."""
    bot = start(slack, tmp_path, mode)
    try:
        if fault == "slow":
            slack.slow_for("chat.postMessage", seconds=6, delay=2.0)
        else:
            slack.fail_for("chat.postMessage", seconds=4, status=429, retry_after=4)
        channels = [new_id("C") for _ in range(20)]
        with ThreadPoolExecutor(20) as pool:
            list(pool.map(lambda c: mention(slack, bot, c), channels))
            waits = list(pool.map(lambda _: command_ack_seconds(slack, bot), range(20)))
        assert max(waits) < SLACK_ACK_DEADLINE, f"slowest ack {max(waits):.2f} s"
        answered_once(slack, channels, timeout=30)
        assert_no_traceback(bot)
    finally:
        bot.stop()


@pytest.mark.parametrize("status", [429, 500, 503])
def test_answers_outlive_a_slack_incident(slack: SlackStandIn, tmp_path: Path, status: int) -> None:
    """Every Web API call and response_url post fails for 5 s; the 10 mentions asked meanwhile are all
    answered once, after it."""
    bot = start(slack, tmp_path)
    try:
        slack.fail_for("*", seconds=5, status=status, retry_after=2)
        channels = [new_id("C") for _ in range(10)]
        for channel in channels:
            mention(slack, bot, channel)
        answered_once(slack, channels, timeout=40)
        assert_no_traceback(bot)
    finally:
        bot.stop()


def test_a_retry_after_longer_than_a_listener_could_wait_is_honoured_not_dropped(
    slack: SlackStandIn, tmp_path: Path
) -> None:
    bot = start(slack, tmp_path)
    try:
        channel = new_id("C")
        slack.fail_next("chat.postMessage", status=429, retry_after=45)
        asked = time.time()
        mention(slack, bot, channel)
        slack.wait_for_call("chat.postMessage", lambda c: c.params.get("channel") == channel and c.status == 429)
        database = tmp_path / "bot.sqlite3"
        deadline = time.monotonic() + 10
        while (row := queued_job(database)) is None or row[2] is None:
            assert time.monotonic() < deadline, "the job was not put back in the queue"
            time.sleep(0.05)
        status, run_after, error = row
        assert status == "queued" and "429" in error
        assert run_after - asked >= 44, "the job must wait out the whole Retry-After"
        assert not [c for c in posts(slack, channel) if c.status == 200]
    finally:
        bot.stop()


def queued_job(database: Path) -> tuple[str, float, str | None] | None:
    with sqlite3.connect(database) as db:
        return db.execute("SELECT status, run_after, last_error FROM jobs").fetchone()


@pytest.mark.parametrize("how", ["kill", "sigterm"])
def test_work_queued_before_a_crash_or_restart_is_done_by_the_next_process(
    slack: SlackStandIn, tmp_path: Path, how: str
) -> None:
    bot = start(slack, tmp_path)
    slack.fail_for("chat.postMessage", seconds=3, status=429, retry_after=3)
    channels = [new_id("C") for _ in range(5)]
    for channel in channels:
        mention(slack, bot, channel)
    slack.wait_for_call("chat.postMessage", lambda c: c.status == 429 and c.params.get("channel") in channels)
    if how == "kill":
        bot.kill()
    else:
        bot.stop()
    bot.start().wait_ready(30)
    try:
        answered_once(slack, channels, timeout=30)
    finally:
        bot.stop()


def first_option_click(slack: SlackStandIn, message: dict, ts: str) -> dict:
    blocks = json.loads(message["blocks"]) if isinstance(message["blocks"], str) else message["blocks"]
    button = next(
        e for b in blocks if b["type"] == "actions" for e in b["elements"] if "triage_answer" in e["action_id"]
    )
    payload = slack.block_actions(button["action_id"], button["value"], channel_id=message["channel"], message_ts=ts)
    payload["message"]["blocks"] = blocks
    return payload


def test_a_database_that_stops_answering_leaves_answers_that_need_none(slack: SlackStandIn, tmp_path: Path) -> None:
    """Another process holds the SQLite database's write lock: events are answered from memory, /ftpcode
    in its ack, and a triage click gets "try again" instead of hanging."""
    bot = start(slack, tmp_path)
    database = tmp_path / "bot.sqlite3"
    triage_channel = new_id("C")
    mention(slack, bot, triage_channel, "530 when I log in")
    question = slack.wait_for_call(
        "chat.postMessage",
        lambda c: c.params.get("channel") == triage_channel and c.params.get("text", "").startswith("Triage for"),
    )
    blocker = sqlite3.connect(database, isolation_level=None, timeout=5)
    try:
        blocker.execute("BEGIN EXCLUSIVE")
        click = first_option_click(slack, question.params, question.response["ts"])
        assert slack.send_action(bot.events_url, click).status == 200
        hook = click["response_url"].rsplit("/", 1)[-1]
        note = slack.wait_for_call("response_url", lambda c: c.extra["hook_id"] == hook)
        assert "try again in a minute" in note.params["text"].lower()
        channels = [new_id("C") for _ in range(3)]
        for channel in channels:
            mention(slack, bot, channel)
        assert command_ack_seconds(slack, bot) < SLACK_ACK_DEADLINE
        for channel in channels:
            wait_posts(slack, channel, 1, timeout=15)
        blocker.execute("ROLLBACK")
        assert_no_traceback(bot)
    finally:
        blocker.close()
        bot.stop()


def test_log_lines_carry_the_event_job_and_triage_they_were_written_for(slack: SlackStandIn, tmp_path: Path) -> None:
    bot = start(slack, tmp_path, LOG_FORMAT="json")
    try:
        channel = new_id("C")
        event = payloads.app_mention("530 when I log in", channel=channel)
        body = payloads.event_callback(event)
        slack.fail_next("chat.postMessage", status=429, retry_after=1)  # so the job logs that it runs again
        assert slack.send_event(bot.events_url, event, event_id=body["event_id"]).status == 200
        slack.wait_for_call(
            "chat.postMessage",
            lambda c: c.params.get("channel") == channel and c.params.get("text", "").startswith("Triage for"),
            timeout=15,
        )
        lines = [json.loads(line) for line in bot.logs().splitlines() if line.startswith("{")]
        about_event = [line for line in lines if line.get("event") == body["event_id"]]
        assert any("runs again" in line["message"] and line.get("job") for line in about_event), about_event
        assert any(line.get("triage") for line in about_event), "no line names the triage"
    finally:
        bot.stop()


def test_a_frozen_postgresql_never_holds_an_acknowledgement(slack: SlackStandIn, tmp_path: Path) -> None:
    """The database host stops answering without closing anything (a partition, a frozen VM): the driver has
    no timeout for a query sent to it. Commands and events are still acknowledged within Slack's deadline,
    and the events answered (from memory), while /readyz says the database is out."""
    server = urlsplit(postgres_server_url())
    with fresh_postgres_database(postgres_server_url()) as url:
        proxy = SilentableProxy((server.hostname or "127.0.0.1", server.port or 5432))
        proxied = urlsplit(url)._replace(netloc=f"{server.username}@127.0.0.1:{proxy.port}").geturl()
        bot = start(slack, tmp_path, DATABASE_URL=proxied)
        try:
            mention(slack, bot, new_id("C"))  # the pool's connections are made and in use
            proxy.go_silent()
            channels = [new_id("C") for _ in range(5)]
            started = time.monotonic()
            for channel in channels:
                mention(slack, bot, channel)
            assert time.monotonic() - started < 5 * SLACK_ACK_DEADLINE
            waits = [command_ack_seconds(slack, bot) for _ in range(5)]
            assert max(waits) < SLACK_ACK_DEADLINE, waits
            for channel in channels:
                wait_posts(slack, channel, 1, timeout=15)
        finally:
            bot.kill()
            proxy.close()
