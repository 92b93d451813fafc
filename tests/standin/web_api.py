"""The Web API methods the bot uses, with the state they need (messages, views, users, files)."""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tests.standin import payloads
from tests.standin.api_answer import ApiAnswer, error, ok
from tests.standin.surfaces_api import SURFACE_METHODS, SurfaceMethods

MESSAGE_BLOCK_LIMIT = 50
VIEW_BLOCK_LIMIT = 100
SECTION_TEXT_LIMIT = 3000
HEADER_TEXT_LIMIT = 150
TRIGGER_SECONDS = 3.0

# Methods that a bot token may call; anything else answers unknown_method.
BOT_METHODS = frozenset(
    {
        "auth.test",
        "chat.postMessage",
        "chat.postEphemeral",
        "chat.update",
        "chat.getPermalink",
        "views.publish",
        "views.open",
        "views.update",
        "conversations.info",
        "conversations.open",
        "users.info",
        "files.info",
        "files.getUploadURLExternal",
        "files.completeUploadExternal",
    }
    | SURFACE_METHODS
)
APP_TOKEN_METHODS = frozenset({"apps.connections.open"})


@dataclass
class InjectedFailure:
    status: int
    error: str
    retry_after: int | None


@dataclass
class FaultWindow:
    """Every call of `method` ("*": any method, response_url included) fails or is slow until `until`."""

    method: str
    until: float  # time.monotonic()
    failure: InjectedFailure | None
    delay: float = 0.0

    def covers(self, method: str, now: float) -> bool:
        return now < self.until and self.method in ("*", method)


def block_error(blocks: Any, limit: int) -> str | None:
    """The error Slack gives for blocks it refuses, or None. Only the limits the bot can hit."""
    if blocks is None:
        return None
    if not isinstance(blocks, list) or not all(isinstance(b, dict) and "type" in b for b in blocks):
        return "invalid_blocks_format"
    if len(blocks) > limit:
        return "invalid_blocks"
    for block in blocks:
        text = block.get("text")
        text_value = text.get("text", "") if isinstance(text, dict) else ""
        if block["type"] == "section" and len(text_value) > SECTION_TEXT_LIMIT:
            return "invalid_blocks"
        if block["type"] == "header" and len(text_value) > HEADER_TEXT_LIMIT:
            return "invalid_blocks"
    return None


class Workspace(SurfaceMethods):
    """The workspace as the stand-in sees it, plus failure injection. Thread-safe."""

    def __init__(
        self,
        bot_token: str,
        app_token: str,
        issue_socket_url: Callable[[], str],
        files_base_url: Callable[[], str],
    ) -> None:
        self.bot_token = bot_token
        self.app_token = app_token
        self._issue_socket_url = issue_socket_url
        self._files_base_url = files_base_url
        self._lock = threading.Lock()
        self.messages: dict[tuple[str, str], dict[str, Any]] = {}
        self.ephemeral_messages: list[dict[str, Any]] = []
        self.views: dict[str, dict[str, Any]] = {}
        self.home_views: dict[str, dict[str, Any]] = {}
        self.channels: dict[str, dict[str, Any]] = {}
        self.users: dict[str, dict[str, Any]] = {}
        self.files: dict[str, dict[str, Any]] = {}
        self.file_contents: dict[str, bytes] = {}
        self.direct_messages: dict[str, str] = {}  # user id -> the id of their DM with the bot
        # files.getUploadURLExternal: file id -> its name, declared length and the bytes posted to its URL
        self.uploads: dict[str, dict[str, Any]] = {}
        self.shared_files: list[dict[str, Any]] = []  # files.completeUploadExternal: what was shared where
        # trigger_id -> when it was issued (time.monotonic()) and whether a view was opened with it
        self.triggers: dict[str, list[float | bool]] = {}
        self._failures: dict[str, deque[InjectedFailure]] = {}
        self._windows: list[FaultWindow] = []
        self._init_surfaces()

    # ----- failure injection -----

    def fail_next(
        self, method: str, status: int = 429, retry_after: int | None = 1, times: int = 1, error: str | None = None
    ) -> None:
        if error is None:
            if status == 200:
                raise ValueError("an injected failure with status 200 needs an error code")
            error = "ratelimited" if status == 429 else "internal_error"
        failure = InjectedFailure(status, error, retry_after if status == 429 else None)
        with self._lock:
            self._failures.setdefault(method, deque()).extend([failure] * times)

    def fail_for(
        self, method: str, seconds: float, status: int = 429, retry_after: int | None = 1, error: str | None = None
    ) -> None:
        """Every call of `method` ("*" for all) fails for the next `seconds`, as in a Slack incident."""
        error = error or ("ratelimited" if status == 429 else "internal_error")
        failure = InjectedFailure(status, error, retry_after if status == 429 else None)
        with self._lock:
            self._windows.append(FaultWindow(method, time.monotonic() + seconds, failure))

    def slow_for(self, method: str, seconds: float, delay: float) -> None:
        """Every call of `method` ("*" for all) takes `delay` s longer for the next `seconds`."""
        with self._lock:
            self._windows.append(FaultWindow(method, time.monotonic() + seconds, None, delay))

    def delay(self, method: str) -> float:
        now = time.monotonic()
        with self._lock:
            return max((w.delay for w in self._windows if w.covers(method, now)), default=0.0)

    def take_failure(self, method: str) -> ApiAnswer | None:
        now = time.monotonic()
        with self._lock:
            window = next((w for w in self._windows if w.failure and w.covers(method, now)), None)
            queue = self._failures.get(method)
            if window is not None:
                failure = window.failure
            elif queue:
                failure = queue.popleft()
            else:
                return None
        assert failure is not None
        headers = {"Retry-After": str(failure.retry_after)} if failure.retry_after is not None else {}
        return error(failure.error, failure.status, headers)

    def issue_trigger(self, trigger_id: str) -> str:
        """A trigger_id as Slack hands one out with an interaction: good for one views.open within 3 s."""
        with self._lock:
            self.triggers[trigger_id] = [time.monotonic(), False]
        return trigger_id

    # ----- registration of fixtures -----

    def register_channel(self, channel_id: str, **fields: Any) -> dict[str, Any]:
        channel = self._default_channel(channel_id) | fields
        with self._lock:
            self.channels[channel_id] = channel
        return channel

    def register_user(self, user_id: str, **fields: Any) -> dict[str, Any]:
        user = self._default_user(user_id) | fields
        with self._lock:
            self.users[user_id] = user
        return user

    def register_file(
        self, name: str, content: bytes, mimetype: str = "text/plain", file_id: str | None = None
    ) -> dict[str, Any]:
        file_id = file_id or "F" + secrets.token_hex(5).upper()
        url = f"{self._files_base_url()}/files-pri/{payloads.TEAM_ID}-{file_id}/{name}"
        file = {
            "id": file_id,
            "created": 1700000000,
            "timestamp": 1700000000,
            "name": name,
            "title": name,
            "mimetype": mimetype,
            "filetype": name.rsplit(".", 1)[-1] if "." in name else "text",
            "user": "U1",
            "size": len(content),
            "is_external": False,
            "url_private": url,
            "url_private_download": url + "?download=1",
        }
        with self._lock:
            self.files[file_id] = file
            self.file_contents[file_id] = content
        return file

    @staticmethod
    def _default_channel(channel_id: str) -> dict[str, Any]:
        is_im = channel_id.startswith("D")
        return {
            "id": channel_id,
            "name": "general" if channel_id == "C1" else channel_id.lower(),
            "is_channel": channel_id.startswith("C"),
            "is_group": channel_id.startswith("G"),
            "is_im": is_im,
            "is_private": not channel_id.startswith("C"),
            "is_archived": False,
            "is_member": True,
            "created": 1700000000,
        }

    @staticmethod
    def _default_user(user_id: str) -> dict[str, Any]:
        name = f"user-{user_id.lower()}"
        return {
            "id": user_id,
            "team_id": payloads.TEAM_ID,
            "name": name,
            "real_name": name.title(),
            "deleted": False,
            "is_bot": False,
            "tz": "UTC",
            "tz_offset": 0,
            "profile": {"display_name": name, "real_name": name.title()},
        }

    # ----- the API -----

    def call(self, method: str, params: dict[str, Any], token: str | None, token_in_header: bool) -> ApiAnswer:
        if method not in BOT_METHODS and method not in APP_TOKEN_METHODS:
            return error("unknown_method", 404)
        # apps.connections.open refuses a token sent as a POST parameter (its documentation says so).
        if not token or (method in APP_TOKEN_METHODS and not token_in_header):
            return error("not_authed")
        if token not in (self.bot_token, self.app_token) and token not in self.function_tokens:
            return error("invalid_auth")
        if (method in APP_TOKEN_METHODS) != (token == self.app_token):
            return error("not_allowed_token_type")
        injected = self.take_failure(method)
        if injected is not None:
            return injected
        handler = getattr(self, "_" + method.replace(".", "_"))
        if method.startswith("functions."):
            return handler(params, token)
        return handler(params)

    def _auth_test(self, params: dict[str, Any]) -> ApiAnswer:
        return ok(
            url=f"https://{payloads.TEAM_DOMAIN}.slack.com/",
            team="ftpcode stand-in",
            user="ftpcode",
            team_id=payloads.TEAM_ID,
            user_id=payloads.BOT_USER_ID,
            bot_id=payloads.BOT_ID,
            is_enterprise_install=False,
        )

    def _apps_connections_open(self, params: dict[str, Any]) -> ApiAnswer:
        return ok(url=self._issue_socket_url())

    def _message_content_error(self, params: dict[str, Any]) -> str | None:
        if not params.get("channel"):
            return "channel_not_found"
        if not (params.get("text") or params.get("blocks") or params.get("attachments")):
            return "no_text"
        return block_error(params.get("blocks"), MESSAGE_BLOCK_LIMIT)

    def _bot_message(self, params: dict[str, Any], ts: str) -> dict[str, Any]:
        message = {
            "type": "message",
            "user": payloads.BOT_USER_ID,
            "bot_id": payloads.BOT_ID,
            "app_id": payloads.APP_ID,
            "team": payloads.TEAM_ID,
            "text": params.get("text", ""),
            "ts": ts,
        }
        for key in ("blocks", "attachments", "thread_ts", "metadata"):
            if params.get(key) is not None:
                message[key] = params[key]
        return message

    def _chat_postMessage(self, params: dict[str, Any]) -> ApiAnswer:
        problem = self._message_content_error(params)
        if problem:
            return error(problem)
        with self._lock:
            if self.channels.get(params["channel"], {}).get("is_member") is False:
                return error("not_in_channel")  # a bot with chat:write only posts where it is a member
        ts = payloads.new_ts()
        message = self._bot_message(params, ts)
        with self._lock:
            self.messages[(params["channel"], ts)] = message
        return ok(channel=params["channel"], ts=ts, message=message)

    def _chat_postEphemeral(self, params: dict[str, Any]) -> ApiAnswer:
        problem = self._message_content_error(params)
        if problem:
            return error(problem)
        if not params.get("user"):
            return error("user_not_found")
        ts = payloads.new_ts()
        with self._lock:
            self.ephemeral_messages.append(self._bot_message(params, ts) | {"to_user": params["user"]})
        return ok(message_ts=ts)

    def _chat_update(self, params: dict[str, Any]) -> ApiAnswer:
        key = (params.get("channel", ""), params.get("ts", ""))
        problem = block_error(params.get("blocks"), MESSAGE_BLOCK_LIMIT)
        if problem:
            return error(problem)
        with self._lock:
            message = self.messages.get(key)
            if message is None:
                return error("message_not_found")
            for field_name in ("text", "blocks", "attachments"):
                if field_name in params:
                    message[field_name] = params[field_name]
            message["edited"] = {"user": payloads.BOT_USER_ID, "ts": payloads.new_ts()}
            updated = dict(message)
        return ok(channel=key[0], ts=key[1], text=updated.get("text", ""), message=updated)

    def _chat_getPermalink(self, params: dict[str, Any]) -> ApiAnswer:
        channel, ts = params.get("channel"), params.get("message_ts")
        if not channel or not ts:
            return error("invalid_arguments")
        link = f"https://{payloads.TEAM_DOMAIN}.slack.com/archives/{channel}/p{ts.replace('.', '')}"
        return ok(channel=channel, permalink=link)

    def _stored_view(self, view: Any, view_type: str, view_id: str | None = None) -> dict[str, Any] | str:
        if not isinstance(view, dict) or view.get("type") != view_type:
            return "invalid_arguments"
        limit = VIEW_BLOCK_LIMIT
        problem = block_error(view.get("blocks", []), limit)
        if problem:
            return problem
        return view | {
            "id": view_id or payloads.new_view_id(),
            "team_id": payloads.TEAM_ID,
            "app_id": payloads.APP_ID,
            "bot_id": payloads.BOT_ID,
            "hash": secrets.token_hex(8),
        }

    def _views_publish(self, params: dict[str, Any]) -> ApiAnswer:
        if not params.get("user_id"):
            return error("invalid_arguments")
        stored = self._stored_view(params.get("view"), "home")
        if isinstance(stored, str):
            return error(stored)
        with self._lock:
            self.home_views[params["user_id"]] = stored
            self.views[stored["id"]] = stored
        return ok(view=stored)

    def _views_open(self, params: dict[str, Any]) -> ApiAnswer:
        if not params.get("trigger_id"):
            return error("invalid_trigger_id")
        with self._lock:
            issued = self.triggers.get(params["trigger_id"])
            if issued is not None:  # one the stand-in issued: Slack's 3 s, and once
                if issued[1]:
                    return error("trigger_exchanged")
                if time.monotonic() - float(issued[0]) > TRIGGER_SECONDS:
                    return error("expired_trigger_id")
                issued[1] = True
        stored = self._stored_view(params.get("view"), "modal")
        if isinstance(stored, str):
            return error(stored)
        with self._lock:
            self.views[stored["id"]] = stored
        return ok(view=stored)

    def _views_update(self, params: dict[str, Any]) -> ApiAnswer:
        view_id = params.get("view_id")
        with self._lock:
            existing = self.views.get(view_id or "")
        if existing is None:
            return error("not_found")
        stored = self._stored_view(params.get("view"), existing["type"], view_id)
        if isinstance(stored, str):
            return error(stored)
        with self._lock:
            self.views[stored["id"]] = stored
        return ok(view=stored)

    def _conversations_info(self, params: dict[str, Any]) -> ApiAnswer:
        channel_id = params.get("channel", "")
        with self._lock:
            channel = self.channels.get(channel_id)
        if channel is None:
            if not channel_id or channel_id[0] not in "CDG":
                return error("channel_not_found")
            channel = self._default_channel(channel_id)
        return ok(channel=channel)

    def _conversations_open(self, params: dict[str, Any]) -> ApiAnswer:
        """A DM with one user (multi-person DMs are not needed by the bot); the same id every time."""
        users = [u for u in str(params.get("users", "")).split(",") if u]
        if len(users) != 1:
            return error("users_list_not_supplied" if not users else "not_supported")
        if not users[0].startswith(("U", "W")):
            return error("user_not_found")
        with self._lock:
            channel_id = self.direct_messages.setdefault(users[0], "D" + secrets.token_hex(5).upper())
        return ok(channel=self._default_channel(channel_id))

    def _users_info(self, params: dict[str, Any]) -> ApiAnswer:
        user_id = params.get("user", "")
        with self._lock:
            user = self.users.get(user_id)
        if user is None:
            if not user_id.startswith(("U", "W")):
                return error("user_not_found")
            user = self._default_user(user_id)
        return ok(user=user)

    def _files_info(self, params: dict[str, Any]) -> ApiAnswer:
        with self._lock:
            file = self.files.get(params.get("file", ""))
        if file is None:
            return error("file_not_found")
        return ok(file=file, comments=[], response_metadata={"next_cursor": ""})

    def _files_getUploadURLExternal(self, params: dict[str, Any]) -> ApiAnswer:
        name, length = params.get("filename"), str(params.get("length", ""))
        if not name or not length.isdecimal():
            return error("invalid_arguments")
        file_id = "F" + secrets.token_hex(5).upper()
        with self._lock:
            self.uploads[file_id] = {"filename": name, "length": int(length), "content": None}
        return ok(upload_url=f"{self._files_base_url()}/upload/v1/{file_id}", file_id=file_id)

    def receive_upload(self, file_id: str, content: bytes) -> bool:
        with self._lock:
            upload = self.uploads.get(file_id)
            if upload is None:
                return False
            upload["content"] = content
            return True

    def _files_completeUploadExternal(self, params: dict[str, Any]) -> ApiAnswer:
        try:
            files = json.loads(params.get("files") or "[]")
        except ValueError:
            return error("invalid_arguments")
        with self._lock:
            for file in files:
                upload = self.uploads.get(file.get("id", ""))
                if upload is None or upload["content"] is None or len(upload["content"]) != upload["length"]:
                    return error("file_not_found")
            shared = [
                {"id": f["id"], "title": f.get("title"), "channel": params.get("channel_id"), **self.uploads[f["id"]]}
                for f in files
            ]
            self.shared_files += shared
        return ok(files=[{"id": f["id"], "title": f["title"]} for f in shared])

    def file_for_download(self, file_id: str) -> tuple[dict[str, Any], bytes] | None:
        with self._lock:
            if file_id not in self.files:
                return None
            return self.files[file_id], self.file_contents[file_id]
