"""The stand-in speaks Slack as slack_sdk and Bolt expect it to, without the bot."""

from __future__ import annotations

import json
import math
import os
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest
import websocket
from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler, ServerErrorRetryHandler
from slack_sdk.signature import SignatureVerifier
from slack_sdk.webhook import WebhookClient

from tests.standin import BotProcess, SlackStandIn, fixtures, payloads
from tests.standin.recovery import seconds_to_answer_again, socket_mode_handler

REPO_ROOT = Path(__file__).resolve().parents[1]
RECOVERY_LIMIT = 60


def web_client(slack: SlackStandIn, token: str | None = None) -> WebClient:
    return WebClient(token=token or slack.bot_token, base_url=slack.api_url)


# ----- Web API -----


def test_auth_test_names_the_bot(standin: SlackStandIn) -> None:
    answer = web_client(standin).auth_test()
    assert (answer["team_id"], answer["user_id"], answer["bot_id"]) == (
        standin.team_id,
        standin.bot_user_id,
        payloads.BOT_ID,
    )
    assert answer["url"].startswith("https://")
    [call] = standin.calls("auth.test")
    assert call.headers["authorization"] == f"Bearer {standin.bot_token}"


def test_post_message_records_decoded_blocks_and_keeps_the_thread(standin: SlackStandIn) -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*425* Can't open data connection"}}]
    posted = web_client(standin).chat_postMessage(channel="C9", text="425", blocks=blocks, thread_ts="1.000002")
    assert posted["channel"] == "C9"
    assert posted["message"]["thread_ts"] == "1.000002"
    call = standin.wait_for_call("chat.postMessage", lambda c: c.params["channel"] == "C9", timeout=1)
    assert call.params["blocks"] == blocks
    assert call.response["ts"] == posted["ts"]


def test_chat_update_needs_an_existing_message(standin: SlackStandIn) -> None:
    client = web_client(standin)
    posted = client.chat_postMessage(channel="C1", text="first")
    updated = client.chat_update(channel="C1", ts=posted["ts"], text="second")
    assert updated["message"]["text"] == "second"
    with pytest.raises(SlackApiError) as refused:
        client.chat_update(channel="C1", ts="1.999999", text="nothing there")
    assert refused.value.response["error"] == "message_not_found"


def test_blocks_over_the_limit_are_refused(standin: SlackStandIn) -> None:
    too_many = [{"type": "divider"}] * 51
    with pytest.raises(SlackApiError) as refused:
        web_client(standin).chat_postMessage(channel="C1", text="x", blocks=too_many)
    assert refused.value.response["error"] == "invalid_blocks"


def test_methods_used_by_the_bot_answer(standin: SlackStandIn) -> None:
    client = web_client(standin)
    assert client.chat_postEphemeral(channel="C1", user="U1", text="only you")["message_ts"]
    permalink = client.chat_getPermalink(channel="C1", message_ts="1700000000.000100")["permalink"]
    assert permalink.endswith("/archives/C1/p1700000000000100")
    home = client.views_publish(user_id="U1", view={"type": "home", "blocks": []})
    assert home["view"]["id"].startswith("V")
    modal = {"type": "modal", "title": {"type": "plain_text", "text": "Triage"}, "blocks": []}
    assert client.views_open(trigger_id="1.2.abc", view=modal)["view"]["type"] == "modal"
    assert client.conversations_info(channel="D1")["channel"]["is_im"] is True
    standin.register_user("U7", real_name="Grace Hopper")
    assert client.users_info(user="U7")["user"]["real_name"] == "Grace Hopper"
    methods = [c.method for c in standin.calls()]
    assert methods == [
        "chat.postEphemeral",
        "chat.getPermalink",
        "views.publish",
        "views.open",
        "conversations.info",
        "users.info",
    ]


@pytest.mark.parametrize(
    ("token", "method", "error"),
    [
        ("xoxb-wrong", "auth.test", "invalid_auth"),
        ("", "auth.test", "not_authed"),
        ("APP", "chat.postMessage", "not_allowed_token_type"),
        ("BOT", "apps.connections.open", "not_allowed_token_type"),
    ],
)
def test_tokens_are_checked(standin: SlackStandIn, token: str, method: str, error: str) -> None:
    token = {"APP": standin.app_token, "BOT": standin.bot_token}.get(token, token)
    with pytest.raises(SlackApiError) as refused:
        client = WebClient(token=token or None, base_url=standin.api_url)
        client.api_call(method, params={"channel": "C1", "text": "x"})
    assert refused.value.response["error"] == error


def test_form_encoded_body_with_token_parameter(standin: SlackStandIn) -> None:
    body = "token={}&channel=C1&text=hi&blocks={}".format(
        standin.bot_token, urllib.request.quote(json.dumps([{"type": "divider"}]))
    )
    request = urllib.request.Request(standin.api_url + "chat.postMessage", data=body.encode(), method="POST")
    with urllib.request.urlopen(request) as response:
        assert json.load(response)["ok"] is True
    assert standin.calls("chat.postMessage")[0].params["blocks"] == [{"type": "divider"}]


def test_apps_connections_open_returns_a_fresh_url_each_time(standin: SlackStandIn) -> None:
    client = web_client(standin)
    first = client.apps_connections_open(app_token=standin.app_token)["url"]
    second = client.apps_connections_open(app_token=standin.app_token)["url"]
    assert first.startswith("ws://127.0.0.1:") and "ticket=" in first
    assert first != second


def test_the_http_side_counts_the_connections_it_accepts(standin: SlackStandIn) -> None:
    before = standin.http_connections_accepted
    client = web_client(standin)  # slack_sdk's own client: a new connection per call
    client.auth_test()
    client.auth_test()
    assert standin.http_connections_accepted - before == 2


# ----- failure injection -----


def test_rate_limit_retry_waits_retry_after(standin: SlackStandIn) -> None:
    client = web_client(standin)
    client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=1))
    standin.fail_next("chat.postMessage", status=429, retry_after=1)
    client.chat_postMessage(channel="C1", text="after the limit")
    refused, accepted = standin.calls("chat.postMessage")
    assert (refused.status, refused.response["error"], accepted.status) == (429, "ratelimited", 200)
    assert accepted.t - refused.t >= 1.0


def test_without_a_retry_handler_the_429_surfaces(standin: SlackStandIn) -> None:
    standin.fail_next("chat.postMessage", status=429, retry_after=7)
    with pytest.raises(SlackApiError) as refused:
        web_client(standin).chat_postMessage(channel="C1", text="x")
    assert refused.value.response.status_code == 429
    assert refused.value.response.headers["Retry-After"] == "7"


def test_server_error_once_then_success(standin: SlackStandIn) -> None:
    client = web_client(standin)
    client.retry_handlers.append(ServerErrorRetryHandler(max_retry_count=1))
    standin.fail_next("chat.postMessage", status=500)
    client.chat_postMessage(channel="C1", text="x")
    assert [c.status for c in standin.calls("chat.postMessage")] == [500, 200]


def test_api_error_injection(standin: SlackStandIn) -> None:
    standin.fail_next("chat.postEphemeral", status=200, error="not_in_channel")
    with pytest.raises(SlackApiError) as refused:
        web_client(standin).chat_postEphemeral(channel="C1", user="U1", text="x")
    assert refused.value.response["error"] == "not_in_channel"


def test_a_fault_window_fails_every_call_of_its_method_until_it_ends(standin: SlackStandIn) -> None:
    client = web_client(standin)
    standin.fail_for("chat.postMessage", seconds=0.5, status=503)
    for _ in range(3):
        with pytest.raises(SlackApiError) as refused:
            client.chat_postMessage(channel="C1", text="x")
        assert refused.value.response.status_code == 503
    assert client.auth_test()["ok"] is True  # other methods are not in the window
    time.sleep(0.6)
    assert client.chat_postMessage(channel="C1", text="after")["ok"] is True


def test_a_window_on_every_method_covers_response_urls_and_says_retry_after(standin: SlackStandIn) -> None:
    standin.fail_for("*", seconds=5, status=429, retry_after=3)
    with pytest.raises(SlackApiError) as refused:
        web_client(standin).auth_test()
    assert refused.value.response.headers["Retry-After"] == "3"
    hook = standin.new_response_url()
    request = urllib.request.Request(hook, data=b'{"text": "x"}', headers={"Content-Type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as posted:
        urllib.request.urlopen(request, timeout=5)
    assert posted.value.code == 429


def test_a_slow_window_answers_late_and_is_recorded_on_arrival(standin: SlackStandIn) -> None:
    client = web_client(standin)
    standin.slow_for("auth.test", seconds=5, delay=0.4)
    assert client.auth_test()["ok"] is True
    answered = time.monotonic()
    assert answered - standin.calls("auth.test")[-1].t >= 0.4  # recorded when it came, answered 0.4 s later


# ----- response_url and files -----


def test_response_url_records_the_body_and_allows_five_uses(standin: SlackStandIn) -> None:
    hook = WebhookClient(standin.new_response_url())
    statuses = [hook.send(text=f"answer {n}", response_type="ephemeral").status_code for n in range(6)]
    assert statuses == [200] * 5 + [404]
    first = standin.calls("response_url")[0]
    assert (first.params["text"], first.params["response_type"]) == ("answer 0", "ephemeral")


def test_private_file_needs_the_bot_token(standin: SlackStandIn) -> None:
    file = standin.register_file("session.log", b"425 Can't open data connection.\r\n")
    info = web_client(standin).files_info(file=file["id"])["file"]
    authorized = urllib.request.Request(info["url_private"], headers={"Authorization": f"Bearer {standin.bot_token}"})
    with urllib.request.urlopen(authorized) as response:
        assert response.read() == b"425 Can't open data connection.\r\n"
    with urllib.request.urlopen(info["url_private"]) as response:  # follows the redirect, like Slack's
        assert response.headers.get_content_type() == "text/html"
    assert [c.status for c in standin.calls("files.download")] == [200, 302]


# ----- HTTP-mode delivery -----


class CapturedRequest:
    def __init__(self) -> None:
        self.body = b""
        self.headers: dict[str, str] = {}


@pytest.fixture
def capture() -> Iterator[tuple[str, CapturedRequest]]:
    """A receiver that keeps the last request's raw body and headers."""
    captured = CapturedRequest()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            captured.body = self.rfile.read(int(self.headers["Content-Length"]))
            captured.headers = dict(self.headers.items())
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/slack/events", captured
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize(("signature", "accepted"), [("valid", True), ("forged", False), ("stale", False)])
def test_signature_as_slack_sdk_checks_it(
    standin: SlackStandIn, capture: tuple[str, CapturedRequest], signature: str, accepted: bool
) -> None:
    url, captured = capture
    standin.send_command(url, "421", signature=signature)  # type: ignore[arg-type]
    verifier = SignatureVerifier(standin.signing_secret)
    assert verifier.is_valid_request(captured.body, captured.headers) is accepted


def test_unsigned_delivery_has_no_signature_headers(
    standin: SlackStandIn, capture: tuple[str, CapturedRequest]
) -> None:
    url, captured = capture
    standin.send_url_verification(url, "challenge-1", signature="none")
    assert "X-Slack-Signature" not in captured.headers
    assert json.loads(captured.body) == {
        "token": payloads.VERIFICATION_TOKEN,
        "challenge": "challenge-1",
        "type": "url_verification",
    }


def test_event_delivery_carries_ids_and_retry_headers(
    standin: SlackStandIn, capture: tuple[str, CapturedRequest]
) -> None:
    url, captured = capture
    mention = payloads.app_mention("explain 530")
    standin.send_event(url, mention, event_id="Ev123", retry_num=1, retry_reason="http_timeout")
    body = json.loads(captured.body)
    assert (body["type"], body["event_id"], body["event"]) == ("event_callback", "Ev123", mention)
    assert body["authorizations"][0]["user_id"] == standin.bot_user_id
    assert (captured.headers["X-Slack-Retry-Num"], captured.headers["X-Slack-Retry-Reason"]) == ("1", "http_timeout")


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def bare_http_app(standin: SlackStandIn, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """bench/bare_app's WSGI app, served by wsgiref in a thread, wired to the stand-in."""
    for name, value in standin.bot_env("http").items():
        monkeypatch.setenv(name, value)
    sys.path.insert(0, str(REPO_ROOT))
    from bench import bare_app

    server: WSGIServer = make_server(
        "127.0.0.1",
        0,
        bare_app.with_healthz(bare_app.SlackRequestHandler(bare_app.build_app())),
        handler_class=QuietHandler,
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/slack/events"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize(("signature", "status"), [("valid", 200), ("forged", 401), ("stale", 401), ("none", 401)])
def test_bolt_checks_the_signatures_it_receives(
    standin: SlackStandIn, bare_http_app: str, signature: str, status: int
) -> None:
    assert standin.send_command(bare_http_app, "421", signature=signature).status == status  # type: ignore[arg-type]


def test_bolt_answers_url_verification_events_and_actions(standin: SlackStandIn, bare_http_app: str) -> None:
    status, _, body = standin.send_url_verification(bare_http_app, "xyz")
    assert (status, json.loads(body)) == (200, {"challenge": "xyz"})
    assert standin.send_event(bare_http_app, payloads.message_im("hello")).status == 200
    # No listener for this action: Bolt answers 404, which proves the payload parsed as block_actions.
    assert standin.send_action(bare_http_app, standin.block_actions("explain", "425")).status == 404


# ----- Socket Mode -----


def bolt_app(slack: SlackStandIn) -> App:
    app = App(client=web_client(slack))

    @app.command("/ftpcode")
    def answer(ack: Ack, command: dict[str, Any]) -> None:
        ack(text=f"looking up {command['text']}")

    @app.event("app_mention")
    def ignore_mention() -> None:
        pass

    @app.action("explain")
    def ack_action(ack: Ack) -> None:
        ack()

    return app


@pytest.fixture(params=["builtin", "websocket_client"])
def adapter(request: pytest.FixtureRequest) -> str:
    return request.param


def test_socket_mode_app_receives_and_acks(standin: SlackStandIn, adapter: str) -> None:
    handler = socket_mode_handler(bolt_app(standin), standin.app_token, adapter)
    handler.connect()
    try:
        standin.wait_for_connection(1, timeout=10)
        command = standin.send_command_envelope("421")
        assert standin.wait_for_ack(command, 5)["payload"] == {"text": "looking up 421"}
        event = standin.send_event_envelope(payloads.app_mention("hi"))
        assert "payload" not in standin.wait_for_ack(event, 5)
        action = standin.send_action_envelope(standin.block_actions("explain", "425"))
        assert standin.wait_for_ack(action, 5)["envelope_id"] == action
    finally:
        handler.close()


def test_socket_urls_are_single_use(standin: SlackStandIn) -> None:
    url = web_client(standin).apps_connections_open(app_token=standin.app_token)["url"]
    first = websocket.create_connection(url, timeout=5)
    assert json.loads(first.recv())["type"] == "hello"
    with pytest.raises(websocket.WebSocketBadStatusException):
        websocket.create_connection(url, timeout=5)
    first.close()


@pytest.mark.parametrize("how", ["close", "dead"])
def test_broken_socket_behaves_as_named(standin: SlackStandIn, how: str) -> None:
    url = web_client(standin).apps_connections_open(app_token=standin.app_token)["url"]
    client = websocket.create_connection(url, timeout=2)
    client.recv()  # hello
    client.ping(b"before")
    assert client.recv_data_frame(True)[1].data == b"before"  # pong
    standin.break_socket(how)  # type: ignore[arg-type]
    if how == "close":
        opcode, frame = client.recv_data_frame(True)
        assert (opcode, int.from_bytes(frame.data[:2], "big")) == (websocket.ABNF.OPCODE_CLOSE, 1001)
    else:
        client.ping(b"after")
        with pytest.raises(websocket.WebSocketTimeoutException):
            client.recv_data_frame(True)
    client.sock.close()


def test_disconnect_message_then_close(standin: SlackStandIn) -> None:
    url = web_client(standin).apps_connections_open(app_token=standin.app_token)["url"]
    client = websocket.create_connection(url, timeout=3)
    client.recv()
    standin.break_socket("disconnect", grace=0.5)
    assert json.loads(client.recv()) | {"debug_info": None} == {
        "type": "disconnect",
        "reason": "refresh_requested",
        "debug_info": None,
    }
    assert client.recv_data_frame(True)[0] == websocket.ABNF.OPCODE_CLOSE


def raw_socket(standin: SlackStandIn) -> websocket.WebSocket:
    """A Socket Mode connection opened by hand, past its hello."""
    url = web_client(standin).apps_connections_open(app_token=standin.app_token)["url"]
    client = websocket.create_connection(url, timeout=5)
    assert json.loads(client.recv())["type"] == "hello"
    return client


def send_ack(client: websocket.WebSocket, envelope_id: str) -> None:
    client.send(json.dumps({"envelope_id": envelope_id}))


def test_an_ack_counts_only_on_the_connection_that_carried_its_envelope(standin: SlackStandIn) -> None:
    first, second = raw_socket(standin), raw_socket(standin)
    envelope = standin.send_command_envelope("421")
    assert json.loads(second.recv())["envelope_id"] == envelope  # the newest connection carries new work
    send_ack(first, envelope)
    assert standin.socket.wait_for_refused_ack(envelope, 5).connection_id == standin.connections_opened - 1
    assert envelope not in standin.socket.acks
    send_ack(second, envelope)
    standin.wait_for_ack(envelope, 5)
    send_ack(second, envelope)
    deadline = time.monotonic() + 5
    while not standin.socket.duplicate_acks:
        assert time.monotonic() < deadline, "the second ack was not noticed"
        time.sleep(0.01)
    assert standin.socket.acks[envelope].connection_id == standin.connections_opened
    first.close()
    second.close()


def test_envelopes_go_to_the_pinned_connection_while_it_is_open(standin: SlackStandIn) -> None:
    first, second = raw_socket(standin), raw_socket(standin)
    standin.socket.pinned = standin.connections_opened - 1  # the first of the two (benchmarks of two apps)
    try:
        envelope = standin.send_command_envelope("421")
        assert json.loads(first.recv())["envelope_id"] == envelope
        first.close()
        deadline = time.monotonic() + 5
        while len(standin.socket.open_connections()) > 1:
            assert time.monotonic() < deadline, "the stand-in did not see the first connection close"
            time.sleep(0.01)
        envelope = standin.send_command_envelope("421")
        assert json.loads(second.recv())["envelope_id"] == envelope, "pinned and closed: the newest again"
    finally:
        standin.socket.pinned = None
        second.close()


def test_a_connection_told_to_disconnect_keeps_working_for_its_grace(standin: SlackStandIn) -> None:
    old = raw_socket(standin)
    old_id = standin.break_socket("disconnect", grace=2, reason="too_many_websockets")
    assert json.loads(old.recv())["reason"] == "too_many_websockets"
    # No newer connection yet: the old one still carries work.
    before, held = standin.send_command_envelope("421"), standin.send_command_envelope("421")
    assert [json.loads(old.recv())["envelope_id"] for _ in range(2)] == [before, held]
    new = raw_socket(standin)
    after = standin.send_command_envelope("421")
    assert json.loads(new.recv())["envelope_id"] == after
    send_ack(new, before)
    assert standin.socket.wait_for_refused_ack(before, 5)
    send_ack(old, before)
    send_ack(new, after)
    standin.wait_for_ack(before, 5)
    standin.wait_for_ack(after, 5)
    assert standin.socket.acks[before].connection_id == old_id
    # Once the grace is over, Slack closes the old connection: an ack sent on it no longer counts.
    deadline = time.monotonic() + 10
    while standin.socket.connection_state(old_id) == "draining":
        assert time.monotonic() < deadline, "the old connection was never closed"
        time.sleep(0.01)
    send_ack(old, held)
    assert standin.socket.wait_for_refused_ack(held, 5).connection_id == old_id
    assert held not in standin.socket.acks
    assert old.recv_data_frame(True)[0] == websocket.ABNF.OPCODE_CLOSE
    new.close()


# Settings the measurements recommend (see the report): ping every second for the built-in adapter;
# the websocket_client adapter needs a ping_timeout, which only a subclass can pass.
RECOMMENDED = {"builtin": {"ping_interval": 1.0}, "websocket_client": {"ping_interval": 2.0, "ping_timeout": 1.0}}


@pytest.mark.parametrize("how", ["disconnect", "close", "dead"])
def test_socket_mode_recovers_with_recommended_settings(standin: SlackStandIn, adapter: str, how: str) -> None:
    if adapter == "websocket_client" and os.environ.get("STANDIN_MEASURE_DEFAULTS") != "1":
        # The bot does not use this adapter; about one run in five it never acks the very first envelope, before
        # any break (seen on the old stand-in too), which would make CI flaky for a measurement of a library.
        pytest.skip("the websocket_client adapter is measured only with STANDIN_MEASURE_DEFAULTS=1")
    handler = socket_mode_handler(bolt_app(standin), standin.app_token, adapter, **RECOMMENDED[adapter])
    handler.connect()
    try:
        standin.wait_for_connection(1, timeout=10)
        assert standin.wait_for_ack(standin.send_command_envelope("421"), 5)
        seconds = seconds_to_answer_again(standin, how, RECOVERY_LIMIT)  # type: ignore[arg-type]
    finally:
        handler.close()
    print(f"\nRECOVERY {adapter} {RECOMMENDED[adapter]} after {how}: {seconds:.2f} s")
    assert seconds < RECOVERY_LIMIT


@pytest.mark.skipif(
    os.environ.get("STANDIN_MEASURE_DEFAULTS") != "1", reason="slow (about 2 min); set STANDIN_MEASURE_DEFAULTS=1"
)
@pytest.mark.parametrize("how", ["disconnect", "close", "dead"])
def test_socket_mode_recovery_with_library_defaults(standin: SlackStandIn, adapter: str, how: str) -> None:
    handler = socket_mode_handler(bolt_app(standin), standin.app_token, adapter)
    handler.connect()
    try:
        standin.wait_for_connection(1, timeout=10)
        seconds = seconds_to_answer_again(standin, how, RECOVERY_LIMIT)  # type: ignore[arg-type]
    finally:
        handler.close()
    print(f"\nRECOVERY {adapter} defaults after {how}: {seconds:.2f} s")
    if adapter == "websocket_client" and how == "dead":
        # slack_sdk passes no ping_timeout to websocket-client, which then never notices a dead peer.
        assert math.isinf(seconds)
    else:
        assert seconds < RECOVERY_LIMIT


# ----- the process harness, exercised with bench/bare_app.py -----


def test_bot_process_socket_mode(standin: SlackStandIn, tmp_path: Path) -> None:
    command = [sys.executable, "bench/bare_app.py", "--socket", "--ping-interval", "1"]
    bot = BotProcess(
        standin.bot_env("socket"), mode="socket", standin=standin, command=command, log_path=tmp_path / "log"
    )
    with bot:
        assert standin.wait_for_ack(standin.send_command_envelope("421"), 5)["envelope_id"]
        bot.kill()
        assert not bot.is_running()
        bot.start().wait_ready(20)
        assert standin.connections_opened == 2
    assert bot.process is not None and bot.process.returncode == 0  # SIGTERM handled: clean exit
    assert "--- start" in bot.logs()


def test_bot_process_http_mode_under_gunicorn(standin: SlackStandIn, tmp_path: Path) -> None:
    bot = BotProcess(standin.bot_env("http"), command=[sys.executable, "bench/bare_app.py"], log_path=tmp_path / "log")
    with bot:
        assert standin.send_command(bot.events_url, "421").status == 200
        assert standin.send_command(bot.events_url, "421", signature="forged").status == 401
        started = time.monotonic()
        bot.restart()
        assert time.monotonic() - started < 30
        assert standin.send_command(bot.events_url, "421").status == 200


def test_bot_socket_fixture_wires_the_bot_to_the_stand_in(
    standin: SlackStandIn, bot_socket: fixtures.BotFactory
) -> None:
    bot = bot_socket(command=[sys.executable, "bench/bare_app.py", "--socket"])
    assert bot.env["SLACK_API_URL"] == standin.api_url
    assert bot.env["DATABASE_URL"].startswith("sqlite:///")
    assert "SLACK_SIGNING_SECRET" not in bot.env
    assert standin.wait_for_ack(standin.send_command_envelope("421"), 5)


def test_bot_http_fixture_wires_the_bot_to_the_stand_in(standin: SlackStandIn, bot_http: fixtures.BotFactory) -> None:
    bot = bot_http(command=[sys.executable, "bench/bare_app.py"])
    assert "SLACK_APP_TOKEN" not in bot.env
    assert standin.send_event(bot.events_url, payloads.app_mention("hi")).status == 200
    assert standin.wait_for_call("auth.test").params == {}
