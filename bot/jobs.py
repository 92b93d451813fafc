"""The work queue: Slack work (answers, scans, triage posts, hand-offs) kept in the database until it is done.

A listener records the work and returns, so its acknowledgement never waits on Slack. Workers on any replica
claim due jobs with a lease; a job whose worker died is claimed again when its lease runs out. Each job keeps a
journal of the Web API calls and database writes it has made (bot/journal.py), so a job run again after a
failure or a crash skips what it already did: a message is posted again only if the process died between
Slack's answer and the journal write that follows it.

A small table in our own store rather than a job-queue library: the well-kept ones need Redis or RabbitMQ
(RQ, Dramatiq, Celery) or serve PostgreSQL alone (Procrastinate, PgQueuer), and the bot runs on SQLite by
default. Redelivery filtering is part of the same transaction, so an event is either new and queued, or seen.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from bot.database import Database, Execute

JOBS_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS jobs (
        id VARCHAR(36) NOT NULL PRIMARY KEY,
        kind VARCHAR(64) NOT NULL,
        payload TEXT NOT NULL,
        journal TEXT NOT NULL,
        status VARCHAR(16) NOT NULL,
        attempts INTEGER NOT NULL,
        run_after FLOAT NOT NULL,
        lease_until FLOAT NOT NULL,
        lease_owner VARCHAR(64),
        created_at FLOAT NOT NULL,
        last_error VARCHAR(200)
    )""",
    "CREATE INDEX IF NOT EXISTS ix_jobs_due ON jobs (status, run_after)",
    # Work that must be done once ever, whichever replica comes first (the weekly digest): its key is kept
    # here, not with the event ids, which are forgotten after an hour.
    """CREATE TABLE IF NOT EXISTS job_claims (
        claim_key VARCHAR(200) NOT NULL PRIMARY KEY,
        claimed_at FLOAT NOT NULL
    )""",
)

# Slack retries an event for about 5 minutes; keep keys well past that.
SEEN_EVENT_TTL_SECONDS = 3600
# Keys that stand for a message rather than an event (an emoji on it asks for an answer, whoever adds it and
# whenever): kept long enough that a reaction weeks later is not answered again.
MESSAGE_KEY_PREFIX = "message:"
MESSAGE_KEY_TTL_SECONDS = 90 * 86400
FAILED_JOB_TTL_SECONDS = 7 * 86400
CLAIM_TTL_SECONDS = 400 * 86400
_COLUMNS = "id, kind, payload, journal, attempts, created_at"


@dataclass
class Job:
    id: str
    kind: str
    payload: dict[str, Any]
    journal: dict[str, Any] = field(default_factory=dict)
    attempts: int = 0
    created_at: float = field(default_factory=time.time)
    durable: bool = True
    """False for a job kept only in memory, because the database was out of reach when it came."""


_recorded_unclaimed = 0


def recorded_unclaimed() -> int:
    """A number that changes whenever this process records a job for a claim (not already claimed by a worker
    here): a dispatcher that saw it unchanged since its last claim need not ask the database again before its poll."""
    return _recorded_unclaimed


def insert_job(execute: Execute, job: Job, lease_until: float = 0.0, owner: str | None = None) -> None:
    """Records `job` as queued in the caller's transaction: work that must follow a write (a workflow step to
    complete when a triage ends) is queued with it or not at all."""
    global _recorded_unclaimed
    if owner is None:
        _recorded_unclaimed += 1  # a lost increment between threads still changes the number
    execute(
        "INSERT INTO jobs (id, kind, payload, journal, status, attempts, run_after, lease_until, lease_owner,"
        " created_at) VALUES (:id, :kind, :payload, '{}', 'queued', :attempts, :now, :lease_until, :owner, :now)",
        {
            "id": job.id,
            "kind": job.kind,
            "payload": json.dumps(job.payload),
            "attempts": job.attempts,
            "now": job.created_at,
            "lease_until": lease_until,
            "owner": owner,
        },
    )


class JobQueue:
    def __init__(self, db: Database, owner: str | None = None) -> None:
        self.db = db
        self.owner = owner or uuid.uuid4().hex[:16]
        self._added = 0
        self._lock = threading.Lock()

    def add(
        self,
        kind: str,
        payload: dict[str, Any],
        key: str | None = None,
        once: str | None = None,
        lease_seconds: float | None = None,
    ) -> Job | None:
        """Records a job; None when `key` (an event id) was seen before, a redelivery, or when the job `once`
        names was queued before, by any replica, ever. Raises DatabaseError.

        With `lease_seconds` the job is recorded already claimed by this owner (a worker here is free to run it
        at once), as `claim` would leave it: no other replica takes it before the lease runs out."""
        now = time.time()
        job = Job(str(uuid.uuid4()), kind, payload, created_at=now, attempts=0 if lease_seconds is None else 1)
        lease_until = 0.0 if lease_seconds is None else now + lease_seconds
        owner = None if lease_seconds is None else self.owner
        with self.db.transaction(write=True) as execute:
            claims = (("seen_events", "event_key", "seen_at", key), ("job_claims", "claim_key", "claimed_at", once))
            for table, column, when, value in claims:
                if value is None:
                    continue
                added = execute(
                    f"INSERT INTO {table} ({column}, {when}) VALUES (:key, :now) ON CONFLICT ({column}) DO NOTHING",
                    {"key": value[:200], "now": now},
                ).rowcount
                if added != 1:
                    return None
            insert_job(execute, job, lease_until, owner)
        self._purge_now_and_then(now)
        return job

    def claim(self, limit: int, lease_seconds: float) -> list[Job]:
        """Up to `limit` due jobs, leased to this owner for `lease_seconds`."""
        now = time.time()
        # SQLite runs one writer at a time, so the plain subquery is safe there; PostgreSQL skips rows that
        # another replica is claiming at the same moment.
        lock = " FOR UPDATE SKIP LOCKED" if self.db.dialect == "postgresql" else ""
        with self.db.transaction(write=True) as execute:
            rows = execute(
                "UPDATE jobs SET lease_until = :lease, lease_owner = :owner, attempts = attempts + 1"
                " WHERE id IN (SELECT id FROM jobs WHERE status = 'queued' AND run_after <= :now"
                f" AND lease_until <= :now ORDER BY run_after LIMIT :limit{lock}) RETURNING {_COLUMNS}",
                {"lease": now + lease_seconds, "owner": self.owner, "now": now, "limit": limit},
            ).fetchall()
        return [
            Job(job_id, kind, json.loads(payload), json.loads(journal), attempts, created_at)
            for job_id, kind, payload, journal, attempts, created_at in rows
        ]

    def record(self, job: Job) -> None:
        """Saves the job's journal: what it has done so far survives a crash."""
        with self.db.transaction(write=True) as execute:
            execute(
                "UPDATE jobs SET journal = :journal WHERE id = :id AND lease_owner = :owner",
                {"journal": json.dumps(job.journal), "id": job.id, "owner": self.owner},
            )

    def done(self, job: Job) -> None:
        with self.db.transaction(write=True) as execute:
            execute("DELETE FROM jobs WHERE id = :id", {"id": job.id})

    def retry(self, job: Job, after_seconds: float, error: str) -> None:
        """Runs the job again, on any replica, once `after_seconds` have passed."""
        with self.db.transaction(write=True) as execute:
            execute(
                "UPDATE jobs SET run_after = :at, lease_until = 0, lease_owner = NULL, last_error = :error,"
                " journal = :journal WHERE id = :id",
                {
                    "at": time.time() + after_seconds,
                    "error": error[:200],
                    "journal": json.dumps(job.journal),
                    "id": job.id,
                },
            )

    def fail(self, job: Job, error: str) -> None:
        """Gives up on the job. Its kind and error stay a while, for whoever investigates; not what users wrote."""
        with self.db.transaction(write=True) as execute:
            execute(
                "UPDATE jobs SET status = 'failed', lease_until = 0, last_error = :error, payload = '{}',"
                " journal = '{}' WHERE id = :id",
                {"error": error[:200], "id": job.id},
            )

    def extend(self, jobs: list[Job], lease_seconds: float) -> None:
        """Keeps the leases of jobs still running here, so no other replica claims them meanwhile."""
        if not jobs:
            return
        with self.db.transaction(write=True) as execute:
            for job in jobs:
                execute(
                    "UPDATE jobs SET lease_until = :lease WHERE id = :id AND lease_owner = :owner",
                    {"lease": time.time() + lease_seconds, "id": job.id, "owner": self.owner},
                )

    def release(self, jobs: list[Job]) -> None:
        """Hands jobs this process will not finish (it is stopping) to the next claim, at once."""
        if not jobs:
            return
        with self.db.transaction(write=True) as execute:
            for job in jobs:
                execute(
                    "UPDATE jobs SET lease_until = 0, lease_owner = NULL, journal = :journal"
                    " WHERE id = :id AND lease_owner = :owner",
                    {"journal": json.dumps(job.journal), "id": job.id, "owner": self.owner},
                )

    def stats(self) -> dict[str, float]:
        """Queued and failed jobs, and the age in seconds of the oldest queued one (0 when none)."""
        now = time.time()
        with self.db.transaction(write=False) as execute:
            rows = execute("SELECT status, COUNT(*), MIN(created_at) FROM jobs GROUP BY status", {}).fetchall()
            due = execute(
                "SELECT MIN(run_after) FROM jobs WHERE status = 'queued' AND run_after <= :now AND lease_until <= :now",
                {"now": now},
            ).fetchone()[0]
        counts = {status: (count, oldest) for status, count, oldest in rows}
        queued, oldest = counts.get("queued", (0, None))
        return {
            "queued": queued,
            "failed": counts.get("failed", (0, None))[0],
            "oldest_queued_seconds": round(now - oldest, 1) if oldest else 0.0,
            "oldest_due_seconds": round(now - due, 1) if due else 0.0,
        }

    def _purge_now_and_then(self, now: float) -> None:
        with self._lock:
            self._added += 1
            purge = self._added % 500 == 0
        if purge:
            self.purge(now)

    def purge(self, now: float) -> None:
        """Forgets redelivery keys and failed jobs that have been kept long enough at `now`."""
        with self.db.transaction(write=True) as execute:
            execute(
                "DELETE FROM seen_events WHERE seen_at < :cutoff AND event_key NOT LIKE :kept",
                {"cutoff": now - SEEN_EVENT_TTL_SECONDS, "kept": MESSAGE_KEY_PREFIX + "%"},
            )
            execute("DELETE FROM seen_events WHERE seen_at < :cutoff", {"cutoff": now - MESSAGE_KEY_TTL_SECONDS})
            execute(
                "DELETE FROM jobs WHERE status = 'failed' AND created_at < :cutoff",
                {"cutoff": now - FAILED_JOB_TTL_SECONDS},
            )
            execute("DELETE FROM job_claims WHERE claimed_at < :cutoff", {"cutoff": now - CLAIM_TTL_SECONDS})
