"""bot/store.py on SQLite and on PostgreSQL: one code path, the same promises on both."""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest

from bot.database import BoundedCalls, DatabaseUnavailable, OutageGuard, PostgresDatabase, SQLiteDatabase
from bot.jobs import JobQueue
from bot.store import DatabaseError, StaleSession, Store
from bot.workflow_triages import ENDED_JOB
from tests.services import need_service

POSTGRES_URL_VARIABLE = "FTPCODE_TEST_POSTGRES_URL"


def postgres_server_url() -> str:
    """The server CI provides; skips (locally) or fails (FTPCODE_REQUIRE_SERVICES=1) without one."""
    url = os.environ.get(POSTGRES_URL_VARIABLE, "").strip()
    need_service(bool(url), f"{POSTGRES_URL_VARIABLE} is not set: no PostgreSQL server (bash .ci/run starts one)")
    return url


@contextmanager
def fresh_postgres_database(server_url: str) -> Iterator[str]:
    """A new, empty database on the server for the duration of the block; its postgresql:// URL."""
    name = "ftpcode_test_" + uuid.uuid4().hex[:12]
    with psycopg.connect(server_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield urlsplit(server_url)._replace(path=f"/{name}").geturl()
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "sqlite":
        opened = Store(f"sqlite:///{tmp_path / 'state' / 'ftpcode.sqlite3'}")
        assert isinstance(opened.db, SQLiteDatabase)
        yield opened
        opened.close()
        return
    with fresh_postgres_database(postgres_server_url()) as url:
        opened = Store(url)
        assert isinstance(opened.db, PostgresDatabase)
        yield opened
        opened.close()


STATE = {"entry_id": "ftp-425", "answers": [], "asked": [], "prefilled": [], "status": "asking", "version": 1}


def first_time(store: Store, key: str) -> bool:
    """Queues a job for an event key: False when the key was seen before (a redelivery)."""
    return JobQueue(store.db).add("test", {}, key) is not None


def test_an_event_is_new_once(store: Store) -> None:
    assert first_time(store, "event:Ev01") is True
    assert first_time(store, "event:Ev01") is False
    assert first_time(store, "event:Ev02") is True


def test_concurrent_deliveries_of_one_event_let_exactly_one_through(store: Store) -> None:
    key = f"event:Ev{uuid.uuid4().hex}"
    start = threading.Barrier(20)
    results: list[bool] = []
    lock = threading.Lock()

    def deliver() -> None:
        start.wait()
        outcome = first_time(store, key)
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=deliver) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(results) == 20
    assert results.count(True) == 1


def test_a_triage_is_created_found_and_saved(store: Store) -> None:
    created = store.create_triage("C1", "1700000000.000100", "U1", STATE)
    assert created.version == 1
    assert store.triage_by_id(created.id) == created
    assert store.triage_in_thread("C1", "1700000000.000100") == created
    assert store.triage_in_thread("C1", "1700000000.000101") is None
    assert store.triage_by_id(str(uuid.uuid4())) is None

    answered = {**STATE, "answers": [["protocol", "ftp"]], "asked": ["protocol"]}
    saved = store.save_triage(created, answered, user_id="U1")
    assert (saved.version, saved.state, saved.user_id) == (2, answered, "U1")
    assert store.triage_by_id(created.id) == saved


def test_a_new_triage_in_the_same_thread_replaces_the_old_one(store: Store) -> None:
    first = store.create_triage("C1", "1700000000.000200", "U1", STATE)
    second = store.create_triage("C1", "1700000000.000200", "U2", {**STATE, "entry_id": "ftp-530"})
    assert store.triage_by_id(first.id) is None
    assert store.triage_in_thread("C1", "1700000000.000200") == second


def test_owner_is_kept_changed_or_released(store: Store) -> None:
    session = store.create_triage("C1", "1700000000.000300", "U1", STATE)
    kept = store.save_triage(session, STATE)
    assert kept.user_id == "U1"
    released = store.save_triage(kept, STATE, user_id="")
    assert released.user_id == "" == store.triage_by_id(session.id).user_id  # type: ignore[union-attr]
    taken = store.save_triage(released, STATE, user_id="U2")
    assert store.triage_by_id(session.id).user_id == taken.user_id == "U2"  # type: ignore[union-attr]


def test_a_save_from_a_stale_read_is_refused(store: Store) -> None:
    session = store.create_triage("C1", "1700000000.000400", "U1", STATE)
    store.save_triage(session, {**STATE, "status": "stopped"}, user_id="U1")
    with pytest.raises(StaleSession):
        store.save_triage(session, {**STATE, "status": "checklist"}, user_id="U2")
    current = store.triage_by_id(session.id)
    assert current is not None and (current.version, current.state["status"]) == (2, "stopped")


def test_a_transaction_inside_another_on_the_same_thread_is_part_of_it(store: Store) -> None:
    class Crash(Exception):
        pass

    with pytest.raises(Crash), store.db.transaction(write=True):
        store.create_triage("C1", "1700000000.000450", "U1", STATE)  # a transaction of its own inside
        raise Crash
    assert store.triage_in_thread("C1", "1700000000.000450") is None  # rolled back with the outer block

    seen_elsewhere: list[object] = []
    with store.db.transaction(write=True):
        created = store.create_triage("C1", "1700000000.000450", "U1", STATE)
        assert store.triage_in_thread("C1", "1700000000.000450") == created  # read inside: sees its own write
        other = threading.Thread(target=lambda: seen_elsewhere.append(store.triage_in_thread("C1", created.thread_ts)))
        other.start()
        other.join()
    assert seen_elsewhere == [None]  # another thread's block is not part of it: nothing seen before the commit
    assert store.triage_in_thread("C1", "1700000000.000450") == created


def test_two_racing_saves_from_one_read_let_exactly_one_win(store: Store) -> None:
    session = store.create_triage("C1", "1700000000.000500", "U1", STATE)
    start = threading.Barrier(8)
    outcomes: list[str] = []
    lock = threading.Lock()

    def save(user: str) -> None:
        start.wait()
        try:
            store.save_triage(session, STATE, user_id=user)
            outcome = user
        except StaleSession:
            outcome = "stale"
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=save, args=(f"U{i}",)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    winners = [o for o in outcomes if o != "stale"]
    assert len(outcomes) == 8 and len(winners) == 1
    assert store.triage_by_id(session.id).user_id == winners[0]  # type: ignore[union-attr]


def test_expire_removes_only_sessions_idle_for_longer(store: Store) -> None:
    old = store.create_triage("C1", "1700000000.000600", "U1", STATE)
    fresh = store.create_triage("C1", "1700000000.000601", "U1", STATE)
    with store.db.transaction(write=True) as execute:
        execute(
            "UPDATE triage_sessions SET updated_at = :then WHERE id = :id",
            {"then": time.time() - 3 * 86400, "id": old.id},
        )
    assert store.expire_triage(2 * 86400) == 1
    assert store.triage_by_id(old.id) is None
    assert store.triage_by_id(fresh.id) == fresh
    assert store.expire_triage(2 * 86400) == 0


def idle(store: Store, session_id: str, days: float) -> None:
    with store.db.transaction(write=True) as execute:
        execute(
            "UPDATE triage_sessions SET updated_at = :then WHERE id = :id",
            {"then": time.time() - days * 86400, "id": session_id},
        )


def queued_completions(store: Store) -> list[dict]:
    """The payloads of the queued jobs that complete workflow steps (claimed, so each is seen once)."""
    return [job.payload for job in JobQueue(store.db).claim(100, 60) if job.kind == ENDED_JOB]


def test_the_ending_of_a_triage_a_step_waits_on_queues_its_completion_once(store: Store) -> None:
    thread = "1700000000.001000"
    session = store.create_triage("C1", thread, "U1", STATE)
    store.keep_workflow_step("C1", thread, "Fx0STEP1", "xwfp-token-1")
    plain = store.create_triage("C1", "1700000000.001001", "U1", STATE)
    asked = store.save_triage(session, {**STATE, "status": "checklist"})
    assert queued_completions(store) == [], "not an ending"
    handed = {**STATE, "status": "handoff"}
    store.save_triage(store.save_triage(asked, handed), {**handed})
    store.save_triage(plain, {**STATE, "status": "stopped"})
    [job] = queued_completions(store)
    assert job == {
        "execution": "Fx0STEP1",
        "token": "xwfp-token-1",
        "outcome": "handed_off",
        "channel": "C1",
        "thread_ts": thread,
        "state": handed,
        "announce": False,
    }
    assert queued_completions(store) == []


def test_a_step_stays_with_its_thread_when_the_triage_there_starts_over(store: Store) -> None:
    thread = "1700000000.001100"
    store.create_triage("C1", thread, "U1", STATE)
    store.keep_workflow_step("C1", thread, "Fx0STEP2", None)
    again = store.create_triage("C1", thread, "U1", {**STATE, "entry_id": "ftp-530"})
    store.save_triage(again, {**STATE, "entry_id": "ftp-530", "status": "resolved"})
    [job] = queued_completions(store)
    assert (job["execution"], job["outcome"], job["token"]) == ("Fx0STEP2", "resolved", None)


def test_expiry_completes_the_steps_waiting_and_the_chore_expires_only_those(store: Store) -> None:
    waited = store.create_triage("C1", "1700000000.001200", "U1", STATE)
    store.keep_workflow_step("C1", "1700000000.001200", "Fx0STEP3", "t3")
    plain = store.create_triage("C1", "1700000000.001201", "U1", STATE)
    fresh = store.create_triage("C1", "1700000000.001202", "U1", STATE)
    store.keep_workflow_step("C1", "1700000000.001202", "Fx0STEP4", "t4")
    for session in (waited, plain):
        idle(store, session.id, 3)
    assert store.expire_triage(2 * 86400, waited_on_only=True) == 1
    [job] = queued_completions(store)
    assert (job["execution"], job["outcome"], job["announce"]) == ("Fx0STEP3", "expired", True)
    assert store.triage_by_id(waited.id) is None
    assert store.triage_by_id(plain.id) is not None and store.triage_by_id(fresh.id) == fresh

    idle(store, fresh.id, 3)
    assert store.expire_triage(2 * 86400) == 2  # someone came back: every idle session goes, as before
    [job] = queued_completions(store)
    assert (job["execution"], job["outcome"], job["announce"]) == ("Fx0STEP4", "expired", False)


def test_state_survives_a_new_store_on_the_same_database(store: Store) -> None:
    session = store.create_triage("C1", "1700000000.000700", "U1", STATE)
    first_time(store, "event:EvRestart")
    reopened = Store(store.url)
    try:
        assert reopened.triage_by_id(session.id) == session
        assert first_time(reopened, "event:EvRestart") is False
    finally:
        reopened.close()


def test_the_question_message_is_remembered_without_a_new_version(store: Store) -> None:
    session = store.create_triage("C1", "1700000000.000900", "U1", STATE)
    store.note_question(session.id, "protocol", "1700000001.000001")
    found = store.triage_by_id(session.id)
    assert found is not None and found.version == session.version
    assert found.message_asking("protocol") == "1700000001.000001" and found.message_asking("client") is None
    assert store.save_triage(found, STATE).message_asking("protocol") == "1700000001.000001"


def test_a_database_from_before_question_ts_is_migrated_at_start_up(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    with sqlite3.connect(url.removeprefix("sqlite:///")) as old:  # the table as the first release created it
        old.execute(
            "CREATE TABLE triage_sessions (id VARCHAR(36) PRIMARY KEY, team_id VARCHAR(32) NOT NULL DEFAULT '',"
            " channel_id VARCHAR(32) NOT NULL, thread_ts VARCHAR(32) NOT NULL, user_id VARCHAR(32) NOT NULL,"
            " state TEXT NOT NULL, version INTEGER NOT NULL, created_at FLOAT NOT NULL,"
            " updated_at FLOAT NOT NULL, CONSTRAINT one_triage_per_thread UNIQUE (channel_id, thread_ts))"
        )
        old.execute(
            "INSERT INTO triage_sessions VALUES ('s1', '', 'C1', '1.1', 'U1', :state, 1, 1.0, 1.0)",
            {"state": json.dumps(STATE)},
        )
    old.close()
    migrated = Store(url)
    session = migrated.triage_by_id("s1")
    assert session is not None and session.question_ts is None and session.state == STATE
    migrated.note_question("s1", "protocol", "2.2")
    assert migrated.triage_by_id("s1").message_asking("protocol") == "2.2"


def test_a_file_that_is_not_a_database_stops_the_store_with_a_database_error(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("not a database\n" * 100)
    with pytest.raises(DatabaseError) as raised:
        Store(f"sqlite:///{path}")
    assert str(path) not in str(raised.value)


def test_a_postgresql_server_that_refuses_stops_the_store_at_once(tmp_path: Path) -> None:
    with socket.socket() as closed:  # a port nobody listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    started = time.monotonic()
    with pytest.raises(DatabaseError) as raised:
        Store(f"postgresql://ftpcode:s3cret@127.0.0.1:{port}/ftpcode")
    assert time.monotonic() - started < 5
    assert "s3cret" not in str(raised.value)


def test_postgresql_connections_cut_by_the_server_are_replaced(tmp_path: Path) -> None:
    with fresh_postgres_database(postgres_server_url()) as url:
        store = Store(url)
        try:
            session = store.create_triage("C1", "1700000000.001000", "U1", STATE)
            name = urlsplit(url).path.lstrip("/")
            with psycopg.connect(postgres_server_url(), autocommit=True) as admin:
                cut = admin.execute(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = %s", (name,)
                ).fetchone()
            assert cut is not None and cut[0] >= 1
            assert store.triage_by_id(session.id) == session
            assert first_time(store, "event:EvAfterCut") is True
        finally:
            store.close()


def test_ping_answers_on_a_working_database(store: Store) -> None:
    store.ping(timeout=2)


def test_ping_fails_while_the_sqlite_file_is_gone_and_creates_none(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    store = Store(f"sqlite:///{path}")
    try:
        store.create_triage("C1", "1700000000.001000", "U1", STATE)
        path.rename(tmp_path / "moved.sqlite3")
        with pytest.raises(store.db.errors):  # the store's open connections would not have noticed
            store.ping(timeout=1)
        assert not path.exists(), "the ping made a new, empty database"
        (tmp_path / "moved.sqlite3").rename(path)
        store.ping(timeout=1)
    finally:
        store.close()


def test_ping_fails_within_its_timeout_when_the_postgresql_database_is_gone() -> None:
    server = postgres_server_url()
    with fresh_postgres_database(server) as url:
        store = Store(url)
        try:
            with psycopg.connect(server, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE "{urlsplit(url).path.lstrip("/")}" WITH (FORCE)')
            started = time.monotonic()
            with pytest.raises(store.db.errors):
                store.ping(timeout=1)
            assert time.monotonic() - started < 5
        finally:
            store.close()


def test_a_bounded_call_returns_raises_or_gives_up_in_time_and_stops_the_next() -> None:
    def stale() -> None:
        raise StaleSession("s1")

    calls = BoundedCalls(OutageGuard((sqlite3.OperationalError,)), timeout=0.2, threads=2)
    assert calls(lambda a, b=0: a + b, 1, b=2) == 3
    with pytest.raises(StaleSession):
        calls(stale)
    stuck = threading.Event()
    started = time.monotonic()
    with pytest.raises(DatabaseUnavailable, match="did not answer"):
        calls(stuck.wait)
    assert time.monotonic() - started < 1
    with pytest.raises(DatabaseUnavailable, match="a moment ago"):  # refused at once while the guard is down
        calls(int)
    stuck.set()


def test_bounded_calls_grow_threads_only_for_calls_made_at_once() -> None:
    """With SQLite each thread opens a connection of its own: one call at a time keeps one thread."""
    calls = BoundedCalls(OutageGuard((sqlite3.OperationalError,)), timeout=5, threads=3)
    names = {calls(lambda: threading.current_thread().name) for _ in range(50)}
    assert names == {"database_0"}
    held, waiting = threading.Event(), threading.Semaphore(0)

    def hold() -> str:
        waiting.release()
        held.wait(5)
        return threading.current_thread().name

    results: list[str] = []
    callers = [threading.Thread(target=lambda: results.append(calls(hold))) for _ in range(4)]
    for caller in callers:
        caller.start()
    for _ in range(3):  # three threads at most: the fourth call waits for one of them
        assert waiting.acquire(timeout=5)
    assert not waiting.acquire(timeout=0.2)
    held.set()
    for caller in callers:
        caller.join(5)
    assert sorted(set(results)) == ["database_0", "database_1", "database_2"] and len(results) == 4
