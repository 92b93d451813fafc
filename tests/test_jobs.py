"""bot/jobs.py and bot/journal.py on SQLite and PostgreSQL: claims, leases, retries, and journal replay."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from bot.database import DatabaseUnavailable
from bot.jobs import MESSAGE_KEY_PREFIX, MESSAGE_KEY_TTL_SECONDS, SEEN_EVENT_TTL_SECONDS, Job, JobQueue
from bot.journal import Journal, RetryLater, retry_after
from bot.store import Store, TriageSession
from tests.test_store import store  # noqa: F401 - the store fixture, on both databases


def test_a_job_is_claimed_once_and_done(store: Store) -> None:  # noqa: F811
    queue = JobQueue(store.db)
    job = queue.add("mention", {"text": "425"}, key="event:EvJob1")
    assert job is not None
    assert queue.add("mention", {"text": "425"}, key="event:EvJob1") is None  # a redelivery
    claimed = queue.claim(10, lease_seconds=30)
    assert [(j.id, j.kind, j.payload, j.attempts) for j in claimed] == [(job.id, "mention", {"text": "425"}, 1)]
    assert queue.claim(10, lease_seconds=30) == []  # leased
    queue.done(claimed[0])
    assert queue.stats()["queued"] == 0


def test_a_message_key_outlives_event_keys(store: Store) -> None:  # noqa: F811
    """An emoji on a message weeks later is still a second reaction; an event id is forgotten after an hour."""
    queue = JobQueue(store.db)
    message_key = f"{MESSAGE_KEY_PREFIX}T1:C1:1700000000.000100"
    assert queue.add("explain_reaction", {}, key=message_key) and queue.add("mention", {}, key="event:EvOld")
    queue.purge(time.time() + SEEN_EVENT_TTL_SECONDS + 60)
    assert queue.add("mention", {}, key="event:EvOld") is not None
    assert queue.add("explain_reaction", {}, key=message_key) is None
    queue.purge(time.time() + MESSAGE_KEY_TTL_SECONDS + 60)
    assert queue.add("explain_reaction", {}, key=message_key) is not None


def test_two_replicas_never_claim_the_same_job(store: Store) -> None:  # noqa: F811
    first, second = JobQueue(store.db, owner="one"), JobQueue(store.db, owner="two")
    added = {first.add("mention", {"n": n}).id for n in range(40)}  # type: ignore[union-attr]
    got: list[str] = []
    lock = threading.Lock()

    def drain(queue: JobQueue) -> None:
        while jobs := queue.claim(3, lease_seconds=30):
            with lock:
                got.extend(job.id for job in jobs)

    threads = [threading.Thread(target=drain, args=(q,)) for q in (first, second, first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(got) == sorted(added)


def test_a_lease_that_runs_out_lets_another_replica_claim_the_job(store: Store) -> None:  # noqa: F811
    dead, alive = JobQueue(store.db, owner="dead"), JobQueue(store.db, owner="alive")
    job = dead.add("mention", {})
    assert [j.id for j in dead.claim(1, lease_seconds=0.3)] == [job.id]  # type: ignore[union-attr]
    assert alive.claim(1, lease_seconds=30) == []
    time.sleep(0.4)
    again = alive.claim(1, lease_seconds=30)
    assert [(j.id, j.attempts) for j in again] == [(job.id, 2)]  # type: ignore[union-attr]


def test_a_released_job_is_claimed_again_at_once_with_its_journal(store: Store) -> None:  # noqa: F811
    stopping, next_one = JobQueue(store.db, owner="stopping"), JobQueue(store.db, owner="next")
    stopping.add("mention", {})
    job = stopping.claim(1, lease_seconds=600)[0]
    job.journal["0:chat.postMessage"] = {"ok": True, "ts": "1.2"}
    stopping.release([job])
    again = next_one.claim(1, lease_seconds=30)
    assert again and again[0].journal == {"0:chat.postMessage": {"ok": True, "ts": "1.2"}}


def test_a_retried_job_waits_and_a_failed_one_keeps_nothing_users_wrote(store: Store) -> None:  # noqa: F811
    queue = JobQueue(store.db)
    queue.add("mention", {"text": "PASS hunter2"})
    job = queue.claim(1, lease_seconds=30)[0]
    queue.retry(job, 0.3, "chat.postMessage: 429")
    assert queue.claim(1, lease_seconds=30) == []
    time.sleep(0.4)
    job = queue.claim(1, lease_seconds=30)[0]
    queue.fail(job, "gave up")
    assert queue.claim(1, lease_seconds=30) == []
    assert queue.stats()["failed"] == 1
    with store.db.transaction(write=False) as execute:
        assert execute("SELECT payload, journal FROM jobs", {}).fetchall() == [("{}", "{}")]


def test_an_extended_lease_keeps_a_long_job_from_other_replicas(store: Store) -> None:  # noqa: F811
    owner, other = JobQueue(store.db, owner="owner"), JobQueue(store.db, owner="other")
    owner.add("scan_command", {})
    job = owner.claim(1, lease_seconds=0.3)[0]
    owner.extend([job], lease_seconds=30)
    time.sleep(0.4)
    assert other.claim(1, lease_seconds=30) == []


def test_a_triage_answer_is_saved_with_the_journal_that_records_it_or_not_at_all(store: Store) -> None:  # noqa: F811
    from bot.journal import JournaledStore

    class Killed(BaseException):  # the process dies between the store's write and the journal's
        pass

    def killed(job: Job) -> None:
        raise Killed

    def click(job: Job, save: Any) -> TriageSession:
        steps = JournaledStore(store, Journal(job, save, transaction=lambda: store.db.transaction(write=True)))
        return steps.save_triage(steps.triage_by_id(session.id), answered, user_id="U1")

    session = store.create_triage("C1", "1700000000.000100", "U1", {"entry_id": "ftp-425", "status": "asking"})
    answered = {**session.state, "answers": [["protocol", "ftp"]]}
    first, second = JobQueue(store.db, owner="first"), JobQueue(store.db, owner="second")
    first.add("triage_click", {})
    job = first.claim(1, lease_seconds=0.3)[0]
    with pytest.raises(Killed):
        click(job, killed)
    # Saved apart, the answer stayed and the rerun found the question already answered: no next question.
    assert store.triage_by_id(session.id) == session

    time.sleep(0.4)
    rerun = second.claim(1, lease_seconds=30)[0]
    assert rerun.journal == {}
    saved = click(rerun, second.record)
    assert (saved.version, saved.state) == (2, answered)
    with store.db.transaction(write=False) as execute:
        journal = execute("SELECT journal FROM jobs WHERE id = :id", {"id": job.id}).fetchone()[0]
    assert set(json.loads(journal)) == {"0:triage_by_id", "1:save_triage"}


def test_a_journal_that_cannot_be_written_undoes_its_step_and_the_job_runs_again(store: Store) -> None:  # noqa: F811
    from bot.journal import JournaledStore

    def unwritable(job: Job) -> None:
        raise DatabaseUnavailable("disk full")

    session = store.create_triage("C1", "1700000000.000200", "U1", {"entry_id": "ftp-425", "status": "asking"})
    job = Job("j1", "triage_click", {})
    steps = JournaledStore(store, Journal(job, unwritable, transaction=lambda: store.db.transaction(write=True)))
    with pytest.raises(DatabaseUnavailable):
        steps.save_triage(session, {**session.state, "status": "stopped"})
    assert store.triage_by_id(session.id) == session
    assert job.journal == {}


def test_journal_steps_replay_what_was_done_and_run_the_rest() -> None:
    saved: list[dict] = []
    job = Job("j1", "mention", {})
    calls: list[str] = []

    def call(name: str) -> str:
        calls.append(name)
        return f"{name}-done"

    first = Journal(job, lambda j: saved.append(dict(j.journal)))
    assert first.step("post", lambda: call("post")) == "post-done"
    with pytest.raises(RetryLater):
        first.step("update", lambda: (_ for _ in ()).throw(RetryLater("429", 2)))
    assert saved == [{"0:post": "post-done"}]

    second = Journal(job, lambda j: saved.append(dict(j.journal)))
    assert second.step("post", lambda: call("post")) == "post-done"  # from the journal: not called again
    assert second.step("update", lambda: call("update")) == "update-done"
    assert calls == ["post", "update"]


def test_a_repeatable_step_is_saved_with_the_next_step_that_is_not() -> None:
    saved: list[dict] = []
    job = Job("j1", "triage_click", {})
    journal = Journal(job, lambda j: saved.append(dict(j.journal)))
    journal.step("triage_by_id", lambda: {"version": 1}, repeatable=True)
    assert saved == []  # a run that stopped here did nothing that could not be done again: it reads afresh
    journal.step("save_triage", lambda: {"version": 2})
    assert saved == [{"0:triage_by_id": {"version": 1}, "1:save_triage": {"version": 2}}]


def test_reads_note_question_and_chat_update_are_repeatable_posts_and_saves_are_not() -> None:
    from bot.journal import JournaledClient, JournaledStore

    assert {"triage_by_id", "triage_in_thread", "note_question"} <= JournaledStore.REPEATABLE
    assert not {"save_triage", "create_triage", "expire_triage"} & JournaledStore.REPEATABLE
    assert "chat.update" in JournaledClient.REPEATABLE
    assert not {"chat.postMessage", "chat.postEphemeral", "chat.delete"} & JournaledClient.REPEATABLE


def test_a_triage_session_read_through_the_journal_replays_as_it_was_read() -> None:
    import json
    from dataclasses import asdict

    from bot.journal import JournaledStore
    from bot.store import TriageSession

    state = {"entry_id": "ftp-425", "answers": {"protocol": "ftp"}, "asked": ["protocol"], "prefilled": {}}
    session = TriageSession("s1", "C1", "1.1", "U1", state, 3, 1718000000.5, "mode", "1.2", "T1")
    stored = type("Stored", (), {"triage_by_id": lambda self, session_id: session})()
    job = Job("j1", "triage_click", {})
    run = lambda method, *args: method(*args)  # noqa: E731
    assert JournaledStore(stored, Journal(job, lambda j: None, run)).triage_by_id("s1") == session  # type: ignore[arg-type]
    job.journal = json.loads(json.dumps(job.journal))  # as a later run reads it back from the database
    assert job.journal == {"0:triage_by_id": {"triage_session": asdict(session)}}
    replayed = JournaledStore(stored, Journal(job, lambda j: None, run)).triage_by_id("s1")  # type: ignore[arg-type]
    assert replayed == session and replayed is not session


def handing_off(events: list[str]) -> Any:
    """A stand-in for the hand-off to the database's thread (BoundedCalls) that notes each hand-off in `events`."""

    def run(call: Any, *args: Any) -> Any:
        events.append("hand-off")
        return call(*args)

    return run


def test_a_triage_click_writes_its_journal_with_its_database_steps_and_before_each_next_step() -> None:
    from bot.journal import JournaledStore

    events: list[str] = []
    job = Job("j1", "triage_click", {})
    run = handing_off(events)

    journal = Journal(job, lambda j: events.append("saved " + ",".join(j.journal)), run)

    class Stored:
        def note_question(self) -> None:
            events.append("note")

        def save_triage(self) -> None:
            events.append("save")

    journaled = JournaledStore(Stored(), journal)  # type: ignore[arg-type]
    journaled.save_triage()
    journal.step("chat.postMessage", lambda: events.append("post"), save_later=True)
    journaled.note_question()
    journal.step("chat.postMessage", lambda: events.append("post"), save_later=True)
    journal.step("chat.update", lambda: events.append("update"), repeatable=True)
    run(journal.with_unsaved(events.append, "done"))
    assert events == [
        *("hand-off", "save", "saved 0:save_triage"),
        "post",
        *("hand-off", "saved 0:save_triage,1:chat.postMessage", "note"),
        "post",
        *("hand-off", "saved 0:save_triage,1:chat.postMessage,2:note_question,3:chat.postMessage"),  # before Slack
        "update",
        *("hand-off", "done"),
    ]


def test_store_steps_taken_together_cost_one_hand_off_and_are_journaled_and_replayed_as_alone() -> None:
    from bot.journal import JournaledStore

    events: list[str] = []
    job = Job("j1", "triage_click", {})
    run = handing_off(events)

    class Stored:
        def triage_by_id(self) -> str:
            events.append("read")
            return "read"

        def save_triage(self, read: str) -> str:
            events.append("save")
            return f"saved {read}"

    def read_and_save(steps: JournaledStore) -> str:
        return steps.save_triage(steps.triage_by_id())

    saving = lambda j: events.append("saved " + ",".join(j.journal))  # noqa: E731
    journaled = JournaledStore(Stored(), Journal(job, saving, run))  # type: ignore[arg-type]
    assert journaled.together(read_and_save, journaled) == "saved read"
    assert events == ["hand-off", "read", "save", "saved 0:triage_by_id,1:save_triage"]
    assert job.journal == {"0:triage_by_id": "read", "1:save_triage": "saved read"}  # as the steps taken alone
    events.clear()
    replayed = JournaledStore(Stored(), Journal(job, saving, run))  # type: ignore[arg-type]
    assert replayed.together(read_and_save, replayed) == "saved read"
    assert events == ["hand-off"]  # nothing read or saved again


def test_the_journal_keeps_a_posted_message_without_its_echo() -> None:
    from slack_sdk.web import SlackResponse

    from bot.journal import journaled_client
    from bot.web_transport import KeepAliveWebClient

    saved: list[dict] = []
    job = Job("j1", "triage_click", {})
    client = journaled_client(KeepAliveWebClient(token="xoxb-1-2-abc"), Journal(job, saved.append), None)  # type: ignore[arg-type]
    answer = {"ok": True, "channel": "C1", "ts": "1.2", "message": {"text": "q", "blocks": [{"type": "divider"}]}}
    client._call_now = lambda method, **kwargs: SlackResponse(  # type: ignore[method-assign]
        client=client, http_verb="POST", api_url=method, req_args={}, data=answer, headers={}, status_code=200
    )
    assert client.chat_postMessage(channel="C1", text="q")["ts"] == "1.2"
    assert job.journal == {"0:chat.postMessage": {"ok": True, "channel": "C1", "ts": "1.2"}}


def test_a_job_recorded_claimed_is_left_to_its_owner_until_the_lease_runs_out(store: Store) -> None:  # noqa: F811
    here, elsewhere = JobQueue(store.db, owner="here"), JobQueue(store.db, owner="elsewhere")
    job = here.add("mention", {"n": 1}, lease_seconds=0.3)
    assert job is not None and job.attempts == 1
    assert elsewhere.claim(5, lease_seconds=30) == []
    time.sleep(0.4)  # the owner died: its lease runs out
    [claimed] = elsewhere.claim(5, lease_seconds=30)
    assert claimed.id == job.id and claimed.attempts == 2


def test_a_free_worker_runs_a_job_straight_from_the_listener(store: Store) -> None:  # noqa: F811
    from bot.config import from_env
    from bot.web_transport import KeepAliveWebClient
    from bot.worker import Worker

    config = from_env({"SLACK_BOT_TOKEN": "xoxb-1-2-abc", "SLACK_SIGNING_SECRET": "e4b1c0de5ec7e7f00d5ca1ab1e5eed01"})
    ran = threading.Event()
    worker = Worker(store, KeepAliveWebClient(token="xoxb-1-2-abc"), config, {"mention": lambda work: ran.set()})
    try:
        assert worker.submit("mention", {})  # the dispatcher is not started: no claim can take the job
        assert ran.wait(10)
    finally:
        worker.stop(grace=5)
    with store.db.transaction(write=False) as execute:
        assert execute("SELECT COUNT(*) FROM jobs", {}).fetchone()[0] == 0  # done, and gone


def _worker_counting_claims(
    store: Store,  # noqa: F811
    handlers: dict,
    monkeypatch: pytest.MonkeyPatch,
    threads: int = 8,
) -> tuple:
    """A started Worker that polls only once an hour, and the list of its claims' results."""
    from bot import worker as worker_module
    from bot.config import from_env
    from bot.web_transport import KeepAliveWebClient

    monkeypatch.setattr(worker_module, "POLL_SECONDS", 3600.0)
    secret = "e4b1c0de5ec7e7f00d5ca1ab1e5eed01"
    config = from_env({"SLACK_BOT_TOKEN": "xoxb-1-2-abc", "SLACK_SIGNING_SECRET": secret, "WORK_THREADS": str(threads)})
    worker = worker_module.Worker(store, KeepAliveWebClient(token="xoxb-1-2-abc"), config, handlers)
    claims: list[list[Job]] = []
    claim = worker.queue.claim
    worker.queue.claim = lambda *args: claims.append(claim(*args)) or claims[-1]  # type: ignore[method-assign]
    return worker.start(), claims


def test_jobs_run_straight_from_listeners_need_no_claim_after_them(
    store: Store,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    done = threading.Semaphore(0)
    worker, claims = _worker_counting_claims(store, {"mention": lambda work: done.release()}, monkeypatch)
    try:
        for _ in range(5):
            assert worker.submit("mention", {})
            assert done.acquire(timeout=10)
        while worker.busy:
            time.sleep(0.01)
    finally:
        worker.stop(grace=5)
    assert len(claims) == 1  # the first, at start-up: nothing was queued for a claim since


def test_a_job_queued_for_want_of_a_free_worker_runs_as_soon_as_one_is_free(
    store: Store,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    release, second_ran = threading.Event(), threading.Event()
    handlers = {"first": lambda work: release.wait(10), "second": lambda work: second_ran.set()}
    worker, claims = _worker_counting_claims(store, handlers, monkeypatch, threads=1)
    try:
        assert worker.submit("first", {})
        assert worker.submit("second", {})  # the one worker is busy: queued for a claim
        release.set()
        assert second_ran.wait(10)
    finally:
        worker.stop(grace=5)
    assert [job.kind for batch in claims for job in batch] == ["second"]


def test_a_job_queued_for_a_claim_by_another_job_runs_without_waiting_for_the_poll(
    store: Store,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from bot.jobs import insert_job

    followed = threading.Event()

    def first(work: Any) -> None:  # as a triage's end queues its workflow step's completion
        with store.db.transaction(write=True) as execute:
            insert_job(execute, Job("after-first", "second", {}))

    handlers = {"first": first, "second": lambda work: followed.set()}
    worker, claims = _worker_counting_claims(store, handlers, monkeypatch)
    try:
        assert worker.submit("first", {})
        assert followed.wait(10)
    finally:
        worker.stop(grace=5)
    assert [job.id for batch in claims for job in batch] == ["after-first"]


@pytest.mark.parametrize(
    ("headers", "seconds"), [({"Retry-After": "7"}, 7.0), ({"retry-after": ["2"]}, 2.0), ({}, 1.0)]
)
def test_retry_after_is_read_in_any_case_and_shape(headers: dict, seconds: float) -> None:
    assert retry_after(headers) == seconds


def test_a_full_disk_makes_the_database_unavailable_then_refused_at_once(tmp_path: Path) -> None:
    full = Store(f"sqlite:///{tmp_path / 'full.sqlite3'}", timeout=0.5)
    try:
        with pytest.raises(DatabaseUnavailable), full.db.transaction(write=True):
            raise sqlite3.OperationalError("database or disk is full")
        assert full.db.guard.down
        with pytest.raises(DatabaseUnavailable, match="a moment ago"):  # refused without asking SQLite again
            JobQueue(full.db).add("mention", {})
    finally:
        full.close()


def test_a_job_due_long_ago_and_taken_by_nobody_makes_the_queue_stuck(store: Store) -> None:  # noqa: F811
    from bot.config import from_env
    from bot.web_transport import KeepAliveWebClient
    from bot.worker import STUCK_AFTER_SECONDS, Worker

    config = from_env({"SLACK_BOT_TOKEN": "xoxb-1-2-abc", "SLACK_SIGNING_SECRET": "e4b1c0de5ec7e7f00d5ca1ab1e5eed01"})
    worker = Worker(store, KeepAliveWebClient(token="xoxb-1-2-abc"), config, {"mention": lambda work: None})
    queue = JobQueue(store.db)
    waiting = queue.add("mention", {})
    assert worker.stuck() is None
    with store.db.transaction(write=True) as execute:  # due since long ago, as if no worker anywhere ran
        execute("UPDATE jobs SET run_after = :at", {"at": time.time() - STUCK_AFTER_SECONDS - 5})
    assert "no worker took it" in (worker.stuck() or "")
    queue.claim(1, lease_seconds=30)  # a worker took it: running is not stuck
    assert worker.stuck() is None and waiting is not None
