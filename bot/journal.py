"""What a job has done, so that running it again does not do it twice.

A job's handler is ordinary code calling the Web API, the response_url and the store. Each of those calls is
a numbered step in the job's journal: on a later run (after a 429, a 5xx or a crash) a step already in the
journal returns what it returned the first time instead of calling out again, and the handler, deterministic
given those answers, takes the same path up to where it stopped.

Slack's refusals that only time cures (429 with Retry-After, 5xx, the network) become RetryLater, which the
worker turns into a later run; an API error such as not_in_channel stays a SlackApiError for the handler.
"""

from __future__ import annotations

import http.client
import logging
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import asdict, fields
from typing import Any, TypeVar

from slack_sdk.errors import SlackApiError
from slack_sdk.web import SlackResponse
from slack_sdk.webhook import WebhookClient

from bot.database import DatabaseError
from bot.insights import Stats
from bot.jobs import Job
from bot.store import Store, TriageSession
from bot.web_transport import KeepAliveWebClient, tls_context_for

logger = logging.getLogger("bot.work")

T = TypeVar("T")
_NETWORK_ERRORS = (OSError, http.client.HTTPException)


class RetryLater(Exception):
    """The work cannot go on now; `after` seconds (None: the worker's back-off) is when to try again."""

    def __init__(self, reason: str, after: float | None = None) -> None:
        super().__init__(reason)
        self.after = after


def retry_after(headers: Any) -> float:
    """Seconds from a Retry-After header (1 when missing or unreadable)."""
    for name, value in dict(headers or {}).items():
        if name.lower() == "retry-after":
            value = value[0] if isinstance(value, list | tuple) and value else value
            try:
                return max(0.0, float(value))
            except (TypeError, ValueError):
                return 1.0
    return 1.0


class RateLimits:
    """Web API methods Slack asked us to leave alone, until when: the process's other jobs wait too."""

    def __init__(self) -> None:
        self._until: dict[str, float] = {}
        self._lock = threading.Lock()

    def block(self, method: str, seconds: float) -> None:
        with self._lock:
            self._until[method] = max(self._until.get(method, 0.0), time.monotonic() + seconds)

    def wait(self, method: str) -> float:
        with self._lock:
            return max(0.0, self._until.get(method, 0.0) - time.monotonic())


def _call(call: Callable[..., T], *args: Any) -> T:
    return call(*args)


class Journal:
    """One job's steps, in order; `save` writes the job (its journal) after every new step that cannot be repeated,
    before the next step runs.

    Database calls go through `run` (bot.database.BoundedCalls: each is a hand-off to a database thread and back).
    A step in the database (`database_step`) takes the write of the steps before it, and its own, along in that same
    call and in one `transaction` with its own write: a triage click's answer is saved with the journal that says
    so, or not at all, and its two journal writes cost no hand-off of their own."""

    def __init__(
        self,
        job: Job,
        save: Callable[[Job], None],
        run: Callable[..., Any] = _call,
        transaction: Callable[[], AbstractContextManager[Any]] = nullcontext,
    ) -> None:
        self.job = job
        self._save = save
        self._run = run
        self._transaction = transaction
        self._next = 0
        self._unsaved = False  # a step that cannot be repeated is done, and the journal not yet written since
        self._together = False  # in the database's thread, running `together`'s call

    def step(
        self,
        name: str,
        run: Callable[[], T],
        encode: Callable[[T], Any] = lambda value: value,
        decode: Callable[[Any], T] = lambda value: value,
        *,
        repeatable: bool = False,
        save_later: bool = False,
    ) -> T:
        """`run()`, or what it returned on an earlier run of the job.

        A `repeatable` step, one that does the same again when run twice (a read, chat.update of a message to the
        same content), is saved with the next step that is not: a run that stops before that step did nothing
        since that could not be done again, and its next run does it afresh. A step that is not, `save_later`, is
        saved as the next step starts (with it, when that one is in the database) or with the job's end
        (`with_unsaved`)."""
        key = self._key(name)
        if key in self.job.journal:
            return decode(self.job.journal[key])
        self._save_now()
        result = run()
        self.job.journal[key] = encode(result)
        if not repeatable and self.job.durable:
            self._unsaved = True
            if not save_later:
                self._save_now()
        return result

    def database_step(
        self,
        name: str,
        call: Callable[[], T],
        encode: Callable[[T], Any],
        decode: Callable[[Any], T],
        *,
        repeatable: bool = False,
    ) -> T:
        """A step whose `call()` runs in the database's thread, the journal written before it (what earlier steps
        left unsaved) and after it (unless `repeatable`) in the same hand-off and the same transaction.

        Written apart, a crash between the two commits left a triage answer saved and its step unjournaled: the
        rerun found the session moved on, said "already answered" and never asked the next question. Now a
        journal that cannot be written undoes the step (DatabaseError: the job runs again later)."""
        key = self._key(name)
        if key in self.job.journal:
            return decode(self.job.journal[key])
        writes = not repeatable and self.job.durable

        def in_database() -> T:
            if not (writes or self._unsaved):
                result = call()
                self.job.journal[key] = encode(result)  # saved with the next step that writes
                return result
            unsaved = self._unsaved
            try:
                with self._transaction():
                    if unsaved:
                        self._save(self.job)
                    result = call()
                    self.job.journal[key] = encode(result)
                    if writes:
                        self._save(self.job)
            except BaseException:
                self.job.journal.pop(key, None)
                raise
            self._unsaved = False
            return result

        return in_database() if self._together else self._run(in_database)

    def together(self, call: Callable[[], T]) -> T:
        """`call()` in one hand-off to the database's thread: the database steps it takes run there one after the
        other, each journaled as it would be alone. `call` makes no other step (no Web API call)."""

        def in_database() -> T:
            self._together = True
            try:
                return call()
            finally:
                self._together = False

        return self._run(in_database)

    def with_unsaved(self, call: Callable[..., T], *args: Any) -> Callable[[], T]:
        """`call(*args)`, for the database's thread, after the write of steps not saved yet (the job's end)."""

        def then() -> T:
            self._save_unsaved()
            return call(*args)

        return then

    def _key(self, name: str) -> str:
        key = f"{self._next}:{name}"
        self._next += 1
        return key

    def _save_now(self) -> None:
        if not self._unsaved:
            return
        try:
            self._run(self._save_unsaved)
        except DatabaseError as exc:  # out of reach, or no answer in time: as a failed write, below
            logger.warning("job %s: journal not saved (%s)", self.job.id, exc)

    def _save_unsaved(self) -> None:
        if not self._unsaved:
            return
        self._unsaved = False
        try:
            self._save(self.job)
        except DatabaseError as exc:  # the step is done; only a crash before the next save could repeat it
            logger.warning("job %s: journal not saved (%s)", self.job.id, exc)


class JournaledClient(KeepAliveWebClient):
    """A WebClient whose every call is a journal step, and whose 429s, 5xx and network errors are RetryLater."""

    REPEATABLE = frozenset({"chat.update", "chat.getPermalink", "conversations.open", "files.info", "views.publish"})
    """Methods that do the same again when called twice with the same arguments: reads, and updates that set
    what they set (bot/journal.py, Journal.step)."""

    journal: Journal
    limits: RateLimits

    def api_call(self, api_method: str, **kwargs: Any) -> SlackResponse:  # type: ignore[override]
        return self.journal.step(
            api_method,
            lambda: self._call_now(api_method, **kwargs),
            encode=_answer_to_keep,
            repeatable=api_method in self.REPEATABLE,
            save_later=True,
            decode=lambda data: SlackResponse(
                client=self, http_verb="POST", api_url=api_method, req_args={}, data=data, headers={}, status_code=200
            ),
        )

    def _call_now(self, api_method: str, **kwargs: Any) -> SlackResponse:
        if wait := self.limits.wait(api_method):
            raise RetryLater(f"{api_method} is rate-limited", wait)
        try:
            return super().api_call(api_method, **kwargs)
        except SlackApiError as exc:
            status = getattr(exc.response, "status_code", 200)
            if status == 429:
                seconds = retry_after(exc.response.headers)
                self.limits.block(api_method, seconds)
                raise RetryLater(f"{api_method}: 429", seconds) from None
            if status >= 500:
                raise RetryLater(f"{api_method}: HTTP {status}") from None
            raise
        except _NETWORK_ERRORS as exc:
            raise RetryLater(f"{api_method}: {exc.__class__.__name__}") from None


def _answer_to_keep(response: SlackResponse) -> dict[str, Any]:
    """What the journal keeps of a Web API answer: all of it but the echo of a posted or updated message
    ("message": its blocks, a few kB, written again with every later step of the job). No handler reads it."""
    data = response.data if isinstance(response.data, dict) else {}
    return {key: value for key, value in data.items() if key != "message"}


def journaled_client(base: KeepAliveWebClient, journal: Journal, limits: RateLimits) -> JournaledClient:
    client = base.sharing_connections(kind=JournaledClient)  # the worker threads' kept-alive connections
    client.journal = journal
    client.limits = limits
    return client


def journaled_respond(response_url: str | None, journal: Journal) -> Callable[..., None]:
    """Bolt's respond(), as a journal step: posts to the response_url once, later if Slack asks."""

    def respond(**message: Any) -> None:
        if not response_url:
            logger.info("no response_url to answer on")
            return
        journal.step("response_url", lambda: _post_response(response_url, message))

    return respond


def _post_response(url: str, message: dict[str, Any]) -> int:
    client = WebhookClient(url, timeout=15, ssl=tls_context_for(url))
    try:
        response = client.send_dict(message)
    except _NETWORK_ERRORS as exc:
        raise RetryLater(f"response_url: {exc.__class__.__name__}") from None
    if response.status_code == 429:
        raise RetryLater("response_url: 429", retry_after(response.headers))
    if response.status_code >= 500:
        raise RetryLater(f"response_url: HTTP {response.status_code}")
    if response.status_code >= 300:  # expired (30 minutes) or used up (5 posts): nothing will change that
        logger.info("response_url refused the answer: HTTP %s", response.status_code)
    return response.status_code


class JournaledStore:
    """The store as the job sees it: each call a journal step in the database, so a rerun reads what the first run
    read."""

    REPEATABLE = frozenset({"triage_by_id", "triage_in_thread", "note_question"})
    """Store methods that do the same again when run twice: reads, and note_question (it sets which message asks
    the open question)."""

    def __init__(self, store: Store, journal: Journal) -> None:
        self._store = store
        self._journal = journal

    def together(self, call: Callable[..., T], *args: Any) -> T:
        """`call(*args)`, whose store calls (through this) cost one hand-off to the database's thread in all
        (Journal.together)."""
        return self._journal.together(lambda: call(*args))

    def __getattr__(self, name: str) -> Callable[..., Any]:
        method = getattr(self._store, name)
        if not callable(method) or name.startswith("_"):
            return method

        def step(*args: Any, **kwargs: Any) -> Any:
            call = lambda: method(*args, **kwargs)  # noqa: E731
            return self._journal.database_step(name, call, _encode, _decode, repeatable=name in self.REPEATABLE)

        return step


def _encode(value: Any) -> Any:
    if isinstance(value, TriageSession):
        # Field by field: asdict() deep-copies the state (two sessions a triage click, ~50 us each); the journal
        # is written as JSON and nothing changes a session's state in place.
        return {"triage_session": {name: getattr(value, name) for name in _SESSION_FIELDS}}
    if isinstance(value, Stats):
        return {"stats": asdict(value)}
    return value


_SESSION_FIELDS = tuple(field.name for field in fields(TriageSession))


def _decode(value: Any) -> Any:
    if isinstance(value, dict) and "triage_session" in value:
        return TriageSession(**value["triage_session"])
    if isinstance(value, dict) and "stats" in value:
        return Stats(**value["stats"])
    return value
