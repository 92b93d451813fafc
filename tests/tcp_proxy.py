"""A TCP proxy on loopback that can go silent: a network partition between the bot and its database."""

from __future__ import annotations

import socket
import threading


class SilentableProxy:
    """Forwards 127.0.0.1:port to `target`; after `go_silent()` it stops passing bytes either way but keeps
    every connection open, as a partitioned network or a frozen host does (no reset, no close)."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.silent = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._open: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def go_silent(self) -> None:
        self.silent.set()

    def close(self) -> None:
        self._listener.close()
        for sock in self._open:
            sock.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if self.silent.is_set():
                self._open.append(client)  # accepted, never answered
                continue
            server = socket.create_connection(self.target)
            self._open += [client, server]
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        while True:
            try:
                data = source.recv(65536)
            except OSError:
                return
            if not data:
                return
            if self.silent.is_set():
                continue  # dropped: the other side hears nothing, not even a close
            try:
                sink.sendall(data)
            except OSError:
                return
