"""Socket Mode on slack_sdk's built-in client, pinging every second.

Measured against the stand-in (tests/test_standin.py, tests/test_bot_socket.py): with ping_interval=1 the
built-in client answers again ~3 s after a `disconnect` message, ~1 s after a close frame and ~6 s after the
TCP connection silently dies (it calls a connection stale after four missed pongs). The websocket-client
adapter never notices a dead connection, because slack_sdk runs it without a pong timeout.

The built-in client leaves Nagle's algorithm on (it sets TCP_NODELAY only when it goes through a proxy), so
an ack sent while an earlier one is still unacknowledged waited for the peer's delayed ACK: 40 ms on Linux,
the Socket Mode p99 stalls in bench/bench_ack.py. Every connection it opens gets TCP_NODELAY here, as the
websocket-client adapter does by default.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time

from slack_bolt import App
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_bolt.adapter.socket_mode.internals import run_bolt_app, send_response
from slack_sdk.socket_mode.builtin import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest

from bot import metrics, ws_frames

logger = logging.getLogger("bot.socket")

PING_INTERVAL_SECONDS = 1.0


def send_without_delay(client: SocketModeClient) -> None:
    """Every connection `client` opens from now on, reconnections included, sends each frame at once."""
    connect = client.connect

    def connect_without_nagle() -> None:
        connect()
        session = client.current_session
        sock = session.sock if session is not None else None
        if sock is not None:
            with contextlib.suppress(OSError):  # already closed again: the next connect() sets it
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    client.connect = connect_without_nagle  # type: ignore[method-assign]


class MeasuredSocketModeHandler(SocketModeHandler):
    """Bolt's Socket Mode listener, timing each envelope from the start of its handling to its ack being sent."""

    def handle(self, client: SocketModeClient, req: SocketModeRequest) -> None:  # type: ignore[override]
        # As SocketModeHandler.handle (run Bolt, then send its answer as the ack), measured.
        started, started_wall = time.perf_counter(), time.time()
        response = run_bolt_app(self.app, req)
        send_response(client, req, response, started_wall)
        metrics.observe_request(metrics.request_kind(req.payload), time.perf_counter() - started, response.status)


class Connection:
    """The Socket Mode connection and its health: connected, and seconds since the last envelope."""

    def __init__(self, app: App, app_token: str) -> None:
        if not ws_frames.install():
            logger.info("slack_sdk's frame builder changed; Socket Mode keeps its own (slower) one")
        self.handler = MeasuredSocketModeHandler(app, app_token, ping_interval=PING_INTERVAL_SECONDS, concurrency=16)
        self.client = self.handler.client
        send_without_delay(self.client)
        self.started = time.monotonic()
        self.last_envelope: float | None = None
        self._stop = threading.Event()
        self.client.on_message_listeners.append(self._on_message)

    def _on_message(self, message: str) -> None:
        if '"envelope_id"' in message:
            self.last_envelope = time.monotonic()

    def health(self) -> dict:
        connected = self.client.is_connected()
        since = None if self.last_envelope is None else round(time.monotonic() - self.last_envelope, 1)
        return {"ok": connected, "mode": "socket", "connected": connected, "seconds_since_envelope": since}

    def run_forever(self) -> None:
        self.handler.connect()
        logger.info("Socket Mode connected")
        try:
            self._stop.wait()
        finally:
            self.handler.close()

    def stop(self) -> None:
        self._stop.set()
