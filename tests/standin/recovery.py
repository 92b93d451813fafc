"""Measure how long a Socket Mode app takes to answer again after the stand-in breaks its socket.

Also holds the one adapter tweak the measurements call for: slack_sdk's websocket_client adapter
never passes `ping_timeout` to websocket-client, so a silently dead connection is never noticed.
"""

from __future__ import annotations

import math
import time
from typing import Any

from slack_bolt import App
from slack_sdk.socket_mode.websocket_client import SocketModeClient as WebsocketClientSocketModeClient

from tests.standin.socket_mode import BreakKind, NoSocketConnection
from tests.standin.standin import SlackStandIn

ACK_WAIT = 0.25


class PingTimeoutSocketModeClient(WebsocketClientSocketModeClient):
    """The websocket_client adapter, with a ping_timeout so a dead connection raises and reconnects."""

    def __init__(self, *args: Any, ping_timeout: float, **kwargs: Any) -> None:
        self.ping_timeout = ping_timeout  # set before super() starts the session runner thread
        super().__init__(*args, **kwargs)

    def _run_current_session(self) -> None:
        if self.current_session is None:
            return
        try:
            self.current_session.run_forever(ping_interval=self.ping_interval, ping_timeout=self.ping_timeout)
        except Exception as problem:
            self.logger.exception(f"Failed to start or stop the current session: {problem}")
            if self.current_session is not None:
                self.current_session.close()


def socket_mode_handler(
    app: App, app_token: str, adapter: str, ping_interval: float | None = None, ping_timeout: float | None = None
) -> Any:
    """A Bolt SocketModeHandler for `adapter` "builtin" or "websocket_client" (library defaults when None)."""
    settings = {} if ping_interval is None else {"ping_interval": ping_interval}
    if adapter == "builtin":
        from slack_bolt.adapter.socket_mode import SocketModeHandler

        return SocketModeHandler(app, app_token, **settings)
    if adapter != "websocket_client":
        raise ValueError(f"unknown adapter {adapter!r}")
    from slack_bolt.adapter.socket_mode.websocket_client import SocketModeHandler as WebsocketClientHandler

    handler = WebsocketClientHandler(app, app_token, **settings)
    if ping_timeout is not None:
        original = handler.client
        handler.client = PingTimeoutSocketModeClient(
            app_token=app_token,
            logger=original.logger,
            web_client=original.web_client,
            ping_interval=original.ping_interval,
            ping_timeout=ping_timeout,
        )
        handler.client.socket_mode_request_listeners.append(handler.handle)
        original.close()
    return handler


def answer_once(standin: SlackStandIn, timeout: float) -> bool:
    """Send one slash command envelope to the current connection; True when it is acked in time."""
    try:
        envelope_id = standin.send_command_envelope("421")
    except NoSocketConnection:
        time.sleep(0.05)
        return False
    try:
        standin.wait_for_ack(envelope_id, timeout)
        return True
    except TimeoutError:
        return False


def seconds_to_answer_again(standin: SlackStandIn, how: BreakKind, limit: float = 60) -> float:
    """Break the socket, then keep sending envelopes until one is acked; math.inf past `limit` s.

    Envelopes sent to a connection the client has abandoned are lost, as they would be with Slack.
    """
    started = time.monotonic()
    standin.break_socket(how)
    while time.monotonic() - started < limit:
        if answer_once(standin, ACK_WAIT):
            return time.monotonic() - started
    return math.inf
