"""Workflow Builder steps that wait on a triage ("Start an FTP triage"): which step execution a triage thread
completes when the triage ends, and with which token.

A row per thread, next to the triage session of that thread (the session is replaced when someone starts
over there; the step stays with the thread). When the triage ends, the store takes the row in the same
transaction that records the ending and queues the job that completes the step (bot/triage_step.py): a
restart between the two cannot lose the completion, and two replicas cannot both complete it.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from bot.database import Execute
from bot.jobs import Job, insert_job

WORKFLOW_TRIAGE_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS workflow_triages (
        channel_id VARCHAR(32) NOT NULL,
        thread_ts VARCHAR(32) NOT NULL,
        execution_id VARCHAR(64) NOT NULL,
        token VARCHAR(500),
        created_at FLOAT NOT NULL,
        CONSTRAINT one_step_per_thread PRIMARY KEY (channel_id, thread_ts)
    )""",
)

ENDED_JOB = "workflow_triage_ended"

WAITED_ON = (
    "EXISTS (SELECT 1 FROM workflow_triages w"
    " WHERE w.channel_id = triage_sessions.channel_id AND w.thread_ts = triage_sessions.thread_ts)"
)
"""SQL: a step waits on this triage session (a condition on triage_sessions)."""


def keep(execute: Execute, channel_id: str, thread_ts: str, execution_id: str, token: str | None) -> None:
    execute(
        "INSERT INTO workflow_triages (channel_id, thread_ts, execution_id, token, created_at)"
        " VALUES (:channel_id, :thread_ts, :execution_id, :token, :now)"
        " ON CONFLICT (channel_id, thread_ts) DO UPDATE SET execution_id = :execution_id, token = :token",
        {
            "channel_id": channel_id,
            "thread_ts": thread_ts,
            "execution_id": execution_id,
            "token": token,
            "now": time.time(),
        },
    )


def complete_waiting_step(
    execute: Execute, channel_id: str, thread_ts: str, outcome: str, state: dict[str, Any], announce: bool = False
) -> bool:
    """Queues the completion of the step waiting on this thread's triage, if one does; True when one did.
    `announce`: the job also tells the thread that the triage expired (nobody else did)."""
    row = execute(
        "DELETE FROM workflow_triages WHERE channel_id = :channel_id AND thread_ts = :thread_ts"
        " RETURNING execution_id, token",
        {"channel_id": channel_id, "thread_ts": thread_ts},
    ).fetchone()
    if row is None:
        return False
    execution_id, token = row
    payload = {
        "execution": execution_id,
        "token": token,
        "outcome": outcome,
        "channel": channel_id,
        "thread_ts": thread_ts,
        "state": state,
        "announce": announce,
    }
    insert_job(execute, Job(str(uuid.uuid4()), ENDED_JOB, payload))
    return True
