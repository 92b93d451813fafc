"""The CLI path: `ftpcode 425` as a whole process against bare Python, the knowledge load, lookups per query.

Run: python bench/bench_cli.py [--rounds 5] [--runs 10] [--checkout PATH] [--python PATH]

1. `ftpcode 425` as a process (the console script beside this interpreter, stdout to /dev/null) against
   `python -c pass` on the same interpreter with the same environment. Each round runs both `--runs` times,
   alternating, and compares their medians; rounds alternate which command goes first. Target: `ftpcode 425`
   ≤ 2x `python -c pass`, on the median of the rounds AND in 4 rounds of 5. Every round is printed with the CPU
   model and the load average, since the machine may be shared. The code run is this checkout's (or
   `--checkout`'s, to compare with another tree), its bytecode compiled first as `pip install` leaves it, with
   the snapshot in a fresh cache directory: one cold run builds it (timed on its own), the rounds read it.
   `--python` times another interpreter and the `ftpcode` script beside it, e.g. a venv's, whose start-up has
   none of the site hooks (.pth files) of the interpreter the project is installed in here.
2. The knowledge load in this process: parsing and checking the TOML files (what a changed source costs)
   against reading the snapshot (what every start costs); best and median of --runs.
3. Finder.lookup over a query mix (codes, names, reply lines, free text, rubbish): mean and p99 per kind,
   after the text index is built (its one-off cost is shown on its own).
4. The modules `ftpcode 425` imports beyond bare Python: no slack_sdk, slack_bolt, bot, database or gunicorn.
"""

from __future__ import annotations

import argparse
import compileall
import math
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchlib import ROOT, cpu_model, latency_summary, load_average, print_table, verdict, write_results

from knowledge import base, snapshot
from knowledge import lookup as lookup_module

TARGET_RATIO = 2.0
FORBIDDEN_PREFIXES = ("slack_sdk", "slack_bolt", "bot", "sqlite3", "psycopg", "gunicorn", "dotenv")

QUERIES = {
    "code": ["425", "530", "550", "226", "421", "winsock 10061", "sftp 3", "10054", "curl 67", "4xx"],
    "name": ["ECONNREFUSED", "WSAETIMEDOUT", "SSH_FX_PERMISSION_DENIED", "CURLE_LOGIN_DENIED", "EPIPE"],
    "reply line": [
        "Response: 550 Permission denied",
        "425 Can't open data connection.",
        "530 Login incorrect.",
        "< 421 Too many connections (8) from this IP",
        "Error: Connection timed out after 20 seconds of inactivity",
        "curl: (67) Access denied: 530",
    ],
    "free text": [
        "passive mode",
        "connection refused when uploading",
        "login failed after password change",
        "directory listing hangs",
        "TLS session resumption required",
        "disk full on the server",
    ],
    "rubbish": ["", "asdfghjkl", "!!!???", "999", "the quick brown fox", "x" * 4000, "\x00\x01 425\u200b"],
}


def ftpcode_script(python: str) -> str:
    """The console script beside the interpreter (not a pyenv shim, which adds its own start-up)."""
    beside = Path(python).with_name("ftpcode")
    return str(beside) if beside.exists() else shutil.which("ftpcode") or "ftpcode"


def _timed(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall time and CPU time (user + system) of one run of `command`."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(command, stdout=subprocess.DEVNULL, check=True, cwd="/", env=env)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def time_processes(python: str, checkout: Path, rounds: int, runs: int, cache: str) -> dict:
    env = {**os.environ, "PYTHONPATH": str(checkout), "XDG_CACHE_HOME": cache}
    commands = {"ftpcode 425": [ftpcode_script(python), "425"], "python -c pass": [python, "-c", "pass"]}
    compileall.compile_dir(checkout / "knowledge", quiet=2)
    cold, _ = _timed(commands["ftpcode 425"], env)  # builds the snapshot in the fresh cache directory
    for command in commands.values():  # warm the page cache
        _timed(command, env)
    model = cpu_model()
    results = []
    for number in range(rounds):
        order = list(commands) if number % 2 == 0 else list(reversed(commands))
        times: dict[str, list[float]] = {name: [] for name in commands}
        cpu: dict[str, list[float]] = {name: [] for name in commands}
        load_before = load_average()
        for _ in range(runs):
            for name in order:
                wall, used = _timed(commands[name], env)
                times[name].append(wall)
                cpu[name].append(used)
        medians = {name: statistics.median(t) for name, t in times.items()}
        cpu_medians = {name: statistics.median(t) for name, t in cpu.items()}
        results.append(
            {
                "round": number + 1,
                "cpu": model,
                "load_average": [load_before, load_average()],
                "ftpcode_s": medians["ftpcode 425"],
                "python_s": medians["python -c pass"],
                "ratio": medians["ftpcode 425"] / medians["python -c pass"],
                "ftpcode_best_s": min(times["ftpcode 425"]),
                "python_best_s": min(times["python -c pass"]),
                "ftpcode_cpu_s": cpu_medians["ftpcode 425"],
                "python_cpu_s": cpu_medians["python -c pass"],
                "cpu_ratio": cpu_medians["ftpcode 425"] / cpu_medians["python -c pass"],
            }
        )
    ratios = [r["ratio"] for r in results]
    needed = math.ceil(0.8 * rounds)
    held = sum(ratio <= TARGET_RATIO for ratio in ratios)
    return {
        "python": python,
        "checkout": str(checkout),
        "commands": {name: " ".join(c) for name, c in commands.items()},
        "cold_run_s": cold,
        "rounds": results,
        "median_ratio": statistics.median(ratios),
        "rounds_within_target": held,
        "rounds_needed": needed,
        "met": statistics.median(ratios) <= TARGET_RATIO and held >= needed,
    }


def time_load(runs: int) -> dict[str, dict[str, float]]:
    directory = base.knowledge_dir()
    snapshot.build(directory)
    out = {}
    for name, load in (
        ("parse and check the TOML files (load_dir)", lambda: base.load_dir(base.DATA_DIR)),
        ("read the snapshot", lambda: snapshot.load(directory)),
    ):
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            load()
            times.append(time.perf_counter() - started)
        out[name] = {"best_ms": min(times) * 1000, "median_ms": statistics.median(times) * 1000}
    return out


def time_lookups(passes: int) -> tuple[float, dict[str, dict[str, float]]]:
    finder = lookup_module.Finder(base.load())
    started = time.perf_counter()
    finder.lookup("passive mode")  # the first free-text query builds the index
    index_seconds = time.perf_counter() - started
    per_kind: dict[str, list[float]] = {kind: [] for kind in QUERIES}
    for _ in range(passes):
        for kind, queries in QUERIES.items():
            for query in queries:
                started = time.perf_counter()
                finder.lookup(query)
                per_kind[kind].append(time.perf_counter() - started)
    summary = {kind: latency_summary(times) for kind, times in per_kind.items()}
    summary["all"] = latency_summary([t for times in per_kind.values() for t in times])
    return index_seconds, summary


def _imported(command: list[str], env: dict[str, str]) -> set[str]:
    result = subprocess.run(command, capture_output=True, text=True, env=env, cwd="/")
    lines = [line.split("|") for line in result.stderr.splitlines() if line.startswith("import time:")]
    return {fields[-1].strip() for fields in lines if fields[0].split(":")[1].strip().isdigit()}


def cli_imports(python: str, checkout: Path, cache: str) -> list[str]:
    """Modules the console script running `ftpcode 425` imports that bare Python (with its site hooks) has not:
    pip before 25.2 writes `import re` into the script, which counts here as it counts in the timings."""
    env = {**os.environ, "PYTHONPATH": str(checkout), "XDG_CACHE_HOME": cache}
    bare = _imported([python, "-X", "importtime", "-c", "pass"], env)
    ftpcode = _imported([python, "-X", "importtime", ftpcode_script(python), "425"], env)
    return sorted(ftpcode - bare)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--runs", type=int, default=10, help="runs of each command per round")
    parser.add_argument("--passes", type=int, default=100, help="passes over the query mix")
    parser.add_argument("--checkout", type=Path, default=ROOT, help="the tree whose `ftpcode` to run")
    parser.add_argument("--python", default=sys.executable, help="the interpreter to time (default: this one)")
    settings = parser.parse_args()
    checkout = settings.checkout.resolve()

    with tempfile.TemporaryDirectory(prefix="bench-cli-") as cache:
        os.environ["XDG_CACHE_HOME"] = cache  # this process's snapshot too: never the user's
        os.environ.pop("FTPCODE_KNOWLEDGE_DIR", None)
        processes = time_processes(settings.python, checkout, settings.rounds, settings.runs, cache)
        modules = cli_imports(settings.python, checkout, cache)
        load = time_load(settings.runs)
        index_seconds, lookups = time_lookups(settings.passes)
    forbidden = [m for m in modules if m.startswith(FORBIDDEN_PREFIXES)]

    print(f"`ftpcode 425` against `python -c pass`: medians of {settings.runs} runs each, per round (wall time;")
    print("CPU time, user + system, beside it: steadier than wall time on a shared machine)")
    print(f"interpreter {settings.python}, code from {checkout}")
    print_table(
        ["round", "CPU", "load avg", "ftpcode 425 (ms)", "python -c pass (ms)", "ratio", "CPU time (ms)", "ratio"],
        [
            [
                r["round"],
                r["cpu"],
                "{:.2f} → {:.2f}".format(*r["load_average"]),
                r["ftpcode_s"] * 1000,
                r["python_s"] * 1000,
                r["ratio"],
                f"{r['ftpcode_cpu_s'] * 1000:.1f} / {r['python_cpu_s'] * 1000:.1f}",
                r["cpu_ratio"],
            ]
            for r in processes["rounds"]
        ],
    )
    print(
        f"median ratio {processes['median_ratio']:.2f}, {processes['rounds_within_target']} of "
        f"{len(processes['rounds'])} rounds ≤ {TARGET_RATIO}x (target: median and {processes['rounds_needed']} "
        f"rounds): {verdict(processes['met'])}"
    )
    print(f"cold run (builds the snapshot): {processes['cold_run_s']:.3f} s\n")
    print_table(
        ["knowledge load, in process", "best (ms)", "median (ms)"],
        [[name, t["best_ms"], t["median_ms"]] for name, t in load.items()],
    )
    print(f"\ntext index build (first free-text query): {index_seconds * 1000:.1f} ms")
    print_table(
        ["lookup, by kind", "queries", "mean (ms)", "p99 (ms)", "max (ms)"],
        [[k, len(QUERIES.get(k, [])) or "all", s["mean_ms"], s["p99_ms"], s["max_ms"]] for k, s in lookups.items()],
    )
    print(f"\nmodules `ftpcode 425` imports beyond bare Python ({len(modules)}): {', '.join(modules)}")
    print(f"slack/bot/database/gunicorn modules on the CLI path: {', '.join(forbidden) or 'none'}")
    path = write_results(
        "bench_cli",
        {
            "processes": processes,
            "knowledge_load": load,
            "index_build_ms": index_seconds * 1000,
            "lookup": lookups,
            "cli_modules_beyond_bare_python": modules,
            "forbidden_modules_imported": forbidden,
            "target_ratio": TARGET_RATIO,
            "met": processes["met"] and not forbidden,
        },
    )
    print(f"results in {path}")
    return 0 if processes["met"] and not forbidden else 1


if __name__ == "__main__":
    raise SystemExit(main())
