"""The CLI path: knowledge load, lookup per query, and the whole `ftpcode 425` process against bare Python.

Run: python bench/bench_cli.py [--runs 20]

1. knowledge.base.load_dir(DATA_DIR), fresh each time: best and median of N.
2. Finder.lookup over a query mix (codes, names, reply lines, free text, rubbish): mean and p99 per kind,
   after the text index is built (its one-off cost is shown on its own).
3. `ftpcode 425` as a process (the installed console script, stdout to /dev/null), best and median of N,
   beside `python -c pass` and `python -c "import tomllib"` on the same interpreter, in the same run,
   interleaved. Target: `ftpcode 425` under 0.25 s.
4. The modules `ftpcode 425` imports: no slack_sdk, slack_bolt, bot, psycopg or gunicorn among them.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from benchlib import ROOT, latency_summary, print_table, verdict, write_results

from knowledge import lookup as lookup_module
from knowledge.base import DATA_DIR, load_dir

TARGET_SECONDS = 0.25
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


def time_load(runs: int) -> dict[str, float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        load_dir(DATA_DIR)
        times.append(time.perf_counter() - started)
    return {"best_ms": min(times) * 1000, "median_ms": statistics.median(times) * 1000, "runs": runs}


def time_lookups(passes: int) -> tuple[float, dict[str, dict[str, float]]]:
    finder = lookup_module.Finder(load_dir(DATA_DIR))
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


def ftpcode_script() -> str:
    """The console script beside this interpreter (not a pyenv shim, which adds its own start-up)."""
    beside = Path(sys.executable).with_name("ftpcode")
    return str(beside) if beside.exists() else shutil.which("ftpcode") or "ftpcode"


def time_processes(runs: int) -> dict[str, dict[str, float]]:
    commands = {
        "ftpcode 425": [ftpcode_script(), "425"],
        "python -c pass": [sys.executable, "-c", "pass"],
        'python -c "import tomllib"': [sys.executable, "-c", "import tomllib"],
    }
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, command in commands.items():  # interleaved, so drift hits all three alike
            started = time.perf_counter()
            subprocess.run(command, stdout=subprocess.DEVNULL, check=True, cwd="/")
            times[name].append(time.perf_counter() - started)
    return {
        name: {
            "best_s": min(t),
            "median_s": statistics.median(t),
            "runs": runs,
            "command": " ".join(commands[name]),
        }
        for name, t in times.items()
    }


def cli_imports() -> list[str]:
    """Top-level packages imported by `ftpcode 425`, as seen by the process itself."""
    probe = (
        "import sys, io, contextlib\n"
        "from knowledge.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    main(['425'])\n"
        "print('\\n'.join(sorted({m.split('.')[0] for m in sys.modules})))\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT)
    return result.stdout.split()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--passes", type=int, default=200, help="passes over the query mix")
    settings = parser.parse_args()

    load = time_load(settings.runs)
    index_seconds, lookups = time_lookups(settings.passes)
    processes = time_processes(settings.runs)
    modules = cli_imports()
    forbidden = [m for m in modules if m.startswith(FORBIDDEN_PREFIXES)]
    ftpcode = processes["ftpcode 425"]
    met = ftpcode["median_s"] < TARGET_SECONDS

    print(f"knowledge load_dir: best {load['best_ms']:.1f} ms, median {load['median_ms']:.1f} ms (of {load['runs']})")
    print(f"text index build (first free-text query): {index_seconds * 1000:.1f} ms\n")
    print_table(
        ["lookup, by kind", "queries", "mean (ms)", "p99 (ms)", "max (ms)"],
        [[k, len(QUERIES.get(k, [])) or "all", s["mean_ms"], s["p99_ms"], s["max_ms"]] for k, s in lookups.items()],
    )
    print()
    pass_best = processes["python -c pass"]["best_s"]
    print_table(
        ["process", "best (s)", "median (s)", "best - bare python (s)"],
        [[name, p["best_s"], p["median_s"], p["best_s"] - pass_best] for name, p in processes.items()],
    )
    print(f"\n`ftpcode 425` median {ftpcode['median_s']:.3f} s, target < {TARGET_SECONDS} s: {verdict(met)}")
    print(f"slack/bot/database/gunicorn modules on the CLI path: {', '.join(forbidden) or 'none'}")
    path = write_results(
        "bench_cli",
        {
            "load_dir": load,
            "index_build_ms": index_seconds * 1000,
            "lookup": lookups,
            "processes": processes,
            "cli_top_level_modules": modules,
            "forbidden_modules_imported": forbidden,
            "target_s": TARGET_SECONDS,
            "met": met and not forbidden,
        },
    )
    print(f"results in {path}")
    return 0 if met and not forbidden else 1


if __name__ == "__main__":
    raise SystemExit(main())
