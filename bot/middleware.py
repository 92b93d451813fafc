"""Bolt middleware, one job each, written as classes (as Bolt's own built-ins are): they get the request itself,
so no argument injection runs before the payload is known to be well formed.

In a sync Bolt app next() only marks that the request goes on: the other middleware and the listeners run after
process() has returned, so none of these can wrap them (in a `with` block, say)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import BoltRequest, BoltResponse
from slack_bolt.middleware import Middleware

from bot import logs

logger = logging.getLogger("bot")


class RefuseMalformed(Middleware):
    """Acknowledges, and drops, payloads whose shape Bolt's own argument injection would crash on.

    Bolt reads `body["actions"][0]` and `body["event"]` for every listener and custom middleware; a signed
    payload with an empty `actions` list raised IndexError inside Bolt, and Slack was answered 500.
    """

    def process(self, *, req: BoltRequest, resp: BoltResponse, next: Callable[[], BoltResponse]) -> BoltResponse:
        if problem := _malformed(req.body):
            logger.info("malformed %s payload acknowledged and dropped: %s", req.body.get("type"), problem)
            return BoltResponse(status=200, body="")
        return next()


def _malformed(body: dict[str, Any]) -> str | None:
    kind = body.get("type")
    if kind in ("block_actions", "interactive_message") and "actions" in body:
        actions = body["actions"]
        if not isinstance(actions, list) or not actions or not isinstance(actions[0], dict):
            return "actions is not a list of actions"
    if kind == "event_callback" and not isinstance(body.get("event"), dict):
        return "event is not an object"
    if kind in ("view_submission", "view_closed") and not isinstance(body.get("view"), dict):
        return "view is not an object"
    return None


class TagLogs(Middleware):
    """Records logged while a request is handled name its event (event=Ev…), as a job's do; first, so that a
    payload refused by the next one is logged with it too, and every request starts afresh."""

    def process(self, *, req: BoltRequest, resp: BoltResponse, next: Callable[[], BoltResponse]) -> BoltResponse:
        event_id = req.body.get("event_id")
        logs.begin(event=event_id if isinstance(event_id, str) else None)
        return next()


class ProvideWork(Middleware):
    """Gives listeners the worker that queues their work (context["work"])."""

    def __init__(self, work: Any) -> None:
        self.work = work

    def process(self, *, req: BoltRequest, resp: BoltResponse, next: Callable[[], BoltResponse]) -> BoltResponse:
        req.context["work"] = self.work
        return next()
