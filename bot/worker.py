"""Workers: run queued jobs on their own threads, never on the threads that acknowledge Slack's requests.

One dispatcher thread claims due jobs (as many as there are idle workers) and keeps their leases alive; a job
that must wait (Retry-After, 5xx, the network, the database) goes back to the queue with a time to run again,
up to JOB_MAX_WAIT_SECONDS after it came. While the database is out of reach, new work is kept in memory (a
bounded queue, not durable) so answers that need no storage still go out.
"""

from __future__ import annotations

import logging
import random
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from bot import logs, metrics
from bot.config import Config
from bot.database import BoundedCalls, DatabaseError
from bot.feedback import FeedbackKeys
from bot.jobs import Job, JobQueue, recorded_unclaimed
from bot.journal import (
    Journal,
    JournaledClient,
    JournaledStore,
    RateLimits,
    RetryLater,
    journaled_client,
    journaled_respond,
)
from bot.modals import ModalOpener
from bot.recorder import Recorder
from bot.store import Store
from bot.web_transport import KeepAliveWebClient

logger = logging.getLogger("bot.work")

POLL_SECONDS = 1.0  # how soon work queued by another replica, or due again, is noticed
STUCK_AFTER_SECONDS = 120.0  # a job due this long and claimed by nobody: no worker anywhere is taking work
MEMORY_QUEUE_LIMIT = 1000
MAX_BACKOFF_SECONDS = 60.0


@dataclass
class Work:
    """What a job handler gets: the job's payload, and the outside world as journal steps."""

    job: Job
    client: JournaledClient
    store: JournaledStore
    config: Config
    respond: Callable[..., None]
    journal: Journal
    """For work whose result is data rather than a call (a probe): journal.step() it, so a rerun reuses it."""
    keys: FeedbackKeys | None = None
    """Hash user ids and sign vote buttons (bot/feedback.py)."""
    recorder: Recorder | None = None
    """Where the rows of answers given go (bot/recorder.py): written soon, never holding up the answer."""

    @property
    def payload(self) -> dict[str, Any]:
        return self.job.payload


Handler = Callable[[Work], None]


def backoff(attempts: int, base: float) -> float:
    """Seconds before run `attempts` + 1 of a job that hit a 5xx or a network error: doubling, with jitter."""
    return min(MAX_BACKOFF_SECONDS, base * 2 ** max(0, attempts - 1)) * random.uniform(0.8, 1.2)


class Worker:
    def __init__(self, store: Store, client: KeepAliveWebClient, config: Config, handlers: dict[str, Handler]) -> None:
        self.queue = JobQueue(store.db)
        self.store = store
        self.client = client
        self.config = config
        self.handlers = handlers
        self.limits = RateLimits()
        self.threads = config.work_threads
        self._pool = ThreadPoolExecutor(max_workers=self.threads, thread_name_prefix="work")
        # Every database call of the worker and its jobs waits at most the database timeout: a frozen database
        # must hold neither an acknowledgement nor the workers that answer from memory meanwhile.
        self.db = BoundedCalls(store.db.guard, config.database_timeout_seconds)
        self._lock = threading.Lock()
        self._running: dict[str, Job] = {}
        self._reserved = 0  # workers promised to jobs a listener is recording
        self._backlog = False  # jobs were queued for want of a free worker, and the queue has not been seen empty
        self._last_claim = 0.0  # time.monotonic() of the dispatcher's last claim
        self._unclaimed_seen = -1  # recorded_unclaimed() at that claim
        self._memory: list[tuple[float, Job]] = []  # (run at, job): kept while the database is out of reach
        self._memory_keys: OrderedDict[str, None] = OrderedDict()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._dispatch_forever, name="work-dispatch", daemon=True)
        # What listeners use besides the queue: the feedback keys, the recorder of answers given in acks, and
        # the threads that open modals while their trigger is fresh.
        self.keys = store.feedback_keys()
        self.recorder = Recorder(lambda rows: self.db(store.record_answers, rows))
        self.modals = ModalOpener(client)
        self.on_stop: list[Callable[[], None]] = []  # what else stops with the worker (bot/housekeeping.py)

    # -- what listeners call -------------------------------------------------------------------------------

    def submit(self, kind: str, payload: dict[str, Any], key: str | None = None, once: str | None = None) -> bool:
        """Queues work; False when it was a redelivery (seen before) or could not be kept at all.

        Never waits on the database longer than DATABASE_TIMEOUT_SECONDS: the work is kept in memory instead,
        except work to be done `once` across replicas, which only the database can promise.
        """
        if kind not in self.handlers:
            raise ValueError(f"no handler for job kind {kind!r}")
        # A worker here that is free takes the job straight from the listener: recorded already claimed, it needs
        # neither the dispatcher's wake-up nor its claim (a transaction and two thread hand-offs per click). Not
        # while jobs queued here before wait for a worker: they go first.
        here = self._reserve_worker()
        lease = self.config.job_lease_seconds if here else None
        try:
            job = self.db(self.queue.add, kind, payload, key, once, lease)
        except DatabaseError as exc:
            self._release_worker(here)
            if once is not None:
                raise
            logger.warning("database out of reach (%s): %s kept in memory", exc, kind)
            return self._keep_in_memory(kind, payload, key)
        if job is None:
            self._release_worker(here)
            logger.info("%s was queued before; skipped", key or once)
            return False
        metrics.job_queued(kind)
        if here:
            self._start(job, reserved=True)
        else:
            self._wake.set()
        return True

    def _reserve_worker(self) -> bool:
        with self._lock:
            if self._stopping.is_set() or self._backlog or len(self._running) + self._reserved >= self.threads:
                self._backlog = True
                return False
            self._reserved += 1
            return True

    def _release_worker(self, reserved: bool) -> None:
        if reserved:
            with self._lock:
                self._reserved -= 1

    def _keep_in_memory(self, kind: str, payload: dict[str, Any], key: str | None) -> bool:
        with self._lock:
            if key is not None:
                if key in self._memory_keys:
                    return False
                self._memory_keys[key] = None
                while len(self._memory_keys) > 10 * MEMORY_QUEUE_LIMIT:
                    self._memory_keys.popitem(last=False)
            if len(self._memory) >= MEMORY_QUEUE_LIMIT:
                logger.error("in-memory queue full: %s dropped", kind)
                return False
            self._memory.append((time.time(), Job(str(uuid.uuid4()), kind, payload, durable=False)))
        metrics.job_queued(kind)
        self._wake.set()
        return True

    # -- lifecycle -----------------------------------------------------------------------------------------

    def start(self) -> Worker:
        self._thread.start()
        self.recorder.start()
        return self

    def stop(self, grace: float = 10.0) -> None:
        """Stops claiming, lets running jobs finish for up to `grace` s, hands the rest back to the queue."""
        self._stopping.set()
        self._wake.set()
        self.modals.stop()
        for stop in self.on_stop:
            stop()
        deadline = time.monotonic() + grace
        while self.busy and time.monotonic() < deadline:
            time.sleep(0.05)
        with self._lock:
            unfinished = [job for job in self._running.values() if job.durable]
        try:
            self.queue.release(unfinished)  # directly: at exit, no new thread may start
        except DatabaseError as exc:
            logger.warning("could not hand back %d job(s): their leases will run out (%s)", len(unfinished), exc)
        self._pool.shutdown(wait=False, cancel_futures=True)
        self.recorder.stop()

    @property
    def busy(self) -> int:
        with self._lock:
            return len(self._running)

    def stuck(self) -> str | None:
        """Why the queue is stuck (for /readyz), or None. A database out of reach is the database check's to say."""
        try:
            waited = self.db(self.queue.stats)["oldest_due_seconds"]
        except DatabaseError:
            return None
        if waited > STUCK_AFTER_SECONDS:
            return f"a job has been due for {waited:.0f} s and no worker took it"
        return None

    def stats(self) -> dict[str, Any]:
        with self._lock:
            running, in_memory = len(self._running), len(self._memory)
        return {"running": running, "in_memory": in_memory}

    # -- dispatching ---------------------------------------------------------------------------------------

    def _dispatch_forever(self) -> None:
        last_extend = time.monotonic()
        while not self._stopping.is_set():
            started = self._dispatch_once()
            if time.monotonic() - last_extend > self.config.job_lease_seconds / 3:
                self._extend_leases()
                self._observe_queue()
                last_extend = time.monotonic()
            if not started:
                until_poll = self._last_claim + POLL_SECONDS - time.monotonic()
                # Overdue, yet no claim: no worker was free (or the database is down); a finished job wakes this.
                self._wake.wait(until_poll if until_poll > 0 else POLL_SECONDS)
                self._wake.clear()

    def _dispatch_once(self) -> int:
        with self._lock:
            free = self.threads - len(self._running) - self._reserved
        if free <= 0:
            return 0
        jobs = self._due_in_memory(free)
        if len(jobs) < free and not self.store.db.guard.down and self._claim_due():
            try:
                claimed = self.db(self.queue.claim, free - len(jobs), self.config.job_lease_seconds)
            except DatabaseError as exc:
                logger.warning("cannot claim jobs: %s", exc)
            else:
                jobs += claimed
                if len(jobs) < free:  # nothing else is due: new jobs may go straight to a free worker again
                    with self._lock:
                        self._backlog = False
        for job in jobs:
            self._start(job)
        return len(jobs)

    def _claim_due(self) -> bool:
        """Whether to ask the database for due jobs now: jobs wait for a worker here, this process recorded a job
        for a claim since the last one (a workflow step to complete, queued with a triage's end), or it is time to
        poll (jobs of other replicas, jobs due again). Not after every job a worker here finished: that was a
        write transaction per triage click that found nothing."""
        unclaimed, now = recorded_unclaimed(), time.monotonic()
        if not self._backlog and unclaimed == self._unclaimed_seen and now - self._last_claim < POLL_SECONDS:
            return False
        self._unclaimed_seen, self._last_claim = unclaimed, now
        return True

    def _start(self, job: Job, reserved: bool = False) -> None:
        with self._lock:
            self._running[job.id] = job
            if reserved:
                self._reserved -= 1
        try:
            self._pool.submit(self._run, job)
        except RuntimeError:  # the pool has shut down: the job's lease runs out and the next process takes it
            with self._lock:
                self._running.pop(job.id, None)

    def _due_in_memory(self, limit: int) -> list[Job]:
        now = time.time()
        with self._lock:
            due = [entry for entry in self._memory if entry[0] <= now][:limit]
            for entry in due:
                self._memory.remove(entry)
        return [job for _, job in due]

    def _extend_leases(self) -> None:
        with self._lock:
            durable = [job for job in self._running.values() if job.durable]
        try:
            self.db(self.queue.extend, durable, self.config.job_lease_seconds)
        except DatabaseError as exc:
            logger.warning("could not extend job leases: %s", exc)

    def _observe_queue(self) -> None:
        try:
            stats = self.db(self.queue.stats)
        except DatabaseError:
            return
        metrics.queue_state(int(stats["queued"]), stats["oldest_queued_seconds"])

    # -- running one job -----------------------------------------------------------------------------------

    def _run(self, job: Job) -> None:
        with logs.about(job=job.id, kind=job.kind, event=job.payload.get("event_id")):
            self._run_logged(job)

    def _run_logged(self, job: Job) -> None:
        metrics.job_started(job.kind)
        journal = Journal(job, self.queue.record, self.db, lambda: self.store.db.transaction(write=True))
        work = Work(
            job,
            journaled_client(self.client, journal, self.limits),
            JournaledStore(self.store, journal),
            self.config,
            journaled_respond(job.payload.get("response_url"), journal),
            journal,
            self.keys,
            self.recorder,
        )
        try:
            try:
                self.handlers[job.kind](work)
            except RetryLater as wait:
                self._again(job, wait.after, str(wait))
            except DatabaseError as exc:
                self._again(job, None, f"database: {exc}")
            except Exception as exc:
                logger.exception("job %s (%s) failed", job.id, job.kind)
                self._give_up(job, exc.__class__.__name__)
            else:
                self._finished(job, journal)
        except DatabaseError as exc:  # the lease runs out and another claim picks the job up again
            logger.warning("job %s: could not record its outcome (%s)", job.id, exc)
        finally:
            with self._lock:
                self._running.pop(job.id, None)
                waiting = self._backlog or bool(self._memory)
            if waiting or recorded_unclaimed() != self._unclaimed_seen:
                self._wake.set()  # a worker is free for what waits; otherwise the dispatcher has nothing to do

    def _finished(self, job: Job, journal: Journal) -> None:
        if job.durable:  # the journal first: if `done` fails, the job runs again and must not repeat its last post
            self.db(journal.with_unsaved(self.queue.done, job))
        metrics.job_done(job.kind)

    def _again(self, job: Job, after: float | None, reason: str) -> None:
        delay = backoff(job.attempts + (0 if job.durable else 1), self.config.job_retry_base_seconds)
        if after is not None:
            delay = after
        waited = time.time() - job.created_at
        if waited + delay > self.config.job_max_wait_seconds:
            self._give_up(job, f"gave up after {waited:.0f} s: {reason}")
            return
        logger.info("job %s (%s) runs again in %.1f s: %s", job.id, job.kind, delay, reason)
        if job.durable:
            self.db(self.queue.retry, job, delay, reason)
        else:
            job.attempts += 1
            with self._lock:
                self._memory.append((time.time() + delay, job))
        metrics.job_retried(job.kind)

    def _give_up(self, job: Job, reason: str) -> None:
        logger.error("job %s (%s) failed for good: %s", job.id, job.kind, reason)
        if job.durable:
            self.db(self.queue.fail, job, reason)
        metrics.job_failed(job.kind)
