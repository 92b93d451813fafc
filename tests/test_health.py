"""bot/health.answer(path, method): what any HTTP front (gunicorn's WSGI, an ASGI server, Socket Mode's small
server) answers for /healthz, /readyz and /metrics, and how readiness checks that fail, raise or hang show."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator

import pytest

from bot import health
from tests.fresh_python import run_fresh


@pytest.fixture(autouse=True)
def clean_checks(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(health, "CHECK_TIMEOUT_SECONDS", 0.2)
    health.remove_readiness_checks()
    health.set_liveness(lambda: {"ok": True, "mode": "test"})
    yield
    health.remove_readiness_checks()


def body_of(path: str) -> tuple[int, dict]:
    answered = health.answer(path, "GET")
    assert answered is not None
    status, headers, body = answered
    assert ("Content-Type", "application/json") in headers
    assert ("Content-Length", str(len(body))) in headers
    return status, json.loads(body)


def test_only_the_three_paths_and_only_get_or_head_are_answered() -> None:
    assert health.answer("/slack/events", "POST") is None
    assert health.answer("/healthz", "POST") is None
    assert health.answer("/elsewhere", "GET") is None
    status, headers, body = health.answer("/healthz", "HEAD")  # type: ignore[misc]
    full = json.dumps({"ok": True, "mode": "test"}).encode()
    assert status == 200 and body == b"" and ("Content-Length", str(len(full))) in headers


def test_liveness_is_what_the_process_says() -> None:
    assert body_of("/healthz") == (200, {"ok": True, "mode": "test"})
    health.set_liveness(lambda: {"ok": False})
    assert body_of("/healthz")[0] == 503


def test_ready_only_when_every_check_passes_and_each_failure_is_named() -> None:
    health.add_readiness_check("database", lambda: None)
    assert body_of("/readyz") == (200, {"ready": True})

    def broken() -> str | None:
        raise RuntimeError("s3cret in a message")

    health.add_readiness_check("slack", lambda: "not connected")
    health.add_readiness_check("queue", broken)
    status, body = body_of("/readyz")
    assert status == 503
    assert body == {"ready": False, "reasons": {"slack": "not connected", "queue": "check failed: RuntimeError"}}


def test_a_hanging_check_is_not_ready_within_the_time_limit_and_is_not_started_twice() -> None:
    release = threading.Event()
    calls = []

    def hangs() -> str | None:
        calls.append(1)
        release.wait(10)
        return None

    health.add_readiness_check("database", hangs)
    try:
        status, body = body_of("/readyz")
        assert status == 503 and body["reasons"]["database"] == "no answer within 0.2 s"
        status, body = body_of("/readyz")
        assert status == 503 and body["reasons"]["database"].startswith("no answer for ")
        assert len(calls) == 1, "a second probe started the stuck check again"
    finally:
        release.set()


def test_metrics_are_prometheus_text() -> None:
    status, headers, body = health.answer("/metrics", "GET")  # type: ignore[misc]
    assert status == 200
    assert dict(headers)["Content-Type"].startswith("text/plain; version=")
    assert b"# TYPE ftpcode_requests_total counter" in body


def test_the_http_mode_master_loads_no_wsgi_server() -> None:
    """Only Socket Mode's health server needs wsgiref (with http.server and socketserver): the gunicorn master of
    HTTP mode, which imports this module too, does not load them (its memory counts twice, once more in the
    worker it forks)."""

    loaded = "sorted(m for m in sys.modules if m.startswith(('wsgiref', 'socketserver', 'http.server')))"
    out = run_fresh(f"import sys, bot.__main__, bot.http_mode, bot.store; print({loaded})")
    assert out.strip() == "[]"
