"""GET /healthz: the same JSON and status in both modes (HTTP beside /slack/events, Socket Mode on PORT).

`answer()` is the one place that decides what the operability routes return; the WSGI app below (Socket Mode's
small server) and HTTP mode's ASGI front (bot/http_front.py) both serve what it returns.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable
from http import HTTPStatus
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

Health = Callable[[], dict]
# (status, headers, body): what a server sends, whatever the server.
Answer = tuple[int, list[tuple[str, str]], bytes]
WsgiApp = Callable[[dict, Callable], Iterable[bytes]]


def answer(path: str, method: str, health: Health) -> Answer | None:
    """The answer to an operability route, or None when `path` and `method` are not one."""
    if method not in ("GET", "HEAD"):
        return None
    if path == "/healthz":
        status = health()
        return json_answer(200 if status.get("ok") else 503, status)
    return None


def json_answer(status: int, document: dict) -> Answer:
    body = json.dumps(document).encode()
    return status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))], body


def plain_answer(status: int) -> Answer:
    body = HTTPStatus(status).phrase.encode()
    return status, [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))], body


def health_app(health: Health) -> WsgiApp:
    """The operability routes as a WSGI app; 404 for everything else."""

    def application(environ: dict, start_response: Callable) -> Iterable[bytes]:
        found = answer(environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", ""), health) or plain_answer(404)
        status, headers, body = found
        start_response(f"{status} {HTTPStatus(status).phrase}", headers)
        return [body]

    return application


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, *_args) -> None:
        pass


def serve_in_background(port: int, health: Health) -> None:
    """/healthz on its own small server, for Socket Mode (which has no HTTP server of its own)."""
    server = make_server("0.0.0.0", port, health_app(health), _ThreadingServer, _QuietHandler)
    threading.Thread(target=server.serve_forever, name="health", daemon=True).start()
