"""Records answers given in acknowledgements (`/ftpcode 425`) without making the acknowledgement wait.

A listener that answers from memory must not wait on the database, so it hands its row to this buffer; one
thread writes what has come, in one transaction, as soon as it can. While the database is out of reach rows
wait here (at most MAX_ROWS; beyond that the oldest are dropped and counted in the log): these rows feed the
stats, they are not work someone waits for.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

from bot.database import DatabaseError

logger = logging.getLogger("bot.feedback")

MAX_ROWS = 10_000
BATCH = 500
RETRY_SECONDS = 5.0
# Rows that come close together are written together: under load one transaction takes many rows, and the
# writing thread takes less of the CPU the acknowledgements need.
GATHER_SECONDS = 0.25


class Recorder:
    def __init__(self, write: Callable[[list[dict[str, Any]]], Any]) -> None:
        self._write = write  # e.g. the store's record_answers, bounded by the database timeout
        self._rows: deque[dict[str, Any]] = deque()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._dropped = 0
        self._thread = threading.Thread(target=self._run, name="feedback-recorder", daemon=True)

    def start(self) -> Recorder:
        self._thread.start()
        return self

    def add(self, row: dict[str, Any]) -> None:
        with self._lock:
            if len(self._rows) >= MAX_ROWS:
                self._rows.popleft()
                self._dropped += 1
            self._rows.append(row)
        if not self._wake.is_set():  # set already: the writer clears it before it takes the rows, this one too
            self._wake.set()

    def stop(self, timeout: float = 5.0) -> None:
        """Writes what is left (within `timeout`), then stops."""
        self._stopping.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            self._wake.wait()
            self._stopping.wait(GATHER_SECONDS)
            self._wake.clear()
            if not self._flush() and not self._stopping.is_set():
                self._stopping.wait(RETRY_SECONDS)
                self._wake.set()
            if self._stopping.is_set():
                self._flush(everything=True)
                return

    def _flush(self, everything: bool = False) -> bool:
        """Writes the rows that were waiting when it began, a batch at a time (`everything`: until none is left);
        False when the database refused (they wait here).

        Rows that come while it writes wait for the next gathering: taking them at once wrote the tail of each
        flush in transactions of 2-12 rows, at 0.4-1.5 ms of CPU each, under load (bench/README.md)."""
        with self._lock:
            waiting = len(self._rows)
        while True:
            with self._lock:
                size = min(BATCH, len(self._rows), len(self._rows) if everything else waiting)
                batch = [self._rows.popleft() for _ in range(size)]
                waiting -= size
                dropped, self._dropped = self._dropped, 0
            if dropped:
                logger.warning("%d feedback row(s) dropped while the database was out of reach", dropped)
            if not batch:
                return True
            try:
                self._write(batch)
            except DatabaseError as exc:
                with self._lock:
                    self._rows.extendleft(reversed(batch))
                logger.warning("feedback rows not written yet (%s): %d waiting", exc, len(self._rows))
                return False
            except Exception:  # a row the database refuses for good must not stop the rows after it
                logger.exception("%d feedback row(s) could not be written and were dropped", len(batch))
