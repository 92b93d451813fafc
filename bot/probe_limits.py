"""The probe's limits kept in the bot's database, so they hold across replicas: one probe at a time per user,
and at most N an hour per user and per target (knowledge.probe.Limiter, backed by two small tables).

`probe_locks` holds a row per user with a probe running (until `held_until`: a replica that dies mid-probe
frees its user a minute later) and a row per target, taken only to count that target's probes one replica at
a time. `probe_runs` keeps the probes of the last hour. The same SQL runs on SQLite, whose writes are one at a
time anyway, and on PostgreSQL, where each upsert below locks its row until the transaction ends.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid

from bot.database import Database, DatabaseError
from knowledge.probe.limits import HOUR, busy, over_limit

logger = logging.getLogger("bot.probe")

PROBE_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS probe_runs (
        id VARCHAR(36) NOT NULL PRIMARY KEY,
        user_key VARCHAR(80) NOT NULL,
        target VARCHAR(300) NOT NULL,
        started_at FLOAT NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS ix_probe_runs_started_at ON probe_runs (started_at)",
    """CREATE TABLE IF NOT EXISTS probe_locks (
        lock_key VARCHAR(320) NOT NULL PRIMARY KEY,
        holder VARCHAR(36),
        held_until FLOAT NOT NULL
    )""",
)

# Longer than a whole probe (30 s, every step included): a lock older than this belongs to a process that died.
RUNNING_AT_MOST_SECONDS = 60.0

_TAKE_USER = (
    "INSERT INTO probe_locks (lock_key, holder, held_until) VALUES (:key, :holder, :until)"
    " ON CONFLICT (lock_key) DO UPDATE SET holder = :holder, held_until = :until"
    " WHERE probe_locks.held_until <= :now"
)
_TAKE_TARGET = (
    "INSERT INTO probe_locks (lock_key, holder, held_until) VALUES (:key, NULL, :now)"
    " ON CONFLICT (lock_key) DO UPDATE SET held_until = :now"
)


class DatabaseLimiter:
    """knowledge.probe.Limiter on the bot's database. `begin` raises Refused (busy, user-limit, target-limit)
    or DatabaseError; `end` never raises: a lock it cannot free frees itself after RUNNING_AT_MOST_SECONDS."""

    def __init__(
        self, db: Database, per_user_hour: int, per_target_hour: int, running_at_most: float = RUNNING_AT_MOST_SECONDS
    ) -> None:
        self.db = db
        self.per_user_hour = per_user_hour
        self.per_target_hour = per_target_hour
        self.running_at_most = running_at_most
        self._holders: dict[str, str] = {}
        self._lock = threading.Lock()

    def begin(self, user: str, target: str) -> None:
        now = time.time()
        holder = uuid.uuid4().hex
        since = now - HOUR
        with self.db.transaction(write=True) as execute:
            taken = execute(
                _TAKE_USER, {"key": _user_key(user), "holder": holder, "until": now + self.running_at_most, "now": now}
            ).rowcount
            if taken != 1:
                raise busy()  # raised inside the transaction: it rolls back, and nothing was counted
            execute(_TAKE_TARGET, {"key": "target:" + target, "now": now})
            for reason, column, key, limit in (
                ("user-limit", "user_key", user, self.per_user_hour),
                ("target-limit", "target", target, self.per_target_hour),
            ):
                count, first = execute(
                    f"SELECT COUNT(*), MIN(started_at) FROM probe_runs WHERE {column} = :key AND started_at > :since",
                    {"key": key, "since": since},
                ).fetchone()
                if count >= limit:
                    raise over_limit(reason, target, limit, first + HOUR - now)
            execute(
                "INSERT INTO probe_runs (id, user_key, target, started_at) VALUES (:id, :user, :target, :now)",
                {"id": str(uuid.uuid4()), "user": user, "target": target, "now": now},
            )
        with self._lock:
            self._holders[user] = holder

    def end(self, user: str) -> None:
        with self._lock:
            holder = self._holders.pop(user, None)
        try:
            with self.db.transaction(write=True) as execute:
                execute(
                    "UPDATE probe_locks SET holder = NULL, held_until = 0 WHERE lock_key = :key AND holder = :holder",
                    {"key": _user_key(user), "holder": holder},
                )
            self._purge(time.time())
        except (DatabaseError, *self.db.errors) as exc:
            logger.warning("probe lock of a user not freed (%s): it frees itself within a minute", exc)

    def _purge(self, now: float) -> None:
        """Forgets probes older than an hour and locks nobody has used for as long (its own transaction, so a
        busy purge never holds up a probe's start)."""
        with self.db.transaction(write=True) as execute:
            execute("DELETE FROM probe_runs WHERE started_at <= :since", {"since": now - HOUR})
            execute("DELETE FROM probe_locks WHERE held_until <= :since", {"since": now - HOUR})


def _user_key(user: str) -> str:
    return "user:" + user
