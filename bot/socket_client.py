"""slack_sdk's built-in Socket Mode client, moving to a new connection without losing what is in flight.

Slack asks a client to move with a `disconnect` message (reason refresh_requested, too_many_websockets, ...), keeps
the old connection working a few seconds more, and takes an envelope's ack only on the connection that carried it.
slack_sdk's client (3.48) opens the new connection, closes the old one and sends every later ack on the new one:
the envelopes being answered at that moment, and those Slack sent meanwhile, are never acknowledged. It also reads
only the current connection, in one thread, and closing the old one waited for that thread's pending receive to
time out (3 s), so the new connection was read only ~3 s after the `disconnect` message.

This client opens the new connection first and makes it current, sends each ack on the connection that carried its
envelope, and closes the old connection once nothing it carried is waiting or being answered and nothing has come
on it for QUIET_SECONDS (or when Slack closes it). Each connection has its own reader thread. Every connection gets
TCP_NODELAY, which slack_sdk sets only through a proxy: with Nagle's algorithm an ack sent while the one before was
unacknowledged waited for the peer's delayed ACK, 40 ms on Linux (the Socket Mode p99 stalls in bench/bench_ack.py).
And every connection uses the process's one TLS context: slack_sdk makes a new one for each connection, ws:// too,
and loading the CA store (~45 ms of CPU on the 2-core test machine, holding the GIL) stalled every ack in flight.

What this relies on in slack_sdk is listed, and checked, in bot/slack_patches.py (SOCKET_CLIENT).
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import socket
import ssl
import threading
import time
from queue import Empty
from typing import Any

from slack_sdk.errors import SlackClientNotConnectedError
from slack_sdk.socket_mode.builtin import SocketModeClient
from slack_sdk.socket_mode.builtin.connection import Connection, ConnectionState
from slack_sdk.socket_mode.response import SocketModeResponse

from bot.web_transport import default_ssl_context

# A replaced connection is closed once nothing has come on it for this long and nothing it carried is still
# waiting or being answered, or at the latest this long after the move.
QUIET_SECONDS = 2.0
DRAIN_LIMIT_SECONDS = 30.0
DRAIN_POLL_SECONDS = 0.05


@functools.cache
def _unused_tls_context() -> ssl.SSLContext:
    """For a ws:// URL (the stand-in's), where slack_sdk would still load the CA store into a context it never uses."""
    return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)


class Arrival(str):
    """A message's text, carrying the connection it came on through slack_sdk's message queue."""

    connection: Connection | None = None


def arrived_on(connection: Connection, text: str) -> Arrival:
    arrival = Arrival(text)
    arrival.connection = connection
    return arrival


class RefreshingSocketModeClient(SocketModeClient):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Set before slack_sdk's __init__ starts the threads that use them.
        self._carrier_lock = threading.Lock()
        self._carriers: dict[str, Connection] = {}  # envelope_id -> the connection that carried it, until answered
        self._pending: dict[Connection, int] = {}  # messages come on a connection and not yet fully handled
        self._last_heard: dict[Connection, float] = {}
        super().__init__(*args, **kwargs)

    # ----- connections -----

    def connect(self) -> None:
        """Opens a connection and makes it current; the one it replaces (normally a lost one) is closed."""
        if self.wss_uri is None:
            self.wss_uri = self.issue_new_wss_url()
        replaced, replaced_state = self.current_session, self.current_session_state
        connection, state = self._open(self.wss_uri)
        replaced_state.terminated = True
        if replaced is not None:
            replaced.close()
        self._make_current(connection, state)

    def _open(self, url: str) -> tuple[Connection, ConnectionState]:
        """A new connection, read by its own thread once it is up (see is_active())."""
        connection = Connection(
            url=url,
            logger=self.logger,
            ping_interval=self.ping_interval,
            trace_enabled=self.trace_enabled,
            all_message_trace_enabled=self.all_message_trace_enabled,
            ping_pong_trace_enabled=self.ping_pong_trace_enabled,
            receive_buffer_size=self.receive_buffer_size,
            proxy=self.proxy,
            proxy_headers=self.proxy_headers,
            on_message_listener=lambda text: self._heard(connection, text),
            on_error_listener=self._on_error,
            on_close_listener=lambda code, reason=None: self._closed(connection, code, reason),
            ssl_context=self._tls_context(url),
        )
        connection.connect()
        state = ConnectionState()
        sock = connection.sock
        if sock is not None:
            with contextlib.suppress(OSError):  # closed again already: the reader finds out
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            reader = threading.Thread(target=self._read, args=(connection, state), name="socket-mode-read", daemon=True)
            reader.start()
        return connection, state

    def _tls_context(self, url: str) -> ssl.SSLContext:
        if self.web_client.ssl is not None:
            return self.web_client.ssl
        if url.lower().startswith("wss:"):
            return default_ssl_context()
        return _unused_tls_context()

    def _make_current(self, connection: Connection, state: ConnectionState) -> None:
        self.current_session = connection
        self.current_session_state = state
        self.auto_reconnect_enabled = self.default_auto_reconnect_enabled
        if not self.current_app_monitor_started:
            self.current_app_monitor_started = True
            self.current_app_monitor.start()
        self.logger.info("A new session has been established (session id: %s)", connection.session_id)

    def _run_current_session(self) -> None:
        """Nothing: slack_sdk reads the current connection here, in one thread; each connection has its own."""

    def _read(self, connection: Connection, state: ConnectionState) -> None:
        session_id = connection.session_id
        self.logger.info("Starting to receive messages from a new connection (session id: %s)", session_id)
        try:
            connection.run_until_completion(state)
        except Exception as error:
            self.logger.error("Failed to receive messages (session id: %s, error: %s)", session_id, error)
        with self._carrier_lock:  # nothing more comes on it, and no ack can go out on it
            self._last_heard.pop(connection, None)
            self._pending.pop(connection, None)
        self.logger.info("Stopped receiving messages from a connection (session id: %s)", session_id)

    def _closed(self, connection: Connection, code: int, reason: str | None) -> None:
        if connection is self.current_session:
            self._on_close(code, reason)  # slack_sdk's: reconnects
        else:
            self.logger.info("Slack closed a replaced connection (session id: %s)", connection.session_id)

    # ----- moving when Slack asks -----

    def _move_from(self, connection: Connection | None, reason: str | None) -> None:
        if connection is None or connection is not self.current_session:
            return  # already replaced
        self.logger.info("Slack asks for a new connection (reason: %s, session id: %s)", reason, connection.session_id)
        threading.Thread(target=self._move, args=(connection,), name="socket-mode-move", daemon=True).start()

    def _move(self, old: Connection) -> None:
        with self.connect_operation_lock:
            if old is not self.current_session or self.closed:
                return
            old_state = self.current_session_state
            try:
                url = self.issue_new_wss_url()
            except Exception as error:
                self.logger.error("No new Socket Mode URL (%s): the old connection serves until Slack closes it", error)
                return
            new, state = self._open(url)
            if not new.is_active():
                self.logger.error("The new connection failed: the old one serves until Slack closes it")
                return
            self.wss_uri = url
            self._make_current(new, state)
        self._drain(old, old_state)

    def _drain(self, connection: Connection, state: ConnectionState) -> None:
        """Closes a replaced connection once it has nothing left to answer and has gone quiet."""
        deadline = time.monotonic() + DRAIN_LIMIT_SECONDS
        while connection.is_active() and not self.closed and time.monotonic() < deadline:
            with self._carrier_lock:
                pending = self._pending.get(connection, 0)
                quiet = time.monotonic() - self._last_heard.get(connection, 0.0) >= QUIET_SECONDS
            if not pending and quiet:
                break
            time.sleep(DRAIN_POLL_SECONDS)
        state.terminated = True
        sock = connection.sock
        if sock is not None:
            # Ends the reader's pending receive at once: close() waits for it, up to slack_sdk's 3 s receive timeout.
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            connection.close()
        self.logger.info("Closed a replaced connection (session id: %s)", connection.session_id)

    # ----- messages and acks -----

    def _heard(self, connection: Connection, text: str) -> None:
        with self._carrier_lock:
            self._pending[connection] = self._pending.get(connection, 0) + 1
            self._last_heard[connection] = time.monotonic()
        self._on_message(arrived_on(connection, text))

    def _handled(self, connection: Connection | None, envelope_id: str | None = None) -> None:
        if connection is None:  # not from one of this client's readers
            return
        with self._carrier_lock:
            if connection in self._pending:
                self._pending[connection] -= 1
            if envelope_id is not None and self._carriers.get(envelope_id) is connection:
                del self._carriers[envelope_id]

    def process_message(self) -> None:
        try:
            raw = self.message_queue.get(timeout=1)
        except Empty:
            return
        if self.logger.isEnabledFor(logging.DEBUG):
            self.logger.debug("A message dequeued (current queue size: %d)", self.message_queue.qsize())
        connection = getattr(raw, "connection", None)
        submitted = False
        try:
            message = json.loads(raw) if raw.startswith("{") else {}
            if message.get("type") == "disconnect":
                self._move_from(connection, message.get("reason"))
                return
            envelope_id = message.get("envelope_id")
            if not isinstance(envelope_id, str):
                envelope_id = None
            elif connection is not None:
                with self._carrier_lock:
                    self._carriers[envelope_id] = connection
            self.message_workers.submit(self._answer, message, raw, connection, envelope_id)
            submitted = True
        finally:
            if not submitted:
                self._handled(connection)

    def _answer(
        self, message: dict[str, Any], raw: str, connection: Connection | None, envelope_id: str | None
    ) -> None:
        try:
            self.run_message_listeners(message, raw)
        finally:
            self._handled(connection, envelope_id)

    def send_socket_mode_response(self, response: dict[str, Any] | SocketModeResponse) -> None:
        """Sends the ack on the connection that carried its envelope: Slack takes it on no other."""
        body = response.to_dict() if isinstance(response, SocketModeResponse) else response
        envelope_id = body.get("envelope_id")
        self._send_ack(envelope_id if isinstance(envelope_id, str) else None, json.dumps(body))

    def send_encoded_response(self, envelope_id: str, payload: str) -> None:
        """The ack of `envelope_id` carrying `payload`, a JSON object already encoded: the message Bolt's
        send_response sends, without reading the payload back and writing it again."""
        self._send_ack(envelope_id, f'{{"envelope_id":{json.dumps(envelope_id)},"payload":{payload}}}')

    def _send_ack(self, envelope_id: str | None, message: str) -> None:
        with self._carrier_lock:
            carrier = self._carriers.get(envelope_id) if envelope_id is not None else None
        if carrier is None:
            self.send_message(message)
            return
        try:
            carrier.send(message)
        except SlackClientNotConnectedError:
            self.logger.warning(
                "The connection that carried envelope %s closed before its ack (session id: %s)",
                envelope_id,
                carrier.session_id,
            )
