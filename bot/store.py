"""State that must outlive a restart and be shared by replicas: seen events and triage sessions.

Plain SQL on SQLite by default, on PostgreSQL when DATABASE_URL names one (bot/database.py runs it on either).
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import dataclass, replace

from bot.database import Database, DatabaseError, open_database

__all__ = ["DatabaseError", "StaleSession", "Store", "TriageSession"]

# The names of tables, indexes and constraints are those the first release created, so its databases carry on.
SCHEMA = (
    """CREATE TABLE IF NOT EXISTS seen_events (
        event_key VARCHAR(200) NOT NULL PRIMARY KEY,
        seen_at FLOAT NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS ix_seen_events_seen_at ON seen_events (seen_at)",
    """CREATE TABLE IF NOT EXISTS triage_sessions (
        id VARCHAR(36) NOT NULL PRIMARY KEY,
        team_id VARCHAR(32) NOT NULL,
        channel_id VARCHAR(32) NOT NULL,
        thread_ts VARCHAR(32) NOT NULL,
        user_id VARCHAR(32) NOT NULL,
        state TEXT NOT NULL,
        version INTEGER NOT NULL,
        created_at FLOAT NOT NULL,
        updated_at FLOAT NOT NULL,
        question_id VARCHAR(64),
        question_ts VARCHAR(32),
        CONSTRAINT one_triage_per_thread UNIQUE (channel_id, thread_ts)
    )""",
    "CREATE INDEX IF NOT EXISTS ix_triage_sessions_updated_at ON triage_sessions (updated_at)",
)

# Columns added since a table was first created: CREATE TABLE IF NOT EXISTS leaves an older table as it was.
ADDED_COLUMNS = {"question_id": "VARCHAR(64)", "question_ts": "VARCHAR(32)"}

SESSION_COLUMNS = "id, channel_id, thread_ts, user_id, state, version, updated_at, question_id, question_ts"

# Slack retries an event for about 5 minutes; keep keys well past that.
SEEN_EVENT_TTL_SECONDS = 3600


@dataclass(frozen=True)
class TriageSession:
    id: str
    channel_id: str
    thread_ts: str
    user_id: str
    state: dict
    version: int
    updated_at: float
    question_id: str | None = None
    question_ts: str | None = None

    def message_asking(self, question_id: str) -> str | None:
        """The ts of the message that asks `question_id`, if that is the one remembered."""
        return self.question_ts if self.question_id == question_id else None


class StaleSession(RuntimeError):
    """Another click changed the session first."""


class Store:
    def __init__(self, url: str) -> None:
        self.url = url
        self.db: Database = open_database(url)
        try:
            self._create_schema()
        except self.db.errors as exc:
            self.db.close()
            raise DatabaseError(f"the schema cannot be created ({exc.__class__.__name__})") from exc
        self._inserts = 0
        self._lock = threading.Lock()

    def _create_schema(self) -> None:
        with self.db.transaction(write=True) as execute:
            for statement in SCHEMA:
                execute(statement, {})
            present = {column[0] for column in execute("SELECT * FROM triage_sessions WHERE 1 = 0", {}).description}
            for column, kind in ADDED_COLUMNS.items():
                if column not in present:
                    execute(f"ALTER TABLE triage_sessions ADD COLUMN {column} {kind}", {})

    def close(self) -> None:
        self.db.close()

    def ping(self, timeout: float = 2.0) -> None:
        """Raises one of `self.db.errors` unless the database answers within about `timeout` seconds."""
        self.db.ping(timeout)

    def first_time(self, key: str) -> bool:
        """Records an event key; False when it was seen before (a redelivery)."""
        now = time.time()
        with self.db.transaction(write=True) as execute:
            added = execute(
                "INSERT INTO seen_events (event_key, seen_at) VALUES (:key, :now) ON CONFLICT (event_key) DO NOTHING",
                {"key": key[:200], "now": now},
            ).rowcount
        if added != 1:
            return False
        with self._lock:
            self._inserts += 1
            purge = self._inserts % 500 == 0
        if purge:
            with self.db.transaction(write=True) as execute:
                execute("DELETE FROM seen_events WHERE seen_at < :cutoff", {"cutoff": now - SEEN_EVENT_TTL_SECONDS})
        return True

    def create_triage(self, channel_id: str, thread_ts: str, user_id: str, state: dict) -> TriageSession:
        """Starts a session in a thread, replacing a finished or older one there."""
        session = TriageSession(str(uuid.uuid4()), channel_id, thread_ts, user_id, state, 1, time.time())
        with self.db.transaction(write=True) as execute:
            execute(
                "DELETE FROM triage_sessions WHERE channel_id = :channel_id AND thread_ts = :thread_ts",
                {"channel_id": channel_id, "thread_ts": thread_ts},
            )
            execute(
                "INSERT INTO triage_sessions"
                " (id, team_id, channel_id, thread_ts, user_id, state, version, created_at, updated_at)"
                " VALUES (:id, '', :channel_id, :thread_ts, :user_id, :state, 1, :now, :now)",
                {
                    "id": session.id,
                    "channel_id": channel_id,
                    "thread_ts": thread_ts,
                    "user_id": user_id,
                    "state": json.dumps(state),
                    "now": session.updated_at,
                },
            )
        return session

    def triage_by_id(self, session_id: str) -> TriageSession | None:
        return self._one("id = :id", {"id": session_id})

    def triage_in_thread(self, channel_id: str, thread_ts: str) -> TriageSession | None:
        return self._one(
            "channel_id = :channel_id AND thread_ts = :thread_ts", {"channel_id": channel_id, "thread_ts": thread_ts}
        )

    def save_triage(self, session: TriageSession, state: dict, user_id: str | None = None) -> TriageSession:
        """Saves a new state if nobody else did since `session` was read; raises StaleSession otherwise.

        `user_id` becomes the owner; "" lets anyone answer next, None keeps the owner.
        """
        owner = session.user_id if user_id is None else user_id
        now = time.time()
        with self.db.transaction(write=True) as execute:
            done = execute(
                "UPDATE triage_sessions SET state = :state, version = :version + 1, updated_at = :now,"
                " user_id = :owner WHERE id = :id AND version = :version",
                {"state": json.dumps(state), "version": session.version, "now": now, "owner": owner, "id": session.id},
            ).rowcount
        if done != 1:
            raise StaleSession(session.id)
        return replace(session, user_id=owner, state=state, version=session.version + 1, updated_at=now)

    def note_question(self, session_id: str, question_id: str, message_ts: str) -> None:
        """Remembers which message asks the open question (not a change of state: no version bump)."""
        with self.db.transaction(write=True) as execute:
            execute(
                "UPDATE triage_sessions SET question_id = :question_id, question_ts = :message_ts WHERE id = :id",
                {"question_id": question_id, "message_ts": message_ts, "id": session_id},
            )

    def expire_triage(self, older_than_seconds: float) -> int:
        with self.db.transaction(write=True) as execute:
            return execute(
                "DELETE FROM triage_sessions WHERE updated_at < :cutoff", {"cutoff": time.time() - older_than_seconds}
            ).rowcount

    def _one(self, where: str, params: dict[str, str]) -> TriageSession | None:
        with self.db.transaction(write=False) as execute:
            row = execute(f"SELECT {SESSION_COLUMNS} FROM triage_sessions WHERE {where}", params).fetchone()
        if row is None:
            return None
        session_id, channel_id, thread_ts, user_id, state, version, updated_at, question_id, question_ts = row
        return TriageSession(
            session_id, channel_id, thread_ts, user_id, json.loads(state), version, updated_at, question_id, question_ts
        )
