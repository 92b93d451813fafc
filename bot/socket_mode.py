"""Socket Mode: Bolt's adapter on slack_sdk's built-in client as bot/socket_client.py extends it, pinging every second.

Measured against the stand-in (tests/test_standin.py, tests/test_bot_socket.py): with ping_interval=1 the
client answers again ~1 s after a close frame and ~6 s after the TCP connection silently dies (it calls a
connection stale after four missed pongs). After a `disconnect` message it never stops answering: the old
connection serves until the new one takes over (slack_sdk's own client answered again only after ~3 s, and lost the
requests in flight). The websocket-client adapter never notices a dead connection, because slack_sdk runs it
without a pong timeout.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from slack_bolt import App, BoltResponse
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_bolt.adapter.socket_mode.internals import run_bolt_app, send_response
from slack_sdk.socket_mode.client import BaseSocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest

from bot import metrics, slack_patches, warm_up, ws_frames
from bot.socket_client import RefreshingSocketModeClient

logger = logging.getLogger("bot.socket")

PING_INTERVAL_SECONDS = 1.0
# Threads that handle envelopes. A listener answers from memory or records work in the database (waiting at most
# DATABASE_TIMEOUT_SECONDS, then the database is refused at once), so more threads than this only take turns at
# the GIL: with 16, the p99 of /ftpcode acks at concurrency 20 was 49-116 ms against 30-43 ms with 4
# (bench/README.md).
WORKERS = 4


class Handler(SocketModeHandler):
    """Bolt's Socket Mode adapter on `client_class`.

    Bolt's own __init__ would build and start slack_sdk's client; this sets what Bolt's __init__ sets (app, app_token,
    client) and keeps Bolt's handle().
    """

    def __init__(self, app: App, app_token: str, client_class: type, **settings: Any) -> None:
        self.app = app
        self.app_token = app_token
        self.client = client_class(
            app_token=app_token, logger=app.logger, web_client=app.client, proxy=app.client.proxy, **settings
        )
        self.client.socket_mode_request_listeners.append(self.handle)

    def handle(self, client: BaseSocketModeClient, req: SocketModeRequest) -> None:  # type: ignore[override]
        """As Bolt's handle (run Bolt, then send its answer as the ack), timed from the start of the handling
        to the ack sent, for ftpcode_ack_seconds."""
        started, started_wall = time.perf_counter(), time.time()
        response = run_bolt_app(self.app, req)
        if isinstance(client, RefreshingSocketModeClient) and _json_answer(response):
            client.send_encoded_response(req.envelope_id, response.body)
        else:
            send_response(client, req, response, started_wall)
        metrics.observe_request(metrics.request_kind(req.payload), time.perf_counter() - started, response.status)


def _json_answer(response: BoltResponse) -> bool:
    """An acknowledgement whose payload is Bolt's JSON body, as send_response would send it (a 200 with a JSON
    object: what the listeners answer with)."""
    content_type = response.headers.get("content-type", [""])[0]
    return response.status == 200 and content_type.startswith("application/json") and response.body.startswith("{")


class Connection:
    """The Socket Mode connection and its health: connected, and seconds since the last envelope."""

    def __init__(self, app: App, app_token: str) -> None:
        ws_frames.install()
        client_class = slack_patches.socket_mode_client_class()
        self.handler = Handler(app, app_token, client_class, ping_interval=PING_INTERVAL_SECONDS, concurrency=WORKERS)
        self.client = self.handler.client
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
        warm_up.start()
        try:
            self._stop.wait()
        finally:
            self.handler.close()

    def stop(self) -> None:
        self._stop.set()
