"""A WebClient that keeps its HTTP connections to the Web API open and reuses them, one per thread and host.

slack_sdk sends every Web API call through urllib's urlopen: a new TCP connection, and against Slack a new TLS
handshake, per call. KeepAliveWebClient replaces only the step that sends one request and reads its answer
(`_perform_urllib_http_request_internal`, where bot/slack_patches.py finds it as this was written for), and keeps
its contract: {"status", "headers", "body"} for a 2xx, an HTTPError holding the body otherwise, so slack_sdk's
retry handlers see what they see with urlopen.
"""

from __future__ import annotations

import functools
import http.client
import io
import logging
import select
import socket
import ssl
import threading
import time
import urllib.request
from typing import Any, TypeVar
from urllib.error import HTTPError, URLError
from urllib.parse import urlsplit

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.web import SlackResponse

from bot import metrics, slack_patches

Key = tuple[str, str, int]
T = TypeVar("T", bound="KeepAliveWebClient")

# A connection idle longer is not reused: some NATs and load balancers drop an idle connection without telling
# either end (Azure's load balancer after 4 minutes by default), and a request sent on it waits out the timeout.
MAX_IDLE_SECONDS = 60.0

# What a request on a connection the server has just closed fails with, before any response arrives.
_DROPPED = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)


def _dropped(sock: socket.socket | None) -> bool:
    """An idle connection whose socket is readable was closed by the server (or holds bytes nobody asked for)."""
    if sock is None:
        return True
    try:
        if hasattr(select, "poll"):  # select() cannot watch descriptors above 1023
            poller = select.poll()
            poller.register(sock, select.POLLIN)
            return bool(poller.poll(0))
        return bool(select.select([sock], [], [], 0)[0])
    except (OSError, ValueError):
        return True


@functools.cache
def default_ssl_context() -> ssl.SSLContext:
    """The process's one TLS context with the system CA store, made on first use.

    urlopen with no context builds one per connection on Python 3.11: loading the CA store costs ~15 ms of CPU.
    """
    context = ssl.create_default_context()
    context.set_alpn_protocols(["http/1.1"])  # as http.client's own default context
    return context


@functools.cache
def _environment_proxies() -> dict[str, str]:
    """urllib's proxies from the environment, read once per process: getproxies() goes through the whole
    environment on every call (a fiftieth of the CPU of a triage click, which makes two calls)."""
    return urllib.request.getproxies()


def tls_context_for(url: str) -> ssl.SSLContext | None:
    """The shared context for an https URL (for urlopen and the clients built on it); None otherwise.

    Made only when a TLS connection needs it: loading the CA store takes ~15 MB of memory.
    """
    return default_ssl_context() if url.lower().startswith("https:") else None


def _send(connection: http.client.HTTPConnection, req: urllib.request.Request) -> http.client.HTTPResponse:
    """One request and its response head, failing as urlopen does: an OSError while sending becomes a URLError."""
    headers = {name.title(): value for name, value in req.header_items()}
    try:
        connection.request(req.get_method(), req.selector, body=req.data, headers=headers)
    except OSError as err:
        raise URLError(err) from err
    return connection.getresponse()


def _was_dropped(error: BaseException) -> bool:
    return isinstance(error.reason if isinstance(error, URLError) else error, _DROPPED)


class KeepAliveWebClient(WebClient):
    """slack_sdk's WebClient, sending Web API calls over persistent HTTP/1.1 connections.

    Each thread has its own connections (http.client connections are not thread-safe), keyed by scheme, host
    and port. Proxies, configured or from the environment, and non-http URLs go through slack_sdk's urlopen.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._local = threading.local()

    def sharing_connections(self, client: WebClient | None = None, kind: type[T] | None = None) -> T:
        """A copy of `client` (by default this one: token, team, retry handlers...), of class `kind` (by default
        KeepAliveWebClient), that sends over this client's connections: each job's client, or a copy of the
        plain WebClient Bolt builds for every request, reuses the connections of the app's one."""
        client = client or self
        twin = (kind or KeepAliveWebClient)(
            token=client.token,
            base_url=client.base_url,
            timeout=client.timeout,
            ssl=client.ssl,
            proxy=client.proxy,
            headers=client.headers,
            team_id=client.default_params.get("team_id"),
            logger=client.logger,
            retry_handlers=client.retry_handlers,
        )
        twin._local = self._local
        return twin  # type: ignore[return-value]

    def api_call(self, api_method: str, **kwargs: Any) -> SlackResponse:  # type: ignore[override]
        """Every Web API method goes through here once, retries included: counted by method and outcome."""
        self._local.attempts = 0
        outcome = "api_error"  # unless known better: raised before sending, say (bad arguments)
        try:
            response = super().api_call(api_method, **kwargs)
            outcome = metrics.api_outcome(response.status_code, ok=True)
            return response
        except SlackApiError as exc:
            outcome = metrics.api_outcome(exc.response.status_code, ok=False)
            raise
        except (OSError, http.client.HTTPException):  # URLError and timeouts are OSErrors
            outcome = "network_error"
            raise
        finally:
            metrics.api_call(api_method, outcome, max(0, self._local.attempts - 1))

    def _send_kept_alive(self, url: str, req: urllib.request.Request) -> dict[str, Any]:
        """slack_sdk's _perform_urllib_http_request_internal, over a kept-alive connection."""
        self._local.attempts = getattr(self._local, "attempts", 0) + 1  # one request sent; read by api_call
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https") or self.proxy is not None or self._environment_proxy(scheme, req.host):
            return super()._perform_urllib_http_request_internal(url, req)
        key = (scheme, parts.hostname or "", parts.port or (443 if scheme == "https" else 80))
        for attempt in (1, 2):
            connection, reused = self._connection(key)
            try:
                response = _send(connection, req)
                break
            except BaseException as err:
                connection.close()
                # The server may close an idle connection just as a request goes out: once more, on a new one.
                if attempt == 2 or not reused or not _was_dropped(err):
                    raise
        try:
            data = response.read()  # all of it, or the connection cannot carry the next request
        except BaseException:
            connection.close()
            raise
        if response.will_close:
            connection.close()
        else:
            self._idle_connections()[key] = (connection, time.monotonic())

        status, headers = response.status, response.headers
        if not 200 <= status < 300:
            raise HTTPError(url, status, response.reason, headers, io.BytesIO(data))
        body: str | bytes
        if headers.get_content_type() == "application/gzip":  # admin.analytics.getFile
            body = data
        else:
            body = data.decode(headers.get_content_charset() or "utf-8")
        if self.logger.level <= logging.DEBUG:
            shown = "(binary)" if isinstance(body, bytes) else body
            self.logger.debug(
                f"Received the following response - status: {status}, headers: {dict(headers)}, body: {shown}"
            )
        return {"status": status, "headers": headers, "body": body}

    @staticmethod
    def _environment_proxy(scheme: str, host: str) -> bool:
        """Whether urlopen would send this request through a proxy from the environment (HTTPS_PROXY, ...)."""
        return bool(_environment_proxies().get(scheme)) and not urllib.request.proxy_bypass(host)

    def _idle_connections(self) -> dict[Key, tuple[http.client.HTTPConnection, float]]:
        """This thread's connections waiting for a request, with the time.monotonic() of their last answer."""
        if not hasattr(self._local, "idle"):
            self._local.idle = {}
        return self._local.idle

    def _connection(self, key: Key) -> tuple[http.client.HTTPConnection, bool]:
        """This thread's idle connection to `key` (True) or a new one (False), for one request and its answer."""
        idle = self._idle_connections().pop(key, None)
        if idle is not None:
            connection, since = idle
            if time.monotonic() - since < MAX_IDLE_SECONDS and not _dropped(connection.sock):
                return connection, True
            connection.close()
        scheme, host, port = key
        if scheme == "https":
            context = self.ssl or default_ssl_context()
            connection = http.client.HTTPSConnection(host, port, timeout=self.timeout, context=context)
        else:
            connection = http.client.HTTPConnection(host, port, timeout=self.timeout)
        return connection, False

    def close(self) -> None:
        """Closes the calling thread's idle connections (other threads' close when their thread ends)."""
        for connection, _ in self._idle_connections().values():
            connection.close()
        self._idle_connections().clear()


slack_patches.apply_web_transport(KeepAliveWebClient)
