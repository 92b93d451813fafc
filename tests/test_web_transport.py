"""The bot's Web API client keeps connections alive: bot/web_transport.py against local HTTP/1.1 servers.

Each server counts the TCP connections it accepts and plays scripted answers, so a test sees how many
connections a series of calls took and what the client made of each answer.
"""

from __future__ import annotations

import json
import logging
import select
import ssl
import threading
import time
import urllib.request
from collections import deque
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.error import HTTPError, URLError

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler, ServerErrorRetryHandler

from bot import web_transport
from bot.config import from_env
from bot.slack_client import web_client
from bot.web_transport import KeepAliveWebClient
from tests.ftpservers import closed_port, make_self_signed_cert

TOKEN = "xoxb-100000000001-200000000002-keepa1ivet0ken0000000001"
PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")


class Answer:
    """One scripted answer: status, JSON body (or raw bytes), extra headers, and whether to hang up after it."""

    def __init__(
        self,
        status: int = 200,
        body: dict[str, Any] | bytes | None = None,
        headers: dict[str, str] | None = None,
        content_type: str = "application/json; charset=utf-8",
        hang_up: bool = False,
    ) -> None:
        self.status = status
        self.body = body if isinstance(body, bytes) else json.dumps(body or {"ok": True}).encode()
        self.headers = headers or {}
        self.content_type = content_type
        self.hang_up = hang_up


class CountingServer(ThreadingHTTPServer):
    """Answers every POST from its script (then {"ok": true}); counts connections and requests."""

    daemon_threads = True

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        super().__init__(("127.0.0.1", 0), ScriptedHandler)
        if tls is not None:
            self.socket = tls.wrap_socket(self.socket, server_side=True)
        self.scheme = "https" if tls else "http"
        self.accepted = 0
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.script: deque[Answer] = deque()
        self.hang_up_always = False

    def process_request(self, request: Any, client_address: Any) -> None:
        self.accepted += 1
        super().process_request(request, client_address)

    @property
    def api_url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.server_address[1]}/api/"

    def paths(self) -> list[str]:
        return [path for path, _ in self.requests]


class ScriptedHandler(BaseHTTPRequestHandler):
    server: CountingServer
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.requests.append((self.path, dict(self.headers.items())))
        answer = self.server.script.popleft() if self.server.script else Answer()
        self.send_response(answer.status)
        self.send_header("Content-Type", answer.content_type)
        self.send_header("Content-Length", str(len(answer.body)))
        for name, value in answer.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(answer.body)
        # Closing without "Connection: close", as a server does with a connection idle too long.
        if answer.hang_up or self.server.hang_up_always:
            self.close_connection = True


def serve(tls: ssl.SSLContext | None = None) -> Iterator[CountingServer]:
    server = CountingServer(tls)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(autouse=True)
def no_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    """Proxies set in the test runner's environment would send every call down urllib's path."""
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)


@pytest.fixture
def server() -> Iterator[CountingServer]:
    yield from serve()


def bot_client(server: CountingServer) -> KeepAliveWebClient:
    """The client the bot builds, with its retry handlers."""
    env = {"SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": "e4b1c0de5ec7e7f00d5ca1ab1e5eed01"}
    client = web_client(from_env({**env, "SLACK_API_URL": server.api_url}))
    assert isinstance(client, KeepAliveWebClient)
    return client


def raw_call(client: KeepAliveWebClient, url: str) -> dict[str, Any]:
    """The transport step alone, with a request shaped as slack_sdk shapes it."""
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/x-www-form-urlencoded"}
    request = urllib.request.Request(url, data=b"channel=C1", headers=headers, method="POST")
    return client._perform_urllib_http_request_internal(url, request)


def wait_until_closed_by_server(client: KeepAliveWebClient) -> None:
    """Until the client's idle connection shows the server's FIN."""
    [(connection, _)] = client._idle_connections().values()
    assert select.select([connection.sock], [], [], 5)[0], "the server never closed the connection"


# ----- reuse -----


def test_calls_from_one_thread_share_one_connection(server: CountingServer) -> None:
    client = bot_client(server)
    for _ in range(5):
        assert client.auth_test()["ok"] is True
    client.chat_postMessage(channel="C1", text="425")
    assert len(server.requests) == 6
    assert server.accepted == 1


def test_each_thread_has_its_own_connection(server: CountingServer) -> None:
    client = bot_client(server)

    def two_calls() -> None:
        client.auth_test()
        client.auth_test()

    two_calls()
    other = threading.Thread(target=two_calls)
    other.start()
    other.join()
    assert len(server.requests) == 4
    assert server.accepted == 2


def test_a_client_made_for_one_request_shares_the_connections(server: CountingServer) -> None:
    """Bolt builds a plain WebClient per request; a middleware of the bot swaps in one of these (bot/app.py)."""
    client = bot_client(server)
    client.auth_test()
    for team in ("T1", "T2"):
        per_request = WebClient(token=TOKEN, base_url=server.api_url, team_id=team, retry_handlers=[])
        twin = client.sharing_connections(per_request)
        assert (twin.token, twin.default_params, twin.retry_handlers) == (TOKEN, {"team_id": team}, [])
        twin.auth_test()
    assert server.accepted == 1


def test_an_https_url_gets_the_shared_tls_context_and_a_plain_one_none() -> None:
    """urlopen without a context loads the CA store for every connection (Bolt's respond() and file downloads)."""
    shared = web_transport.tls_context_for("https://hooks.slack.com/actions/T1/1/x")
    assert isinstance(shared, ssl.SSLContext) and shared is web_transport.default_ssl_context()
    assert web_transport.tls_context_for("HTTPS://files.slack.com/f") is shared
    assert web_transport.tls_context_for("http://127.0.0.1:8080/hook") is None


def test_a_connection_the_server_closed_while_idle_is_replaced(
    server: CountingServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    server.hang_up_always = True
    client = bot_client(server)
    client.auth_test()
    wait_until_closed_by_server(client)
    # Seen before sending: neither the transport's second try nor slack_sdk's retry handlers are needed.
    monkeypatch.setattr(web_transport, "_was_dropped", lambda error: False)
    client.retry_handlers = []
    client.auth_test()
    assert server.paths() == ["/api/auth.test"] * 2, "the second call was sent more than once"
    assert server.accepted == 2


def test_a_request_on_a_connection_closed_under_it_is_sent_once_more(
    server: CountingServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server's FIN can arrive after the check and before the request: the request goes out again, once."""
    server.hang_up_always = True
    client = bot_client(server)
    client.retry_handlers = []  # the transport's own second try, not slack_sdk's
    client.auth_test()
    wait_until_closed_by_server(client)
    monkeypatch.setattr(web_transport, "_dropped", lambda sock: False)
    assert client.auth_test()["ok"] is True
    assert server.paths() == ["/api/auth.test"] * 2
    assert server.accepted == 2


def test_a_connection_idle_too_long_is_not_reused(server: CountingServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """A NAT may have dropped it silently: no FIN to see, and a request on it would hang until the timeout."""
    client = bot_client(server)
    client.auth_test()
    client.auth_test()
    monkeypatch.setattr(web_transport, "MAX_IDLE_SECONDS", 0.0)
    client.auth_test()
    assert server.accepted == 2


def test_connection_close_is_honoured(server: CountingServer) -> None:
    server.script.append(Answer(headers={"Connection": "close"}))
    client = bot_client(server)
    client.auth_test()
    assert client._idle_connections() == {}, "a connection the server said it closes was kept"
    client.auth_test()
    client.auth_test()
    assert server.accepted == 2


def test_a_fresh_connection_that_fails_raises_as_urlopen_does() -> None:
    client = KeepAliveWebClient(token=TOKEN, base_url=f"http://127.0.0.1:{closed_port()}/api/", retry_handlers=[])
    with pytest.raises(URLError) as failed:
        client.auth_test()
    assert isinstance(failed.value.reason, ConnectionRefusedError)


# ----- slack_sdk's retry handlers see what urlopen gives them -----


def with_sdk_retries(client: KeepAliveWebClient) -> KeepAliveWebClient:
    """slack_sdk's own 429 and 5xx handlers, which the bot leaves to its work queue but others may add."""
    client.retry_handlers = [RateLimitErrorRetryHandler(max_retry_count=1), ServerErrorRetryHandler(max_retry_count=1)]
    return client


def test_a_429_is_retried_after_retry_after_on_the_same_connection(server: CountingServer) -> None:
    server.script.append(Answer(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "1"}))
    client = with_sdk_retries(bot_client(server))
    started = time.monotonic()
    assert client.chat_postMessage(channel="C1", text="425")["ok"] is True
    assert time.monotonic() - started >= 1.0
    assert server.paths() == ["/api/chat.postMessage"] * 2
    assert server.accepted == 1


def test_a_500_is_retried_once(server: CountingServer) -> None:
    server.script.append(Answer(500, {"ok": False, "error": "internal_error"}))
    client = with_sdk_retries(bot_client(server))
    assert client.auth_test()["ok"] is True
    assert len(server.requests) == 2

    server.script.extend([Answer(500, {"ok": False, "error": "internal_error"})] * 2)
    with pytest.raises(SlackApiError) as failed:
        client.auth_test()
    assert failed.value.response.status_code == 500
    assert len(server.requests) == 4


def test_an_error_status_raises_http_error_holding_the_body(server: CountingServer) -> None:
    server.script.append(Answer(404, b"no such method", {"X-Why": "test"}, content_type="text/plain; charset=utf-8"))
    with pytest.raises(HTTPError) as failed:
        raw_call(bot_client(server), server.api_url + "nothing.here")
    error = failed.value
    assert (error.code, error.read(), error.headers["X-Why"]) == (404, b"no such method", "test")
    assert error.headers.get_content_charset() == "utf-8"


def test_the_answer_has_urlopens_shape(server: CountingServer) -> None:
    latin1 = '{"ok": true, "text": "caf\xe9"}'
    server.script.append(Answer(body=latin1.encode("latin-1"), content_type="application/json; charset=iso-8859-1"))
    answer = raw_call(bot_client(server), server.api_url + "chat.postMessage")
    assert answer["status"] == 200 and answer["body"] == latin1
    headers = answer["headers"]
    assert headers.get_content_charset() == "iso-8859-1"
    assert ("Content-Length", str(len(answer["body"]))) in headers.items()


def test_gzip_bodies_stay_bytes(server: CountingServer) -> None:
    server.script.append(Answer(body=b"\x1f\x8b\x08\x00", content_type="application/gzip"))
    answer = raw_call(bot_client(server), server.api_url + "admin.analytics.getFile")
    assert answer["body"] == b"\x1f\x8b\x08\x00"


def test_the_token_is_sent_but_never_logged(server: CountingServer, caplog: pytest.LogCaptureFixture) -> None:
    client = bot_client(server)
    with caplog.at_level(logging.DEBUG, logger="bot.slack"):
        client.auth_test()
    assert server.requests[0][1]["Authorization"] == f"Bearer {TOKEN}"
    assert "Received the following response" in caplog.text
    assert TOKEN not in caplog.text and TOKEN.split("-")[-1] not in caplog.text


# ----- TLS -----


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[CountingServer, Path]]:
    pem = make_self_signed_cert(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(pem)
    for running in serve(context):
        yield running, pem


def test_https_calls_share_one_tls_connection(tls_server: tuple[CountingServer, Path]) -> None:
    server, pem = tls_server
    client = KeepAliveWebClient(token=TOKEN, base_url=server.api_url, ssl=ssl.create_default_context(cafile=pem))
    for _ in range(3):
        client.auth_test()
    assert server.accepted == 1


def test_https_without_a_context_verifies_the_certificate(tls_server: tuple[CountingServer, Path]) -> None:
    server, _ = tls_server
    client = KeepAliveWebClient(token=TOKEN, base_url=server.api_url, retry_handlers=[])
    with pytest.raises(URLError) as refused:
        client.auth_test()
    assert isinstance(refused.value.reason, ssl.SSLCertVerificationError)


# ----- what goes through slack_sdk's urlopen instead -----


@pytest.fixture
def proxies_read_afresh() -> Iterator[None]:
    """The transport reads the environment's proxies once per process: each test here reads its own."""
    web_transport._environment_proxies.cache_clear()
    yield
    web_transport._environment_proxies.cache_clear()


@pytest.mark.usefixtures("proxies_read_afresh")
def test_a_proxy_in_the_environment_is_used(server: CountingServer, monkeypatch: pytest.MonkeyPatch) -> None:
    client = bot_client(server)
    monkeypatch.setattr(urllib.request, "_opener", None)  # urlopen's shared opener read the environment once
    for proxy in serve():
        # Set after the client was built, so only urllib's own reading of the environment can find it.
        monkeypatch.setenv("http_proxy", f"http://127.0.0.1:{proxy.server_address[1]}")
        client.auth_test()
        assert proxy.paths() == [server.api_url + "auth.test"], "the call did not go through the proxy"
    assert server.requests == []


@pytest.mark.usefixtures("proxies_read_afresh")
def test_a_host_the_environment_exempts_from_the_proxy_keeps_its_connection(
    server: CountingServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = bot_client(server)
    monkeypatch.setenv("http_proxy", f"http://127.0.0.1:{closed_port()}")
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    client.auth_test()
    client.auth_test()
    assert server.accepted == 1


def test_a_configured_proxy_goes_through_slack_sdk(server: CountingServer, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []

    def parent(self: KeepAliveWebClient, url: str, req: urllib.request.Request) -> dict[str, Any]:
        calls.append(url)
        return {"status": 200, "headers": {}, "body": '{"ok": true}'}

    monkeypatch.setattr(WebClient, "_perform_urllib_http_request_internal", parent)
    client = KeepAliveWebClient(token=TOKEN, base_url=server.api_url, proxy="http://proxy.invalid:3128")
    client.auth_test()
    assert calls == [server.api_url + "auth.test"] and server.requests == []


def test_other_schemes_are_refused_as_slack_sdk_refuses_them() -> None:
    client = KeepAliveWebClient(token=TOKEN)
    request = urllib.request.Request("file:///etc/passwd", data=b"", method="POST")
    with pytest.raises(SlackRequestError):
        client._perform_urllib_http_request_internal("file:///etc/passwd", request)
