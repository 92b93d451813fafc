"""Socket Mode: the websocket-client adapter, plus a watchdog that notices a silently dead connection.

The adapter reconnects on a `disconnect` message and on a close frame by itself, but it pings without a pong
timeout, so a TCP connection that just dies (a NAT box forgetting it, a laptop sleeping) goes unnoticed for
minutes. The watchdog counts anything heard from Slack (messages and pongs) and reconnects when the line has
been silent for longer than two ping intervals.
"""

from __future__ import annotations

import logging
import threading
import time

from slack_bolt import App
from slack_bolt.adapter.socket_mode.websocket_client import SocketModeHandler

logger = logging.getLogger("bot.socket")

PING_INTERVAL_SECONDS = 3.0


class Connection:
    """The Socket Mode connection and its health: connected, and seconds since Slack was last heard."""

    def __init__(self, app: App, app_token: str, ping_interval: float = PING_INTERVAL_SECONDS) -> None:
        self.handler = SocketModeHandler(app, app_token, ping_interval=ping_interval, concurrency=16)
        self.client = self.handler.client
        self.silence_limit = 2 * ping_interval + 1
        self.last_heard = time.monotonic()
        self.last_envelope: float | None = None
        self.reconnects = 0
        self._stop = threading.Event()
        self.client.on_open_listeners.append(self._on_open)
        self.client.on_message_listeners.append(self._on_message)

    def _heard(self, *_args) -> None:
        self.last_heard = time.monotonic()

    def _on_open(self, ws) -> None:
        self._heard()
        ws.on_pong = self._heard
        logger.info("Socket Mode connected")

    def _on_message(self, _ws, message: str) -> None:
        self._heard()
        if '"envelope_id"' in message:
            self.last_envelope = time.monotonic()

    def _watch(self) -> None:
        while not self._stop.wait(1.0):
            silent_for = time.monotonic() - self.last_heard
            if silent_for <= self.silence_limit:
                continue
            logger.warning("Socket Mode connection silent for %.0f s; reconnecting", silent_for)
            self.reconnects += 1
            self.last_heard = time.monotonic()
            try:
                self.client.connect_to_new_endpoint(force=True)
            except Exception as exc:  # the next round of the watchdog tries again
                logger.error("Socket Mode reconnect failed: %s", exc.__class__.__name__)

    def health(self) -> dict:
        now = time.monotonic()
        connected = self.client.is_connected() and now - self.last_heard <= self.silence_limit
        return {
            "ok": connected,
            "mode": "socket",
            "connected": connected,
            "seconds_since_heard": round(now - self.last_heard, 1),
            "seconds_since_envelope": None if self.last_envelope is None else round(now - self.last_envelope, 1),
            "reconnects": self.reconnects,
        }

    def run_forever(self) -> None:
        self.handler.connect()
        threading.Thread(target=self._watch, name="socket-watchdog", daemon=True).start()
        try:
            self._stop.wait()
        finally:
            self.close()

    def stop(self) -> None:
        self._stop.set()

    def close(self) -> None:
        self._stop.set()
        self.handler.close()
