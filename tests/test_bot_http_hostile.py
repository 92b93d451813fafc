"""HTTP mode against a hostile internet: slow sockets, oversized bodies, idle kept-alive connections, no signature.

The bot runs as a real process (`python -m bot`) against the Slack stand-in; the attacks come from raw sockets on
loopback. Each loop here is bounded in count and in time.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlencode

import pytest

from tests.slack_e2e import bot_env
from tests.standin import BotProcess, SlackStandIn, delivery, payloads

SLACK_DEADLINE = 3.0  # Slack gives up on an acknowledgement after 3 s
MB = 1024 * 1024


@pytest.fixture(scope="module")
def bot(slack: SlackStandIn, tmp_path_factory: pytest.TempPathFactory) -> Iterator[BotProcess]:
    """The bot with its defaults (HTTP_MAX_BODY_BYTES 1 MB, HTTP_BODY_TIMEOUT_SECONDS 10, HTTP_KEEPALIVE_SECONDS 75)."""
    tmp = tmp_path_factory.mktemp("bot-hostile")
    env = {**bot_env(slack, "http", tmp), "LOG_LEVEL": "INFO"}
    with BotProcess(env, mode="http", standin=slack, log_path=tmp / "bot.log") as running:
        yield running


# ----- raw HTTP on loopback -----


def connect(bot: BotProcess, timeout: float = 5) -> socket.socket:
    return socket.create_connection(("127.0.0.1", bot.port), timeout=timeout)


def request_head(method: str, path: str, headers: dict[str, str]) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def read_response(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """One response: status, headers (lower-case names) and the body its Content-Length announces."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed before a full response: {data[:200]!r}")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in header_lines)}
    while len(body) < int(headers.get("content-length", "0")):
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return int(status_line.split()[1]), headers, body


def signed_command(slack: SlackStandIn, bot: BotProcess, text: str = "425", timeout: float = SLACK_DEADLINE):
    """/ftpcode `text`, signed, with Slack's own patience: no answer within `timeout` s is a failure."""
    form = payloads.command_payload(text, response_url=slack.new_response_url())
    return delivery.post_form(bot.events_url, form, slack.signing_secret, timeout=timeout)


def children_of(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def tree_rss_mb(pid: int) -> float:
    """VmRSS summed over `pid` and its descendants (the gunicorn master and its workers)."""
    total_kb, todo = 0, [pid]
    while todo:
        current = todo.pop()
        todo += children_of(current)
        try:
            status = Path(f"/proc/{current}/status").read_text()
        except OSError:
            continue
        total_kb += next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")), 0)
    return total_kb / 1024


class Tricklers:
    """`count` connections that each send `opening`, then one more byte every `interval` s, until stopped."""

    def __init__(self, bot: BotProcess, count: int, opening: bytes, interval: float = 0.5, limit: float = 30):
        self.sockets = [connect(bot) for _ in range(count)]
        self.opening, self.interval, self.limit = opening, interval, limit
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        for sock in self.sockets:
            sock.sendall(self.opening)
        deadline = time.monotonic() + self.limit
        while not self.stopped.wait(self.interval) and time.monotonic() < deadline:
            for sock in self.sockets:
                with contextlib.suppress(OSError):  # the bot gave up on this one: that is its right
                    sock.send(b"a")

    def __enter__(self) -> Tricklers:
        self.thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stopped.set()
        self.thread.join(5)
        for sock in self.sockets:
            sock.close()


# ----- slow sockets -----


def test_slow_headers_and_slow_bodies_do_not_stop_answers(slack: SlackStandIn, bot: BotProcess) -> None:
    slow_headers = request_head("POST", "/slack/events", {})[:-2] + b"X-Slow: "  # headers never finish
    slow_bodies = request_head(
        "POST", "/slack/events", {"Content-Type": "application/x-www-form-urlencoded", "Content-Length": "100000"}
    )  # a body that never finishes
    with Tricklers(bot, 200, slow_headers), Tricklers(bot, 200, slow_bodies):
        time.sleep(1.0)  # every slow socket has been accepted and has sent its first bytes
        answered, failed, waits = 0, [], []
        for _ in range(10):
            started = time.monotonic()
            try:
                answer = signed_command(slack, bot)
            except OSError as exc:
                failed.append(type(exc).__name__)
                continue
            finally:
                waits.append(round(time.monotonic() - started, 3))
            assert answer.status == 200 and answer.json()["text"].startswith("FTP 425"), answer.text
            answered += 1
    print(f"\nslow sockets: {answered}/10 answered within {SLACK_DEADLINE} s; waits {waits}; failures {failed}")
    assert answered == 10, f"{len(failed)} of 10 commands not answered within Slack's 3 s: {failed}"


# ----- bodies over the limit -----


def test_a_declared_body_over_the_limit_is_refused_before_it_is_read(bot: BotProcess) -> None:
    with connect(bot) as sock:
        sock.sendall(request_head("POST", "/slack/events", {"Content-Length": str(10 * MB)}))  # and no body
        status, headers, _ = read_response(sock)
    assert status == 413
    assert headers.get("connection") == "close"


def test_a_chunked_body_over_the_limit_is_refused_while_it_streams(bot: BotProcess) -> None:
    chunk = b"a" * 65536
    with connect(bot) as sock:
        sock.sendall(request_head("POST", "/slack/events", {"Transfer-Encoding": "chunked"}))
        for _ in range(MB // len(chunk) + 2):  # the limit and two chunks more; never the final zero chunk
            sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        status, _, _ = read_response(sock)
    assert status == 413


def _flood(bot: BotProcess, chunked: bool, size: int) -> None:
    """One unsigned post of `size` bytes, sent in full unless the bot hangs up first."""
    piece = b"a" * 65536
    framing = {"Transfer-Encoding": "chunked"} if chunked else {"Content-Length": str(size)}
    try:
        with connect(bot, timeout=10) as sock:
            sock.sendall(request_head("POST", "/slack/events", framing))
            for _ in range(size // len(piece)):
                sock.sendall(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
            if chunked:
                sock.sendall(b"0\r\n\r\n")
            read_response(sock)
    except OSError:
        pass  # refused mid-body: the bot closed the connection


def test_ten_concurrent_10_mb_posts_do_not_grow_the_bot(slack: SlackStandIn, bot: BotProcess) -> None:
    assert signed_command(slack, bot).status == 200  # warm: the first request's allocations are not counted
    before = tree_rss_mb(bot.pid or 0)
    peak, done = before, threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.wait(0.05):
            peak = max(peak, tree_rss_mb(bot.pid or 0))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        for chunked in (False, True):
            floods = [threading.Thread(target=_flood, args=(bot, chunked, 10 * MB)) for _ in range(10)]
            for thread in floods:
                thread.start()
            for thread in floods:
                thread.join(30)
    finally:
        done.set()
        sampler.join(5)
    after = tree_rss_mb(bot.pid or 0)
    print(f"\n20 posts of 10 MB, 10 at a time: bot RSS {before:.0f} MB before, at most {peak:.0f}, after {after:.0f}")
    assert peak - before < 64, f"RSS grew from {before:.0f} to {peak:.0f} MB"
    assert signed_command(slack, bot).status == 200


def test_many_short_connections_do_not_grow_the_bot(slack: SlackStandIn, bot: BotProcess) -> None:
    """Slack opens a connection for every request: what a closed connection held must go with it."""

    def commands(count: int) -> set[int]:
        with ThreadPoolExecutor(20) as pool:
            return set(pool.map(lambda _: signed_command(slack, bot, timeout=10).status, range(count)))

    assert commands(300) == {200}
    before = tree_rss_mb(bot.pid or 0)
    assert commands(1500) == {200}
    after = tree_rss_mb(bot.pid or 0)
    print(f"\n1,500 commands at concurrency 20: bot RSS {before:.0f} MB before, {after:.0f} MB after")
    assert after - before < 6, f"RSS grew from {before:.0f} to {after:.0f} MB"


# ----- keep-alive, signatures, other routes -----


def test_a_burst_of_new_connections_while_the_worker_is_busy_waits_in_the_backlog(bot: BotProcess) -> None:
    """300 connections opened while the worker cannot accept (stopped, as by a long pause of its event loop) are
    all held by the kernel, in gunicorn's listen backlog of 2048. asyncio had set it to 100: the rest had their
    SYN dropped and tried again after 1 s, then 3 s more, past Slack's deadline."""
    [worker] = children_of(bot.pid)
    address = ("127.0.0.1", bot.port)
    sockets = [socket.socket() for _ in range(300)]
    os.kill(worker, signal.SIGSTOP)
    try:
        for sock in sockets:
            sock.setblocking(False)
            sock.connect_ex(address)
        time.sleep(0.5)  # a handshake on loopback takes microseconds; the first SYN retry comes after 1 s
        poll = select.poll()
        for sock in sockets:
            poll.register(sock, select.POLLOUT)
        writable = [fd for fd, events in poll.poll(0) if events & select.POLLOUT]
        connected = [
            s for s in sockets if s.fileno() in writable and not s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        ]
    finally:
        os.kill(worker, signal.SIGCONT)
        for sock in sockets:
            sock.close()
    assert len(connected) == len(sockets)


def test_a_connection_idle_for_10_s_is_still_usable(bot: BotProcess) -> None:
    with connect(bot, timeout=15) as sock:
        sock.sendall(request_head("GET", "/healthz", {}))
        assert read_response(sock)[0] == 200
        time.sleep(10)  # longer than gunicorn's default keep-alive (2 s), shorter than a load balancer's (60 s)
        sock.sendall(request_head("GET", "/healthz", {}))
        assert read_response(sock)[0] == 200


@pytest.mark.parametrize("signature", ["forged", "none"])
def test_unsigned_or_forged_posts_get_401(slack: SlackStandIn, bot: BotProcess, signature: str) -> None:
    form = payloads.command_payload("425", response_url=slack.new_response_url())
    answer = delivery.post_form(bot.events_url, form, slack.signing_secret, signature=signature)  # type: ignore[arg-type]
    assert answer.status == 401


def test_healthz_and_unknown_routes(bot: BotProcess) -> None:
    with connect(bot) as sock:
        sock.sendall(request_head("GET", "/healthz", {}))
        status, headers, body = read_response(sock)
        assert status == 200 and headers["content-type"].startswith("application/json")
        assert json.loads(body)["ok"] is True
        sock.sendall(request_head("GET", "/nowhere", {}))
        assert read_response(sock)[0] == 404


# ----- the settings are applied -----


def test_the_limits_come_from_the_environment(slack: SlackStandIn, tmp_path: Path) -> None:
    env = {
        **bot_env(slack, "http", tmp_path),
        "LOG_LEVEL": "INFO",
        "HTTP_MAX_BODY_BYTES": "4096",
        "HTTP_BODY_TIMEOUT_SECONDS": "1",
        "HTTP_KEEPALIVE_SECONDS": "1",
    }
    with BotProcess(env, mode="http", standin=slack, log_path=tmp_path / "bot.log") as small:
        assert signed_command(slack, small).status == 200
        form = payloads.command_payload("425 " + "x" * 5000, response_url=slack.new_response_url())
        assert len(urlencode(form)) > 4096
        assert delivery.post_form(small.events_url, form, slack.signing_secret).status == 413
        with connect(small) as sock:
            sock.sendall(request_head("POST", "/slack/events", {"Content-Length": "100"}) + b"a")  # and no more
            assert read_response(sock)[0] == 408
        with connect(small) as sock:
            sock.sendall(request_head("GET", "/healthz", {}))
            assert read_response(sock)[0] == 200
            time.sleep(3)  # three times HTTP_KEEPALIVE_SECONDS
            assert sock.recv(1) == b"", "the idle connection was kept open past HTTP_KEEPALIVE_SECONDS"
