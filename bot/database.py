"""One way to run SQL on SQLite (the standard library's sqlite3) and on PostgreSQL (psycopg).

SQL is written once, with `:name` parameters and a mapping; a statement of many rows may use `?` and a sequence
instead (names cost more to bind). Only opening connections and starting a write differ.

A transaction opened inside another on the same thread is part of it, on both: what the inner block writes is
committed or rolled back with the outer block (a store's write and the job journal that records it, bot/journal.py).
"""

from __future__ import annotations

import math
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from functools import lru_cache
from pathlib import Path
from queue import SimpleQueue
from typing import Any, Protocol, TypeVar
from urllib.parse import quote

T = TypeVar("T")
Execute = Callable[[str, Mapping[str, Any] | Sequence[Any]], Any]
"""Runs one statement and returns its DB-API cursor (`fetchone`, `rowcount`, `description`)."""


DEFAULT_TIMEOUT_SECONDS = 2.0
MAX_CONNECTIONS = 16  # one for each of a process's listener threads
# After a failure that says the database is out of reach, callers are refused at once for this long, so a
# request that needs no storage never waits on an outage, and one that does gets "try again" quickly.
OUTAGE_SECONDS = 5.0
# SQLite's page cache, per connection (a process has one per database thread): SQLite's default is 2 MiB. When
# answer ids were random, each batch of feedback rows was spread over the whole of two indexes, and with a table
# of 50,000 rows every connection that wrote kept its cache full: +2.2 MB of the bot's RSS against an empty table
# (bench/README.md). Ids in time order (bot/feedback.py) now put the rows at the indexes' ends; the cap stays for
# the reads. What falls out of this cache is read back from the operating system's.
CACHE_KIB = 512


class DatabaseError(RuntimeError):
    """The database cannot be opened or used; the message never holds the URL (it may hold a password)."""


class DatabaseUnavailable(DatabaseError):
    """The database did not answer in time, or failed as an outage does (disk full, server gone)."""


class Database(Protocol):
    errors: tuple[type[Exception], ...]
    """What the driver raises."""

    dialect: str
    """"sqlite" or "postgresql": the few statements that differ (row locks) pick their form by it."""

    def transaction(self, write: bool) -> AbstractContextManager[Execute]:
        """A block of statements committed at its end and rolled back when it raises; inside another block of
        this thread's (a write block on SQLite, any block on PostgreSQL), part of that one."""
        ...

    def ping(self, timeout: float) -> None:
        """Raises one of `errors` unless the database answers a trivial query within about `timeout` s."""
        ...

    def close(self) -> None: ...


def open_database(url: str, timeout: float = DEFAULT_TIMEOUT_SECONDS) -> Database:
    if url.startswith("sqlite:///"):
        return SQLiteDatabase(url.removeprefix("sqlite:///"), timeout)
    if url.startswith("postgresql://"):
        return PostgresDatabase(url, timeout)
    raise DatabaseError("DATABASE_URL must start with sqlite:/// or postgresql://")


class OutageGuard:
    """Turns an outage-like driver error into DatabaseUnavailable, and refuses at once for OUTAGE_SECONDS after."""

    def __init__(self, outage_errors: tuple[type[Exception], ...]) -> None:
        self.outage_errors = outage_errors
        self._down_until = 0.0

    @property
    def down(self) -> bool:
        return time.monotonic() < self._down_until

    def trip(self) -> None:
        """The database did not answer in time: refuse at once for OUTAGE_SECONDS."""
        self._down_until = time.monotonic() + OUTAGE_SECONDS

    @contextmanager
    def watch(self) -> Iterator[None]:
        if self.down:
            raise DatabaseUnavailable("the database was out of reach a moment ago")
        try:
            yield
        except self.outage_errors as exc:
            self.trip()
            raise DatabaseUnavailable(f"the database is out of reach ({exc.__class__.__name__})") from exc
        self._down_until = 0.0


class BoundedCalls:
    """Runs database calls in threads of their own, and waits for each at most `timeout` seconds.

    A database host that froze, or a network that drops its packets, answers nothing and closes nothing: no
    driver timeout covers a query already sent (statement_timeout is the server's, tcp_user_timeout sees only
    unacknowledged bytes). The caller gets DatabaseUnavailable in time and the guard refuses at once after;
    the stuck call stays in its thread until the connection breaks.

    A queue and a lock per call rather than a ThreadPoolExecutor: its future (a Condition) and its idle-thread
    semaphore are Python code on both sides of each hand-off, five of them a triage click.
    """

    def __init__(self, guard: OutageGuard, timeout: float, threads: int = 4) -> None:
        self.guard = guard
        self.timeout = timeout
        self._calls: SimpleQueue[_Call] = SimpleQueue()
        self._threads = threads
        self._started = 0
        self._idle = 0  # threads waiting for a call, less the calls already handed to them
        self._lock = threading.Lock()

    def __call__(self, call: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        if self.guard.down:
            raise DatabaseUnavailable("the database was out of reach a moment ago")
        pending = _Call(call, args, kwargs)
        self._calls.put(pending)
        self._enough_threads()
        if not pending.done.acquire(timeout=self.timeout):
            self.guard.trip()
            raise DatabaseUnavailable(f"the database did not answer within {self.timeout:g} s")
        if pending.error is not None:
            raise pending.error
        return pending.result  # type: ignore[no-any-return]

    def _enough_threads(self) -> None:
        """One thread more when none is idle, up to `threads`, as a ThreadPoolExecutor grows: a bot making one call
        at a time keeps one thread, and with SQLite one connection and its page cache (each thread opens its
        own; starting all four at once added 0.5-0.6 MB to the bot's RSS, bench_ack)."""
        with self._lock:
            if self._idle:
                self._idle -= 1
                return
            if self._started >= self._threads:
                return  # the call waits for the first thread that is done
            self._started += 1
            name = f"database_{self._started - 1}"
        threading.Thread(target=self._serve, name=name, daemon=True).start()

    def _serve(self) -> None:
        while True:  # started for a call, idle after each
            self._calls.get().run()
            with self._lock:
                self._idle += 1


class _Call:
    """One call for a database thread; `done` is released when it has returned or raised."""

    __slots__ = ("args", "call", "done", "error", "kwargs", "result")

    def __init__(self, call: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        self.call, self.args, self.kwargs = call, args, kwargs
        self.result: Any = None
        self.error: BaseException | None = None
        self.done = threading.Lock()
        self.done.acquire()

    def run(self) -> None:
        try:
            self.result = self.call(*self.args, **self.kwargs)
        except BaseException as exc:  # the caller's to handle, as a future's exception would be
            self.error = exc
        self.done.release()


class SQLiteDatabase:
    """A connection per thread, in WAL mode; writes take the lock first, so they queue here and not in SQLite."""

    dialect = "sqlite"

    def __init__(self, path: str, timeout: float = DEFAULT_TIMEOUT_SECONDS) -> None:
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.timeout = timeout
        self.errors = (sqlite3.Error,)
        # Disk full, I/O errors, a lock held past the timeout: OperationalError; a broken file: DatabaseError.
        self.guard = OutageGuard((sqlite3.OperationalError,))
        self._local = threading.local()
        self._opened: list[sqlite3.Connection] = []
        self._opened_lock = threading.Lock()
        # A writer that finds SQLite busy sleeps in steps of up to 100 ms; waiting on a lock wakes at once.
        self._writes = threading.Lock()
        self._connection()  # fails here, at start-up, when the file cannot be opened

    def _connection(self) -> sqlite3.Connection:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            try:
                connection = sqlite3.connect(
                    self.path, timeout=self.timeout, isolation_level=None, check_same_thread=False
                )
                connection.execute("PRAGMA journal_mode=WAL")
                connection.execute("PRAGMA synchronous=NORMAL")
                connection.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
            except sqlite3.Error as exc:
                raise DatabaseError(f"SQLite: {exc.__class__.__name__}") from exc
            self._local.connection = connection
            with self._opened_lock:
                self._opened.append(connection)
        return connection

    @contextmanager
    def transaction(self, write: bool) -> Iterator[Execute]:
        if getattr(self._local, "writing", False):  # inside this thread's write: part of it
            yield self._local.connection.execute
            return
        with self.guard.watch():
            connection = self._connection()
            if not write:
                yield connection.execute
                return
            if not self._writes.acquire(timeout=self.timeout):
                raise sqlite3.OperationalError("another write held the lock past the timeout")
            try:
                connection.execute("BEGIN IMMEDIATE")
                self._local.writing = True
                try:
                    yield connection.execute
                except BaseException:
                    if connection.in_transaction:
                        connection.execute("ROLLBACK")
                    raise
                finally:
                    self._local.writing = False
                connection.execute("COMMIT")
            finally:
                self._writes.release()

    def ping(self, timeout: float) -> None:
        # A new connection, because the open ones keep working on a file that was deleted or replaced. mode=rw:
        # a missing file is an error, not a new empty database. Reading the schema proves it is a database.
        if self.path == ":memory:":
            return
        connection = sqlite3.connect(f"file:{quote(self.path)}?mode=rw", uri=True, timeout=timeout)
        try:
            connection.execute("SELECT count(*) FROM sqlite_master").fetchone()
        finally:
            connection.close()

    def close(self) -> None:
        with self._opened_lock:
            for connection in self._opened:
                connection.close()
            self._opened.clear()
        self._local = threading.local()


class PostgresDatabase:
    """A psycopg connection pool that checks a connection before lending it (a server restart is survived)."""

    dialect = "postgresql"

    def __init__(self, url: str, timeout: float = DEFAULT_TIMEOUT_SECONDS) -> None:
        try:
            import psycopg
            from psycopg_pool import ConnectionPool, PoolTimeout
        except ImportError as exc:
            raise DatabaseError("PostgreSQL needs psycopg: pip install 'ftpcode[postgres]'") from exc
        self.errors = (psycopg.Error, PoolTimeout)
        self.timeout = timeout
        self._local = threading.local()
        self.guard = OutageGuard((psycopg.OperationalError, PoolTimeout))
        # connect_timeout is whole seconds; statement_timeout stops a query the server is stuck on.
        # A server gone silent (a network partition, a frozen host) answers nothing, not even a reset: without
        # tcp_user_timeout and keepalives, a query sent to it waits for the kernel's retransmissions (minutes).
        connect = {
            "connect_timeout": max(1, math.ceil(timeout)),
            "options": f"-c statement_timeout={int(timeout * 1000)}",
            "tcp_user_timeout": int(timeout * 1000),
            "keepalives": 1,
            "keepalives_idle": 10,
            "keepalives_interval": 2,
            "keepalives_count": 3,
        }
        try:
            # One plain connection first: a refused one fails at once, where the pool would keep retrying.
            psycopg.connect(url, **connect).close()
        except psycopg.Error as exc:
            raise DatabaseError(f"PostgreSQL: {exc.__class__.__name__}") from exc
        self._pool = ConnectionPool(
            url,
            min_size=1,
            max_size=MAX_CONNECTIONS,
            kwargs=connect,
            check=ConnectionPool.check_connection,
            timeout=timeout,
            name="ftpcode",
            open=True,
        )

    @contextmanager
    def transaction(self, write: bool) -> Iterator[Execute]:
        if (execute := getattr(self._local, "execute", None)) is not None:  # inside this thread's block: part of it
            yield execute
            return
        # The pool commits when the block ends and rolls back when it raises.
        with self.guard.watch(), self._pool.connection() as connection:

            def execute(sql: str, params: Mapping[str, Any] | Sequence[Any]) -> Any:
                if isinstance(params, Mapping):
                    return connection.execute(_pyformat(sql), params)
                return connection.execute(_format(sql), params)

            self._local.execute = execute
            try:
                yield execute
            finally:
                self._local.execute = None

    def ping(self, timeout: float) -> None:
        with self._pool.connection(timeout=timeout) as connection:
            connection.execute("SELECT 1")

    def close(self) -> None:
        self._pool.close()


@lru_cache(maxsize=16)
def _format(sql: str) -> str:
    """`?` parameters as psycopg's `%s`."""
    return sql.replace("%", "%%").replace("?", "%s")


@lru_cache(maxsize=64)
def _pyformat(sql: str) -> str:
    """`:name` parameters as psycopg's `%(name)s`."""
    return re.sub(r"(?<!:):(\w+)", r"%(\1)s", sql.replace("%", "%%"))
