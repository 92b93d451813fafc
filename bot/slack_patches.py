"""Every place the bot reaches into slack_sdk's private parts, checked against the installed slack_sdk.

Three patches, each for a measured reason given in its module:
- WEB_TRANSPORT: bot/web_transport.py sends Web API calls over kept-alive connections, in place of
  BaseClient._perform_urllib_http_request_internal (a new connection per call).
- FRAME_BUILDER: bot/ws_frames.py builds Socket Mode frames in place of connection._build_data_frame_for_sending
  (byte-by-byte masking).
- SOCKET_CLIENT: bot/socket_client.py, a subclass of the built-in SocketModeClient, refreshes its connection without
  losing what is in flight and sets TCP_NODELAY on every connection. It overrides connect, process_message,
  send_socket_mode_response and _run_current_session, calls _on_message, _on_error, _on_close and send_message, and
  builds and runs the client's Connection objects itself: every method and attribute it uses is listed below.

Each was written against the slack_sdk releases in SLACK_SDK_VERSIONS (3.47.0 and 3.48.0 read: they differ nowhere
these patches touch). `usable(patch)` is True when the installed slack_sdk is one of them and still has every
attribute the patch relies on, with the same parameters; otherwise it logs a warning, once, and the bot keeps
slack_sdk's own behaviour, which works but is slower or, for SOCKET_CLIENT, loses the requests in flight when Slack
refreshes the connection. tests/test_slack_patches.py fails when the installed slack_sdk no longer matches.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import logging
import re
from collections.abc import Callable
from typing import Any, NamedTuple

logger = logging.getLogger("bot.slack_patches")

SLACK_SDK_VERSIONS = ((3, 47), (3, 49))  # (major, minor): from, up to but not including


class Private(NamedTuple):
    """One part of slack_sdk that a patch replaces, overrides, calls or reads: a function or method with the
    parameters it has, or (parameters None) an attribute its class declares."""

    module: str
    name: str  # function, Class.method or Class.attribute
    parameters: tuple[str, ...] | None = None

    def __str__(self) -> str:
        return f"{self.module}.{self.name}"

    def problem(self) -> str | None:
        """What no longer matches in the installed slack_sdk; None when it is as the patch expects."""
        *owner_path, attribute = self.name.split(".")
        try:
            owner: Any = importlib.import_module(self.module)
            for part in owner_path:
                owner = getattr(owner, part)
            if self.parameters is None:
                declared = any(attribute in getattr(cls, "__annotations__", {}) for cls in inspect.getmro(owner))
                return None if declared else f"{self} is no longer declared"
            parameters = tuple(inspect.signature(getattr(owner, attribute)).parameters)
        except (ImportError, AttributeError):
            return f"{self} is gone"
        except (TypeError, ValueError):
            return f"{self} is no longer a function"
        if parameters != self.parameters:
            return f"{self} takes ({', '.join(parameters)}), not ({', '.join(self.parameters)})"
        return None


class Patch(NamedTuple):
    name: str
    relies_on: tuple[Private, ...]
    without_it: str  # what the bot does when the patch cannot be applied


_CLIENT = "slack_sdk.socket_mode.builtin.client"
_CONNECTION = "slack_sdk.socket_mode.builtin.connection"

WEB_TRANSPORT = Patch(
    "kept-alive Web API transport",
    (Private("slack_sdk.web.base_client", "BaseClient._perform_urllib_http_request_internal", ("self", "url", "req")),),
    "a new HTTP connection for every Web API call",
)
FRAME_BUILDER = Patch(
    "Socket Mode frame builder",
    (
        Private(
            _CONNECTION,
            "_build_data_frame_for_sending",
            ("payload", "opcode", "fin", "rsv1", "rsv2", "rsv3", "masked"),
        ),
    ),
    "slack_sdk's byte-by-byte frame masking",
)


def _client(name: str, parameters: tuple[str, ...] | None = None) -> Private:
    return Private(_CLIENT, f"SocketModeClient.{name}", parameters)


def _connection(name: str, parameters: tuple[str, ...] | None = None) -> Private:
    return Private(_CONNECTION, f"Connection.{name}", parameters)


SOCKET_CLIENT = Patch(
    "Socket Mode refresh without loss",
    (
        # Built with these arguments, which it stores under the same names.
        _client(
            "__init__",
            (
                "self",
                "app_token",
                "logger",
                "web_client",
                "auto_reconnect_enabled",
                "trace_enabled",
                "all_message_trace_enabled",
                "ping_pong_trace_enabled",
                "ping_interval",
                "receive_buffer_size",
                "concurrency",
                "proxy",
                "proxy_headers",
                "on_message_listeners",
                "on_error_listeners",
                "on_close_listeners",
            ),
        ),
        # Overridden.
        _client("connect", ("self",)),
        _client("_run_current_session", ("self",)),
        _client("process_message", ("self",)),
        _client("send_socket_mode_response", ("self", "response")),
        # Called, or calling the overrides.
        _client("_on_message", ("self", "message")),
        _client("_on_error", ("self", "error")),
        _client("_on_close", ("self", "code", "reason")),
        _client("run_message_listeners", ("self", "message", "raw_message")),
        _client("send_message", ("self", "message")),
        _client("issue_new_wss_url", ("self",)),
        _client("connect_to_new_endpoint", ("self", "force")),
        # Read or set.
        *(
            _client(name)
            for name in (
                "wss_uri",
                "current_session",
                "current_session_state",
                "current_app_monitor",
                "current_app_monitor_started",
                "auto_reconnect_enabled",
                "default_auto_reconnect_enabled",
                "connect_operation_lock",
                "message_queue",
                "message_workers",
                "web_client",
                "trace_enabled",
                "receive_buffer_size",
                "closed",
            )
        ),
        _connection(
            "__init__",
            (
                "self",
                "url",
                "logger",
                "proxy",
                "proxy_headers",
                "ping_interval",
                "receive_timeout",
                "receive_buffer_size",
                "trace_enabled",
                "all_message_trace_enabled",
                "ping_pong_trace_enabled",
                "on_message_listener",
                "on_error_listener",
                "on_close_listener",
                "connection_type_name",
                "ssl_context",
            ),
        ),
        _connection("connect", ("self",)),
        _connection("disconnect", ("self",)),
        _connection("close", ("self",)),
        _connection("is_active", ("self",)),
        _connection("send", ("self", "payload")),
        _connection("run_until_completion", ("self", "state")),
        _connection("sock"),
        _connection("session_id"),
        Private(_CONNECTION, "ConnectionState.terminated"),
    ),
    "slack_sdk's client, which loses the requests in flight when Slack refreshes the connection",
)
PATCHES = (WEB_TRANSPORT, FRAME_BUILDER, SOCKET_CLIENT)


def installed_version() -> str:
    from slack_sdk.version import __version__

    return __version__


def written_for(version: str) -> bool:
    found = re.match(r"(\d+)\.(\d+)", version)
    low, high = SLACK_SDK_VERSIONS
    return found is not None and low <= (int(found[1]), int(found[2])) < high


def problems(patch: Patch) -> list[str]:
    """Why `patch` does not fit the installed slack_sdk (empty when it does)."""
    found = [problem for private in patch.relies_on if (problem := private.problem()) is not None]
    if not written_for(installed_version()):
        (low_major, low_minor), (high_major, high_minor) = SLACK_SDK_VERSIONS
        written = f"{low_major}.{low_minor} to {high_major}.{high_minor - 1}"
        found.insert(0, f"slack_sdk {installed_version()} is not one it was written for ({written})")
    return found


@functools.cache
def usable(patch: Patch) -> bool:
    """Whether `patch` may be applied; when not, says why in a warning (once per process)."""
    found = problems(patch)
    if found:
        logger.warning("%s not applied (%s): %s", patch.name, "; ".join(found), patch.without_it)
    return not found


def apply_web_transport(client_class: type) -> bool:
    """Makes `client_class` (a WebClient) send each Web API call through its `_send_kept_alive`."""
    if not usable(WEB_TRANSPORT):
        return False
    client_class._perform_urllib_http_request_internal = client_class._send_kept_alive  # type: ignore[attr-defined]
    return True


def apply_frame_builder(build: Callable[..., bytes]) -> bool:
    """Makes slack_sdk's built-in Socket Mode client build its frames with `build`."""
    if not usable(FRAME_BUILDER):
        return False
    from slack_sdk.socket_mode.builtin import connection

    connection._build_data_frame_for_sending = build
    return True


def socket_mode_client_class() -> type:
    """The Socket Mode client class to run: the bot's own, or slack_sdk's where the bot's no longer fits."""
    if not usable(SOCKET_CLIENT):
        from slack_sdk.socket_mode.builtin import SocketModeClient

        return SocketModeClient
    from bot.socket_client import RefreshingSocketModeClient

    return RefreshingSocketModeClient
