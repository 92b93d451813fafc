"""HTTP mode's ASGI front: each request is read on the event loop, bounded in size and in time, and only a request
read whole is handed to Bolt: an /ftpcode lookup, answered from memory, on the event loop itself; anything else in
a thread of a bounded pool, since it may wait on the database. A slow or oversized client holds no thread that runs
Bolt, and a body over the limit is refused before it is read (the signature can only be checked on the whole body).

Bolt's own ASGI adapter is not used: for a sync App it calls `app.dispatch` on the event loop itself.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from slack_bolt.request import BoltRequest

from bot import metrics, warm_up
from bot.config import Config
from bot.health import Answer, Health, answer, plain_answer, set_liveness
from bot.listeners import commands

if TYPE_CHECKING:
    from slack_bolt import App

EVENTS_PATH = "/slack/events"
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


class _ClientGone(Exception):
    """The client disconnected before its request was read whole: nobody is left to answer."""


def _refusal(status: int) -> Answer:
    # The rest of the body is never read: the connection cannot carry another request.
    code, headers, body = plain_answer(status)
    return code, [*headers, ("Connection", "close")], body


class SlackFront:
    """The ASGI app of HTTP mode: POST /slack/events to Bolt, the operability routes of bot/health.py, else 404."""

    def __init__(self, app: App, health: Health, config: Config) -> None:
        self.app = app
        set_liveness(health)
        self.max_body = config.http_max_body_bytes
        self.body_timeout = config.http_body_timeout
        self.pool = ThreadPoolExecutor(max_workers=config.http_threads, thread_name_prefix="http")

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return  # no lifespan (turned off in bot/http_mode.py) and no websockets
        path, method = scope["path"], scope["method"]
        if path == EVENTS_PATH and method == "POST":
            try:
                found = await self._slack(scope, receive)
            except _ClientGone:
                return
        else:
            # In a thread: a route may block (a check that asks the database) and must not stop the event loop.
            found = await asyncio.to_thread(answer, path, method) or plain_answer(404)
        status, headers, body = found
        raw_headers = [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers]
        await send({"type": "http.response.start", "status": status, "headers": raw_headers})
        await send({"type": "http.response.body", "body": b"" if method == "HEAD" else body})
        warm_up.start()  # the process has answered: what it need not load before, it loads now

    async def _slack(self, scope: dict[str, Any], receive: Receive) -> Answer:
        declared = _content_length(scope["headers"])
        if declared is not None and declared > self.max_body:
            return _refusal(413)
        try:
            async with asyncio.timeout(self.body_timeout):
                body = await self._read_body(receive)
        except TimeoutError:
            return _refusal(408)
        if body is None:
            return _refusal(413)
        if _is_lookup_command(body):
            # Its whole answer is the ack, made from memory in a fraction of a millisecond: made here, it skips the
            # hand-off to a thread and back, which cost more (bench/README.md). All else may wait on the database.
            return self._dispatch(scope, body)
        return await asyncio.get_running_loop().run_in_executor(self.pool, self._dispatch, scope, body)

    def _dispatch(self, scope: dict[str, Any], body: bytes) -> Answer:
        """In a thread of the pool: BoltRequest parses the body, Bolt checks the signature and runs the app.

        The ack is timed from here (the body read whole) to Bolt's answer, as ftpcode_ack_seconds."""
        started = time.perf_counter()
        request = BoltRequest(
            body=body.decode("utf-8", "replace"),  # not UTF-8: its signature cannot match, Bolt answers 401
            query=scope["query_string"].decode("latin-1"),
            headers=_bolt_headers(scope["headers"]),
        )
        response = self.app.dispatch(request)
        metrics.observe_request(metrics.request_kind(request.body), time.perf_counter() - started, response.status)
        encoded = response.body.encode("utf-8")
        headers = [(n, v) for n, values in response.headers.items() if n.lower() != "content-length" for v in values]
        headers.append(("Content-Length", str(len(encoded))))
        return response.status, headers, encoded

    async def _read_body(self, receive: Receive) -> bytes | None:
        """The whole body, or None as soon as it is longer than the limit (chunked, or no Content-Length)."""
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise _ClientGone
            body += message.get("body", b"")
            if len(body) > self.max_body:
                return None
            if not message.get("more_body", False):
                return bytes(body)


LOOKUP_BODY_BYTES = 4096
"""Longer bodies go to the pool unread: the event loop reads no more than this of a form it may not run."""


def _is_lookup_command(body: bytes) -> bool:
    """An /ftpcode lookup (bot/listeners/commands.py), its signature not yet checked: Bolt checks it as always."""
    if len(body) > LOOKUP_BODY_BYTES or b"command=%2Fftpcode" not in body:
        return False
    form = parse_qs(body.decode("utf-8", "replace"))
    return form.get("command") == ["/ftpcode"] and commands.is_lookup(form.get("text", [""])[0])


def _content_length(headers: list[tuple[bytes, bytes]]) -> int | None:
    for name, value in headers:
        if name == b"content-length" and value.strip().isdigit():
            return int(value)
    return None


def _bolt_headers(headers: list[tuple[bytes, bytes]]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for name, value in headers:
        grouped.setdefault(name.decode("latin-1").lower(), []).append(value.decode("latin-1"))
    return grouped
