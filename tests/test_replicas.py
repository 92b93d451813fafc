"""Two replicas sharing PostgreSQL: HTTP behind nginx on deploy/nginx.conf, and Socket Mode with two
connections. One replica is killed (SIGKILL to its whole process group) mid-queue and mid-triage: nothing a
user asked is lost, nothing is answered twice, and the triage carries on at the other replica."""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests import nginx_config
from tests.services import need_service
from tests.slack_e2e import new_id, posts
from tests.standin import BotProcess, SlackStandIn, payloads
from tests.standin.process import free_port
from tests.test_store import fresh_postgres_database, postgres_server_url

QUICK = {"JOB_RETRY_BASE_SECONDS": "0.2", "JOB_LEASE_SECONDS": "3", "LOG_LEVEL": "DEBUG"}


@pytest.fixture
def database() -> Iterator[str]:
    with fresh_postgres_database(postgres_server_url()) as url:
        yield url


def replica(slack: SlackStandIn, tmp: Path, name: str, mode: str, database: str) -> BotProcess:
    env = {**slack.bot_env(mode), "DATABASE_URL": database, **QUICK}
    return BotProcess(env, mode=mode, standin=slack, log_path=tmp / f"{name}.log").start().wait_ready(30)


@pytest.fixture
def behind_nginx(slack: SlackStandIn, database: str, tmp_path: Path) -> Iterator[tuple[str, list[BotProcess]]]:
    binary = nginx_config.nginx_binary()
    need_service(binary is not None, "nginx is not installed (bash .ci/run installs Debian's)")
    assert binary is not None
    bots = [replica(slack, tmp_path, f"replica{n}", "http", database) for n in (1, 2)]
    port = free_port()
    upstreams = (f"127.0.0.1:{bots[0].port}", f"127.0.0.1:{bots[1].port}")
    proxy = nginx_config.start(binary, nginx_config.write(tmp_path, f"127.0.0.1:{port}", upstreams))
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: healthy(url), "nginx did not answer /healthz")
        yield url + "/slack/events", bots
    finally:
        proxy.terminate()
        proxy.wait(10)
        for bot in bots:
            bot.stop()


def healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/healthz", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def wait_until(condition: Any, message: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, message
        time.sleep(0.05)


def answers(slack: SlackStandIn, channel: str) -> tuple[list[str], list[str]]:
    """The answers and the triage questions posted in `channel` (200s only)."""
    ok = [c.params["text"] for c in posts(slack, channel) if c.status == 200]
    questions = [text for text in ok if text.startswith("Triage for")]
    return [text for text in ok if text not in questions], questions


def assert_each_answered_once(slack: SlackStandIn, channels: list[str], timeout: float = 45) -> None:
    wait_until(lambda: all(answers(slack, c)[0] for c in channels), "not every question was answered", timeout)
    time.sleep(1.5)  # room for a duplicate
    for channel in channels:
        found, questions = answers(slack, channel)
        assert len(found) == 1, f"{channel}: {found}"
        assert len(questions) <= 1, f"{channel}: the triage started twice"


def question_in(slack: SlackStandIn, channel: str, since: float = 0.0) -> dict[str, Any]:
    call = slack.wait_for_call(
        "chat.postMessage",
        lambda c: c.params.get("channel") == channel and c.params.get("text", "").startswith("Triage for"),
        timeout=30,
        since=since,
    )
    blocks = call.params["blocks"]
    return {"ts": call.response["ts"], "blocks": json.loads(blocks) if isinstance(blocks, str) else blocks}


def click_first_option(slack: SlackStandIn, channel: str, question: dict[str, Any]) -> dict[str, Any]:
    button = next(
        e
        for b in question["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"].startswith("triage_answer_")
    )
    payload = slack.block_actions(button["action_id"], button["value"], channel_id=channel, message_ts=question["ts"])
    payload["message"]["blocks"] = question["blocks"]
    return payload


def test_http_replicas_behind_nginx_lose_nothing_when_one_is_killed(
    slack: SlackStandIn, behind_nginx: tuple[str, list[BotProcess]]
) -> None:
    url, (first, second) = behind_nginx
    # A triage is open before anything breaks.
    triage_channel = new_id("C")
    assert slack.send_event(url, payloads.app_mention("530 when I log in", channel=triage_channel)).status == 200
    question = question_in(slack, triage_channel)

    # Mixed load while chat.postMessage is rate-limited, so work waits in the queue; then one replica dies.
    slack.fail_for("chat.postMessage", seconds=3, status=429, retry_after=3)
    channels = [new_id("C") for _ in range(12)]
    with ThreadPoolExecutor(8) as pool:
        events = pool.map(lambda c: slack.send_event(url, payloads.app_mention("what is 550?", channel=c)), channels)
        commands = pool.map(lambda _: slack.send_command(url, "425", channel_id=new_id("C")), range(12))
        assert all(d.status == 200 for d in events)
        assert all(d.status == 200 and "425" in d.json()["text"] for d in commands)
    first.kill()

    # The triage goes on: the click reaches the replica still alive, which posts the next question.
    since = time.monotonic()
    assert slack.send_action(url, click_first_option(slack, triage_channel, question)).status == 200
    question_in(slack, triage_channel, since)
    more = [new_id("C") for _ in range(4)]
    for channel in more:
        assert slack.send_event(url, payloads.app_mention("what is 550?", channel=channel)).status == 200
    assert_each_answered_once(slack, channels + more)
    assert "Traceback" not in second.logs(), second.log_tail()


def test_two_socket_mode_processes_lose_nothing_when_one_is_killed(
    slack: SlackStandIn, database: str, tmp_path: Path
) -> None:
    first = replica(slack, tmp_path, "socket1", "socket", database)
    second = replica(slack, tmp_path, "socket2", "socket", database)
    slack.socket.spread = True
    try:
        slack.fail_for("chat.postMessage", seconds=3, status=429, retry_after=3)
        channels = [new_id("C") for _ in range(10)]
        for channel in channels:
            slack.wait_for_ack(slack.send_event_envelope(payloads.app_mention("what is 550?", channel=channel)))
        first.kill()
        wait_until(lambda: len(slack.socket.open_connections()) == 1, "the killed replica's socket stayed open")
        more = [new_id("C") for _ in range(4)]
        for channel in more:
            slack.wait_for_ack(slack.send_event_envelope(payloads.app_mention("what is 550?", channel=channel)))
        assert_each_answered_once(slack, channels + more)
        assert "Traceback" not in second.logs(), second.log_tail()
    finally:
        slack.socket.spread = False
        first.stop()
        second.stop()
