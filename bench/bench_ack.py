"""Ack latency of `/ftpcode 425` at concurrency 20: the bot against the bare Bolt app, HTTP and Socket Mode.

Run: python bench/bench_ack.py [--requests 2000] [--warmup 200] [--rounds 3] [--concurrency 20]

Both apps talk to the Slack stand-in (its own process), so the bot's work after the ack (rendering the
answer, posting it to the response_url) really happens. Runs alternate bare, bot, bare, bot...; each run
starts a fresh process (start-up time: process start to /healthz 200, or to the Socket Mode connection),
warms up, measures, waits for the bot's answers to arrive, then reads the memory of the process tree.
Targets: p99 <= 1.1x the bare app's; start-up and RSS <= 1.2x. Figures are medians over the rounds.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from benchlib import (
    command_request,
    http_app,
    http_load,
    latency_summary,
    prepare_database,
    print_table,
    socket_app,
    standin_process,
    tree_memory_mb,
    verdict,
    write_results,
)

TARGETS = {"p99_ms": 1.1, "startup_s": 1.2, "rss_mb": 1.2}
APPS = ("bare", "bot")


def wait_answers(standin: Any, which: str, before: int, sent: int, in_ack: int, timeout: float) -> int:
    """How many of `sent` commands were answered: in their acks, or (the bot, later) on the response_url."""
    if which != "bot":
        return standin.count("response_url") - before + in_ack
    return standin.wait_count("response_url", before + sent - in_ack, timeout) - before + in_ack


def run_http(which: str, standin: Any, settings: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    info = standin.info()
    app = http_app(which, info["http_env"], workdir, settings.database_url).start()
    try:
        startup = app.wait_healthz()
        answered_before = standin.count("response_url")
        urls = standin.response_urls(settings.warmup + settings.requests)
        requests = [command_request(info["signing_secret"], url) for url in urls]
        warmup = http_load(app.port, requests[: settings.warmup], settings.concurrency)
        wait_answers(standin, which, answered_before, settings.warmup, warmup.answered_in_ack, 60)
        answered_before = standin.count("response_url")
        load = http_load(app.port, requests[settings.warmup :], settings.concurrency)
        finished = time.monotonic()
        answered = wait_answers(standin, which, answered_before, settings.requests, load.answered_in_ack, 120)
        drained = time.monotonic() - finished
        memory = tree_memory_mb(app.pid)
        app.check_alive()
    finally:
        app.stop()
    return {
        "app": which,
        "mode": "http",
        **latency_summary(load.latencies),
        "rps": load.rps,
        "statuses": {str(k): v for k, v in load.statuses.items()},
        "startup_s": startup,
        **memory,
        "answers_posted": answered,
        "answers_drained_s": drained if which == "bot" else 0.0,
    }


def run_socket(which: str, index: int, standin: Any, settings: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    info = standin.info()
    opened = standin.connections_opened()
    app = socket_app(which, info["socket_env"], workdir, settings.database_url, index).start()
    try:
        ready_at = standin.wait_for_connection(opened + 1, 30)
        startup = ready_at - app.started_at
        answered_before = standin.count("response_url")
        warmup = standin.socket_load(settings.warmup, settings.concurrency)
        wait_answers(standin, which, answered_before, settings.warmup, warmup["answered_in_ack"], 60)
        answered_before = standin.count("response_url")
        load = standin.socket_load(settings.requests, settings.concurrency)
        finished = time.monotonic()
        answered = wait_answers(standin, which, answered_before, settings.requests, load["answered_in_ack"], 120)
        drained = time.monotonic() - finished
        memory = tree_memory_mb(app.pid)
        app.check_alive()
    finally:
        app.stop()
    return {
        "app": which,
        "mode": "socket",
        **latency_summary(load["latencies"]),
        "rps": len(load["latencies"]) / load["wall_seconds"],
        "failures": load["failures"],
        "startup_s": startup,
        **memory,
        "answers_posted": answered,
        "answers_drained_s": drained if which == "bot" else 0.0,
    }


def medians(runs: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    keys = ("p50_ms", "p99_ms", "mean_ms", "rps", "startup_s", "rss_mb", "pss_mb", "answers_drained_s")
    return {app: {k: statistics.median(r[k] for r in runs if r["app"] == app) for k in keys} for app in APPS}


def report(mode: str, runs: list[dict[str, Any]]) -> dict[str, Any]:
    summary = medians(runs)
    bare, bot = summary["bare"], summary["bot"]
    ratios = {k: bot[k] / bare[k] for k in ("p50_ms", "p99_ms", "mean_ms", "rps", "startup_s", "rss_mb", "pss_mb")}
    met = {k: ratios[k] <= limit for k, limit in TARGETS.items()}
    rows = []
    for key, label in (
        ("p50_ms", "ack p50 (ms)"),
        ("p99_ms", "ack p99 (ms)"),
        ("mean_ms", "ack mean (ms)"),
        ("rps", "requests/s"),
        ("startup_s", "start-up (s)"),
        ("rss_mb", "RSS, tree (MB)"),
        ("pss_mb", "PSS, tree (MB)"),
    ):
        target = f"<= {TARGETS[key]}x: {verdict(met[key])}" if key in TARGETS else ""
        rows.append([label, bare[key], bot[key], f"{ratios[key]:.2f}", target])
    rows.append(["bot answers drained after load (s)", "", bot["answers_drained_s"], "", ""])
    print(f"\n{mode} (median of {len(runs) // 2} runs each)")
    print_table(["metric", "bare", "bot", "bot/bare", "target"], rows)
    return {"medians": summary, "ratios": ratios, "targets": TARGETS, "met": met, "runs": runs}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--modes", default="http,socket")
    settings = parser.parse_args()
    started = time.monotonic()
    results: dict[str, Any] = {"settings": {k: v for k, v in vars(settings).items()}}
    with tempfile.TemporaryDirectory(prefix="bench-ack-") as tmp, standin_process() as standin:
        workdir = Path(tmp)
        settings.database_url = f"sqlite:///{workdir / 'bot.sqlite3'}"
        prepare_database(settings.database_url)
        for mode in settings.modes.split(","):
            runs = []
            for round_number in range(settings.rounds):
                for which in APPS:
                    if mode == "http":
                        run = run_http(which, standin, settings, workdir)
                    else:
                        run = run_socket(which, round_number, standin, settings, workdir)
                    print(
                        f"  {mode} {which} round {round_number + 1}: p50 {run['p50_ms']:.1f} ms, "
                        f"p99 {run['p99_ms']:.1f} ms, {run['rps']:.0f} req/s, "
                        f"start {run['startup_s']:.2f} s, "
                        f"RSS {run['rss_mb']:.0f} MB, answers {run['answers_posted']}",
                        flush=True,
                    )
                    runs.append(run)
            results[mode] = report(mode, runs)
    results["seconds"] = time.monotonic() - started
    path = write_results("bench_ack", results)
    print(f"\n{results['seconds']:.0f} s in all; results in {path}")
    return 0 if all(all(results[m]["met"].values()) for m in settings.modes.split(",")) else 1


if __name__ == "__main__":
    raise SystemExit(main())
