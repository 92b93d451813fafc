"""The figures of `/ftpcode stats` over 100,000 feedback rows, against a plain SELECT count(*) of the same table.

Run: python bench/bench_stats.py [--rows 100000] [--repeat 15] [--postgres URL]

Generates the rows once (answers, gaps, votes with comments, triage outcomes and steps, spread over 120 days,
in the proportions a busy workspace might have), then times, interleaved in the same run, `bot.insights.compute`
for 7, 30 and 90 days and `SELECT count(*) FROM feedback`. SQLite always; PostgreSQL when a server URL is given
(or FTPCODE_TEST_POSTGRES_URL is set): a new database is created on it and dropped after.
Target: every period's median under 200 ms.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchlib import print_table, verdict, write_results

from bot.feedback_store import COLUMNS
from bot.insights import compute
from bot.store import Store

TARGET_MS = 200.0
SUBJECTS = [f"ftp-{c}" for c in (421, 425, 426, 530, 550, 553, 534, 227)] + ["winsock-10061", "sftp-3"]
STEPS = [f"step-{n}" for n in range(40)]


def generated_rows(count: int, now: float) -> list[dict[str, Any]]:
    rng = random.Random(13)
    rows = []
    for n in range(count):
        kind = rng.random()
        row = dict.fromkeys(COLUMNS)
        row.update(
            id=str(uuid.UUID(int=rng.getrandbits(128))),
            at=now - rng.uniform(0, 120 * 86400),
            team_id="T0BENCH",
            channel_type=rng.choice(("command", "dm", "channel", "shortcut")),
            user_hash=f"{rng.getrandbits(40):032x}",
            answer_id=f"bench{n:010d}",
            subject=rng.choice(SUBJECTS),
            subject_kind="entry",
        )
        if kind < 0.6:
            row.update(event="asked", query=f"{row['subject'][4:]} when uploading")
        elif kind < 0.7:
            row.update(event="nothing", query=f"what is fnord {rng.randrange(300)}", subject=None, subject_kind=None)
        elif kind < 0.85:
            vote = rng.choice(("up", "down"))
            row.update(event="vote", vote=vote, comment="it never said which port" if vote == "down" else None)
        elif kind < 0.95:
            outcome = rng.choice(("started", "started", "resolved", "handed_off", "abandoned", "expired"))
            row.update(event="triage", outcome=outcome, triage_id=str(uuid.uuid4()), seconds=rng.uniform(60, 7200))
        else:
            row.update(event="step", subject=rng.choice(STEPS), outcome="fixed", triage_id=str(uuid.uuid4()))
        rows.append(row)
    return rows


def fill(store: Store, rows: list[dict[str, Any]]) -> None:
    insert = f"INSERT INTO feedback ({', '.join(COLUMNS)}) VALUES ({', '.join(':' + c for c in COLUMNS)})"
    for start in range(0, len(rows), 5000):
        with store.db.transaction(write=True) as execute:
            for row in rows[start : start + 5000]:
                execute(insert, row)
    if store.db.dialect == "postgresql":
        with store.db.transaction(write=True) as execute:
            execute("ANALYZE feedback", {})


def timed(call: Callable[[], Any]) -> float:
    started = time.perf_counter()
    call()
    return (time.perf_counter() - started) * 1000


def count_all(store: Store) -> int:
    with store.db.transaction(write=False) as execute:
        return execute("SELECT count(*) FROM feedback", {}).fetchone()[0]


def measure(name: str, store: Store, repeat: int) -> list[list[Any]]:
    cases: dict[str, Callable[[], Any]] = {"SELECT count(*)": lambda: count_all(store)}
    cases |= {f"stats {days}d": (lambda d=days: compute(store.db, d)) for days in (7, 30, 90)}
    times: dict[str, list[float]] = {case: [] for case in cases}
    for case in cases.values():  # warm the caches once
        case()
    for _ in range(repeat):
        for label, case in cases.items():
            times[label].append(timed(case))
    baseline = statistics.median(times["SELECT count(*)"])
    rows = []
    for label, samples in times.items():
        median = statistics.median(samples)
        target = "" if label.startswith("SELECT") else verdict(median < TARGET_MS)
        rows.append([f"{name}: {label}", median, max(samples), median / baseline, target])
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--postgres", default=os.environ.get("FTPCODE_TEST_POSTGRES_URL", ""))
    settings = parser.parse_args()
    now = time.time()
    rows = generated_rows(settings.rows, now)
    results: list[list[Any]] = []
    with tempfile.TemporaryDirectory() as workdir:
        store = Store(f"sqlite:///{Path(workdir) / 'bench.sqlite3'}")
        fill(store, rows)
        assert count_all(store) == settings.rows
        results += measure("SQLite", store, settings.repeat)
        store.close()
    if settings.postgres:
        from urllib.parse import urlsplit

        import psycopg

        name = "ftpcode_bench_" + uuid.uuid4().hex[:10]
        with psycopg.connect(settings.postgres, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        try:
            store = Store(urlsplit(settings.postgres)._replace(path=f"/{name}").geturl())
            fill(store, rows)
            results += measure("PostgreSQL", store, settings.repeat)
            store.close()
        finally:
            with psycopg.connect(settings.postgres, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    print(f"{settings.rows:,} feedback rows, median and worst of {settings.repeat} interleaved runs (ms)")
    print_table(["case", "median ms", "max ms", "x count(*)", f"< {TARGET_MS:.0f} ms"], results)
    write_results("bench_stats", {"rows": settings.rows, "repeat": settings.repeat, "results": results})
    return 0 if all(r[4] != "MISSED" for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
