"""What the stand-in was asked: a thread-safe log of calls that tests can wait on."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class CallRecord:
    """One request the app made to the stand-in.

    `method` is the Web API method ("chat.postMessage"), "response_url" or "files.download";
    `params` merges query string and body (JSON-looking fields such as `blocks` decoded);
    `t` is time.monotonic() at arrival; `status` is the HTTP status the stand-in answered.
    """

    method: str
    params: dict[str, Any]
    headers: dict[str, str]
    t: float
    path: str = ""
    status: int = 200
    response: Any = None
    token: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class CallLog:
    def __init__(self) -> None:
        self._records: list[CallRecord] = []
        self._changed = threading.Condition()

    def add(self, record: CallRecord) -> None:
        with self._changed:
            self._records.append(record)
            self._changed.notify_all()

    def select(self, method: str | None = None, since: float | None = None) -> list[CallRecord]:
        with self._changed:
            return [
                r for r in self._records if (method is None or r.method == method) and (since is None or r.t >= since)
            ]

    def clear(self) -> None:
        with self._changed:
            self._records.clear()

    def wait_for(
        self,
        method: str,
        predicate: Callable[[CallRecord], bool] | None = None,
        timeout: float = 10,
        since: float | None = None,
    ) -> CallRecord:
        """The first matching call (already made or still to come); TimeoutError after `timeout` s."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for record in self._records:
                    if record.method != method or (since is not None and record.t < since):
                        continue
                    if predicate is None or predicate(record):
                        return record
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    seen = [r.method for r in self._records]
                    raise TimeoutError(f"no matching {method} call within {timeout} s; calls so far: {seen}")
                self._changed.wait(remaining)
