"""What each process does now and then, besides answering: delete feedback rows past FEEDBACK_TTL_DAYS, and
the other chores added with `every()` (the weekly digest, the site notes' reload).

Each chore runs once at start-up and then at its interval, on one thread; a chore that fails is logged and
runs again at its next turn. Every replica runs them: each chore is safe to run on several at once.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from bot.database import DatabaseError

logger = logging.getLogger("bot.housekeeping")

PURGE_SECONDS = 3600.0


class Housekeeping:
    def __init__(self) -> None:
        self._chores: list[tuple[str, float, Callable[[], None]]] = []
        self._next: dict[str, float] = {}
        self._stopping = threading.Event()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._run, name="housekeeping", daemon=True)

    def every(self, seconds: float, name: str, chore: Callable[[], None]) -> Housekeeping:
        self._chores.append((name, seconds, chore))
        return self

    def start(self) -> Housekeeping:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()

    def soon(self, name: str) -> None:
        """Runs the chore `name` now rather than at its turn (safe from a signal handler)."""
        self._next[name] = 0.0
        self._wake.set()

    def _run(self) -> None:
        while not self._stopping.is_set():
            now = time.monotonic()
            for name, seconds, chore in self._chores:
                if now < self._next.get(name, 0.0):
                    continue
                self._next[name] = now + seconds
                try:
                    chore()
                except DatabaseError as exc:
                    logger.warning("%s: the database is out of reach (%s); next turn in %.0f s", name, exc, seconds)
                except Exception:
                    logger.exception("%s failed; next turn in %.0f s", name, seconds)
            waits = [self._next[name] - time.monotonic() for name, _, _ in self._chores]
            self._wake.wait(max(0.05, min(waits, default=60.0)))
            self._wake.clear()
