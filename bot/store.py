"""State that must outlive a restart and be shared by replicas: seen events, triage sessions, and (through
bot/jobs.py, bot/probe_limits.py, bot/feedback_store.py and bot/workflow_triages.py, whose tables are created here
too) the work queue, the probe's limits, the feedback rows and the workflow steps waiting on triages.

Plain SQL on SQLite by default, on PostgreSQL when DATABASE_URL names one (bot/database.py runs it on either).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from bot import metrics
from bot.database import DEFAULT_TIMEOUT_SECONDS, Database, DatabaseError, DatabaseUnavailable, open_database
from bot.feedback_store import FEEDBACK_SCHEMA, TRIAGE_ENDINGS, FeedbackStore
from bot.jobs import JOBS_SCHEMA
from bot.probe_limits import PROBE_SCHEMA
from bot.workflow_triages import WAITED_ON, WORKFLOW_TRIAGE_SCHEMA, complete_waiting_step, keep

__all__ = ["DatabaseError", "DatabaseUnavailable", "StaleSession", "Store", "TriageSession"]

T = TypeVar("T")

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

SESSION_COLUMNS = "id, channel_id, thread_ts, user_id, state, version, updated_at, question_id, question_ts, team_id"


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
    team_id: str = ""

    def message_asking(self, question_id: str) -> str | None:
        """The ts of the message that asks `question_id`, if that is the one remembered."""
        return self.question_ts if self.question_id == question_id else None


class StaleSession(RuntimeError):
    """Another click changed the session first."""


class Store(FeedbackStore):
    def __init__(self, url: str, timeout: float = DEFAULT_TIMEOUT_SECONDS, feedback_secret: str | None = None) -> None:
        self.url = url
        self.db: Database = open_database(url, timeout)
        try:
            self._create_schema()
            self._load_feedback_keys(feedback_secret)
        except self.db.errors as exc:
            self.db.close()
            raise DatabaseError(f"the schema cannot be created ({exc.__class__.__name__})") from exc

    def _create_schema(self) -> None:
        with self.db.transaction(write=True) as execute:
            for statement in (*SCHEMA, *JOBS_SCHEMA, *PROBE_SCHEMA, *FEEDBACK_SCHEMA, *WORKFLOW_TRIAGE_SCHEMA):
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

    def create_triage(
        self, channel_id: str, thread_ts: str, user_id: str, state: dict, team_id: str = ""
    ) -> TriageSession:
        """Starts a session in a thread, replacing a finished or older one there."""
        now = time.time()
        session = TriageSession(str(uuid.uuid4()), channel_id, thread_ts, user_id, state, 1, now, team_id=team_id)
        with self.db.transaction(write=True) as execute:
            execute(
                "DELETE FROM triage_sessions WHERE channel_id = :channel_id AND thread_ts = :thread_ts",
                {"channel_id": channel_id, "thread_ts": thread_ts},
            )
            execute(
                "INSERT INTO triage_sessions"
                " (id, team_id, channel_id, thread_ts, user_id, state, version, created_at, updated_at)"
                " VALUES (:id, :team_id, :channel_id, :thread_ts, :user_id, :state, 1, :now, :now)",
                {
                    "id": session.id,
                    "team_id": team_id,
                    "channel_id": channel_id,
                    "thread_ts": thread_ts,
                    "user_id": user_id,
                    "state": json.dumps(state),
                    "now": session.updated_at,
                },
            )
            entry_id = str(state.get("entry_id", ""))
            self._triage_row(execute, session.id, "started", entry_id, user_id, team_id, channel_id)
        metrics.triage("started")  # here, where it happens once: a job run again replays its journal instead
        return session

    def together(self, call: Callable[..., T], *args: Any) -> T:
        """`call(*args)`: what a job's store (bot/journal.py) runs in one hand-off to the database's thread."""
        return call(*args)

    def triage_by_id(self, session_id: str) -> TriageSession | None:
        return self._one("id = :id", {"id": session_id})

    def triage_in_thread(self, channel_id: str, thread_ts: str) -> TriageSession | None:
        return self._one(
            "channel_id = :channel_id AND thread_ts = :thread_ts", {"channel_id": channel_id, "thread_ts": thread_ts}
        )

    def save_triage(
        self, session: TriageSession, state: dict, user_id: str | None = None, fixed_by: tuple[str, ...] = ()
    ) -> TriageSession:
        """Saves a new state if nobody else did since `session` was read; raises StaleSession otherwise.

        `user_id` becomes the owner; "" lets anyone answer next, None keeps the owner. A state that ends the
        triage is recorded as its outcome, with `fixed_by` (the checklist steps shown) when it was fixed.
        """
        owner = session.user_id if user_id is None else user_id
        now = time.time()
        with self.db.transaction(write=True) as execute:
            done = execute(
                "UPDATE triage_sessions SET state = :state, version = :version + 1, updated_at = :now,"
                " user_id = :owner WHERE id = :id AND version = :version",
                {"state": json.dumps(state), "version": session.version, "now": now, "owner": owner, "id": session.id},
            ).rowcount
            ending = TRIAGE_ENDINGS.get(str(state.get("status")))
            if done == 1 and ending and state.get("status") != session.state.get("status"):
                who = user_id or session.user_id
                entry_id = str(state.get("entry_id", ""))
                where = (session.team_id, session.channel_id)
                self._triage_row(execute, session.id, ending, entry_id, who, *where)
                if ending == "resolved":
                    self._step_rows(execute, session.id, fixed_by, who, *where)
                complete_waiting_step(execute, session.channel_id, session.thread_ts, ending, state)
        if done != 1:
            raise StaleSession(session.id)
        metrics.triage_saved(session.state.get("status"), state.get("status"))
        return replace(session, user_id=owner, state=state, version=session.version + 1, updated_at=now)

    def note_question(self, session_id: str, question_id: str, message_ts: str) -> None:
        """Remembers which message asks the open question (not a change of state: no version bump)."""
        with self.db.transaction(write=True) as execute:
            execute(
                "UPDATE triage_sessions SET question_id = :question_id, question_ts = :message_ts WHERE id = :id",
                {"question_id": question_id, "message_ts": message_ts, "id": session_id},
            )

    def expire_triage(self, older_than_seconds: float, waited_on_only: bool = False) -> int:
        """Forgets sessions untouched for `older_than_seconds`; those still open are recorded as expired, and a
        workflow step waiting on one is completed. `waited_on_only`: only sessions a step waits on, whose threads
        are told (a chore's sweep, so that no step waits forever on a thread nobody comes back to)."""
        cutoff = {"cutoff": time.time() - older_than_seconds}
        where = "updated_at < :cutoff" + (f" AND {WAITED_ON}" if waited_on_only else "")
        with self.db.transaction(write=True) as execute:
            stale = execute(
                f"SELECT id, state, user_id, team_id, channel_id, thread_ts FROM triage_sessions WHERE {where}", cutoff
            ).fetchall()
            removed = 0
            for session_id, state, user_id, team_id, channel_id, thread_ts in stale:
                status = json.loads(state).get("status") if state.startswith("{") else None
                if status in ("asking", "checklist"):
                    entry_id = str(json.loads(state).get("entry_id", ""))
                    self._triage_row(execute, session_id, "expired", entry_id, user_id, team_id or "", channel_id)
                    complete_waiting_step(
                        execute, channel_id, thread_ts, "expired", json.loads(state), announce=waited_on_only
                    )
                removed += execute(
                    "DELETE FROM triage_sessions WHERE id = :id AND updated_at < :cutoff", {"id": session_id, **cutoff}
                ).rowcount
        metrics.triage("expired", removed)
        return removed

    def keep_workflow_step(self, channel_id: str, thread_ts: str, execution_id: str, token: str | None) -> None:
        """The workflow step `execution_id` waits on the triage in this thread (completed with `token`)."""
        with self.db.transaction(write=True) as execute:
            keep(execute, channel_id, thread_ts, execution_id, token)

    def _one(self, where: str, params: dict[str, str]) -> TriageSession | None:
        with self.db.transaction(write=False) as execute:
            row = execute(f"SELECT {SESSION_COLUMNS} FROM triage_sessions WHERE {where}", params).fetchone()
        if row is None:
            return None
        session_id, channel_id, thread_ts, user_id, state, version, updated_at, question_id, question_ts, team = row
        return TriageSession(
            session_id,
            channel_id,
            thread_ts,
            user_id,
            json.loads(state),
            version,
            updated_at,
            question_id,
            question_ts,
            team or "",
        )
