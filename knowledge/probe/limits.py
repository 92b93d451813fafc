"""How often the probe may run: one probe at a time per user, and at most N an hour per user and per target.

`Limiter` is what the probe needs; `MemoryLimiter` keeps the counts in this process (the CLI, one bot
process). A bot with replicas backs the same two calls with its database."""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Protocol

from knowledge.probe.model import Refused

HOUR = 3600.0


class Limiter(Protocol):
    def begin(self, user: str, target: str) -> None:
        """Counts a probe of `target` by `user`, or raises Refused (busy, user-limit, target-limit)."""

    def end(self, user: str) -> None:
        """The user's probe finished (whatever its outcome)."""


def busy() -> Refused:
    return Refused("busy", "Your previous probe is still running; one at a time, please.")


def over_limit(reason: str, target: str, limit: int, wait_seconds: float) -> Refused:
    minutes = max(1, math.ceil(wait_seconds / 60))
    wait = f"try again in {minutes} minute{'s' if minutes != 1 else ''}"
    if reason == "user-limit":
        return Refused(reason, f"You have run {limit} probes in the last hour, the most allowed; {wait}.")
    return Refused(reason, f"{target} has been probed {limit} times in the last hour, the most allowed; {wait}.")


class MemoryLimiter:
    def __init__(self, per_user_hour: int, per_target_hour: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_user_hour = per_user_hour
        self.per_target_hour = per_target_hour
        self._clock = clock
        self._lock = threading.Lock()
        self._running: set[str] = set()
        self._by_user: dict[str, deque[float]] = {}
        self._by_target: dict[str, deque[float]] = {}

    def _recent(self, table: dict[str, deque[float]], key: str, now: float) -> deque[float]:
        times = table.setdefault(key, deque())
        while times and times[0] <= now - HOUR:
            times.popleft()
        return times

    def begin(self, user: str, target: str) -> None:
        with self._lock:
            now = self._clock()
            if user in self._running:
                raise busy()
            mine = self._recent(self._by_user, user, now)
            if len(mine) >= self.per_user_hour:
                raise over_limit("user-limit", target, self.per_user_hour, mine[0] + HOUR - now)
            theirs = self._recent(self._by_target, target, now)
            if len(theirs) >= self.per_target_hour:
                raise over_limit("target-limit", target, self.per_target_hour, theirs[0] + HOUR - now)
            mine.append(now)
            theirs.append(now)
            self._running.add(user)

    def end(self, user: str) -> None:
        with self._lock:
            self._running.discard(user)
