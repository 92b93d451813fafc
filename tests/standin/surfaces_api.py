"""Web API methods of the agent's Messages tab, Workflow Builder steps and reading messages (for an emoji on
one): a part of Workspace, kept apart so web_api.py stays readable."""

from __future__ import annotations

import threading
from typing import Any

from tests.standin import payloads
from tests.standin.api_answer import ApiAnswer, error, ok

SURFACE_METHODS = frozenset(
    {
        "assistant.threads.setSuggestedPrompts",
        "assistant.threads.setStatus",
        "functions.completeSuccess",
        "functions.completeError",
        "conversations.history",
        "conversations.replies",
    }
)
MAX_SUGGESTED_PROMPTS = 4  # assistant.threads.setSuggestedPrompts takes at most four
HISTORY_LIMIT = 1000


def _ts_key(ts: str) -> tuple[int, int]:
    seconds, _, fraction = ts.partition(".")
    return int(seconds), int(fraction or 0)


class SurfaceMethods:
    """Needs Workspace's `messages` and `_lock`; keeps prompts, statuses and function executions."""

    messages: dict[tuple[str, str], dict[str, Any]]
    _lock: threading.Lock

    def _init_surfaces(self) -> None:
        self.suggested_prompts: dict[tuple[str, str], dict[str, Any]] = {}
        self.statuses: list[dict[str, Any]] = []
        self.executions: dict[str, dict[str, Any]] = {}  # function_execution_id -> token, state, outcome
        self.function_tokens: dict[str, str] = {}  # workflow token -> its execution

    # ----- fixtures -----

    def add_message(
        self, channel: str, text: str, user: str = "U1", thread_ts: str | None = None, **fields: Any
    ) -> dict[str, Any]:
        """A message someone (not the bot) wrote, for conversations.history and .replies to find."""
        ts = payloads.new_ts()
        message = {"type": "message", "user": user, "text": text, "ts": ts, "team": payloads.TEAM_ID, **fields}
        if thread_ts:
            message["thread_ts"] = thread_ts
        with self._lock:
            self.messages[(channel, ts)] = message
            if thread_ts and (channel, thread_ts) in self.messages:
                self.messages[(channel, thread_ts)].setdefault("thread_ts", thread_ts)
        return dict(message)

    def start_execution(self, execution_id: str, token: str) -> None:
        """A step a workflow runs: only `token` may complete it, once."""
        with self._lock:
            self.executions[execution_id] = {"token": token, "state": "running"}
            self.function_tokens[token] = execution_id

    # ----- the agent's Messages tab -----

    def _assistant_threads_setSuggestedPrompts(self, params: dict[str, Any]) -> ApiAnswer:
        prompts = params.get("prompts")
        if not params.get("channel_id"):
            return error("channel_not_found")
        if (
            not isinstance(prompts, list)
            or not 1 <= len(prompts) <= MAX_SUGGESTED_PROMPTS
            or not all(isinstance(p, dict) and p.get("title") and p.get("message") for p in prompts)
        ):
            return error("invalid_arguments")
        with self._lock:
            self.suggested_prompts[(params["channel_id"], params.get("thread_ts", ""))] = dict(params)
        return ok()

    def _assistant_threads_setStatus(self, params: dict[str, Any]) -> ApiAnswer:
        if not params.get("channel_id"):
            return error("channel_not_found")
        if not params.get("thread_ts"):
            return error("invalid_thread_ts")
        if "status" not in params:
            return error("invalid_arguments")
        with self._lock:
            self.statuses.append(dict(params))
        return ok()

    # ----- Workflow Builder steps -----

    def _complete(self, params: dict[str, Any], outcome: dict[str, Any], token: str | None) -> ApiAnswer:
        with self._lock:
            execution = self.executions.get(params.get("function_execution_id", ""))
            if execution is None:
                return error("function_execution_not_found")
            if token != execution["token"]:
                # Bolt completes a step with the token its event carried; so must the bot.
                return error("not_allowed_token_type")
            if execution["state"] != "running":
                return error("execution_not_in_running_state")
            execution.update(state="completed", **outcome)
        return ok()

    def _functions_completeSuccess(self, params: dict[str, Any], token: str | None = None) -> ApiAnswer:
        outputs = params.get("outputs")
        if not isinstance(outputs, dict):
            return error("invalid_arguments")
        return self._complete(params, {"outputs": outputs}, token)

    def _functions_completeError(self, params: dict[str, Any], token: str | None = None) -> ApiAnswer:
        if not isinstance(params.get("error"), str) or not params["error"]:
            return error("invalid_arguments")
        return self._complete(params, {"error": params["error"]}, token)

    # ----- reading messages -----

    def _visible(self, channel: str) -> tuple[list[dict[str, Any]], str | None]:
        """The channel's messages, oldest first, or the error a bot outside the channel gets."""
        channels = getattr(self, "channels", {})
        if not channel or channel[0] not in "CDG":
            return [], "channel_not_found"
        if channels.get(channel, {}).get("is_member") is False:
            return [], "not_in_channel"
        with self._lock:
            found = [dict(m) for (c, _), m in self.messages.items() if c == channel]
        return sorted(found, key=lambda m: _ts_key(m["ts"])), None

    @staticmethod
    def _in_range(messages: list[dict[str, Any]], params: dict[str, Any]) -> list[dict[str, Any]]:
        inclusive = str(params.get("inclusive", "")).lower() in ("1", "true")
        latest, oldest = params.get("latest"), params.get("oldest")

        def fits(message: dict[str, Any]) -> bool:
            key = _ts_key(message["ts"])
            if latest and (key > _ts_key(latest) or (key == _ts_key(latest) and not inclusive)):
                return False
            return not (oldest and (key < _ts_key(oldest) or (key == _ts_key(oldest) and not inclusive)))

        return [m for m in messages if fits(m)]

    @staticmethod
    def _limit(params: dict[str, Any]) -> int:
        try:
            return max(1, min(HISTORY_LIMIT, int(params.get("limit") or 100)))
        except ValueError:
            return 100

    def _conversations_history(self, params: dict[str, Any]) -> ApiAnswer:
        """The channel's top-level messages (not replies in threads), newest first."""
        messages, problem = self._visible(params.get("channel", ""))
        if problem:
            return error(problem)
        top = [m for m in messages if m.get("thread_ts") in (None, m["ts"])]
        found = list(reversed(self._in_range(top, params)))[: self._limit(params)]
        return ok(messages=found, has_more=False, pin_count=0, response_metadata={"next_cursor": ""})

    def _conversations_replies(self, params: dict[str, Any]) -> ApiAnswer:
        """A thread, oldest first, its first message always at the top (Slack's behaviour), whichever message of
        it `ts` names; replies filtered by oldest/latest; `limit` counts the first message too."""
        messages, problem = self._visible(params.get("channel", ""))
        if problem:
            return error(problem)
        named = next((m for m in messages if m["ts"] == params.get("ts")), None)
        if named is None:
            return error("thread_not_found")
        root_ts = named.get("thread_ts") or named["ts"]
        root = next((m for m in messages if m["ts"] == root_ts), named)
        replies = [m for m in messages if m.get("thread_ts") == root_ts and m["ts"] != root_ts]
        found = [root, *self._in_range(replies, params)][: self._limit(params)]
        return ok(messages=found, has_more=False, response_metadata={"next_cursor": ""})
