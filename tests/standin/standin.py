"""SlackStandIn: Web API, response_url hooks, HTTP-mode delivery and Socket Mode on 127.0.0.1."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from types import TracebackType
from typing import Any

from tests.standin import delivery, payloads
from tests.standin.delivery import Delivery, SignatureMode
from tests.standin.http_server import ResponseUrls, StandInHttpServer
from tests.standin.records import CallLog, CallRecord
from tests.standin.socket_mode import BreakKind, EnvelopeKind, SocketModeServer
from tests.standin.web_api import Workspace

# Shaped like real credentials (apps may check the shape), recognisable in logs by "5ta" / "e4b1c0de".
DEFAULT_BOT_TOKEN = "xoxb-100000000001-200000000002-5taNd1nB0tT0ken000000001"
DEFAULT_APP_TOKEN = "xapp-1-A0STANDIN-300000000003-" + "5ta0" * 16
DEFAULT_SIGNING_SECRET = "e4b1c0de5ec7e7f00d5ca1ab1e5eed01"


class SlackStandIn:
    """Everything of Slack the bot talks to, in background threads on ephemeral ports.

    Use as a context manager, or call start() and stop().
    """

    def __init__(
        self,
        signing_secret: str = DEFAULT_SIGNING_SECRET,
        bot_token: str = DEFAULT_BOT_TOKEN,
        app_token: str = DEFAULT_APP_TOKEN,
    ) -> None:
        self.signing_secret = signing_secret
        self.bot_token = bot_token
        self.app_token = app_token
        self.team_id = payloads.TEAM_ID
        self.bot_user_id = payloads.BOT_USER_ID
        self.app_id = payloads.APP_ID
        self.socket = SocketModeServer(self.app_id)
        self.log = CallLog()
        self.response_urls = ResponseUrls()
        self.workspace = Workspace(bot_token, app_token, self.socket.issue_url, lambda: self.base_url)
        self._http = StandInHttpServer(self.workspace, self.log, self.response_urls)
        self._http_thread = threading.Thread(target=self._http.serve_forever, name="standin-http", daemon=True)

    # ----- lifecycle -----

    def start(self) -> SlackStandIn:
        self._http_thread.start()
        self.socket.start()
        return self

    def stop(self) -> None:
        self._http.shutdown()
        self._http.server_close()
        self.socket.stop()

    def __enter__(self) -> SlackStandIn:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        return self._http.base_url

    @property
    def http_connections_accepted(self) -> int:
        """TCP connections accepted so far by the HTTP side (Web API, response_url hooks, file downloads)."""
        return self._http.connections_accepted

    @property
    def api_url(self) -> str:
        """The value for SLACK_API_URL / WebClient(base_url=...)."""
        return self.base_url + "/api/"

    def bot_env(self, mode: str = "http") -> dict[str, str]:
        """The Slack part of the bot's environment for `mode` "http" or "socket"."""
        env = {"SLACK_BOT_TOKEN": self.bot_token, "SLACK_API_URL": self.api_url}
        if mode == "socket":
            env["SLACK_APP_TOKEN"] = self.app_token
        else:
            env["SLACK_SIGNING_SECRET"] = self.signing_secret
        return env

    # ----- the call log -----

    def calls(self, method: str | None = None, since: float | None = None) -> list[CallRecord]:
        return self.log.select(method, since)

    def wait_for_call(
        self,
        method: str,
        predicate: Callable[[CallRecord], bool] | None = None,
        timeout: float = 10,
        since: float | None = None,
    ) -> CallRecord:
        """`since` is a time.monotonic() value: calls that arrived earlier are ignored."""
        return self.log.wait_for(method, predicate, timeout, since)

    def clear(self) -> None:
        self.log.clear()

    # ----- workspace state and failures -----

    def fail_next(
        self, method: str, status: int = 429, retry_after: int | None = 1, times: int = 1, error: str | None = None
    ) -> None:
        """The next `times` calls of `method` (or "response_url") fail.

        429 answers {"ok": false, "error": "ratelimited"} with Retry-After; 5xx "internal_error";
        status 200 with `error` gives an API error such as "not_in_channel".
        """
        self.workspace.fail_next(method, status, retry_after, times, error)

    def fail_for(
        self, method: str, seconds: float, status: int = 429, retry_after: int | None = 1, error: str | None = None
    ) -> None:
        """Every call of `method` ("*": all, "response_url" included) fails for the next `seconds`: a Slack
        incident. 429 answers with Retry-After; 5xx "internal_error"."""
        self.workspace.fail_for(method, seconds, status, retry_after, error)

    def slow_for(self, method: str, seconds: float, delay: float) -> None:
        """Every call of `method` ("*" for all) is answered `delay` s late for the next `seconds`."""
        self.workspace.slow_for(method, seconds, delay)

    def register_file(
        self, name: str, content: bytes, mimetype: str = "text/plain", file_id: str | None = None
    ) -> dict[str, Any]:
        """A file for files.info; its url_private serves `content` to the bot token only."""
        return self.workspace.register_file(name, content, mimetype, file_id)

    def register_user(self, user_id: str, **fields: Any) -> dict[str, Any]:
        return self.workspace.register_user(user_id, **fields)

    def register_channel(self, channel_id: str, **fields: Any) -> dict[str, Any]:
        return self.workspace.register_channel(channel_id, **fields)

    def add_message(
        self, channel: str, text: str, user: str = "U1", thread_ts: str | None = None, **fields: Any
    ) -> dict[str, Any]:
        """A message someone wrote, readable with conversations.history and conversations.replies."""
        return self.workspace.add_message(channel, text, user, thread_ts, **fields)

    def function_executed(
        self, callback_id: str, inputs: dict[str, Any], token: str | None = "new"
    ) -> tuple[dict[str, Any], str]:
        """A function_executed event for a new execution that its own token (token="new") may complete, and
        the execution's id. token=None sends the event without one."""
        execution_id = payloads.new_function_execution_id()
        issued = payloads.new_workflow_token()
        self.workspace.start_execution(execution_id, issued)
        event = payloads.function_executed(
            callback_id, inputs, execution_id=execution_id, token=issued if token == "new" else token
        )
        return event, execution_id

    def execution(self, execution_id: str) -> dict[str, Any]:
        """How a step ended: {"state": "running"} or "completed" with "outputs" or "error"."""
        return dict(self.workspace.executions[execution_id])

    def new_response_url(self) -> str:
        return f"{self.base_url}/response/{self.response_urls.new_id()}"

    # ----- HTTP-mode delivery -----

    def send_command(
        self,
        app_url: str,
        text: str,
        command: str = "/ftpcode",
        user_id: str = "U1",
        channel_id: str = "C1",
        signature: SignatureMode = "valid",
        **fields: str,
    ) -> Delivery:
        form = payloads.command_payload(
            text,
            command=command,
            user_id=user_id,
            channel_id=channel_id,
            response_url=self.new_response_url(),
            **fields,
        )
        result = delivery.post_form(app_url, form, self.signing_secret, signature=signature)
        result.sent = form
        return result

    def send_event(
        self,
        app_url: str,
        event: dict[str, Any],
        event_id: str | None = None,
        retry_num: int | None = None,
        retry_reason: str | None = None,
        signature: SignatureMode = "valid",
    ) -> Delivery:
        body = payloads.event_callback(event, event_id=event_id)
        headers = {}
        if retry_num is not None:
            headers["X-Slack-Retry-Num"] = str(retry_num)
            headers["X-Slack-Retry-Reason"] = retry_reason or "http_timeout"
        result = delivery.post_json(app_url, body, self.signing_secret, signature=signature, extra_headers=headers)
        result.sent = body
        return result

    def send_url_verification(self, app_url: str, challenge: str, signature: SignatureMode = "valid") -> Delivery:
        body = payloads.url_verification(challenge)
        result = delivery.post_json(app_url, body, self.signing_secret, signature=signature)
        result.sent = body
        return result

    def send_action(self, app_url: str, payload: dict[str, Any], signature: SignatureMode = "valid") -> Delivery:
        """block_actions, message_action, view_submission...: posted as the form field `payload`."""
        result = delivery.post_form(app_url, {"payload": json.dumps(payload)}, self.signing_secret, signature=signature)
        result.sent = payload
        return result

    # ----- payload builders bound to this stand-in (response_url on the stand-in) -----

    def block_actions(self, action_id: str, value: str = "", **kwargs: Any) -> dict[str, Any]:
        kwargs.setdefault("response_url", self.new_response_url())
        kwargs.setdefault("trigger_id", self.workspace.issue_trigger(payloads.new_trigger_id()))
        return payloads.block_actions(action_id=action_id, value=value, **kwargs)

    def view_submission(self, callback_id: str, values: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        return payloads.view_submission(callback_id=callback_id, values=values, **kwargs)

    def message_action(self, callback_id: str, message_text: str, **kwargs: Any) -> dict[str, Any]:
        kwargs.setdefault("response_url", self.new_response_url())
        return payloads.message_action(callback_id=callback_id, message_text=message_text, **kwargs)

    # ----- Socket Mode -----

    @property
    def connections_opened(self) -> int:
        return self.socket.connections_opened

    def wait_for_connection(self, count: int = 1, timeout: float = 10) -> None:
        self.socket.wait_for_connection(count, timeout)

    def send_envelope(
        self, kind: EnvelopeKind, payload: dict[str, Any], retry_attempt: int = 0, retry_reason: str = ""
    ) -> str:
        return self.socket.send_envelope(kind, payload, retry_attempt, retry_reason)

    def send_command_envelope(
        self, text: str, command: str = "/ftpcode", user_id: str = "U1", channel_id: str = "C1", **fields: str
    ) -> str:
        payload = payloads.command_payload(
            text,
            command=command,
            user_id=user_id,
            channel_id=channel_id,
            response_url=self.new_response_url(),
            **fields,
        )
        return self.send_envelope("slash_commands", payload)

    def send_event_envelope(
        self, event: dict[str, Any], event_id: str | None = None, retry_attempt: int = 0, retry_reason: str = ""
    ) -> str:
        body = payloads.event_callback(event, event_id=event_id)
        return self.send_envelope("events_api", body, retry_attempt, retry_reason)

    def send_action_envelope(self, payload: dict[str, Any]) -> str:
        return self.send_envelope("interactive", payload)

    def wait_for_ack(self, envelope_id: str, timeout: float = 10) -> dict[str, Any]:
        return self.socket.wait_for_ack(envelope_id, timeout)

    def break_socket(self, how: BreakKind, grace: float = 5.0, reason: str = "refresh_requested") -> int:
        """ "disconnect" (`reason`, closed after `grace` s), "close" (close frame) or "dead"."""
        return self.socket.break_socket(how, grace, reason)
