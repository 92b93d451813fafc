"""CPU of a triage click in the bot's own process (Bolt's dispatch, the job, the database threads): this checkout
against another revision.

Run: python bench/bench_triage_cpu.py [--against main] [--clicks 800] [--concurrency 5] [--rounds 3]

What bench_triage.py measures through gunicorn, without the HTTP front, and steadier on a shared machine: each side
builds the app in a child process (`bot.app.build_app`, SQLite, the Slack stand-in in a process of its own) and
clicks through 425 triages from `--concurrency` threads, dispatching signed block_actions straight into Bolt. The
figure is the process's CPU time (every thread) per click, less what the clicking threads spent outside Bolt's
dispatch (building and signing the clicks, asking the stand-in for the next question); it is also given per thread
kind, and divided by those threads' own CPU per click ("/ driver"): the same work on both sides, so the quotient
cancels most of what other sessions do to this machine's speed. Sides alternate, `--rounds` times.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import load_average, print_table, write_results

ROOT = Path(__file__).resolve().parent.parent
CHILD = """
import json, os, re, sys, tempfile, threading, time
tree = sys.argv[1]
sys.path[:0] = [tree, os.path.join(tree, "bench")]
import bench_triage
from benchlib import action_request, standin_process
clicks, concurrency = int(sys.argv[2]), int(sys.argv[3])
local = threading.local()
outside = []

def run_threads(target, count):
    def measured():
        local.inside, started = 0.0, time.thread_time()
        target()
        outside.append(time.thread_time() - started - local.inside)
    threads = [threading.Thread(target=measured) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

def per_kind():
    names = {t.native_id: re.sub(r"[-_]\\d+(_\\d+)?$", "", t.name) for t in threading.enumerate()}
    seconds = {}
    for tid in os.listdir("/proc/self/task"):
        try:
            fields = open(f"/proc/self/task/{tid}/stat").read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        kind = names.get(int(tid), "gone")
        seconds[kind] = seconds.get(kind, 0.0) + (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return seconds

bench_triage.run_threads = run_threads
with standin_process() as standin:
    info = standin.info()
    env = dict(info["http_env"], DATABASE_URL=f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite3")
    from bot.app import build_app
    from bot.config import from_env
    from bot.store import Store
    from slack_bolt.request import BoltRequest
    config = from_env(env)
    app = build_app(config, Store(config.database_url))
    secret = info["signing_secret"]

    class Driver(bench_triage.TriageDriver):
        def click(self, payload, thread_ts):
            body, headers = action_request(secret, payload)
            started, cpu = time.monotonic(), time.thread_time()
            request = BoltRequest(body=body.decode(), headers={k.lower(): [v] for k, v in headers.items()})
            response = app.dispatch(request)
            local.inside += time.thread_time() - cpu
            assert response.status == 200, response.status
            posted = standin.next_post(thread_ts, 30)
            if posted is None:
                self.fail("no post")
                return None
            with self.lock:
                self.clicks += 1
            return posted["t"] - started, posted

    Driver(standin, 0, secret, False).run(60, concurrency)  # warm-up
    driver = Driver(standin, 0, secret, False)
    outside.clear()
    before, cpu = per_kind(), time.process_time()
    driver.run(clicks, concurrency)
    cpu, after = time.process_time() - cpu, per_kind()
    app.worker.stop(0.5)
    assert not driver.errors, driver.errors[:3]
    n = driver.clicks
    kinds = {k: (after[k] - before.get(k, 0.0)) / n * 1000 for k in after if k.startswith(("work", "database"))}
    print(json.dumps({"clicks": n, "bot_ms": (cpu - sum(outside)) / n * 1000, "driver_ms": sum(outside) / n * 1000,
                      "threads_ms": kinds}))
"""


def one_run(tree: Path, clicks: int, concurrency: int) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(tree), str(clicks), str(concurrency)],
        capture_output=True,
        text=True,
        check=True,
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["per_driver"] = result["bot_ms"] / result["driver_ms"]
    result["load"] = load_average()
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", default="main", help="the git revision to compare with (default main)")
    parser.add_argument("--clicks", type=int, default=800)
    parser.add_argument("--concurrency", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    runs: dict[str, list[dict]] = {args.against: [], "here": []}
    with tempfile.TemporaryDirectory() as before:
        archive = subprocess.run(["git", "archive", args.against], cwd=ROOT, capture_output=True, check=True)
        subprocess.run(["tar", "-x", "-C", before], input=archive.stdout, check=True)
        for _ in range(args.rounds):
            for side, tree in ((args.against, Path(before)), ("here", ROOT)):
                runs[side].append(one_run(tree, args.clicks, args.concurrency))
    rows = []
    for side, results in runs.items():
        for n, r in enumerate(results, start=1):
            threads = " ".join(f"{k} {v:.2f}" for k, v in sorted(r["threads_ms"].items()))
            rows.append([side, n, f"{r['load']:.1f}", r["bot_ms"], r["driver_ms"], r["per_driver"], threads])
    print(f"CPU per triage click (ms), {args.clicks} clicks at concurrency {args.concurrency} a run, sides alternating")
    print_table(["side", "run", "load", "bot", "driver", "bot / driver", "threads (ms a click)"], rows)
    medians = {side: statistics.median(r["per_driver"] for r in results) for side, results in runs.items()}
    print(f"\nmedian bot / driver: {args.against} {medians[args.against]:.2f}, here {medians['here']:.2f}")
    write_results("triage_cpu", {"settings": vars(args), "runs": runs, "median_per_driver": medians})
    return 0


if __name__ == "__main__":
    sys.exit(main())
