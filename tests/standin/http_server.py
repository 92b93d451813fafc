"""The stand-in's HTTP side: Web API under /api/, response_url hooks, private file downloads."""

from __future__ import annotations

import contextlib
import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from tests.standin.records import CallLog, CallRecord
from tests.standin.web_api import Workspace

# Fields Slack accepts as JSON strings inside form-encoded bodies; decoded so tests can inspect them.
JSON_FIELDS = ("blocks", "attachments", "view", "metadata", "outputs", "prompts")
RESPONSE_URL_MAX_USES = 5
LOGIN_PAGE = b"<!DOCTYPE html><html><head><title>Slack</title></head><body>Sign in to Slack</body></html>"


def decode_params(query: str, body: bytes, content_type: str) -> dict[str, Any]:
    params: dict[str, Any] = dict(parse_qsl(query, keep_blank_values=True))
    if body:
        if content_type.startswith("application/json"):
            decoded = json.loads(body)
            if isinstance(decoded, dict):
                params.update(decoded)
        else:
            params.update(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    for name in JSON_FIELDS:
        value = params.get(name)
        if isinstance(value, str) and value[:1] in ("[", "{"):
            # Undecodable JSON stays as sent: the API then answers invalid_blocks_format.
            with contextlib.suppress(json.JSONDecodeError):
                params[name] = json.loads(value)
    return params


def bearer_token(headers: dict[str, str], params: dict[str, Any]) -> str | None:
    auth = headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    token = params.get("token")
    return token if isinstance(token, str) else None


class ResponseUrls:
    """The response_url hooks handed out, and how often each was used."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._uses: dict[str, int] = {}

    def new_id(self) -> str:
        hook_id = secrets.token_urlsafe(12)
        with self._lock:
            self._uses[hook_id] = 0
        return hook_id

    def use(self, hook_id: str) -> str | None:
        """None when the hook may be used, else the error Slack would give."""
        with self._lock:
            if hook_id not in self._uses:
                return "invalid_url"
            if self._uses[hook_id] >= RESPONSE_URL_MAX_USES:
                return "used_url"
            self._uses[hook_id] += 1
            return None


class StandInHttpServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256

    def __init__(self, workspace: Workspace, log: CallLog, response_urls: ResponseUrls) -> None:
        super().__init__(("127.0.0.1", 0), StandInRequestHandler)
        self.workspace = workspace
        self.log = log
        self.response_urls = response_urls
        self.connections_accepted = 0

    def process_request(self, request: Any, client_address: Any) -> None:
        self.connections_accepted += 1  # only serve_forever's thread gets here
        super().process_request(request, client_address)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class StandInRequestHandler(BaseHTTPRequestHandler):
    server: StandInHttpServer
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; with Nagle on, the body of an answer on a kept-alive connection
    # waits for the client's delayed ACK (40 ms). Production servers set TCP_NODELAY too (nginx, for keep-alive).
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the call log is the record; stderr noise helps nobody

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        arrived = time.monotonic()
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        method = url.path[5:] if url.path.startswith("/api/") else "response_url"
        if delay := self.server.workspace.delay(method):
            time.sleep(delay)  # a slow Slack: the call is recorded when it arrived, answered this much later
        if url.path.startswith("/api/"):
            self._web_api(url.path[5:], url.query, body, headers, arrived)
        elif url.path.startswith("/response/") and self.command == "POST":
            self._response_url(url.path[10:], body, headers, arrived)
        elif url.path.startswith("/files-pri/"):
            self._file_download(url.path, headers, arrived)
        elif url.path.startswith("/upload/v1/") and self.command == "POST":
            received = self.server.workspace.receive_upload(url.path.rsplit("/", 1)[-1], body)
            self.server.log.add(
                CallRecord(
                    method="files.upload",
                    params={"bytes": len(body)},
                    headers=headers,
                    t=arrived,
                    path=self.path,
                    status=200 if received else 404,
                )
            )
            self._send(200 if received else 404, b"OK" if received else b"not found", "text/plain")
        elif url.path == "/login":
            self._send(200, LOGIN_PAGE, "text/html; charset=utf-8")
        else:
            self._send(404, b"not found", "text/plain")

    def _send(self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _web_api(self, method: str, query: str, body: bytes, headers: dict[str, str], arrived: float) -> None:
        try:
            params = decode_params(query, body, headers.get("content-type", ""))
        except (json.JSONDecodeError, UnicodeDecodeError):
            params = {}
            answer_status, answer = 200, {"ok": False, "error": "invalid_json"}
            extra_headers: dict[str, str] = {}
        else:
            token = bearer_token(headers, params)
            in_header = headers.get("authorization", "").lower().startswith("bearer ")
            result = self.server.workspace.call(method, params, token, in_header)
            answer_status, answer, extra_headers = result.status, result.body, result.headers
        record = CallRecord(
            method=method,
            params=params,
            headers=headers,
            t=arrived,
            path=self.path,
            status=answer_status,
            response=answer,
            token=bearer_token(headers, params),
        )
        self.server.log.add(record)
        self._send(answer_status, json.dumps(answer).encode(), "application/json; charset=utf-8", extra_headers)

    def _response_url(self, hook_id: str, body: bytes, headers: dict[str, str], arrived: float) -> None:
        try:
            params = json.loads(body or b"{}")
        except json.JSONDecodeError:
            params = {"_raw": body.decode("utf-8", "replace")}
        injected = self.server.workspace.take_failure("response_url")
        problem = None if injected else self.server.response_urls.use(hook_id)
        if injected is not None:
            status, reply, extra = injected.status, json.dumps(injected.body).encode(), injected.headers
        elif problem is not None:
            status, reply, extra = 404, problem.encode(), {}
        else:
            status, reply, extra = 200, b"ok", {}
        self.server.log.add(
            CallRecord(
                method="response_url",
                params=params,
                headers=headers,
                t=arrived,
                path=self.path,
                status=status,
                response=reply.decode(),
                extra={"hook_id": hook_id},
            )
        )
        self._send(status, reply, "text/plain; charset=utf-8", extra)

    def _file_download(self, path: str, headers: dict[str, str], arrived: float) -> None:
        # /files-pri/{team}-{file_id}/{name}
        parts = path.split("/")
        file_id = parts[2].split("-", 1)[-1] if len(parts) > 2 else ""
        token = bearer_token(headers, {})
        found = self.server.workspace.file_for_download(file_id)
        if token != self.server.workspace.bot_token:
            # Slack does not answer 401 here: it redirects to the sign-in page, which is HTML and 200.
            status, content, content_type, extra = 302, b"", "text/plain", {"Location": "/login"}
        elif found is None:
            status, content, content_type, extra = 404, b"file not found", "text/plain", {}
        else:
            status, content, content_type, extra = 200, found[1], found[0]["mimetype"], {}
        self.server.log.add(
            CallRecord(
                method="files.download",
                params={"file": file_id},
                headers=headers,
                t=arrived,
                path=path,
                status=status,
                token=token,
            )
        )
        self._send(status, content, content_type, extra)
