"""The feedback table: answers given, "nothing found" queries, votes and comments, triage outcomes.

One row per thing that happened, each with the time, the workspace, the channel type and the keyed hash of the
user (bot/feedback.py), never the user id. `event` says what the row is:

- `asked`: an answer was given (`subject` the entry or finding, `query` what was asked);
- `nothing`: a query found nothing (the knowledge gaps);
- `vote`: `vote` up or down on the answer `answer_id`, with an optional `comment` (one per user and answer);
- `handoff`: someone asked for a human after an answer did not help;
- `triage`: a triage `outcome` (started, resolved, handed_off, abandoned, expired), `seconds` since it started;
- `step`: a checklist step (`subject`) shown in a triage that ended "fixed".

Rows older than FEEDBACK_TTL_DAYS are deleted; `/ftpcode forget me` deletes a user's.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

from bot import insights
from bot.database import Database, Execute
from bot.feedback import FeedbackKeys, new_secret

FEEDBACK_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS feedback (
        id VARCHAR(36) NOT NULL PRIMARY KEY,
        event VARCHAR(16) NOT NULL,
        at FLOAT NOT NULL,
        team_id VARCHAR(32) NOT NULL,
        channel_type VARCHAR(16) NOT NULL,
        user_hash VARCHAR(64) NOT NULL,
        answer_id VARCHAR(32),
        subject VARCHAR(200),
        subject_kind VARCHAR(16),
        query TEXT,
        vote VARCHAR(8),
        comment TEXT,
        outcome VARCHAR(16),
        triage_id VARCHAR(36),
        seconds FLOAT
    )""",
    # The figures read only this index (bot/insights.py): one range of it per kind of row and period.
    "CREATE INDEX IF NOT EXISTS ix_feedback_figures ON feedback (event, at, subject, vote, outcome, seconds)",
    "CREATE INDEX IF NOT EXISTS ix_feedback_user_hash ON feedback (user_hash)",
    # An index on answer_id cost every answer's row 1.5-2.5 us more to write (bench/README.md): the votes on an
    # answer are found by one_vote_per_user, and the answer's own row by its id (asked_row_id).
    "DROP INDEX IF EXISTS ix_feedback_answer",
    "CREATE UNIQUE INDEX IF NOT EXISTS one_vote_per_user ON feedback (answer_id, user_hash) WHERE event = 'vote'",
    "CREATE UNIQUE INDEX IF NOT EXISTS one_row_per_triage_outcome ON feedback (triage_id, event, subject, outcome)"
    " WHERE triage_id IS NOT NULL",
    """CREATE TABLE IF NOT EXISTS settings (
        name VARCHAR(64) NOT NULL PRIMARY KEY,
        value TEXT NOT NULL
    )""",
)

COLUMNS = (
    "id",
    "event",
    "at",
    "team_id",
    "channel_type",
    "user_hash",
    "answer_id",
    "subject",
    "subject_kind",
    "query",
    "vote",
    "comment",
    "outcome",
    "triage_id",
    "seconds",
)
# The columns _values() copies from what it is given as they are (those before it are made or defaulted).
_AS_GIVEN = COLUMNS[COLUMNS.index("user_hash") + 1 :]
_INSERT_INTO = f"INSERT INTO feedback ({', '.join(COLUMNS)}) VALUES"
_INSERT = f"{_INSERT_INTO} ({', '.join(':' + c for c in COLUMNS)}) ON CONFLICT DO NOTHING"
# Rows a statement: each statement is one step of the database engine, so one hand-off of the GIL, where the
# recorder inserting row by row took the GIL back from the request threads hundreds of times a second under load;
# with positional parameters a row also costs a third less CPU to write (17.4 against 26.4 us, best of 6 rounds
# of 175-row batches into 40,000 rows). Only these sizes, largest first: SQLite keeps each statement it has
# prepared, and a statement of every size from 1 to 100 rows held 10.8 MB.
ROWS_A_STATEMENT = (32, 8, 1)


@lru_cache(maxsize=len(ROWS_A_STATEMENT))
def _insert_many(count: int) -> str:
    """_INSERT of `count` rows, with positional parameters (bot/database.py)."""
    row = "(" + ", ".join("?" for _ in COLUMNS) + ")"
    return f"{_INSERT_INTO} {', '.join([row] * count)} ON CONFLICT DO NOTHING"


# Triage statuses that end a triage, as outcomes (the same names as the ftpcode_triages_total metric).
TRIAGE_ENDINGS = {"resolved": "resolved", "handoff": "handed_off", "stopped": "abandoned"}


def asked_row_id(answer_id: str) -> str:
    """The id of the row that records the answer `answer_id` (one row an answer, however often a job reruns)."""
    return f"asked:{answer_id}"


def channel_type_of(channel_id: str) -> str:
    return "dm" if channel_id.startswith("D") else "channel"


class FeedbackStore:
    """The Store's feedback methods (mixed into bot.store.Store, so jobs reach them as journaled steps)."""

    db: Database
    _keys: FeedbackKeys

    def _load_feedback_keys(self, secret: str | None) -> None:
        """FTPCODE_FEEDBACK_SECRET; without one, a random key created in the database once and kept there.
        Loaded when the store opens, so no acknowledgement ever waits on it."""
        if not secret:
            with self.db.transaction(write=True) as execute:
                execute(
                    "INSERT INTO settings (name, value) VALUES ('feedback_key', :value) ON CONFLICT (name) DO NOTHING",
                    {"value": new_secret()},
                )
                secret = execute("SELECT value FROM settings WHERE name = 'feedback_key'", {}).fetchone()[0]
        self._keys = FeedbackKeys(str(secret).encode())

    def feedback_keys(self) -> FeedbackKeys:
        return self._keys

    def user_hash(self, user_id: str) -> str:
        return self.feedback_keys().user_hash(user_id)

    def _row(self, event: str, user_id: str, **fields: Any) -> dict[str, Any]:
        return dict(zip(COLUMNS, self._values({**fields, "event": event, "user": user_id}), strict=True))

    def _values(self, given: Mapping[str, Any]) -> tuple[Any, ...]:
        """A row's values in COLUMNS order from `given` (event, user and any of the columns): the user's hash
        in place of the id, the time now and an id of its own unless given. An answer's row brings its own id:
        a uuid4 for each was a quarter of the recorder's time with the GIL."""
        get = given.get
        return (
            get("id") or str(uuid.uuid4()),
            str(given["event"]),
            get("at") or time.time(),
            get("team_id") or "",
            get("channel_type"),
            self.user_hash(str(given["user"])),
            *[get(column) for column in _AS_GIVEN],
        )

    # -- answers, gaps, votes ------------------------------------------------------------------------------

    def record_answers(self, answers: Iterable[Mapping[str, Any]]) -> int:
        """Rows for answers given (`asked`) and queries that found nothing (`nothing`): each a dict with event,
        user, team_id, channel_type, and answer_id, subject, subject_kind, query, at as they apply."""
        answers = list(answers)
        if not answers:
            return 0
        with self.db.transaction(write=True) as execute:
            start = 0
            while start < len(answers):
                # Each statement's rows are made just before it: the engine lets go of the GIL while it runs one,
                # so the request threads wait for at most a statement's rows, not for the whole batch's.
                size = next(size for size in ROWS_A_STATEMENT if size <= len(answers) - start)
                values: list[Any] = []
                for answer in answers[start : start + size]:
                    values += self._values(answer)
                execute(_insert_many(size), values)
                start += size
        return len(answers)

    def record_vote(
        self, answer_id: str, user_id: str, vote: str, subject: str, kind: str, channel_type: str, team_id: str
    ) -> bool:
        """One vote per user and answer: False when this user voted on this answer before (nothing changes)."""
        row = self._row(
            "vote",
            user_id,
            answer_id=answer_id,
            vote=vote,
            subject=subject,
            subject_kind=kind,
            channel_type=channel_type,
            team_id=team_id,
        )
        with self.db.transaction(write=True) as execute:
            return execute(_INSERT, row).rowcount == 1

    def vote_counts(self, answer_id: str) -> dict[str, int]:
        with self.db.transaction(write=False) as execute:
            rows = execute(
                "SELECT vote, COUNT(*) FROM feedback WHERE event = 'vote' AND answer_id = :answer_id GROUP BY vote",
                {"answer_id": answer_id},
            ).fetchall()
        counts = {"up": 0, "down": 0}
        counts.update({vote: count for vote, count in rows if vote in counts})
        return counts

    def asked_query(self, answer_id: str) -> str | None:
        """What was asked, as stored with the answer (None once its asker was forgotten, or the row expired)."""
        with self.db.transaction(write=False) as execute:
            row = execute(
                "SELECT query FROM feedback WHERE id = :id AND event = 'asked'", {"id": asked_row_id(answer_id)}
            ).fetchone()
        return row[0] if row else None

    def set_comment(self, answer_id: str, user_id: str, comment: str, subject: str, kind: str, team_id: str) -> None:
        """The comment on this user's vote on the answer (a "not helpful" vote is recorded first if missing)."""
        user_hash = self.user_hash(user_id)
        with self.db.transaction(write=True) as execute:
            execute(
                _INSERT,
                self._row(
                    "vote",
                    user_id,
                    answer_id=answer_id,
                    vote="down",
                    subject=subject,
                    subject_kind=kind,
                    channel_type="",
                    team_id=team_id,
                ),
            )
            execute(
                "UPDATE feedback SET comment = :comment"
                " WHERE event = 'vote' AND answer_id = :answer_id AND user_hash = :user_hash",
                {"comment": comment, "answer_id": answer_id, "user_hash": user_hash},
            )

    def record_handoff(self, answer_id: str, user_id: str, subject: str, channel_type: str, team_id: str) -> None:
        row = self._row(
            "handoff", user_id, answer_id=answer_id, subject=subject, channel_type=channel_type, team_id=team_id
        )
        with self.db.transaction(write=True) as execute:
            execute(_INSERT, row)

    # -- triage outcomes (called inside the Store's own triage transactions) --------------------------------

    def _triage_row(
        self, execute: Execute, session_id: str, outcome: str, entry_id: str, user_id: str, team_id: str, channel: str
    ) -> None:
        started = execute("SELECT created_at FROM triage_sessions WHERE id = :id", {"id": session_id}).fetchone()
        row = self._row(
            "triage",
            user_id,
            triage_id=session_id,
            outcome=outcome,
            subject=entry_id,
            subject_kind="entry",
            team_id=team_id,
            channel_type=channel_type_of(channel),
        )
        if started is not None and outcome != "started":
            row["seconds"] = max(0.0, row["at"] - started[0])
        execute(_INSERT, row)

    def _step_rows(
        self, execute: Execute, session_id: str, steps: Iterable[str], user_id: str, team_id: str, channel: str
    ) -> None:
        for step in steps:
            row = self._row(
                "step",
                user_id,
                triage_id=session_id,
                subject=step,
                outcome="fixed",
                team_id=team_id,
                channel_type=channel_type_of(channel),
            )
            execute(_INSERT, row)

    # -- reading ------------------------------------------------------------------------------------------

    def feedback_stats(self, days: int, until: float | None = None, top: int = insights.TOP) -> insights.Stats:
        return insights.compute(self.db, days, until, top)

    def daily_answers(self, since: float, until: float) -> list[int]:
        """Answers given each day from `since` to `until` (whole days)."""
        days = [0] * round((until - since) / 86400)
        with self.db.transaction(write=False) as execute:
            rows = execute(
                "SELECT at FROM feedback WHERE event = 'asked' AND at >= :since AND at < :until",
                {"since": since, "until": until},
            ).fetchall()
        for (at,) in rows:
            days[min(len(days) - 1, int((at - since) // 86400))] += 1
        return days

    # -- forgetting ----------------------------------------------------------------------------------------

    def forget_user(self, user_id: str) -> int:
        """Deletes every feedback row of this user; how many there were."""
        with self.db.transaction(write=True) as execute:
            return execute("DELETE FROM feedback WHERE user_hash = :h", {"h": self.user_hash(user_id)}).rowcount

    def purge_feedback(self, older_than_seconds: float) -> int:
        with self.db.transaction(write=True) as execute:
            return execute(
                "DELETE FROM feedback WHERE at < :cutoff", {"cutoff": time.time() - older_than_seconds}
            ).rowcount
