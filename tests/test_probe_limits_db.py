"""bot/probe_limits.py: the probe's limits in the bot's database hold across replicas, on SQLite and PostgreSQL.

Two Store objects on one database stand for two replicas (on SQLite, two processes' connections to one file)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bot.probe_limits import DatabaseLimiter
from bot.store import Store
from knowledge.probe.model import Refused
from tests.test_store import fresh_postgres_database, postgres_server_url


@pytest.fixture(params=["sqlite", "postgresql"])
def two_replicas(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Store, Store]]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'bot.db'}"
        first, second = Store(url), Store(url)
        yield first, second
        first.close()
        second.close()
        return
    with fresh_postgres_database(postgres_server_url()) as url:
        first, second = Store(url), Store(url)
        yield first, second
        first.close()
        second.close()


def refusal(limiter: DatabaseLimiter, user: str, target: str) -> str | None:
    """None when the probe may start (it is then counted and running), else the Refused's reason."""
    try:
        limiter.begin(user, target)
    except Refused as exc:
        return exc.reason
    return None


def test_one_probe_at_a_time_per_user_across_replicas(two_replicas: tuple[Store, Store]) -> None:
    a = DatabaseLimiter(two_replicas[0].db, 10, 10)
    b = DatabaseLimiter(two_replicas[1].db, 10, 10)
    assert refusal(a, "T1:U1", "ftp.example.com:21") is None
    assert refusal(b, "T1:U1", "other.example.com:21") == "busy"
    assert refusal(b, "T1:U2", "ftp.example.com:21") is None  # someone else may
    a.end("T1:U1")
    assert refusal(b, "T1:U1", "other.example.com:21") is None


def test_per_user_limit_counts_probes_from_every_replica(two_replicas: tuple[Store, Store]) -> None:
    replicas = [DatabaseLimiter(store.db, 3, 100) for store in two_replicas]
    for n in range(3):
        limiter = replicas[n % 2]
        assert refusal(limiter, "T1:U1", f"host{n}.example.com:21") is None
        limiter.end("T1:U1")
    with pytest.raises(Refused) as refused:
        replicas[1].begin("T1:U1", "host9.example.com:21")
    assert refused.value.reason == "user-limit"
    assert refused.value.message == (
        "You have run 3 probes in the last hour, the most allowed; try again in 60 minutes."
    )
    assert refusal(replicas[1], "T1:U2", "host9.example.com:21") is None


def test_per_target_limit_counts_every_user(two_replicas: tuple[Store, Store]) -> None:
    replicas = [DatabaseLimiter(store.db, 100, 2) for store in two_replicas]
    for n in range(2):
        assert refusal(replicas[n], f"T1:U{n}", "ftp.example.com:21") is None
        replicas[n].end(f"T1:U{n}")
    assert refusal(replicas[0], "T1:U9", "ftp.example.com:21") == "target-limit"
    assert refusal(replicas[0], "T1:U9", "ftp.example.com:990") is None


def test_a_refused_probe_counts_for_nothing(two_replicas: tuple[Store, Store]) -> None:
    limiter = DatabaseLimiter(two_replicas[0].db, 2, 100)
    assert refusal(limiter, "T1:U1", "a.example.com:21") is None
    for _ in range(5):
        assert refusal(limiter, "T1:U1", "a.example.com:21") == "busy"
    limiter.end("T1:U1")
    assert refusal(limiter, "T1:U1", "a.example.com:21") is None  # the second of two, not the seventh


def test_the_lock_of_a_replica_that_died_frees_itself(two_replicas: tuple[Store, Store]) -> None:
    dead = DatabaseLimiter(two_replicas[0].db, 10, 10, running_at_most=0.2)
    alive = DatabaseLimiter(two_replicas[1].db, 10, 10)
    assert refusal(dead, "T1:U1", "ftp.example.com:21") is None  # and never ends: killed mid-probe
    deadline = time.monotonic() + 10
    while refusal(alive, "T1:U1", "ftp.example.com:21") == "busy":
        assert time.monotonic() < deadline, "the dead replica's lock never freed"
        time.sleep(0.05)
    dead.end("T1:U1")  # a late end from the dead replica does not free the new holder's lock
    assert refusal(alive, "T1:U1", "ftp.example.com:21") == "busy"


def race(count: int, attempt: Callable[[int], str | None]) -> list[str | None]:
    """`attempt(n)` for n in range(count), each on its own thread, all let go at the same moment."""
    start = threading.Barrier(count)
    outcomes: list[str | None] = []
    lock = threading.Lock()

    def run(n: int) -> None:
        start.wait()
        try:
            outcome = attempt(n)
        except Exception as exc:  # a database error shows here rather than in a thread's traceback
            outcome = exc.__class__.__name__
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(outcomes) == count
    return outcomes


def test_racing_replicas_never_pass_the_target_limit(two_replicas: tuple[Store, Store]) -> None:
    """20 users on two replicas start a probe of one target at the same moment; 5 an hour are allowed."""
    replicas = [DatabaseLimiter(store.db, 100, 5) for store in two_replicas]
    outcomes = race(20, lambda n: refusal(replicas[n % 2], f"T1:U{n}", "ftp.example.com:21"))
    assert outcomes.count(None) == 5, outcomes
    assert outcomes.count("target-limit") == 15, outcomes


def test_racing_probes_of_one_user_let_exactly_one_run(two_replicas: tuple[Store, Store]) -> None:
    replicas = [DatabaseLimiter(store.db, 100, 100) for store in two_replicas]
    outcomes = race(10, lambda n: refusal(replicas[n % 2], "T1:U1", f"host{n}.example.com:21"))
    assert sorted(outcomes, key=str) == [None] + ["busy"] * 9
