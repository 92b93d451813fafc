"""The paths that are not Slack's: /healthz (liveness), /readyz (readiness) and /metrics (Prometheus).

`answer(path, method)` knows nothing of the HTTP server that calls it, so HTTP mode's ASGI front
(bot/http_front.py) and Socket Mode's small WSGI server (`serve_in_background`) answer the same. The process
says once what "alive" and "ready" mean: `set_liveness()` and `add_readiness_check()`.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from http import HTTPStatus

from bot import metrics

Health = Callable[[], dict]
Check = Callable[[], str | None]
"""A readiness check: None when ready, else why not (one short line, never a secret)."""
Answer = tuple[int, list[tuple[str, str]], bytes]
WsgiApp = Callable[[dict, Callable], Iterable[bytes]]

# Longer than a healthy check takes (a database round trip), shorter than a probe's own timeout (deploy/k8s).
CHECK_TIMEOUT_SECONDS = 2.0

_liveness: Health = lambda: {"ok": True}  # noqa: E731
_checks: dict[str, Check] = {}
_running: dict[str, tuple[Future, float]] = {}  # a check still running from an earlier probe, and since when
_lock = threading.Lock()


def set_liveness(health: Health) -> None:
    """What /healthz reports: a JSON object, 200 when its "ok" is true, else 503."""
    global _liveness
    _liveness = health


def add_readiness_check(name: str, check: Check) -> None:
    """/readyz is 200 only when every check returns None within CHECK_TIMEOUT_SECONDS."""
    with _lock:
        _checks[name] = check


def remove_readiness_checks() -> None:
    with _lock:
        _checks.clear()


def answer(path: str, method: str) -> Answer | None:
    """(status, headers, body) for /healthz, /readyz and /metrics (GET or HEAD), None for anything else.

    /readyz may wait up to CHECK_TIMEOUT_SECONDS for its checks: call it from a thread, not an event loop.
    """
    if method not in ("GET", "HEAD"):
        return None
    if path == "/healthz":
        status = _liveness()
        result = (200 if status.get("ok") else 503), "application/json", json.dumps(status).encode()
    elif path == "/readyz":
        reasons = not_ready()
        body = {"ready": not reasons, "reasons": reasons} if reasons else {"ready": True}
        result = (503 if reasons else 200), "application/json", json.dumps(body).encode()
    elif path == "/metrics":
        body, content_type = metrics.exposition()
        result = 200, content_type, body
    else:
        return None
    code, content_type, body = result
    headers = [("Content-Type", content_type), ("Content-Length", str(len(body)))]
    return code, headers, b"" if method == "HEAD" else body


def not_ready() -> dict[str, str]:
    """Why the process is not ready, by check name; empty when it is.

    The checks run side by side, each with a time limit; a check still stuck from an earlier probe is not
    started again (a database that hangs would otherwise take one more thread every probe).
    """
    with _lock:
        checks = dict(_checks)
        started: dict[str, Future] = {}
        reasons: dict[str, str] = {}
        for name, check in checks.items():
            running = _running.get(name)
            if running is not None and not running[0].done():
                reasons[name] = f"no answer for {time.monotonic() - running[1]:.0f} s"
                continue
            started[name] = _in_background(check)
            _running[name] = (started[name], time.monotonic())
    deadline = time.monotonic() + CHECK_TIMEOUT_SECONDS
    for name, future in started.items():
        try:
            reason = future.result(timeout=max(0.0, deadline - time.monotonic()))
        except FutureTimeout:
            reason = f"no answer within {CHECK_TIMEOUT_SECONDS:g} s"
        except Exception as exc:  # a check should say why, not raise; the class name never holds a secret
            reason = f"check failed: {exc.__class__.__name__}"
        if reason:
            reasons[name] = reason
    return reasons


def _in_background(check: Check) -> Future:
    """`check` on a daemon thread: one that hangs never holds up the process's exit."""
    future: Future = Future()

    def run() -> None:
        try:
            future.set_result(check())
        except BaseException as exc:
            future.set_exception(exc)

    threading.Thread(target=run, name="readiness", daemon=True).start()
    return future


def plain_answer(status: int) -> Answer:
    """A short text answer with the status's own phrase (404 Not Found, 413 Content Too Large...)."""
    body = HTTPStatus(status).phrase.encode()
    return status, [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))], body


def health_app(health: Health) -> WsgiApp:
    """A WSGI app answering what `answer` answers (liveness from `health`); 404 for everything else."""
    set_liveness(health)

    def application(environ: dict, start_response: Callable) -> Iterable[bytes]:
        path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", "")
        code, headers, body = answer(path, method) or plain_answer(404)
        start_response(f"{code} {HTTPStatus(code).phrase}", headers)
        return [body]

    return application


def serve_in_background(port: int, health: Health) -> None:
    """/healthz, /readyz and /metrics on their own small server, for Socket Mode (which has no HTTP server).

    wsgiref is imported here: HTTP mode, whose processes load this module too, never needs it (nor http.server and
    socketserver with it)."""
    from socketserver import ThreadingMixIn
    from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

    class ThreadingServer(ThreadingMixIn, WSGIServer):
        daemon_threads = True

    class QuietHandler(WSGIRequestHandler):
        def log_message(self, *_args) -> None:
            pass

    server = make_server("0.0.0.0", port, health_app(health), ThreadingServer, QuietHandler)
    threading.Thread(target=server.serve_forever, name="health", daemon=True).start()
