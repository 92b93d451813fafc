"""GET /healthz: the same JSON and status in both modes (HTTP beside /slack/events, Socket Mode on PORT)."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

Health = Callable[[], dict]
WsgiApp = Callable[[dict, Callable], Iterable[bytes]]


def _not_found(_environ: dict, start_response: Callable) -> Iterable[bytes]:
    start_response("404 Not Found", [("Content-Type", "text/plain"), ("Content-Length", "9")])
    return [b"Not Found"]


def health_app(health: Health, otherwise: WsgiApp = _not_found) -> WsgiApp:
    """Answers /healthz (200 when health()["ok"], else 503) and hands every other request to `otherwise`."""

    def application(environ: dict, start_response: Callable) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != "/healthz" or environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
            return otherwise(environ, start_response)
        status = health()
        body = json.dumps(status).encode()
        code = "200 OK" if status.get("ok") else "503 Service Unavailable"
        start_response(code, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
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
