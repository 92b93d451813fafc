"""Socket Mode as Slack runs it: ticketed WebSocket URLs, hello, envelopes, acks, and three ways to break.

An ack counts only when it comes on the connection that carried its envelope, while that connection is still
working (Slack matches acks by envelope_id per connection); any other ack is kept in `refused_acks`, a second ack
of an envelope in `duplicate_acks`. A connection sent a `disconnect` message keeps working for its grace period:
it takes acks, and carries new envelopes while no newer connection is open.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import secrets
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

from tests.standin import payloads
from tests.standin.websocket import (
    OPCODE_CLOSE,
    OPCODE_PING,
    OPCODE_PONG,
    OPCODE_TEXT,
    Frame,
    FrameReader,
    HandshakeError,
    close_payload,
    encode_frame,
    http_error_response,
    read_upgrade_request,
    upgrade_response,
)

logger = logging.getLogger(__name__)

EnvelopeKind = Literal["events_api", "slash_commands", "interactive"]
BreakKind = Literal["disconnect", "close", "dead"]
ENVELOPE_KINDS = ("events_api", "slash_commands", "interactive")
# Interactive payloads whose ack may carry a response (errors, response_action).
RESPONSE_PAYLOAD_INTERACTIONS = ("view_submission", "block_suggestion")
READ_POLL_SECONDS = 0.2


def run_later(seconds: float, action: Any) -> None:
    timer = threading.Timer(seconds, action)
    timer.daemon = True  # a pending close must not keep the test process alive
    timer.start()


class NoSocketConnection(RuntimeError):
    """No open Socket Mode connection to deliver to."""


@dataclass
class Ack:
    envelope_id: str
    message: dict[str, Any]
    t: float
    connection_id: int


@dataclass
class SentEnvelope:
    envelope_id: str
    kind: str
    t: float
    connection_id: int


class Connection:
    """One WebSocket connection; its reader thread answers pings and collects acks."""

    def __init__(self, server: SocketModeServer, sock: socket.socket, connection_id: int) -> None:
        self.server = server
        self.sock = sock
        self.id = connection_id
        self.state = "handshake"  # handshake, open, draining, closing, dead, closed
        self.opened_at = 0.0
        self._send_lock = threading.Lock()
        self._stop_reading = threading.Event()
        self._close_sent = False

    # ----- writing -----

    def _write(self, data: bytes) -> bool:
        with self._send_lock:
            if self.state in ("dead", "closed"):
                return False
            try:
                self.sock.sendall(data)
                return True
            except OSError:
                return False

    def send_text(self, text: str) -> bool:
        return self._write(encode_frame(OPCODE_TEXT, text.encode("utf-8")))

    def send_json(self, message: dict[str, Any]) -> bool:
        return self.send_text(json.dumps(message))

    def send_close(self, code: int = 1000, reason: str = "") -> None:
        if not self._close_sent:
            self._close_sent = True
            self._write(encode_frame(OPCODE_CLOSE, close_payload(code, reason)))

    # ----- state changes -----

    def close_tcp(self) -> None:
        with self._send_lock:
            if self.state == "closed":
                return
            self.state = "closed"
        self._stop_reading.set()
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()

    def close_gracefully(self, code: int = 1000, reason: str = "", wait: float = 2.0) -> None:
        """Send a close frame; drop TCP once the client answers or after `wait` seconds."""
        if self.state in ("dead", "closed"):
            return
        self.state = "closing"
        self.send_close(code, reason)
        run_later(wait, self.close_tcp)

    def go_dead(self) -> None:
        """Stop reading and writing; keep the TCP connection open, so the peer sees nothing at all."""
        with self._send_lock:
            self.state = "dead"
        self._stop_reading.set()

    # ----- the reader thread -----

    def serve(self) -> None:
        try:
            if not self._handshake():
                self.close_tcp()
                return
            self._read_loop()
        except Exception:  # a stand-in bug must not pass silently, but must not kill the server either
            logger.exception("socket mode connection %s failed", self.id)
        if self.state != "dead":
            self.close_tcp()

    def _handshake(self) -> bool:
        self.sock.settimeout(10)
        try:
            request = read_upgrade_request(self.sock)
            query = parse_qs(urlsplit(request.path).query)
            ticket = (query.get("ticket") or [""])[0]
            if not self.server.redeem_ticket(ticket):
                self.sock.sendall(http_error_response(401, "Unauthorized", "invalid or used ticket"))
                self.server.note_rejected_handshake()
                return False
            self.sock.sendall(upgrade_response(request))
        except (HandshakeError, OSError) as problem:
            logger.info("socket mode handshake failed: %s", problem)
            return False
        self.sock.settimeout(READ_POLL_SECONDS)
        self.state = "open"
        self.opened_at = time.monotonic()
        self.server.note_opened(self)
        self.send_json(self.server.hello_message())
        return True

    def _on_control(self, frame: Frame) -> bool:
        if self._stop_reading.is_set():
            return False
        if frame.opcode == OPCODE_PING:
            self._write(encode_frame(OPCODE_PONG, frame.payload))
            return True
        if frame.opcode == OPCODE_CLOSE:
            code = int.from_bytes(frame.payload[:2], "big") if len(frame.payload) >= 2 else 1000
            self.send_close(code)  # echo, unless we started the closing handshake
            return False
        return True  # a pong: nothing to do

    def _read_loop(self) -> None:
        reader = FrameReader(self.sock, self._stop_reading)
        while True:
            message = reader.read_message(self._on_control)
            arrived = time.monotonic()  # an ack's time: when it reached "Slack", not when Slack had decoded it
            if message is None or self._stop_reading.is_set():
                return
            if message.opcode != OPCODE_TEXT:
                continue
            try:
                decoded = json.loads(message.payload)
            except json.JSONDecodeError:
                logger.warning("socket mode client sent non-JSON text: %r", message.payload[:200])
                continue
            self.server.note_client_message(self, decoded, arrived)


class SocketModeServer:
    def __init__(self, app_id: str = payloads.APP_ID) -> None:
        self.app_id = app_id
        self._listener = socket.create_server(("127.0.0.1", 0), backlog=64)
        self._listener.settimeout(READ_POLL_SECONDS)
        self._running = threading.Event()
        self._accept_thread = threading.Thread(target=self._accept_loop, name="standin-ws-accept", daemon=True)
        self._lock = threading.Condition()
        self._tickets: set[str] = set()
        self._connection_ids = itertools.count(1)
        self._connections: list[Connection] = []
        self.connections_opened = 0
        self.handshakes_rejected = 0
        self.acks: dict[str, Ack] = {}
        self.refused_acks: list[Ack] = []
        self.duplicate_acks: list[Ack] = []
        self.sent: list[SentEnvelope] = []
        # Slack spreads envelopes over an app's open connections (up to 10, one per replica); by default the
        # stand-in uses the newest, which tests of one process rely on.
        self.spread = False
        # A benchmark comparing two apps connected at once sends to one of them: envelopes go to this connection
        # (an id) while it is open.
        self.pinned: int | None = None
        self._turn = 0
        self._carrier: dict[str, int] = {}  # envelope_id -> the connection that carried it, until acked

    @property
    def port(self) -> int:
        return self._listener.getsockname()[1]

    def start(self) -> None:
        self._running.set()
        self._accept_thread.start()

    def stop(self) -> None:
        self._running.clear()
        self._accept_thread.join(timeout=5)
        self._listener.close()
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            connection.close_tcp()

    def _accept_loop(self) -> None:
        while self._running.is_set():
            try:
                sock, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            connection = Connection(self, sock, next(self._connection_ids))
            with self._lock:
                self._connections.append(connection)
            threading.Thread(target=connection.serve, name=f"standin-ws-{connection.id}", daemon=True).start()

    # ----- tickets and bookkeeping -----

    def issue_url(self) -> str:
        """A fresh single-use URL, as apps.connections.open returns."""
        ticket = secrets.token_hex(16)
        with self._lock:
            self._tickets.add(ticket)
        return f"ws://127.0.0.1:{self.port}/link/?ticket={ticket}&app_id={self.app_id}"

    def redeem_ticket(self, ticket: str) -> bool:
        with self._lock:
            if ticket in self._tickets:
                self._tickets.discard(ticket)
                return True
            return False

    def note_rejected_handshake(self) -> None:
        with self._lock:
            self.handshakes_rejected += 1

    def note_opened(self, connection: Connection) -> None:
        with self._lock:
            self.connections_opened += 1
            self._lock.notify_all()

    def note_client_message(self, connection: Connection, message: dict[str, Any], arrived: float) -> None:
        envelope_id = message.get("envelope_id")
        if not isinstance(envelope_id, str):
            return
        ack = Ack(envelope_id, message, arrived, connection.id)
        with self._lock:
            if envelope_id in self.acks:
                self.duplicate_acks.append(ack)
            elif self._carrier.get(envelope_id) != connection.id or connection.state not in ("open", "draining"):
                self.refused_acks.append(ack)
            else:
                del self._carrier[envelope_id]
                self.acks[envelope_id] = ack
            self._lock.notify_all()

    def hello_message(self) -> dict[str, Any]:
        return {
            "type": "hello",
            "num_connections": len(self.open_connections()),
            "debug_info": {"host": "applink-standin", "build_number": 1, "approximate_connection_time": 18060},
            "connection_info": {"app_id": self.app_id},
        }

    def open_connections(self) -> list[Connection]:
        with self._lock:
            return [c for c in self._connections if c.state == "open"]

    def current_connection(self) -> Connection:
        """The newest open connection; while there is none, the newest one still working after a `disconnect`."""
        with self._lock:
            for wanted in ("open", "draining"):
                connections = [c for c in self._connections if c.state == wanted]
                if connections:
                    return connections[-1]
        raise NoSocketConnection("no open Socket Mode connection")

    def connection_for_next_envelope(self) -> Connection:
        if self.pinned is not None:
            pinned = [c for c in self.open_connections() if c.id == self.pinned]
            if pinned:
                return pinned[0]
        if not self.spread:
            return self.current_connection()
        connections = self.open_connections()
        if not connections:
            raise NoSocketConnection("no open Socket Mode connection")
        self._turn += 1
        return connections[self._turn % len(connections)]

    # ----- waiting -----

    def _wait(self, condition: Any, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        with self._lock:
            while not condition():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"{what} within {timeout} s")
                self._lock.wait(remaining)

    def wait_for_connection(self, count: int, timeout: float = 10) -> None:
        """Until `count` connections have been opened in total (hello sent)."""
        self._wait(
            lambda: self.connections_opened >= count,
            timeout,
            f"expected {count} Socket Mode connections, saw {self.connections_opened},",
        )

    def wait_for_ack(self, envelope_id: str, timeout: float = 10) -> dict[str, Any]:
        self._wait(lambda: envelope_id in self.acks, timeout, f"no ack for envelope {envelope_id}")
        with self._lock:
            return self.acks[envelope_id].message

    def wait_for_refused_ack(self, envelope_id: str, timeout: float = 10) -> Ack:
        """The first ack of `envelope_id` that did not count (another connection, or after the grace)."""

        def refused() -> Ack | None:
            return next((ack for ack in self.refused_acks if ack.envelope_id == envelope_id), None)

        self._wait(lambda: refused() is not None, timeout, f"no refused ack for envelope {envelope_id}")
        with self._lock:
            return refused()  # type: ignore[return-value]

    def connection_state(self, connection_id: int) -> str:
        with self._lock:
            return next(c.state for c in self._connections if c.id == connection_id)

    # ----- delivery -----

    def send_envelope(
        self,
        kind: EnvelopeKind,
        payload: dict[str, Any],
        retry_attempt: int = 0,
        retry_reason: str = "",
        accepts_response_payload: bool | None = None,
        envelope_id: str | None = None,
    ) -> str:
        if kind not in ENVELOPE_KINDS:
            raise ValueError(f"unknown envelope type {kind!r}")
        if accepts_response_payload is None:
            accepts_response_payload = kind == "slash_commands" or (
                kind == "interactive" and payload.get("type") in RESPONSE_PAYLOAD_INTERACTIONS
            )
        envelope: dict[str, Any] = {
            "envelope_id": envelope_id or payloads.new_envelope_id(),
            "payload": payload,
            "type": kind,
            "accepts_response_payload": accepts_response_payload,
        }
        if kind == "events_api":
            envelope["retry_attempt"] = retry_attempt
            envelope["retry_reason"] = retry_reason
        connection = self.connection_for_next_envelope()
        with self._lock:  # before sending: the ack may come back before send_json returns
            self._carrier[envelope["envelope_id"]] = connection.id
        if not connection.send_json(envelope):
            raise NoSocketConnection(f"connection {connection.id} refused the envelope")
        with self._lock:
            self.sent.append(SentEnvelope(envelope["envelope_id"], kind, time.monotonic(), connection.id))
        return envelope["envelope_id"]

    # ----- breaking -----

    def break_socket(self, how: BreakKind, grace: float = 5.0, reason: str = "refresh_requested") -> int:
        """Break the current connection; returns its id. New connections are accepted as usual.

        "disconnect" asks the client to move (`reason`) and closes the connection `grace` seconds later.
        """
        connection = self.current_connection()
        if how == "disconnect":
            connection.send_json({"type": "disconnect", "reason": reason, "debug_info": {"host": "applink-standin"}})
            connection.state = "draining"
            run_later(grace, connection.close_gracefully)
        elif how == "close":
            connection.close_gracefully(1001, "going away")
        elif how == "dead":
            connection.go_dead()
        else:
            raise ValueError(f"unknown way to break a socket: {how!r}")
        return connection.id
