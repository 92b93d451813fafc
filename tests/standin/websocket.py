"""The server side of RFC 6455 on a plain blocking socket: handshake and frames, nothing more.

Written by hand rather than taken from a library so that a connection can be made to go silent
(no reads, no writes, no close) while its TCP connection stays open.
"""

from __future__ import annotations

import base64
import hashlib
import socket
import struct
import threading
from collections.abc import Callable
from dataclasses import dataclass

WEBSOCKET_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

OPCODE_CONTINUATION = 0x0
OPCODE_TEXT = 0x1
OPCODE_BINARY = 0x2
OPCODE_CLOSE = 0x8
OPCODE_PING = 0x9
OPCODE_PONG = 0xA

MAX_HEADER_BYTES = 64 * 1024


def unmask(payload: bytes, mask: bytes) -> bytes:
    """XOR with the repeated 4-byte key, as one integer operation (a byte loop cost ~1 ms per 10 kB ack)."""
    if not payload:
        return payload
    key = (mask * (len(payload) // 4 + 1))[: len(payload)]
    return (int.from_bytes(payload, "big") ^ int.from_bytes(key, "big")).to_bytes(len(payload), "big")


class HandshakeError(Exception):
    """The peer did not send a usable WebSocket upgrade request."""


@dataclass
class UpgradeRequest:
    path: str
    headers: dict[str, str]


@dataclass
class Frame:
    fin: bool
    opcode: int
    payload: bytes


def accept_key(client_key: str) -> str:
    digest = hashlib.sha1((client_key + WEBSOCKET_GUID).encode("ascii")).digest()
    return base64.b64encode(digest).decode("ascii")


def read_upgrade_request(sock: socket.socket) -> UpgradeRequest:
    """Read the HTTP request head byte by byte, so no frame bytes after it are consumed."""
    head = bytearray()
    while not head.endswith(b"\r\n\r\n"):
        byte = sock.recv(1)
        if not byte:
            raise HandshakeError("connection closed during the handshake")
        head += byte
        if len(head) > MAX_HEADER_BYTES:
            raise HandshakeError("request head too large")
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or parts[0] != "GET":
        raise HandshakeError(f"not a GET request: {lines[0]!r}")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    return UpgradeRequest(path=parts[1], headers=headers)


def upgrade_response(request: UpgradeRequest) -> bytes:
    key = request.headers.get("sec-websocket-key")
    if not key or "websocket" not in request.headers.get("upgrade", "").lower():
        raise HandshakeError("missing Upgrade: websocket or Sec-WebSocket-Key")
    return (
        "HTTP/1.1 101 Switching Protocols\r\n"
        "Upgrade: websocket\r\n"
        "Connection: Upgrade\r\n"
        f"Sec-WebSocket-Accept: {accept_key(key)}\r\n\r\n"
    ).encode("ascii")


def http_error_response(status: int, reason: str, body: str) -> bytes:
    data = body.encode("utf-8")
    return (
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain\r\nContent-Length: {len(data)}\r\n"
        "Connection: close\r\n\r\n"
    ).encode("ascii") + data


def encode_frame(opcode: int, payload: bytes, fin: bool = True) -> bytes:
    """A server frame: never masked (RFC 6455 section 5.1)."""
    first = (0x80 if fin else 0) | opcode
    length = len(payload)
    if length < 126:
        header = struct.pack("!BB", first, length)
    elif length < 1 << 16:
        header = struct.pack("!BBH", first, 126, length)
    else:
        header = struct.pack("!BBQ", first, 127, length)
    return header + payload


def close_payload(code: int, reason: str = "") -> bytes:
    return struct.pack("!H", code) + reason.encode("utf-8")


class FrameReader:
    """Reads frames from a socket whose timeout is short, checking `stop` between reads."""

    def __init__(self, sock: socket.socket, stop: threading.Event) -> None:
        self._sock = sock
        self._stop = stop
        self._buffer = bytearray()

    def _fill(self, size: int) -> bool:
        while len(self._buffer) < size:
            if self._stop.is_set():
                return False
            try:
                chunk = self._sock.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                return False
            if not chunk:
                return False
            self._buffer += chunk
        return True

    def _take(self, size: int) -> bytes | None:
        if not self._fill(size):
            return None
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        return data

    def read_frame(self) -> Frame | None:
        """The next frame, or None when the peer went away or `stop` was set."""
        head = self._take(2)
        if head is None:
            return None
        fin = bool(head[0] & 0x80)
        opcode = head[0] & 0x0F
        masked = bool(head[1] & 0x80)
        length = head[1] & 0x7F
        if length == 126:
            extended = self._take(2)
            if extended is None:
                return None
            (length,) = struct.unpack("!H", extended)
        elif length == 127:
            extended = self._take(8)
            if extended is None:
                return None
            (length,) = struct.unpack("!Q", extended)
        mask = self._take(4) if masked else b""
        if mask is None:
            return None
        payload = self._take(length)
        if payload is None:
            return None
        if masked:
            payload = unmask(payload, mask)
        return Frame(fin=fin, opcode=opcode, payload=payload)

    def read_message(self, on_control: Callable[[Frame], bool]) -> Frame | None:
        """A whole data message (continuation frames joined).

        Control frames go to `on_control`, which returns False to stop reading.
        """
        parts: list[bytes] = []
        first_opcode: int | None = None
        while True:
            frame = self.read_frame()
            if frame is None:
                return None
            if frame.opcode >= OPCODE_CLOSE:
                if not on_control(frame):
                    return None
                continue
            if first_opcode is None:
                first_opcode = frame.opcode
            parts.append(frame.payload)
            if frame.fin:
                return Frame(fin=True, opcode=first_opcode, payload=b"".join(parts))
