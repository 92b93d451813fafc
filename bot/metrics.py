"""Prometheus metrics: every metric defined once here, and one-line functions the rest of the code calls.

HTTP mode runs several gunicorn worker processes, so it uses prometheus_client's multiprocess mode: the master
calls `use_multiprocess_directory()` before it forks (each worker then writes its samples to files there) and
`process_exited(pid)` when a worker ends; `/metrics` in any worker adds up every worker's files. Socket Mode is
one process and keeps its samples in memory (`use_one_process()`).

prometheus_client is loaded once the process serves (`load_in_background()`, from bot/warm_up.py), or by the first
scrape, not at start-up: importing it takes 10-20 ms, which the start-up target of bench/bench_ack.py has no room
for. Samples taken before (the Web API calls of start-up, say) wait in memory and are counted when it is loaded.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

MULTIPROCESS_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"  # prometheus_client's own name for it

REQUEST_KINDS = ("command", "event", "action", "shortcut", "view", "other")
API_OUTCOMES = ("ok", "ratelimited", "server_error", "network_error", "api_error")
TRIAGE_OUTCOMES = ("started", "resolved", "handed_off", "abandoned", "expired")
# The triage engine's final statuses (knowledge/triage/engine.py), as outcomes.
_TRIAGE_ENDINGS = {"resolved": "resolved", "handoff": "handed_off", "stopped": "abandoned"}

# Slack gives an acknowledgement 3 s; the bot's own p99 is well under 20 ms (bench/bench_ack.py).
ACK_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0)

_INTERACTIVE_KINDS = {
    "block_actions": "action",
    "interactive_message": "action",
    "shortcut": "shortcut",
    "message_action": "shortcut",
    "view_submission": "view",
    "view_closed": "view",
}


class _Metrics:
    """The metrics themselves; made once per process, on first use."""

    def __init__(self) -> None:
        from prometheus_client import Counter, Gauge, Histogram, disable_created_metrics

        disable_created_metrics()  # a `_created` series beside every counter says nothing a dashboard uses

        self.requests = Counter(
            "ftpcode_requests", "Requests from Slack answered, by kind and HTTP status", ["kind", "status"]
        )
        self.ack_seconds = Histogram(
            "ftpcode_ack_seconds",
            "From a request's arrival at Bolt's adapter to its acknowledgement leaving",
            ["kind"],
            buckets=ACK_BUCKETS,
        )
        self.api_calls = Counter(
            "ftpcode_slack_api_calls", "Slack Web API calls by method and final outcome", ["method", "outcome"]
        )
        self.api_retries = Counter("ftpcode_slack_api_retries", "Web API requests sent again", ["method"])
        job = ["kind"]
        self.jobs_queued = Counter("ftpcode_jobs_queued", "Jobs put in the work queue", job)
        self.jobs_started = Counter("ftpcode_jobs_started", "Jobs a worker claimed and began", job)
        self.jobs_done = Counter("ftpcode_jobs_done", "Jobs finished", job)
        self.jobs_failed = Counter("ftpcode_jobs_failed", "Jobs given up", job)
        self.jobs_retried = Counter("ftpcode_jobs_retried", "Jobs put back for a later attempt", job)
        # Every replica sees the same queue, so the latest reading from any process is the one to show.
        self.jobs_waiting = Gauge(
            "ftpcode_jobs_waiting", "Jobs queued and not yet started", multiprocess_mode="mostrecent"
        )
        self.oldest_job_seconds = Gauge(
            "ftpcode_jobs_oldest_waiting_seconds",
            "Age of the oldest job not yet started",
            multiprocess_mode="mostrecent",
        )
        self.triages = Counter("ftpcode_triages", "Triages by what happened to them", ["outcome"])
        self.database_errors = Counter("ftpcode_database_errors", "Database operations that failed")


_made: _Metrics | None = None
_making = threading.Lock()
_waiting: list[Callable[[_Metrics], None]] = []  # samples taken before the metrics were made
WAITING_LIMIT = 10_000  # beyond this many, the metrics are made at once rather than keep more waiting
_temporary_directory: Path | None = None  # made by use_multiprocess_directory() in this process
_owner = 0  # the process that made it: the gunicorn master


def load() -> None:
    """Imports prometheus_client and makes the metrics (once), counting the samples that waited for them."""
    global _made
    if _made is None:
        with _making:
            if _made is None:
                made = _Metrics()
                for sample in _waiting:
                    sample(made)
                _waiting.clear()
                _made = made


def load_in_background() -> None:
    """load() on a thread of its own: for a process that has begun to serve."""
    threading.Thread(target=load, name="metrics-load", daemon=True).start()


def _record(sample: Callable[[_Metrics], None]) -> None:
    made = _made
    if made is None:
        with _making:
            if _made is None and len(_waiting) < WAITING_LIMIT:
                _waiting.append(sample)
                return
        load()
        made = _made
    sample(made)  # type: ignore[arg-type]


# ----- set-up: before any worker process starts, and when one ends -----


def use_multiprocess_directory() -> Path:
    """For a server that forks workers: a directory for their samples, emptied; call before the fork.

    PROMETHEUS_MULTIPROC_DIR names it when set (only prometheus_client's *.db files in it are removed);
    otherwise a new temporary directory, removed by `remove_multiprocess_directory()`.
    """
    global _temporary_directory
    given = os.environ.get(MULTIPROCESS_VARIABLE, "").strip()
    if given:
        directory = Path(given)
        directory.mkdir(parents=True, exist_ok=True)
        for stale in directory.glob("*.db"):  # left by a previous run: its counters would add to ours
            stale.unlink()
    else:
        directory = _temporary_directory = Path(tempfile.mkdtemp(prefix="ftpcode-metrics-"))
        global _owner
        _owner = os.getpid()
    os.environ[MULTIPROCESS_VARIABLE] = str(directory)
    return directory


def remove_multiprocess_directory() -> None:
    """The temporary directory of `use_multiprocess_directory()`, at the server's exit (a given one stays)."""
    global _temporary_directory
    # A worker forked inside the master's `try` leaves through its `finally` too: when gunicorn replaces a
    # worker (SIGHUP, a crash) the old one must not take the directory from the new one.
    if _temporary_directory is not None and os.getpid() == _owner:
        shutil.rmtree(_temporary_directory, ignore_errors=True)
        _temporary_directory = None


def use_one_process() -> None:
    """Socket Mode: one process, samples in memory, whatever the environment says."""
    os.environ.pop(MULTIPROCESS_VARIABLE, None)


def process_exited(pid: int) -> None:
    """A worker process ended (from the master): its live gauges stop counting."""
    if os.environ.get(MULTIPROCESS_VARIABLE):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)


def exposition() -> tuple[bytes, str]:
    """Every metric in the Prometheus text format, and its content type."""
    from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest

    load()  # so a scrape before the first request still lists every metric
    directory = os.environ.get(MULTIPROCESS_VARIABLE)
    if not directory:
        return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
    from prometheus_client import multiprocess

    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=directory)
    return generate_latest(registry), CONTENT_TYPE_LATEST


# ----- what the rest of the code calls -----


def request_kind(body: Mapping[str, Any] | None) -> str:
    """command, event, action, shortcut, view or other, from the body Bolt parsed (HTTP or Socket Mode)."""
    if not body:
        return "other"
    if "command" in body:
        return "command"
    kind = body.get("type")
    if kind == "event_callback":
        return "event"
    return _INTERACTIVE_KINDS.get(kind, "other") if isinstance(kind, str) else "other"


def observe_request(kind: str, seconds: float, status: int) -> None:
    """One request acknowledged: its kind, the seconds to its acknowledgement, the status Bolt gave it."""

    def sample(made: _Metrics) -> None:
        made.requests.labels(kind, str(status)).inc()
        made.ack_seconds.labels(kind).observe(seconds)

    _record(sample)


def api_call(method: str, outcome: str, retries: int = 0) -> None:
    """A Web API call ended; `outcome` is one of API_OUTCOMES; `retries` requests were sent again for it."""

    def sample(made: _Metrics) -> None:
        made.api_calls.labels(method, outcome).inc()
        if retries:
            made.api_retries.labels(method).inc(retries)

    _record(sample)


def api_outcome(status: int, ok: bool) -> str:
    """The outcome of a call that was answered, from its final HTTP status and the body's "ok"."""
    if status == 429:
        return "ratelimited"
    if status >= 500:
        return "server_error"
    return "ok" if ok and 200 <= status < 300 else "api_error"


def job_queued(kind: str) -> None:
    _record(lambda made: made.jobs_queued.labels(kind).inc())


def job_started(kind: str) -> None:
    _record(lambda made: made.jobs_started.labels(kind).inc())


def job_done(kind: str) -> None:
    _record(lambda made: made.jobs_done.labels(kind).inc())


def job_failed(kind: str) -> None:
    _record(lambda made: made.jobs_failed.labels(kind).inc())


def job_retried(kind: str) -> None:
    _record(lambda made: made.jobs_retried.labels(kind).inc())


def queue_state(waiting: int, oldest_waiting_seconds: float) -> None:
    """What the queue holds now (from the database, so any replica's reading is the queue's)."""

    def sample(made: _Metrics) -> None:
        made.jobs_waiting.set(waiting)
        made.oldest_job_seconds.set(oldest_waiting_seconds)

    _record(sample)


def triage(outcome: str, count: int = 1) -> None:
    """A triage started, or ended in one of TRIAGE_OUTCOMES."""
    if count:
        _record(lambda made: made.triages.labels(outcome).inc(count))


def triage_saved(before: object, after: object) -> None:
    """A triage's state was saved with status `after` (it had `before`): counted when that ends it."""
    if after != before and isinstance(after, str) and after in _TRIAGE_ENDINGS:
        triage(_TRIAGE_ENDINGS[after])


def database_error() -> None:
    _record(lambda made: made.database_errors.inc())
