"""Connections the probe reads with a deadline and a byte limit: a server that stalls runs into the step's
timeout, one that floods into the limit, and neither holds the probe's thread longer than its budget."""

from __future__ import annotations

import contextlib
import errno
import re
import socket
import time
from dataclasses import dataclass

MAX_REPLY_BYTES = 16 * 1024  # an FTP reply, FEAT's included, is far shorter
MAX_REPLY_LINES = 200
MAX_LISTING_BYTES = 256 * 1024  # a listing is read up to here, then the data connection is closed
_REPLY_START = re.compile(r"^(\d{3})([ -])")


class Timeout(Exception):
    """The step's time (or the probe's) ran out."""


class Flood(Exception):
    """The server sent more than any sane reply holds."""


class Closed(Exception):
    """The server closed the connection."""


class Budget:
    """The probe's time: each step gets `step` seconds, and no step runs past the end of the whole."""

    def __init__(self, step: float, total: float) -> None:
        self.step = step
        self.end = time.monotonic() + total

    def deadline(self, seconds: float | None = None) -> float:
        return min(time.monotonic() + (seconds or self.step), self.end)

    def left(self) -> float:
        return self.end - time.monotonic()


def remaining(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise Timeout
    return left


def connect_error(exc: BaseException) -> str:
    """refused, timeout, unreachable, reset or the OS's words for it."""
    if isinstance(exc, ConnectionRefusedError):
        return "refused"
    if isinstance(exc, socket.timeout | TimeoutError | Timeout):
        return "timeout"
    if isinstance(exc, ConnectionResetError | ConnectionAbortedError):
        return "reset"
    if isinstance(exc, OSError) and exc.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH):
        return "unreachable"
    return (getattr(exc, "strerror", None) or str(exc) or type(exc).__name__).lower()


def open_tcp(address: str, port: int, deadline: float) -> socket.socket:
    sock = socket.create_connection((address, port), timeout=remaining(deadline))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


@dataclass(frozen=True)
class Reply:
    """An FTP reply (all its lines), or with `code` None the first line of something that is not one."""

    code: str | None
    text: str

    @property
    def first(self) -> str:
        return self.text.split("\n", 1)[0]

    def ok(self, *prefixes: str) -> bool:
        return self.code is not None and self.code.startswith(prefixes)


class Wire:
    """A control connection, plain or TLS, read line by line within a deadline and a byte limit."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = bytearray()

    def _fill(self, deadline: float) -> None:
        self.sock.settimeout(remaining(deadline))
        try:
            data = self.sock.recv(4096)
        except TimeoutError:
            raise Timeout from None
        if not data:
            raise Closed
        self.buffer += data

    def read_raw_line(self, deadline: float, limit: int = MAX_REPLY_BYTES) -> bytes:
        """The next line with its line end, as sent."""
        while True:
            end = self.buffer.find(b"\n")
            if end >= 0:
                line = bytes(self.buffer[: end + 1])
                del self.buffer[: end + 1]
                return line
            if len(self.buffer) > limit:
                raise Flood
            self._fill(deadline)

    def read_line(self, deadline: float, limit: int = MAX_REPLY_BYTES) -> str:
        return self.read_raw_line(deadline, limit).decode("utf-8", errors="replace").rstrip("\r\n")

    def read_reply(self, deadline: float) -> Reply:
        first = self.read_line(deadline)
        m = _REPLY_START.match(first)
        if not m:
            return Reply(None, first)
        lines, size = [first], len(first)
        if m.group(2) == "-":
            end = m.group(1) + " "
            while not lines[-1].startswith(end):
                lines.append(self.read_line(deadline, MAX_REPLY_BYTES - size))
                size += len(lines[-1]) + 2
                if size > MAX_REPLY_BYTES or len(lines) > MAX_REPLY_LINES:
                    raise Flood
        return Reply(m.group(1), "\n".join(lines))

    def send(self, line: str, deadline: float) -> None:
        self.sock.settimeout(remaining(deadline))
        try:
            self.sock.sendall(line.encode("utf-8") + b"\r\n")
        except TimeoutError:
            raise Timeout from None

    def command(self, line: str, deadline: float) -> Reply:
        self.send(line, deadline)
        return self.read_reply(deadline)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()


def read_until_closed(sock: socket.socket, deadline: float, limit: int = MAX_LISTING_BYTES) -> tuple[bytes, bool]:
    """What the peer sends until it closes, at most `limit` bytes; True when it was cut there."""
    chunks: list[bytes] = []
    size = 0
    while size <= limit:
        sock.settimeout(remaining(deadline))
        try:
            data = sock.recv(65536)
        except TimeoutError:
            raise Timeout from None
        if not data:
            return b"".join(chunks), False
        chunks.append(data)
        size += len(data)
    return b"".join(chunks)[:limit], True
