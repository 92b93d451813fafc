"""State that must outlive a restart and be shared by replicas: seen events and triage sessions.

One code path through SQLAlchemy Core: SQLite by default, PostgreSQL when DATABASE_URL names one.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

metadata = sa.MetaData()

seen_events = sa.Table(
    "seen_events",
    metadata,
    sa.Column("event_key", sa.String(200), primary_key=True),
    sa.Column("seen_at", sa.Float, nullable=False, index=True),
)

triage_sessions = sa.Table(
    "triage_sessions",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("team_id", sa.String(32), nullable=False, default=""),
    sa.Column("channel_id", sa.String(32), nullable=False),
    sa.Column("thread_ts", sa.String(32), nullable=False),
    sa.Column("user_id", sa.String(32), nullable=False),
    sa.Column("state", sa.Text, nullable=False),
    sa.Column("version", sa.Integer, nullable=False, default=1),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False, index=True),
    # The message holding the open question, so a typed answer can turn it into a transcript line too.
    sa.Column("question_id", sa.String(64), nullable=True),
    sa.Column("question_ts", sa.String(32), nullable=True),
    sa.UniqueConstraint("channel_id", "thread_ts", name="one_triage_per_thread"),
)

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
        if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        if url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
        connect_args = {"timeout": 30} if url.startswith("sqlite") else {}
        self.engine = sa.create_engine(url, connect_args=connect_args, pool_pre_ping=True)
        if url.startswith("sqlite"):
            sa.event.listen(self.engine, "connect", _sqlite_pragmas)
        metadata.create_all(self.engine)
        self._migrate()
        self._inserts = 0
        self._lock = threading.Lock()
        # SQLite has one writer at a time, and a writer that finds it busy sleeps in steps of up to 100 ms;
        # queueing this process's writes on a lock instead keeps that sleep out of the tail latency.
        self._writes = threading.Lock() if url.startswith("sqlite") else contextlib.nullcontext()

    def _migrate(self) -> None:
        """Columns added since a table was first created (create_all makes only missing tables)."""
        present = {c["name"] for c in sa.inspect(self.engine).get_columns("triage_sessions")}
        added = {"question_id": "VARCHAR(64)", "question_ts": "VARCHAR(32)"}
        with self.engine.begin() as conn:
            for column, kind in added.items():
                if column not in present:
                    conn.execute(sa.text(f"ALTER TABLE triage_sessions ADD COLUMN {column} {kind}"))

    def first_time(self, key: str) -> bool:
        """Records an event key; False when it was seen before (a redelivery)."""
        now = time.time()
        try:
            with self._writes, self.engine.begin() as conn:
                conn.execute(seen_events.insert().values(event_key=key[:200], seen_at=now))
        except IntegrityError:
            return False
        with self._lock:
            self._inserts += 1
            purge = self._inserts % 500 == 0
        if purge:
            with self._writes, self.engine.begin() as conn:
                conn.execute(seen_events.delete().where(seen_events.c.seen_at < now - SEEN_EVENT_TTL_SECONDS))
        return True

    def create_triage(self, channel_id: str, thread_ts: str, user_id: str, state: dict) -> TriageSession:
        """Starts a session in a thread, replacing a finished or older one there."""
        now = time.time()
        row = {
            "id": str(uuid.uuid4()),
            "channel_id": channel_id,
            "thread_ts": thread_ts,
            "user_id": user_id,
            "state": json.dumps(state),
            "version": 1,
            "created_at": now,
            "updated_at": now,
        }
        with self._writes, self.engine.begin() as conn:
            conn.execute(
                triage_sessions.delete().where(
                    (triage_sessions.c.channel_id == channel_id) & (triage_sessions.c.thread_ts == thread_ts)
                )
            )
            conn.execute(triage_sessions.insert().values(**row))
        return TriageSession(row["id"], channel_id, thread_ts, user_id, state, 1, now)

    def triage_by_id(self, session_id: str) -> TriageSession | None:
        return self._one(triage_sessions.c.id == session_id)

    def triage_in_thread(self, channel_id: str, thread_ts: str) -> TriageSession | None:
        return self._one((triage_sessions.c.channel_id == channel_id) & (triage_sessions.c.thread_ts == thread_ts))

    def save_triage(self, session: TriageSession, state: dict, user_id: str | None = None) -> TriageSession:
        """Saves a new state if nobody else did since `session` was read; raises StaleSession otherwise.

        `user_id` becomes the owner; "" lets anyone answer next, None keeps the owner.
        """
        now = time.time()
        values = {"state": json.dumps(state), "version": session.version + 1, "updated_at": now}
        if user_id is not None:
            values["user_id"] = user_id
        with self._writes, self.engine.begin() as conn:
            done = conn.execute(
                triage_sessions.update()
                .where((triage_sessions.c.id == session.id) & (triage_sessions.c.version == session.version))
                .values(**values)
            )
        if done.rowcount != 1:
            raise StaleSession(session.id)
        return TriageSession(
            session.id,
            session.channel_id,
            session.thread_ts,
            session.user_id if user_id is None else user_id,
            state,
            session.version + 1,
            now,
            session.question_id,
            session.question_ts,
        )

    def note_question(self, session_id: str, question_id: str, message_ts: str) -> None:
        """Remembers which message asks the open question (not a change of state: no version bump)."""
        with self._writes, self.engine.begin() as conn:
            conn.execute(
                triage_sessions.update()
                .where(triage_sessions.c.id == session_id)
                .values(question_id=question_id, question_ts=message_ts)
            )

    def expire_triage(self, older_than_seconds: float) -> int:
        with self._writes, self.engine.begin() as conn:
            done = conn.execute(
                triage_sessions.delete().where(triage_sessions.c.updated_at < time.time() - older_than_seconds)
            )
        return done.rowcount

    def _one(self, where: sa.ColumnElement[bool]) -> TriageSession | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(triage_sessions).where(where)).mappings().first()
        if row is None:
            return None
        return TriageSession(
            row["id"],
            row["channel_id"],
            row["thread_ts"],
            row["user_id"],
            json.loads(row["state"]),
            row["version"],
            row["updated_at"],
            row["question_id"],
            row["question_ts"],
        )


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
