"""/metrics and /readyz through a real bot process, in HTTP mode (two gunicorn workers, whose samples /metrics
adds up) and in Socket Mode (PORT set): requests counted and timed where the ack leaves, Web API calls by
outcome, triages; not ready while the database file is gone or Slack's socket is down.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from tests.slack_e2e import new_id, wait_posts, wait_quiet
from tests.standin import BotProcess, SlackStandIn, payloads
from tests.standin.process import free_port

WAIT_SECONDS = 30
API = ("ok", "ratelimited", "server_error", "network_error", "api_error")


def get(url: str) -> tuple[int, str, str]:
    """(status, content type, body) of a GET, whatever the status."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.headers["Content-Type"], response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers["Content-Type"], error.read().decode()


def samples(base_url: str) -> dict[tuple[str, frozenset], float]:
    """Every sample of /metrics, keyed by (name, its labels)."""
    status, content_type, text = get(base_url + "/metrics")
    assert status == 200 and content_type.startswith("text/plain"), (status, content_type)
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(found: dict[tuple[str, frozenset], float], name: str, **labels: str) -> float:
    return found.get((name, frozenset(labels.items())), 0.0)


def wait_for(condition: Any, what: str) -> Any:
    deadline = time.monotonic() + WAIT_SECONDS
    while not (result := condition()):
        assert time.monotonic() < deadline, f"not within {WAIT_SECONDS} s: {what}"
        time.sleep(0.1)
    return result


def wait_for_samples(base_url: str, predicate: Any, what: str) -> dict[tuple[str, frozenset], float]:
    """/metrics once `predicate(samples)` holds (what the bot counts after its answer may come a moment later)."""
    found: dict[tuple[str, frozenset], float] = {}

    def holds() -> bool:
        nonlocal found
        found = samples(base_url)
        return bool(predicate(found))

    wait_for(holds, what)
    return found


def readiness(base_url: str) -> tuple[int, dict[str, Any]]:
    status, content_type, body = get(base_url + "/readyz")
    assert content_type == "application/json"
    return status, json.loads(body)


def database_file(bot: BotProcess) -> Path:
    return Path(bot.env["DATABASE_URL"].removeprefix("sqlite:///"))


# ----- HTTP mode -----


def test_http_metrics_count_requests_acks_web_api_calls_and_triages(standin: SlackStandIn, bot_http) -> None:
    bot = bot_http({"WEB_CONCURRENCY": "2"})
    before = samples(bot.url)
    for _ in range(4):  # spread over both workers: /metrics must add up both
        delivery = standin.send_command(bot.events_url, "425")
        assert delivery.status == 200 and "FTP 425" in delivery.json()["text"]
    # A worker's first samples wait in memory until it has loaded prometheus_client, just after its first answer
    # (bot/warm_up.py): a scrape at that moment may not see them yet.
    after = wait_for_samples(
        bot.url,
        lambda s: (
            value(s, "ftpcode_ack_seconds_count", kind="command")
            - value(before, "ftpcode_ack_seconds_count", kind="command")
            >= 4
        ),
        "four acks counted",
    )
    assert (
        value(after, "ftpcode_requests_total", kind="command", status="200")
        - value(before, "ftpcode_requests_total", kind="command", status="200")
        == 4
    )
    assert (
        value(after, "ftpcode_ack_seconds_count", kind="command")
        - value(before, "ftpcode_ack_seconds_count", kind="command")
        == 4
    )
    slowest_bucket = value(after, "ftpcode_ack_seconds_bucket", kind="command", le="3.0")
    assert slowest_bucket == value(after, "ftpcode_ack_seconds_count", kind="command")

    # A mention with a code: its job's chat.postMessage is rate-limited once, so the job runs again; a triage.
    channel = new_id("C")
    wait_quiet(standin)
    standin.fail_next("chat.postMessage", status=429, retry_after=1)
    delivery = standin.send_event(bot.events_url, payloads.app_mention("530 when I log in", channel=channel))
    assert delivery.status == 200
    wait_posts(standin, channel, count=3)  # the refused answer, the answer, the first triage question
    found = wait_for_samples(
        bot.url,
        lambda s: value(s, "ftpcode_jobs_done_total", kind="mention") == 1,
        "the mention's job done",
    )
    assert value(found, "ftpcode_requests_total", kind="event", status="200") == 1
    calls = {o: value(found, "ftpcode_slack_api_calls_total", method="chat.postMessage", outcome=o) for o in API}
    assert calls["ratelimited"] == 1 and calls["ok"] >= 2, calls
    assert value(found, "ftpcode_jobs_queued_total", kind="mention") == 1
    assert value(found, "ftpcode_jobs_started_total", kind="mention") == 2
    assert value(found, "ftpcode_jobs_retried_total", kind="mention") == 1
    assert value(found, "ftpcode_jobs_failed_total", kind="mention") == 0
    assert value(found, "ftpcode_triages_total", outcome="started") == 1

    standin.fail_next("chat.postMessage", status=200, error="not_in_channel")
    standin.send_event(bot.events_url, payloads.app_mention("425", channel=new_id("C")))
    wait_for_samples(
        bot.url,
        lambda s: value(s, "ftpcode_slack_api_calls_total", method="chat.postMessage", outcome="api_error") == 1,
        "a refused chat.postMessage counted as api_error",
    )


def test_http_readyz_is_503_while_the_database_file_is_gone(bot_http) -> None:
    bot = bot_http()
    assert readiness(bot.url) == (200, {"ready": True})
    path = database_file(bot)
    moved = path.with_name("moved-away.db")
    path.rename(moved)  # the bot's open connections would carry on writing to a file nobody can find
    try:
        status, body = readiness(bot.url)
        assert status == 503 and body["ready"] is False, body
        assert set(body["reasons"]) == {"database"} and "OperationalError" in body["reasons"]["database"]
        assert value(samples(bot.url), "ftpcode_database_errors_total") >= 1
        status, _, _ = get(bot.url + "/healthz")
        assert status == 200, "liveness does not depend on the database"
    finally:
        moved.rename(path)
    assert readiness(bot.url) == (200, {"ready": True})


# ----- Socket Mode -----


def test_socket_mode_metrics_count_an_acknowledged_command(bot_socket) -> None:
    port = free_port()
    bot = bot_socket({"PORT": str(port)})
    base = f"http://127.0.0.1:{port}"
    slack = bot.standin
    wait_for(lambda: get(base + "/healthz")[0] == 200, "connected")
    before = samples(base)
    envelope = slack.send_envelope("slash_commands", payloads.command_payload("425"))
    assert "FTP 425" in slack.wait_for_ack(envelope)["payload"]["text"]
    after = wait_for_samples(
        base, lambda s: value(s, "ftpcode_ack_seconds_count", kind="command"), "the command's ack observed"
    )
    assert value(before, "ftpcode_requests_total", kind="command", status="200") == 0
    assert value(after, "ftpcode_requests_total", kind="command", status="200") == 1
    assert value(after, "ftpcode_ack_seconds_count", kind="command") == 1
    assert value(after, "ftpcode_slack_api_calls_total", method="apps.connections.open", outcome="ok") >= 1


def test_socket_mode_readyz_is_503_while_slack_cannot_be_reached(bot_socket) -> None:
    port = free_port()
    bot = bot_socket({"PORT": str(port)})
    base = f"http://127.0.0.1:{port}"
    slack = bot.standin
    wait_for(lambda: readiness(base)[0] == 200, "ready once connected")
    assert readiness(base) == (200, {"ready": True})
    # The socket closes and every new one is refused for a while: Slack is unreachable.
    slack.fail_next("apps.connections.open", status=500, retry_after=None, times=1000)
    slack.break_socket("close")
    _, body = wait_for(lambda: (r := readiness(base))[0] == 503 and r, "not ready without a connection")
    assert body["ready"] is False and set(body["reasons"]) == {"slack"}, body
    assert bot.is_running()
