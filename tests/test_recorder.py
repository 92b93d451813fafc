"""bot/recorder.py: answers' rows written off the acknowledgement path, in few transactions, none lost while the
database is out of reach for a while."""

from __future__ import annotations

import threading
import time

import pytest

from bot import recorder
from bot.database import DatabaseError
from bot.recorder import Recorder

WAIT = 5.0


@pytest.fixture(autouse=True)
def short_waits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(recorder, "GATHER_SECONDS", 0.05)
    monkeypatch.setattr(recorder, "RETRY_SECONDS", 0.05)


class SlowDatabase:
    """Writes take `seconds`; the first write waits until `release` is set."""

    def __init__(self, seconds: float = 0.0) -> None:
        self.seconds = seconds
        self.batches: list[list[dict]] = []
        self.writing = threading.Event()
        self.release = threading.Event()
        self.refuse = 0

    def write(self, rows: list[dict]) -> None:
        if self.refuse:
            self.refuse -= 1
            raise DatabaseError("out of reach")
        self.writing.set()
        self.release.wait(WAIT)
        time.sleep(self.seconds)
        self.batches.append(rows)

    def rows(self) -> list[int]:
        return [row["n"] for batch in self.batches for row in batch]


def wait_for(predicate, timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_rows_that_come_during_a_write_wait_for_the_next_gathering(monkeypatch: pytest.MonkeyPatch) -> None:
    database = SlowDatabase()
    rec = Recorder(database.write).start()
    rec.add({"n": 0})
    assert database.writing.wait(WAIT)
    monkeypatch.setattr(recorder, "GATHER_SECONDS", 60.0)
    for n in range(1, 41):  # while the first write is held, one at a time, as acknowledgements come
        rec.add({"n": n})
    database.release.set()
    time.sleep(0.3)
    assert database.rows() == [0], "not written straight after: the next gathering takes them, with what comes"
    rec.stop()  # ends the gathering: everything is written
    assert database.rows() == list(range(41))
    assert [len(b) for b in database.batches] == [1, 40], "the forty rows in one transaction"


def test_rows_wait_while_the_database_refuses_and_are_written_in_order_after() -> None:
    database = SlowDatabase()
    database.release.set()
    database.refuse = 3
    rec = Recorder(database.write).start()
    for n in range(10):
        rec.add({"n": n})
    wait_for(lambda: len(database.rows()) == 10)
    rec.stop()
    assert database.rows() == list(range(10))


def test_beyond_max_rows_the_oldest_are_dropped_and_the_rest_written(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(recorder, "MAX_ROWS", 5)
    database = SlowDatabase()
    rec = Recorder(database.write).start()
    rec.add({"n": 0})
    assert database.writing.wait(WAIT)
    for n in range(1, 9):
        rec.add({"n": n})
    database.release.set()
    wait_for(lambda: len(database.rows()) == 6)
    rec.stop()
    assert database.rows() == [0, 4, 5, 6, 7, 8]


def test_stop_writes_every_row_left_in_batches() -> None:
    database = SlowDatabase()
    database.release.set()
    rec = Recorder(database.write)  # not started: stop() must still write what was added
    rec._thread.start()
    for n in range(recorder.BATCH + 7):
        rec.add({"n": n})
    rec.stop()
    assert database.rows() == list(range(recorder.BATCH + 7))
    assert all(len(b) <= recorder.BATCH for b in database.batches)
